package exec

import (
	"maps"
	"strings"
	"testing"
)

func TestParseSLIResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  string
		want  map[string]any
		error string
	}{
		{"values", `{"rt": 412.5, "errors": 0, "big": 1e6}`, map[string]any{"rt": 412.5, "errors": 0.0, "big": 1e6}, ""},
		{"null", `{"rt": null}`, map[string]any{"rt": nil}, ""},
		{"empty", `{}`, map[string]any{}, ""},
		{"whitespace around", " \n{\"a\": -1}\n\n", map[string]any{"a": -1.0}, ""},
		{"duplicate key: the last wins", `{"a": 1, "a": 2}`, map[string]any{"a": 2.0}, ""},
		{"empty file", ``, nil, "expected an object of SLI values such as"},
		{"an array", `[1, 2]`, nil, "expected an object of SLI values such as"},
		{"a number", `42`, nil, "expected an object of SLI values such as"},
		{"unfinished", `{"a": 1`, nil, "invalid JSON"},
		{"a string value", `{"a": "1"}`, nil, `"a" is "1", expected a number or null`},
		{"a boolean", `{"ok": true}`, nil, `"ok" is true, expected a number or null`},
		{"nested", `{"sli": {"a": 1}}`, nil, `"sli" is {"a": 1}, expected a number or null`},
		{"out of range", `{"a": 1e400}`, nil, `"a" is 1e400, expected a number or null`},
		{"an empty name", `{"": 1}`, nil, "an SLI name is empty"},
		{"two objects", `{"a": 1} {"b": 2}`, nil, "more data after the object"},
		{"trailing garbage", `{"a": 1} x`, nil, "more data after the object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSLIResults([]byte(tt.data))
			switch {
			case tt.error == "" && err != nil:
				t.Fatalf("parseSLIResults: %v", err)
			case tt.error != "" && (err == nil || !strings.Contains(err.Error(), tt.error)):
				t.Fatalf("error %v, want one containing %q", err, tt.error)
			case tt.error == "" && !maps.Equal(got, tt.want):
				t.Errorf("parseSLIResults = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzParseSLIResults checks that any file a command writes is either a map of numbers and nils or a
// clear error, never a panic.
func FuzzParseSLIResults(f *testing.F) {
	for _, seed := range []string{`{"rt": 412.5, "err": null}`, `{}`, `{"a": "x"}`, `[`, `{"a": 1} 2`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := parseSLIResults(data)
		if err != nil {
			if values != nil {
				t.Errorf("values %v with error %v", values, err)
			}
			return
		}
		for k, v := range values {
			if _, ok := v.(float64); !ok && v != nil {
				t.Errorf("value of %q is %T", k, v)
			}
		}
	})
}
