package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeSettings decodes an executor's `with:` settings from executors.yaml into out, a pointer to the
// executor's settings struct with yaml tags, strictly: an unknown key or a value of the wrong type is an
// error that names the key. Executors call it from CheckConfig and again when they run a task.
func DecodeSettings(settings map[string]any, out any) error {
	if len(settings) == 0 {
		return nil
	}
	data, err := yaml.Marshal(settings)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return settingsError(err)
	}
	return nil
}

var (
	// yaml.v3's messages point at lines of the re-encoded settings, not of executors.yaml, and name Go types.
	settingsLine    = regexp.MustCompile(`line \d+: `)
	settingsUnknown = regexp.MustCompile(`field (\S+) not found in type \S+`)
	settingsType    = regexp.MustCompile("cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)")
)

func settingsError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("settings: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = settingsLine.ReplaceAllString(m, "")
		m = settingsUnknown.ReplaceAllString(m, "unknown setting $1")
		m = settingsType.ReplaceAllString(m, "value \"$2\" is not a valid $3")
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}
