package webhook

import (
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings string
		want     []string // parts of the error; none means valid
	}{
		{"minimal", `url: https://ci.example/hook`, nil},
		{"everything", `
url: "https://ci.example/job/{{.Service}}/build?tag={{.Tag | urlquery}}"
method: put
headers: {Authorization: 'Bearer {{secret "ci_token"}}', Content-Type: application/json}
body: '{"image": {{json .Image}}, "stage": "{{.Stage}}"}'
secrets: {ci_token: {env: CI_TOKEN}, other: {file: /run/secrets/other}}
expect_status: [200, 201, 202]
timeout: 10s
retries: 0
backoff: 500ms
max_backoff: 1m
max_response: 1024
result_data: false
poll:
  url: "{{.Data.test.statusUrl}}"
  method: GET
  headers: {X-Token: '{{secret "other"}}'}
  interval: 10s
  status_field: job.status
  pass: [succeeded, passed]
  fail: [failed, error]
  warning: [unstable]
`, nil},
		{"no url", `method: GET`, []string{"url: required"}},
		{"no settings at all", ``, []string{"url: required"}},
		{"url does not parse as a template", `url: "https://x/{{.Service"`, []string{"url: template: url:1: unclosed action"}},
		{"unknown function", `url: "https://x/{{nope .Service}}"`, []string{`url: template: url:1: function "nope" not defined`}},
		{"static url is not http", `url: ftp://x/y`, []string{`url: scheme "ftp" is not http or https`}},
		{"static url has no host", `url: "https:///y"`, []string{`url: no host`}},
		{"method is not a token", `{url: https://x/, method: "PO ST"}`, []string{`method: "PO ST" is not a valid HTTP method`}},
		{"header name is not a token", `{url: https://x/, headers: {"X Bad": v}}`, []string{`headers: "X Bad" is not a valid header name`}},
		{"header template", `{url: https://x/, headers: {X-A: "{{.Stage"}}`, []string{"headers.X-A: template: headers.X-A:1: unclosed action"}},
		{"body template", `{url: https://x/, body: "{{end}}"}`, []string{"body: template: body:1: unexpected {{end}}"}},
		{"status codes", `{url: https://x/, expect_status: [200, 99, 600]}`, []string{
			"expect_status: 99 is not an HTTP status code (100-599)", "expect_status: 600 is not an HTTP status code"}},
		{"secret with both sources", `{url: https://x/, secrets: {t: {env: A, file: /b}}}`, []string{"secrets: t: set exactly one of env and file"}},
		{"secret with no source", `{url: https://x/, secrets: {t: {}}}`, []string{"secrets: t: set exactly one of env and file"}},
		{"secret file relative", `{url: https://x/, secrets: {t: {file: token}}}`, []string{`secrets: t: file "token" must be an absolute path`}},
		{"secret source unknown key", `{url: https://x/, secrets: {t: {vault: a}}}`, []string{"unknown setting vault"}},
		{"secret used but not configured", `{url: "https://x/?t={{secret \"tok\"}}", secrets: {token: {env: T}}}`,
			[]string{`url: secret "tok" is not configured under secrets`}},
		{"secret inside if and pipes", `{url: https://x/, body: '{{if .Stage}}{{(secret "a") | printf "%s"}}{{end}}'}`,
			[]string{`body: secret "a" is not configured under secrets`}},
		{"negative durations", `{url: https://x/, timeout: -1s, backoff: -1s, max_backoff: -1s}`, []string{
			"timeout: must be positive", "backoff: must be positive", "max_backoff: must be positive"}},
		{"duration of the wrong type", `{url: https://x/, timeout: soon}`, []string{`value "soon" is not a valid time.Duration`}},
		{"negative retries", `{url: https://x/, retries: -1}`, []string{"retries: must not be negative"}},
		{"zero max_response", `{url: https://x/, max_response: 0}`, []string{"max_response: must be a positive number of bytes"}},
		{"misspelt setting", `{url: https://x/, retires: 2}`, []string{"unknown setting retires"}},
		{"poll needs url, status_field and pass", `{url: https://x/, poll: {interval: 5s}}`, []string{
			"poll.url: required", "poll.status_field: required", "poll.pass: list at least one status value"}},
		{"poll status_field is a path", `{url: https://x/, poll: {url: https://x/s, status_field: "job..state", pass: [ok]}}`,
			[]string{`poll.status_field: "job..state" is not a dotted path`}},
		{"poll url template", `{url: https://x/, poll: {url: "{{.Response", status_field: s, pass: [ok]}}`,
			[]string{"poll.url: template: poll.url:1: unclosed action"}},
		{"poll method and interval", `{url: https://x/, poll: {url: https://x/s, method: "G T", interval: -5s, status_field: s, pass: [ok]}}`,
			[]string{`poll.method: "G T" is not a valid HTTP method`, "poll.interval: must be positive"}},
		{"poll value in two lists", `{url: https://x/, poll: {url: https://x/s, status_field: s, pass: [done], fail: [Done]}}`,
			[]string{`poll: status "Done" is in both pass and fail`}},
		{"several problems at once", `{method: "a b", retries: -2}`, []string{"url: required", "method:", "retries:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Executor{}).CheckConfig("test", with(t, tt.settings))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckConfig accepted the settings, want %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, err := parseSettings(with(t, `{url: https://x/, poll: {url: https://x/s, status_field: s, pass: [ok]}}`), checkFuncs)
	if err != nil {
		t.Fatal(err)
	}
	if s.method != "POST" || s.timeout != DefaultTimeout || s.retries != 3 || s.backoff != DefaultBackoff ||
		s.maxBackoff != DefaultMaxBackoff || s.maxResponse != 65536 || !s.resultData {
		t.Errorf("settings = %+v, want the documented defaults", s)
	}
	if s.poll.method != "GET" || s.poll.interval != DefaultPollInterval || s.poll.headers != nil {
		t.Errorf("poll = %+v, want GET every 10s with the call's headers", s.poll)
	}
	for code, want := range map[int]bool{199: false, 200: true, 204: true, 299: true, 300: false, 404: false} {
		if s.expected(code) != want {
			t.Errorf("expected(%d) = %v, want %v", code, !want, want)
		}
	}
}
