package webhook

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"text/template"
)

// request renders a call's URL, headers and body over data. base, when set, resolves a relative URL,
// so a poll URL may be a path the first answer gave. Errors name the setting and are redacted.
func (r *renderer) request(method string, urlTmpl *template.Template, headers []header, body *template.Template, data any, base *url.URL) (request, error) {
	req := request{method: method, header: http.Header{}}
	raw, err := r.render(urlTmpl, data)
	if err != nil {
		return request{}, err
	}
	raw = strings.TrimSpace(raw)
	if base != nil {
		ref, err := url.Parse(raw)
		if err != nil {
			return request{}, r.redact.error(fmt.Errorf("%s: %q is not a valid URL: %w", urlTmpl.Name(), raw, unwrapURLError(err)))
		}
		raw = base.ResolveReference(ref).String()
	}
	req.url, err = checkURL(raw)
	if err != nil {
		return request{}, r.redact.error(fmt.Errorf("%s: %q: %w", urlTmpl.Name(), raw, err))
	}
	for _, h := range headers {
		v, err := r.render(h.value, data)
		if err != nil {
			return request{}, err
		}
		// A line break would end the header early on the wire; net/http refuses the request, but only
		// after it has counted as a failed attempt.
		if strings.ContainsAny(v, "\r\n\x00") {
			return request{}, fmt.Errorf("%s: the rendered value contains a line break or NUL", h.value.Name())
		}
		if http.CanonicalHeaderKey(h.name) == "Host" {
			req.host = v
			continue
		}
		req.header.Set(h.name, v)
	}
	if body != nil {
		if req.body, err = r.render(body, data); err != nil {
			return request{}, err
		}
	}
	if req.body != "" && req.header.Get("Content-Type") == "" {
		req.header.Set("Content-Type", contentType(req.body))
	}
	if req.header.Get("User-Agent") == "" {
		req.header.Set("User-Agent", userAgent)
	}
	return req, nil
}

// contentType is the Content-Type of a body whose settings did not name one: JSON when it parses as
// JSON, which is what webhook bodies almost always are, else plain text.
func contentType(body string) string {
	if json.Valid([]byte(body)) {
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// decodeJSON is an answer's body decoded from JSON, or nil when it is not JSON.
func decodeJSON(resp *response) any {
	var v any
	if resp == nil || resp.truncated || json.Unmarshal(resp.body, &v) != nil {
		return nil
	}
	return v
}

// pollTaskData is .Data for the poll templates: the task's data with the first call's result under the
// task's name, as later tasks will see it, plus the fields of its JSON answer at the top, so that a poll
// URL can say {{.Data.test.statusUrl}}. The result's own fields win over answer fields of the same
// name.
func pollTaskData(data map[string]any, task string, result map[string]any, answer any) map[string]any {
	out := maps.Clone(data)
	if out == nil {
		out = map[string]any{}
	}
	merged := map[string]any{}
	if props, ok := data[task].(map[string]any); ok {
		maps.Copy(merged, props)
	}
	if obj, ok := answer.(map[string]any); ok {
		maps.Copy(merged, obj)
		merged["response"] = obj // unredacted: a poll URL may need what the answer echoed
	}
	for k, v := range result {
		if k != "response" {
			merged[k] = v
		}
	}
	out[task] = merged
	return out
}
