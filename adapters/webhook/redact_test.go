package webhook

import (
	"errors"
	"reflect"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := &redactor{}
	r.add("p@ss word&<x>")
	r.add("p@ss") // a secret inside another must not leave the longer one half-replaced
	r.add("")
	tests := []struct{ in, want string }{
		{"token p@ss word&<x> end", "token <secret> end"},
		{"q=p%40ss+word%26%3Cx%3E", "q=<secret>"},                    // query-escaped
		{"/p@ss%20word&%3Cx%3E/", "/<secret>/"},                      // path-escaped
		{`{"t":"p@ss word\u0026\u003cx\u003e"}`, `{"t":"<secret>"}`}, // encoding/json's default
		{"p@ss alone", "<secret> alone"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := r.string(tt.in); got != tt.want {
			t.Errorf("string(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	v := map[string]any{"a": []any{"x p@ss", 1.5, true, nil}, "p@ss": map[string]any{"b": "p@ss word&<x>"}}
	want := map[string]any{"a": []any{"x <secret>", 1.5, true, nil}, "<secret>": map[string]any{"b": "<secret>"}}
	if got := r.value(v); !reflect.DeepEqual(got, want) {
		t.Errorf("value = %#v, want %#v", got, want)
	}
	if v["a"].([]any)[0] != "x p@ss" {
		t.Error("value changed its argument")
	}

	inner := errors.New("bad token p@ss")
	err := r.error(inner)
	if err.Error() != "bad token <secret>" || !errors.Is(err, inner) {
		t.Errorf("error = %q (wraps: %v), want redacted and wrapping", err, errors.Is(err, inner))
	}
	if plain := errors.New("fine"); r.error(plain) != plain {
		t.Error("an error without secrets was wrapped")
	}
	if (*redactor)(nil).string("p@ss") != "p@ss" || (&redactor{}).string("p@ss") != "p@ss" {
		t.Error("a redactor without secrets changed text")
	}
}
