package discordfake

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// formErrors collects what Discord refuses in a request body. Discord answers them all at once
// as 400 {"code":50035,"message":"Invalid Form Body","errors":{…}}, the errors object nesting
// the body's path ("embeds" → "0" → "title") down to an "_errors" list at each refused field.
type formErrors []fieldError

type fieldError struct {
	path          string // dot-separated: "embeds.0.title"; "" for the body itself
	code, message string
}

func (fe *formErrors) add(path, code, message string) {
	*fe = append(*fe, fieldError{path, code, message})
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// maxLen refuses a string longer than n characters.
func (fe *formErrors) maxLen(path, v string, n int) {
	if runeLen(v) > n {
		fe.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", n))
	}
}

// lenRange refuses a string shorter than lo or longer than hi characters; an empty string is
// "required" when lo > 0, as Discord words it.
func (fe *formErrors) lenRange(path, v string, lo, hi int) {
	switch n := runeLen(v); {
	case n == 0 && lo > 0:
		fe.add(path, "BASE_TYPE_REQUIRED", "This field is required")
	case n < lo || n > hi:
		fe.add(path, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi))
	}
}

// maxItems refuses an array of more than n items.
func (fe *formErrors) maxItems(path string, items []any, n int) bool {
	if len(items) > n {
		fe.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", n))
		return false
	}
	return true
}

// itemsRange refuses an array of fewer than lo or more than hi items.
func (fe *formErrors) itemsRange(path string, items []any, lo, hi int) bool {
	if len(items) < lo || len(items) > hi {
		fe.add(path, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", lo, hi))
		return false
	}
	return true
}

// tree is the "errors" object of the 50035 answer.
func (fe formErrors) tree() map[string]any {
	root := map[string]any{}
	for _, e := range fe {
		node := root
		if e.path != "" {
			for seg := range strings.SplitSeq(e.path, ".") {
				child, _ := node[seg].(map[string]any)
				if child == nil {
					child = map[string]any{}
					node[seg] = child
				}
				node = child
			}
		}
		errs, _ := node["_errors"].([]any)
		node["_errors"] = append(errs, map[string]any{"code": e.code, "message": e.message})
	}
	return root
}

// detail is the readable form for Call.Detail: "embeds.0.title: Must be 256 or fewer in
// length. (BASE_TYPE_MAX_LENGTH); …".
func (fe formErrors) detail() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		path := e.path
		if path == "" {
			path = "(body)"
		}
		parts[i] = fmt.Sprintf("%s: %s (%s)", path, e.message, e.code)
	}
	return strings.Join(parts, "; ")
}

// join appends a key to a path.
func join(path string, key any) string {
	if path == "" {
		return fmt.Sprint(key)
	}
	return fmt.Sprintf("%s.%v", path, key)
}

// Accessors for decoded JSON (objects are map[string]any, numbers float64).

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func arr(m map[string]any, k string) []any {
	a, _ := m[k].([]any)
	return a
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func num(m map[string]any, k string) (float64, bool) {
	f, ok := m[k].(float64)
	return f, ok
}

func flag(m map[string]any, k string) bool {
	b, _ := m[k].(bool)
	return b
}

// present reports whether k is in m with a non-null value.
func present(m map[string]any, k string) bool {
	v, ok := m[k]
	return ok && v != nil
}
