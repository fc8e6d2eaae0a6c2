// Package modroot finds the module's root folder from a test's working directory (its package folder),
// where the helper binaries and tools the tests use are cached (.cache).
package modroot

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns the nearest folder at or above the working directory that holds go.mod.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod at or above %s", wd)
		}
		dir = parent
	}
}
