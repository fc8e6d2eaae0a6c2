package config

import "path/filepath"

// Path resolves a path as shipgate.yaml means it: relative to the file's folder, as Parse resolves the
// paths it knows. It is for the callers that act on a path the file names before or besides loading it,
// such as serve --dev, which creates missing token files.
func (c *Config) Path(p string) string { return resolvePath(filepath.Dir(c.File), p) }
