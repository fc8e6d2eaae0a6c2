package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
)

// Secret is a credential from shipgate.yaml. It prints as <secret> however it is formatted or marshalled,
// so a token cannot reach a log line, an error message or `validate --print` by accident. Reveal returns
// the value for the one place that needs it.
type Secret string

const redacted = "<secret>"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether a value was configured.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format applies to every verb, so %s, %v, %q and %x all print <secret>.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalYAML prints <secret> in place of the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON prints <secret> in place of the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

var secretType = reflect.TypeFor[Secret]()

// resolveSecretFiles fills every Secret field from its *_file twin (a Secret tagged `yaml:"x"` next to a
// string tagged `yaml:"x_file"`), walking nested structs, pointers and slices. Keeping the rule generic
// means a new secret in a later section gets file support by declaring the two fields. Relative file
// names are read from baseDir, the folder of shipgate.yaml.
func resolveSecretFiles(d diagnoser, baseDir string, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			resolveSecretFiles(d, baseDir, v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			resolveSecretFiles(d, baseDir, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		t := v.Type()
		info := fieldsOf(t)
		var pos Pos
		if info.pos >= 0 {
			pos = v.Field(info.pos).Interface().(Pos)
		}
		for name, idx := range info.byName {
			f := v.Field(idx)
			if f.Type() != secretType {
				resolveSecretFiles(d, baseDir, f, joinPath(path, name))
				continue
			}
			fileIdx, ok := info.byName[name+"_file"]
			if !ok {
				continue
			}
			file := v.Field(fileIdx).String()
			if file == "" {
				continue
			}
			key := joinPath(path, name)
			if f.String() != "" {
				d.errorf(pos.LineOf(name+"_file"), "%s: set either %s or %s_file, not both", key, name, name)
				continue
			}
			data, err := os.ReadFile(resolvePath(baseDir, file))
			if err != nil {
				d.errorf(pos.LineOf(name+"_file"), "%s_file: cannot read %s: %v", key, file, unwrapPathError(err))
				continue
			}
			// Files written by editors and `echo` end in a newline that is not part of the token.
			value := strings.TrimRight(string(data), "\r\n")
			if value == "" {
				d.errorf(pos.LineOf(name+"_file"), "%s_file: %s is empty", key, file)
				continue
			}
			f.SetString(value)
		}
	}
}
