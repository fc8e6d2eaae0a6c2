package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// decodeStrict reads a JSON object into v, refusing unknown fields and anything after the object, and
// returns a message for the caller, or "". An empty body is an error when required, else leaves v as is.
func decodeStrict(body []byte, v any, required bool) string {
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return "request body is empty; expected a JSON object"
		}
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeMessage(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "request body holds more than one JSON value"
	}
	return ""
}

// decodeMessage says what is wrong with a body in terms of its fields, not of Go's types.
func decodeMessage(err error, v any) string {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("request body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body is not valid JSON: it ends too early"
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("request body must be a JSON object, not %s", typ.Value)
		}
		if isMap(v, typ.Field) {
			return fmt.Sprintf("each value of %s must be %s, not %s", typ.Field, kind(typ.Type), typ.Value)
		}
		return fmt.Sprintf("%s must be %s, not %s", typ.Field, kind(typ.Type), typ.Value)
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Sprintf("unknown field %s; expected %s", field, strings.Join(fieldNames(v), ", "))
	}
	return "request body is not valid: " + strings.TrimPrefix(err.Error(), "json: ")
}

// kind names a Go type as JSON would.
func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// fieldNames lists the JSON names of the struct v points to.
func fieldNames(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// isMap reports whether the field of the struct v points to with a JSON name is a map, whose wrongly
// typed values encoding/json reports under the map's own name.
func isMap(v any, name string) bool {
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n == name {
			return t.Field(i).Type.Kind() == reflect.Map
		}
	}
	return false
}
