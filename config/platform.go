package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"
)

// PlatformConfig is a chat platform's section of shipgate.yaml (slack:, discord:, web:). The platform's
// adapter defines it, registers it with RegisterPlatform, and checks it, as Alertmanager's notifiers own
// their configuration: adding a platform touches its own folder and one line of wiring, not this package.
//
// A section is a struct that embeds Pos; the decoder fills it as it fills every other section (unknown
// keys, wrong types and *_file secrets included), then Check completes and checks it.
type PlatformConfig interface {
	// Check fills in defaults and reports, through c, what is wrong, naming the keys' lines.
	Check(c *Checker)
}

// Checker reports a platform section's problems, with its file, as shipgate validate shows them.
type Checker struct {
	d diagnoser
	// Path is the section's key in shipgate.yaml ("slack"), to start messages with.
	Path string
}

// Errorf reports an error at line.
func (c *Checker) Errorf(line int, format string, args ...any) { c.d.errorf(line, format, args...) }

// Warnf reports a warning at line.
func (c *Checker) Warnf(line int, format string, args ...any) { c.d.warnf(line, format, args...) }

// URL checks that value, the setting key at line, is an absolute http(s) URL.
func (c *Checker) URL(line int, key, value string) { checkURL(c.d, line, key, value) }

var (
	platformsMu sync.RWMutex
	platforms   = map[string]func() PlatformConfig{}
)

// RegisterPlatform makes name a platform shipgate.yaml may configure and channels may be bound on; its
// section decodes into what newConfig returns (a pointer to a struct that embeds Pos). Adapters call it
// from init. Registering a name twice panics: two adapters would claim one section.
func RegisterPlatform(name string, newConfig func() PlatformConfig) {
	platformsMu.Lock()
	defer platformsMu.Unlock()
	if _, dup := platforms[name]; dup {
		panic(fmt.Sprintf("config: platform %q registered twice", name))
	}
	platforms[name] = newConfig
}

// PlatformNames lists the registered platforms, sorted.
func PlatformNames() []string {
	platformsMu.RLock()
	defer platformsMu.RUnlock()
	return slices.Sorted(maps.Keys(platforms))
}

func platformConfig(name string) (func() PlatformConfig, bool) {
	platformsMu.RLock()
	defer platformsMu.RUnlock()
	f, ok := platforms[name]
	return f, ok
}

// PlatformNames lists the configured platforms, sorted.
func (c *Config) PlatformNames() []string { return slices.Sorted(maps.Keys(c.Platforms)) }

// Platform returns the section of a configured platform as its adapter's type, or nil and false.
func Platform[T PlatformConfig](c *Config, name string) (T, bool) {
	s, ok := c.Platforms[name].(T)
	return s, ok
}

// decodePlatforms takes the registered platforms' sections out of the root mapping and decodes each into
// its adapter's type, so that the rest decodes into Config as before.
func decodePlatforms(d diagnoser, root *yaml.Node, cfg *Config, base string) {
	if root.Kind != yaml.MappingNode {
		return
	}
	kept := root.Content[:0:0]
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		newConfig, ok := platformConfig(k.Value)
		if !ok {
			kept = append(kept, k, v)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "key %q is already defined at line %d", k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		// An empty section ("web:") configures the platform with its defaults.
		section := newConfig()
		if !isNull(v) {
			decodeYAMLAt(d, v, section, SeverityError, k.Value)
		}
		resolveSecretFiles(d, base, reflect.ValueOf(section), k.Value)
		if cfg.Platforms == nil {
			cfg.Platforms = map[string]PlatformConfig{}
		}
		cfg.Platforms[k.Value] = section
	}
	root.Content = kept
}

// checkPlatforms lets each configured platform check its section, in name order.
func (c *Config) checkPlatforms(d diagnoser) {
	for _, n := range c.PlatformNames() {
		c.Platforms[n].Check(&Checker{d: d, Path: n})
	}
}

// MarshalYAML writes the config with its platforms' sections under their keys, as it was read.
func (c *Config) MarshalYAML() (any, error) {
	type plain Config // without this method
	var node yaml.Node
	if err := node.Encode((*plain)(c)); err != nil {
		return nil, err
	}
	for _, n := range c.PlatformNames() {
		var v yaml.Node
		if err := v.Encode(c.Platforms[n]); err != nil {
			return nil, fmt.Errorf("platform %s: %w", n, err)
		}
		node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, &v)
	}
	return &node, nil
}
