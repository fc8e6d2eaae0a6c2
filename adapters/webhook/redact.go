package webhook

import (
	"cmp"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// redacted stands in for a secret's value, as config.Secret prints.
const redacted = "<secret>"

// redactor removes the secrets a task used from text that leaves the executor: messages, result data,
// errors and log lines. Secrets travel in headers, URLs and bodies, and servers echo them back in error
// pages and JSON ("invalid token abc123"), so every outgoing string is cleaned, not only the ones known
// to hold a secret. Each secret is matched as written and in the encodings a URL or JSON document gives
// it.
//
// A redactor belongs to one Execute call and is not safe for concurrent use.
type redactor struct {
	forms    []string
	replacer *strings.Replacer
}

// add registers a secret value.
func (r *redactor) add(secret string) {
	if secret == "" {
		return
	}
	jsonForms := []string{jsonEscape(secret, true), jsonEscape(secret, false)}
	forms := []string{
		secret,
		url.QueryEscape(secret),
		url.PathEscape(secret),
		(&url.URL{Path: secret}).EscapedPath(),
		jsonForms[0], jsonForms[1],
		// Echo services return a JSON request body as a string inside their JSON answer (httpbin's
		// "data"), which escapes the secret twice.
		jsonEscape(jsonForms[0], true), jsonEscape(jsonForms[1], false),
	}
	for _, f := range forms {
		if f != "" && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	// strings.Replacer tries its patterns in order at each position; longest first means a secret that
	// contains another is replaced whole.
	slices.SortStableFunc(r.forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(r.forms))
	for _, f := range r.forms {
		pairs = append(pairs, f, redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// string returns s with every secret replaced by <secret>.
func (r *redactor) string(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// value returns a copy of a decoded JSON value with every string, and every object key, redacted.
func (r *redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return r.string(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[r.string(k)] = r.value(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.value(e)
		}
		return out
	default:
		return v
	}
}

// error returns err with a redacted message. The wrapped chain is kept for errors.Is and errors.As; its
// members' own messages are not redacted, so callers show the returned error's message only.
func (r *redactor) error(err error) error {
	if err == nil {
		return nil
	}
	msg := r.string(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message has had secrets removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// jsonEscape is s as it appears inside a JSON string, with <, > and & escaped as encoding/json does by
// default, or left alone as the json template function leaves them.
func jsonEscape(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}
