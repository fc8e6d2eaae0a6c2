package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shipgate/shipgate/store"
)

// received is what a test server saw of a request.
type received struct {
	method, path, query string
	header              http.Header
	body                string
}

// recorder is a test server that keeps the requests it gets and answers each with answer.
func recorder(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body string)) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		mu.Unlock()
		answer(w, r, string(b))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestExecuteRendersTheRequest(t *testing.T) {
	srv, requests := recorder(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"queued": true, "id": 42}`)
	})
	ex, _ := newExecutor(nil, nil)
	task := testTask(with(t, `
url: "`+srv.URL+`/job/{{.Service}}/build?tag={{.Tag | urlquery}}&note={{.Labels.note | urlquery}}"
headers:
  X-Stage: "{{.Project}}/{{.Stage}}"
  X-Suite: "{{.Data.test.suite}}"
body: |
  {"image": {{json .Image}}, "note": {{json .Labels.note}}, "names": {{json .Data.deployment.deploymentNames}}, "run": {{.TaskRunID}}}
`))

	res, err := ex.Execute(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	got := requests()
	if len(got) != 1 {
		t.Fatalf("server got %d requests, want 1", len(got))
	}
	req := got[0]
	if req.method != http.MethodPost || req.path != "/job/helloservice/build" {
		t.Errorf("request = %s %s, want POST /job/helloservice/build", req.method, req.path)
	}
	if want := "tag=1.2.3&note=say+%22hi%22%0A%09then+%5C+leave"; req.query != want {
		t.Errorf("query = %q, want %q", req.query, want)
	}
	for name, want := range map[string]string{
		"X-Stage": "fulltour/qa", "X-Suite": "smoke",
		"Content-Type": "application/json", "User-Agent": "shipgate-webhook",
	} {
		if v := req.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(req.body), &body); err != nil {
		t.Fatalf("body is not JSON (json did not escape?): %v\n%s", err, req.body)
	}
	wantBody := map[string]any{
		"image": "ghcr.io/acme/hello:1.2.3", "note": "say \"hi\"\n\tthen \\ leave",
		"names": []any{"hello-primary"}, "run": float64(7),
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("body = %#v, want %#v", body, wantBody)
	}

	if res.Result != store.ResultPass || res.Status != store.StatusSucceeded {
		t.Errorf("result = %s/%s, want pass/succeeded", res.Result, res.Status)
	}
	if want := "POST " + srv.URL + "/job/helloservice/build → 202 Accepted (1 attempt)"; res.Message != want {
		t.Errorf("message = %q, want %q", res.Message, want)
	}
	wantData := map[string]any{
		"statusCode": 202, "attempts": 1,
		"url":      srv.URL + "/job/helloservice/build?tag=1.2.3&note=say+%22hi%22%0A%09then+%5C+leave",
		"response": map[string]any{"queued": true, "id": float64(42)},
	}
	if d := taskData(t, res.Data); !reflect.DeepEqual(d, wantData) {
		t.Errorf("data = %#v, want %#v", d, wantData)
	}
}

// TestRenderRequest covers templating without a server: each case renders one setting.
func TestRenderRequest(t *testing.T) {
	tests := []struct {
		name     string
		settings string
		check    func(request) string // the rendered part under test
		want     string
	}{
		{
			"url with labels and query escaping",
			`url: "https://ci.example/{{.Project}}/{{.Service}}?v={{.Labels.version}}&q={{.Labels.note | urlquery}}"`,
			func(r request) string { return r.url.String() },
			"https://ci.example/fulltour/helloservice?v=1.2.3&q=say+%22hi%22%0A%09then+%5C+leave",
		},
		{
			"url from an earlier task's data",
			`url: "https://ci.example/{{index .Data.deployment.deploymentNames 0}}"`,
			func(r request) string { return r.url.String() },
			"https://ci.example/hello-primary",
		},
		{
			"method is upper-cased",
			`{url: "https://ci.example/", method: put}`,
			func(r request) string { return r.method },
			"PUT",
		},
		{
			"header value",
			`{url: "https://ci.example/", headers: {X-Image: "{{.Image}}@{{.Tag}}"}}`,
			func(r request) string { return r.header.Get("X-Image") },
			"ghcr.io/acme/hello:1.2.3@1.2.3",
		},
		{
			"Host header sets the request host",
			`{url: "https://10.0.0.1/", headers: {Host: "ci.internal"}}`,
			func(r request) string { return r.host + "|" + r.header.Get("Host") },
			"ci.internal|",
		},
		{
			"json escapes quotes, newlines, tabs and backslashes",
			`{url: "https://ci.example/", body: '{"note": {{json .Labels.note}}}'}`,
			func(r request) string { return r.body },
			`{"note": "say \"hi\"\n\tthen \\ leave"}`,
		},
		{
			"json of a map",
			`{url: "https://ci.example/", body: '{{json .Data.deployment}}'}`,
			func(r request) string { return r.body },
			`{"deploymentNames":["hello-primary"]}`,
		},
		{
			"json body defaults to application/json",
			`{url: "https://ci.example/", body: '{"a": 1}'}`,
			func(r request) string { return r.header.Get("Content-Type") },
			"application/json",
		},
		{
			"other bodies default to text",
			`{url: "https://ci.example/", body: 'stage={{.Stage}}'}`,
			func(r request) string { return r.header.Get("Content-Type") + "|" + r.body },
			"text/plain; charset=utf-8|stage=qa",
		},
		{
			"an explicit Content-Type wins",
			`{url: "https://ci.example/", body: 'a=1', headers: {content-type: application/x-www-form-urlencoded}}`,
			func(r request) string { return r.header.Get("Content-Type") },
			"application/x-www-form-urlencoded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := testTask(with(t, tt.settings))
			r := &renderer{redact: &redactor{}}
			s, err := parseSettings(task.Config, r.funcs())
			if err != nil {
				t.Fatal(err)
			}
			req, err := r.request(s.method, s.url, s.headers, s.body, task.TemplateData(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(req); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplateErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		name     string
		settings string
		want     []string
	}{
		{"missing label in url", `url: "https://ci.example/{{.Labels.nope}}"`,
			[]string{"rendering the webhook request: url: template: url:1:", `map has no entry for key "nope"`}},
		{"missing data in header", `{url: "https://ci.example/", headers: {X-A: "{{.Data.test.nope}}"}}`,
			[]string{"headers.X-A: template: headers.X-A:1:", `map has no entry for key "nope"`}},
		{"missing label in body", `{url: "https://ci.example/", body: "{{.Labels.gone}}"}`,
			[]string{"body: template: body:1:", `map has no entry for key "gone"`}},
		{"rendered url is not http", `url: "{{.Project}}://x"`,
			[]string{`url: "fulltour://x": scheme "fulltour" is not http or https`}},
		{"rendered url has no host", `url: "http:///{{.Stage}}"`,
			[]string{`url: "http:///qa": no host`}},
		{"header value with a line break", `{url: "https://ci.example/", headers: {X-Note: "{{.Labels.note}}"}}`,
			[]string{"headers.X-Note: the rendered value contains a line break"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			client := inProcess(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
			ex, _ := newExecutor(client, nil)
			_, err := ex.Execute(context.Background(), testTask(with(t, tt.settings)))
			if err == nil {
				t.Fatal("Execute succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if calls.Load() != 0 {
				t.Errorf("%d requests were sent despite the error", calls.Load())
			}
		})
	}
}

func TestSecretsAreUsedAndRedacted(t *testing.T) {
	const token = "s3cr3t T0ken/+=&\"x\""
	dir := t.TempDir()
	for name, content := range map[string]string{"lf": token + "\n", "crlf": token + "\r\n", "bare": token} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		source string
		env    map[string]string
	}{
		{"env", `{env: CI_TOKEN}`, map[string]string{"CI_TOKEN": token}},
		{"file with newline", fmt.Sprintf(`{file: %q}`, filepath.Join(dir, "lf")), nil},
		{"file with CRLF", fmt.Sprintf(`{file: %q}`, filepath.Join(dir, "crlf")), nil},
		{"file without newline", fmt.Sprintf(`{file: %q}`, filepath.Join(dir, "bare")), nil},
	}
	for _, tt := range tests {
		for _, code := range []int{http.StatusOK, http.StatusForbidden} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, code), func(t *testing.T) {
				// The server echoes the token back everywhere it can: a JSON body (escaped), a key, the
				// query string.
				srv, requests := recorder(t, func(w http.ResponseWriter, r *http.Request, body string) {
					w.WriteHeader(code)
					json.NewEncoder(w).Encode(map[string]any{
						"auth": r.Header.Get("Authorization"), "query": r.URL.RawQuery, "body": body,
						"nested": []any{map[string]any{r.URL.Query().Get("t"): "as a key"}},
					})
				})
				ex, logs := newExecutor(nil, tt.env)
				task := testTask(with(t, fmt.Sprintf(`
url: %q
headers: {Authorization: 'Bearer {{secret "ci_token"}}'}
body: '{"token": {{json (secret "ci_token")}}}'
secrets: {ci_token: %s}
retries: 0
`, srv.URL+`/hook?t={{secret "ci_token" | urlquery}}`, tt.source)))

				res, err := ex.Execute(context.Background(), task)
				if err != nil {
					t.Fatal(err)
				}
				got := requests()
				if len(got) != 1 {
					t.Fatalf("server got %d requests, want 1", len(got))
				}
				if a := got[0].header.Get("Authorization"); a != "Bearer "+token {
					t.Errorf("Authorization = %q, want the token", a)
				}
				var sent map[string]string
				if err := json.Unmarshal([]byte(got[0].body), &sent); err != nil || sent["token"] != token {
					t.Errorf("body = %s, want the token JSON-encoded", got[0].body)
				}

				data := mustJSON(t, res.Data)
				for _, form := range []string{"s3cr3t", "T0ken"} {
					for where, text := range map[string]string{"message": res.Message, "data": data, "logs": logs.String()} {
						if strings.Contains(text, form) {
							t.Errorf("%s contains the secret: %s", where, text)
						}
					}
				}
				if !strings.Contains(data, redacted) {
					t.Errorf("data has no %s where the echo was: %s", redacted, data)
				}
				if code == http.StatusForbidden {
					if res.Result != store.ResultFail || !strings.Contains(res.Message, "403 Forbidden (1 attempt): ") {
						t.Errorf("result = %s %q, want a fail quoting the body", res.Result, res.Message)
					}
					if !strings.Contains(res.Message, "Bearer "+redacted) {
						t.Errorf("message %q does not show where the token was", res.Message)
					}
				}
			})
		}
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secrets string
		use     string
		env     map[string]string
		want    string
	}{
		{"not configured", `{}`, `{{secret "nope"}}`, nil, `headers.Authorization: secret "nope" is not configured under secrets`},
		{"env unset", `{tok: {env: CI_TOKEN}}`, `{{secret "tok"}}`, nil, `secret "tok": environment variable CI_TOKEN is not set`},
		{"env empty", `{tok: {env: CI_TOKEN}}`, `{{secret "tok"}}`, map[string]string{"CI_TOKEN": ""}, `secret "tok" is empty`},
		{"file missing", fmt.Sprintf(`{tok: {file: %q}}`, filepath.Join(dir, "missing")), `{{secret "tok"}}`, nil, "no such file or directory"},
		{"file empty", fmt.Sprintf(`{tok: {file: %q}}`, empty), `{{secret "tok"}}`, nil, `secret "tok" is empty`},
		{"computed name not configured", `{}`, `{{secret .Stage}}`, nil, `secret "qa" is not configured under secrets`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			client := inProcess(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
			ex, _ := newExecutor(client, tt.env)
			task := testTask(with(t, fmt.Sprintf("{url: 'https://ci.example/', headers: {Authorization: '%s'}, secrets: %s}", tt.use, tt.secrets)))
			_, err := ex.Execute(context.Background(), task)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if calls.Load() != 0 {
				t.Errorf("%d requests were sent despite the error", calls.Load())
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name         string
		codes        []int // answers in order; the last repeats
		extra        string
		wantResult   store.Result
		wantAttempts int
		wantMessage  string // after "POST <server>/hook"
	}{
		{"200 passes", []int{200}, "", store.ResultPass, 1, " → 200 OK (1 attempt)"},
		{"503, 503, 200 passes on the third attempt", []int{503, 503, 200}, "", store.ResultPass, 3, " → 200 OK (3 attempts)"},
		{"500 forever fails after retries+1 attempts", []int{500}, "", store.ResultFail, 4, " → 500 Internal Server Error (4 attempts): answer 4 was 500"},
		{"retries: 1", []int{502}, "retries: 1", store.ResultFail, 2, " → 502 Bad Gateway (2 attempts): answer 2 was 502"},
		{"retries: 0", []int{503, 200}, "retries: 0", store.ResultFail, 1, " → 503 Service Unavailable (1 attempt): answer 1 was 503"},
		{"404 fails at once", []int{404, 200}, "", store.ResultFail, 1, " → 404 Not Found (1 attempt): answer 1 was 404"},
		{"400 fails at once", []int{400, 200}, "", store.ResultFail, 1, " → 400 Bad Request (1 attempt): answer 1 was 400"},
		{"408 is retried", []int{408, 201}, "", store.ResultPass, 2, " → 201 Created (2 attempts)"},
		{"429 is retried", []int{429, 204}, "", store.ResultPass, 2, " → 204 No Content (2 attempts)"},
		{"3xx is not 2xx", []int{304}, "", store.ResultFail, 1, " → 304 Not Modified (1 attempt)"},
		{"expect_status rejects another 2xx", []int{200}, "expect_status: [201, 202]", store.ResultFail, 1, " → 200 OK (1 attempt): answer 1 was 200"},
		{"expect_status accepts its code", []int{202}, "expect_status: [201, 202]", store.ResultPass, 1, " → 202 Accepted (1 attempt)"},
		{"expect_status can accept a 404", []int{404}, "expect_status: [200, 404]", store.ResultPass, 1, " → 404 Not Found (1 attempt)"},
		{"expect_status does not stop retries of 503", []int{503, 200}, "expect_status: [200]", store.ResultPass, 2, " → 200 OK (2 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv, requests := recorder(t, func(w http.ResponseWriter, _ *http.Request, _ string) {
				i := int(n.Add(1))
				code := tt.codes[min(i, len(tt.codes))-1]
				w.WriteHeader(code)
				if code != http.StatusNotModified && code != http.StatusNoContent {
					fmt.Fprintf(w, "answer %d\nwas %d", i, code)
				}
			})
			ex, _ := newExecutor(nil, nil)
			// A millisecond backoff keeps real waits short; backoff timing is TestBackoff's subject.
			res, err := ex.Execute(context.Background(), testTask(with(t, fmt.Sprintf("url: %q\nbackoff: 1ms\n%s", srv.URL+"/hook", tt.extra))))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(requests()); got != tt.wantAttempts {
				t.Errorf("server got %d requests, want %d", got, tt.wantAttempts)
			}
			if res.Result != tt.wantResult || res.Status != store.StatusSucceeded {
				t.Errorf("result = %s/%s, want %s/succeeded", res.Result, res.Status, tt.wantResult)
			}
			if want := "POST " + srv.URL + "/hook" + tt.wantMessage; res.Message != want {
				t.Errorf("message = %q, want %q", res.Message, want)
			}
			d := taskData(t, res.Data)
			if d["attempts"] != tt.wantAttempts || d["statusCode"] != tt.codes[min(tt.wantAttempts, len(tt.codes))-1] {
				t.Errorf("data = %v, want %d attempts and the last code", d, tt.wantAttempts)
			}
		})
	}
}

func TestUnreachableServerIsRetriedThenErrored(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	ex, logs := newExecutor(nil, nil)
	res, err := ex.Execute(context.Background(), testTask(with(t, fmt.Sprintf("{url: %q, retries: 2, backoff: 1ms}", url+"/hook?x=1"))))
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != store.ResultFail || res.Status != store.StatusErrored {
		t.Errorf("result = %s/%s, want fail/errored", res.Result, res.Status)
	}
	if want := "POST " + url + "/hook: no answer after 3 attempts: "; !strings.HasPrefix(res.Message, want) || !strings.Contains(res.Message, "connection refused") {
		t.Errorf("message = %q, want %q… connection refused", res.Message, want)
	}
	if strings.Contains(res.Message, "x=1") {
		t.Errorf("message %q quotes the query string", res.Message)
	}
	if got := strings.Count(logs.String(), "retrying"); got != 2 {
		t.Errorf("logged %d retries, want 2:\n%s", got, logs)
	}
	if d := taskData(t, res.Data); d["attempts"] != 3 || d["statusCode"] != nil {
		t.Errorf("data = %v, want 3 attempts and no status code", d)
	}
}

func TestResultDataOff(t *testing.T) {
	client := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"id": 1}`) }))
	ex, _ := newExecutor(client, nil)
	res, err := ex.Execute(context.Background(), testTask(with(t, `{url: "https://ci.example/", result_data: false}`)))
	if err != nil {
		t.Fatal(err)
	}
	if d := taskData(t, res.Data); d["response"] != nil || d["statusCode"] != 200 {
		t.Errorf("data = %v, want a status code and no response", d)
	}
}

func TestOnlyJSONObjectsBecomeData(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		max        string
		want       any
	}{
		{"object", `{"a": "b"}`, "", map[string]any{"a": "b"}},
		{"array", `[1, 2]`, "", nil},
		{"text", `done`, "", nil},
		{"object longer than max_response", `{"a": "bcdefgh"}`, "max_response: 8", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tt.body) }))
			ex, _ := newExecutor(client, nil)
			res, err := ex.Execute(context.Background(), testTask(with(t, "url: https://ci.example/\n"+tt.max)))
			if err != nil {
				t.Fatal(err)
			}
			if got := taskData(t, res.Data)["response"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("response = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestIdempotent(t *testing.T) {
	tests := []struct {
		settings string
		want     bool
	}{
		{`url: https://x/`, false}, // POST by default
		{`{url: https://x/, method: POST}`, false},
		{`{url: https://x/, method: PATCH}`, false},
		{`{url: https://x/, method: GET}`, true},
		{`{url: https://x/, method: get}`, true},
		{`{url: https://x/, method: HEAD}`, true},
		{`{url: https://x/, method: OPTIONS}`, true},
		{`{url: https://x/, method: PUT}`, true},
		{`{url: https://x/, method: DELETE}`, true},
		{`{url: https://x/, method: PUT, poll: {url: https://x/s, status_field: s, pass: [ok]}}`, false},
		{`{url: https://x/, method: GET, poll: {url: https://x/s, status_field: s, pass: [ok]}}`, false},
		{`{url: https://x/, method: GET, retires: 2}`, false}, // does not decode
	}
	for _, tt := range tests {
		t.Run(tt.settings, func(t *testing.T) {
			if got := (&Executor{}).Idempotent("test", with(t, tt.settings)); got != tt.want {
				t.Errorf("Idempotent = %v, want %v", got, tt.want)
			}
		})
	}
}
