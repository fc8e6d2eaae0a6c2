package webhook

import (
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// Defaults for settings that executors.yaml leaves out.
const (
	DefaultMethod       = http.MethodPost
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 3
	DefaultBackoff      = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	DefaultMaxResponse  = 64 << 10
	DefaultPollInterval = 10 * time.Second
	DefaultPollMethod   = http.MethodGet
)

// rawSettings is `with:` as executors.yaml spells it. Pointers tell an absent setting from a zero one
// where zero is a valid choice (retries: 0, result_data: false).
type rawSettings struct {
	URL          string                  `yaml:"url"`
	Method       string                  `yaml:"method"`
	Headers      map[string]string       `yaml:"headers"`
	Body         string                  `yaml:"body"`
	Secrets      map[string]secretSource `yaml:"secrets"`
	ExpectStatus []int                   `yaml:"expect_status"`
	Timeout      time.Duration           `yaml:"timeout"`
	Retries      *int                    `yaml:"retries"`
	Backoff      time.Duration           `yaml:"backoff"`
	MaxBackoff   time.Duration           `yaml:"max_backoff"`
	MaxResponse  *int                    `yaml:"max_response"`
	ResultData   *bool                   `yaml:"result_data"`
	Poll         *rawPoll                `yaml:"poll"`
}

// rawPoll is `with.poll:`.
type rawPoll struct {
	URL         string            `yaml:"url"`
	Method      string            `yaml:"method"`
	Headers     map[string]string `yaml:"headers"`
	Interval    time.Duration     `yaml:"interval"`
	StatusField string            `yaml:"status_field"`
	Pass        []string          `yaml:"pass"`
	Fail        []string          `yaml:"fail"`
	Warning     []string          `yaml:"warning"`
}

// secretSource says where a secret's value is read from: exactly one of an environment variable or a
// file.
type secretSource struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// settings are validated settings with defaults resolved and every template parsed.
type settings struct {
	url          *template.Template
	method       string
	headers      []header
	body         *template.Template // nil without a body
	secrets      map[string]secretSource
	expectStatus []int // empty: any 2xx
	timeout      time.Duration
	retries      int
	backoff      time.Duration
	maxBackoff   time.Duration
	maxResponse  int
	resultData   bool
	poll         *pollSettings
}

// header is a request header whose value is a template.
type header struct {
	name  string
	value *template.Template
}

// pollSettings are validated `with.poll:` settings.
type pollSettings struct {
	url         *template.Template
	method      string
	headers     []header // nil: the call's headers
	interval    time.Duration
	statusField string
	pass        []string
	fail        []string
	warning     []string
}

// expected reports whether the call's answer status counts as success.
func (s *settings) expected(code int) bool {
	if len(s.expectStatus) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(s.expectStatus, code)
}

// decodeSettings decodes `with:` strictly, without validating it.
func decodeSettings(cfg map[string]any) (rawSettings, error) {
	var raw rawSettings
	if err := config.DecodeSettings(cfg, &raw); err != nil {
		return rawSettings{}, err
	}
	return raw, nil
}

// parseSettings validates `with:` and parses its templates with funcs. It reports every problem at once,
// so that `shipgate validate` lists them together.
func parseSettings(cfg map[string]any, funcs template.FuncMap) (*settings, error) {
	raw, err := decodeSettings(cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	s := &settings{
		method:       p.method("method", raw.Method, DefaultMethod),
		secrets:      raw.Secrets,
		expectStatus: raw.ExpectStatus,
		timeout:      p.positive("timeout", raw.Timeout, DefaultTimeout),
		retries:      DefaultRetries,
		backoff:      p.positive("backoff", raw.Backoff, DefaultBackoff),
		maxBackoff:   p.positive("max_backoff", raw.MaxBackoff, DefaultMaxBackoff),
		maxResponse:  DefaultMaxResponse,
		resultData:   raw.ResultData == nil || *raw.ResultData,
	}
	for name, src := range sortedMap(raw.Secrets) {
		switch {
		case (src.Env == "") == (src.File == ""):
			p.addf("secrets: %s: set exactly one of env and file", name)
		case src.File != "" && !filepath.IsAbs(src.File):
			p.addf("secrets: %s: file %q must be an absolute path", name, src.File)
		}
	}
	if raw.URL == "" {
		p.addf("url: required")
	} else {
		s.url = p.template("url", raw.URL, funcs, raw.Secrets)
		if s.url != nil && !strings.Contains(raw.URL, "{{") {
			if _, err := checkURL(raw.URL); err != nil {
				p.addf("url: %v", err)
			}
		}
	}
	s.headers = p.headers("headers", raw.Headers, funcs, raw.Secrets)
	if raw.Body != "" {
		s.body = p.template("body", raw.Body, funcs, raw.Secrets)
	}
	for _, code := range raw.ExpectStatus {
		if code < 100 || code > 599 {
			p.addf("expect_status: %d is not an HTTP status code (100-599)", code)
		}
	}
	if raw.Retries != nil {
		if *raw.Retries < 0 {
			p.addf("retries: must not be negative")
		}
		s.retries = *raw.Retries
	}
	if raw.MaxResponse != nil {
		if *raw.MaxResponse <= 0 {
			p.addf("max_response: must be a positive number of bytes")
		}
		s.maxResponse = *raw.MaxResponse
	}
	if raw.Poll != nil {
		s.poll = p.poll(*raw.Poll, funcs, raw.Secrets)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// poll validates `with.poll:`.
func (p *problems) poll(raw rawPoll, funcs template.FuncMap, secrets map[string]secretSource) *pollSettings {
	ps := &pollSettings{
		method:      p.method("poll.method", raw.Method, DefaultPollMethod),
		interval:    p.positive("poll.interval", raw.Interval, DefaultPollInterval),
		statusField: raw.StatusField,
		pass:        raw.Pass,
		fail:        raw.Fail,
		warning:     raw.Warning,
	}
	if raw.URL == "" {
		p.addf("poll.url: required")
	} else {
		ps.url = p.template("poll.url", raw.URL, funcs, secrets)
	}
	if raw.Headers != nil {
		ps.headers = p.headers("poll.headers", raw.Headers, funcs, secrets)
	}
	if raw.StatusField == "" {
		p.addf("poll.status_field: required")
	} else if slices.Contains(strings.Split(raw.StatusField, "."), "") {
		p.addf("poll.status_field: %q is not a dotted path such as status or job.state", raw.StatusField)
	}
	if len(raw.Pass) == 0 {
		p.addf("poll.pass: list at least one status value that means the job passed")
	}
	seen := map[string]string{}
	for _, list := range []struct {
		name   string
		values []string
	}{{"pass", raw.Pass}, {"fail", raw.Fail}, {"warning", raw.Warning}} {
		for _, v := range list.values {
			key := strings.ToLower(v)
			if other, ok := seen[key]; ok && other != list.name {
				p.addf("poll: status %q is in both %s and %s", v, other, list.name)
			}
			seen[key] = list.name
		}
	}
	return ps
}

// problems collects what is wrong with a task's settings.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(p, "; "))
}

// method validates an HTTP method. It is upper-cased, since servers treat "post" as an unknown method
// and a lower-case method in YAML is almost certainly not meant that way.
func (p *problems) method(what, m, def string) string {
	if m == "" {
		return def
	}
	if !isToken(m) {
		p.addf("%s: %q is not a valid HTTP method", what, m)
		return def
	}
	return strings.ToUpper(m)
}

// positive returns d, or def when d is absent, and complains about a negative or zero duration that was
// written down, since it cannot mean anything useful.
func (p *problems) positive(what string, d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	if d < 0 {
		p.addf("%s: must be positive", what)
		return def
	}
	return d
}

// template parses one templated setting and checks that every {{secret "name"}} names a configured
// secret.
func (p *problems) template(what, text string, funcs template.FuncMap, secrets map[string]secretSource) *template.Template {
	tmpl, err := engine.ParseTemplate(what, text, funcs)
	if err != nil {
		p.addf("%v", err)
		return nil
	}
	for _, name := range secretNames(tmpl) {
		if _, ok := secrets[name]; !ok {
			p.addf("%s: secret %q is not configured under secrets", what, name)
		}
	}
	return tmpl
}

// headers parses templated header values, in name order so that requests and messages are stable.
func (p *problems) headers(what string, raw map[string]string, funcs template.FuncMap, secrets map[string]secretSource) []header {
	hs := []header{}
	for name, value := range sortedMap(raw) {
		if !isToken(name) {
			p.addf("%s: %q is not a valid header name", what, name)
			continue
		}
		if tmpl := p.template(what+"."+name, value, funcs, secrets); tmpl != nil {
			hs = append(hs, header{name: name, value: tmpl})
		}
	}
	return hs
}

// checkURL parses a rendered URL and requires what an outgoing call needs: http or https, and a host.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a valid URL: %w", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host")
	}
	return u, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of methods and header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// sortedMap iterates m in key order.
func sortedMap[V any](m map[string]V) iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
