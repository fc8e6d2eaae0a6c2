package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

// ciServer is a CI system: POST /job/build starts a job and answers where to follow it; GET /status/42
// answers the nth poll with answers[n-1] (the last repeats). An answer is a JSON document, or a status
// code for the text "not valid".
type ciServer struct {
	answers []any
	polls   atomic.Int32
	auth    atomic.Value // the Authorization header of the last poll
}

func (s *ciServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/job/build":
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"id": 42, "statusUrl": "https://ci.example/status/42", "statusPath": "/status/42"}`)
	case r.URL.Path == "/status/42":
		n := int(s.polls.Add(1))
		s.auth.Store(r.Header.Get("Authorization"))
		switch a := s.answers[min(n, len(s.answers))-1].(type) {
		case int:
			w.WriteHeader(a)
			fmt.Fprint(w, "not valid")
		default:
			json.NewEncoder(w).Encode(a)
		}
	default:
		http.NotFound(w, r)
	}
}

func state(s string) map[string]any { return map[string]any{"status": s} }

func TestPoll(t *testing.T) {
	const started = "POST https://ci.example/job/build → 202 Accepted (1 attempt), "
	tests := []struct {
		name        string
		poll        string // with.poll, besides the default interval of 10s and status lists
		answers     []any
		deadline    time.Duration
		wantResult  store.Result
		wantStatus  store.Status
		wantMessage string
		wantPolls   int // requests to the status URL
		wantElapsed time.Duration
	}{
		{
			name:       "running, running, succeeded passes",
			answers:    []any{state("running"), state("running"), state("succeeded")},
			wantResult: store.ResultPass, wantStatus: store.StatusSucceeded,
			wantMessage: started + "job passed after 3 polls", wantPolls: 3, wantElapsed: 30 * time.Second,
		},
		{
			name:       "failed fails",
			answers:    []any{state("queued"), state("failed")},
			wantResult: store.ResultFail, wantStatus: store.StatusSucceeded,
			wantMessage: started + `job failed after 2 polls (status "failed")`, wantPolls: 2, wantElapsed: 20 * time.Second,
		},
		{
			name:       "warning values warn",
			answers:    []any{state("unstable")},
			wantResult: store.ResultWarning, wantStatus: store.StatusSucceeded,
			wantMessage: started + `job passed with a warning after 1 poll (status "unstable")`, wantPolls: 1, wantElapsed: 10 * time.Second,
		},
		{
			name:       "values match ignoring case",
			answers:    []any{state("SUCCEEDED")},
			wantResult: store.ResultPass, wantStatus: store.StatusSucceeded,
			wantMessage: started + "job passed after 1 poll", wantPolls: 1, wantElapsed: 10 * time.Second,
		},
		{
			name:       "a dotted path and the URL from .Data",
			poll:       `{url: "{{.Data.test.statusUrl}}", status_field: job.builds.1.result, interval: 1m}`,
			answers:    []any{map[string]any{"job": map[string]any{"builds": []any{map[string]any{"result": "passed"}, map[string]any{"result": "error"}}}}},
			wantResult: store.ResultFail, wantStatus: store.StatusSucceeded,
			wantMessage: started + `job failed after 1 poll (status "error")`, wantPolls: 1, wantElapsed: time.Minute,
		},
		{
			name:       "a relative URL from the response",
			poll:       `{url: "{{.Response.statusPath}}"}`,
			answers:    []any{state("passed")},
			wantResult: store.ResultPass, wantStatus: store.StatusSucceeded,
			wantMessage: started + "job passed after 1 poll", wantPolls: 1, wantElapsed: 10 * time.Second,
		},
		{
			name:       "a transient error is retried like the call",
			answers:    []any{503, state("succeeded")},
			wantResult: store.ResultPass, wantStatus: store.StatusSucceeded,
			wantMessage: started + "job passed after 1 poll", wantPolls: 2, wantElapsed: 11 * time.Second,
		},
		{
			name:       "a missing status field means still running",
			answers:    []any{map[string]any{"queued": true}, state("succeeded")},
			wantResult: store.ResultPass, wantStatus: store.StatusSucceeded,
			wantMessage: started + "job passed after 2 polls", wantPolls: 2, wantElapsed: 20 * time.Second,
		},
		{
			name:       "the task deadline stops polling",
			answers:    []any{state("running")},
			deadline:   35 * time.Second,
			wantResult: store.ResultFail, wantStatus: store.StatusErrored,
			wantMessage: started + `polling stopped: task deadline reached after 3 polls (last status "running")`, wantPolls: 3, wantElapsed: 35 * time.Second,
		},
		{
			name:       "the deadline says when the status field never appeared",
			answers:    []any{map[string]any{"state": "ok"}},
			deadline:   25 * time.Second,
			wantResult: store.ResultFail, wantStatus: store.StatusErrored,
			wantMessage: started + `polling stopped: task deadline reached after 2 polls (the answers have no status)`, wantPolls: 2, wantElapsed: 25 * time.Second,
		},
		{
			name:       "a 404 from the status URL errors",
			answers:    []any{404},
			wantResult: store.ResultFail, wantStatus: store.StatusErrored,
			wantMessage: started + "poll GET https://ci.example/status/42 → 404 Not Found (1 attempt): not valid", wantPolls: 1, wantElapsed: 10 * time.Second,
		},
		{
			name:       "an answer that is not JSON errors",
			answers:    []any{200},
			wantResult: store.ResultFail, wantStatus: store.StatusErrored,
			wantMessage: started + "poll GET https://ci.example/status/42 → 200 OK: response is not JSON", wantPolls: 1, wantElapsed: 10 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ci := &ciServer{answers: tt.answers}
				ex, _ := newExecutor(inProcess(ci), map[string]string{"CI_TOKEN": "tok"})
				cfg := with(t, `
url: https://ci.example/job/build
headers: {Authorization: 'Bearer {{secret "ci"}}'}
secrets: {ci: {env: CI_TOKEN}}
backoff: 1s
poll:
  url: "{{.Response.statusUrl}}"
  status_field: status
  pass: [succeeded, passed]
  fail: [failed, error]
  warning: [unstable]
`)
				poll := cfg["poll"].(map[string]any)
				for k, v := range with(t, tt.poll) {
					poll[k] = v
				}
				ctx := t.Context()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				start := time.Now()
				res, err := ex.Execute(ctx, testTask(cfg))
				if err != nil {
					t.Fatal(err)
				}
				if res.Result != tt.wantResult || res.Status != tt.wantStatus || res.Message != tt.wantMessage {
					t.Errorf("result = %s/%s %q\nwant %s/%s %q", res.Result, res.Status, res.Message, tt.wantResult, tt.wantStatus, tt.wantMessage)
				}
				if got := int(ci.polls.Load()); got != tt.wantPolls {
					t.Errorf("%d polls, want %d", got, tt.wantPolls)
				}
				if elapsed := time.Since(start); elapsed != tt.wantElapsed {
					t.Errorf("elapsed %v, want %v", elapsed, tt.wantElapsed)
				}
				if auth, _ := ci.auth.Load().(string); auth != "Bearer tok" {
					t.Errorf("poll Authorization = %q, want the call's headers", auth)
				}
			})
		})
	}
}

func TestPollResultData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ci := &ciServer{answers: []any{state("running"), map[string]any{"status": "succeeded", "report": "https://ci.example/r/42"}}}
		ex, _ := newExecutor(inProcess(ci), nil)
		res, err := ex.Execute(t.Context(), testTask(with(t, `
url: https://ci.example/job/build
poll: {url: "{{.Response.statusUrl}}", status_field: status, pass: [succeeded], interval: 5s}
`)))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"statusCode": 202, "attempts": 1, "url": "https://ci.example/job/build",
			"response": map[string]any{"id": float64(42), "statusUrl": "https://ci.example/status/42", "statusPath": "/status/42"},
			"poll": map[string]any{
				"polls": 2, "statusCode": 200, "status": "succeeded", "url": "https://ci.example/status/42",
				"response": map[string]any{"status": "succeeded", "report": "https://ci.example/r/42"},
			},
		}
		if d := taskData(t, res.Data); !reflect.DeepEqual(d, want) {
			t.Errorf("data = %#v\nwant %#v", d, want)
		}
	})
}

func TestNoPollAfterAFailedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ci := &ciServer{answers: []any{state("succeeded")}}
		ex, _ := newExecutor(inProcess(ci), nil)
		res, err := ex.Execute(t.Context(), testTask(with(t, `
url: https://ci.example/job/missing
poll: {url: "{{.Response.statusUrl}}", status_field: status, pass: [succeeded]}
`)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Result != store.ResultFail || ci.polls.Load() != 0 {
			t.Errorf("result %s after %d polls, want fail without polling", res.Result, ci.polls.Load())
		}
	})
}

func TestPollURLMissingFromTheAnswer(t *testing.T) {
	ci := &ciServer{answers: []any{state("succeeded")}}
	ex, _ := newExecutor(inProcess(ci), nil)
	res, err := ex.Execute(t.Context(), testTask(with(t, `
url: https://ci.example/job/build
poll: {url: "{{.Response.jobUrl}}", status_field: status, pass: [succeeded]}
`)))
	if err != nil {
		t.Fatal(err)
	}
	want := "POST https://ci.example/job/build → 202 Accepted (1 attempt), but the poll request did not render: poll.url: template: poll.url:1:"
	if res.Result != store.ResultFail || res.Status != store.StatusErrored || !strings.HasPrefix(res.Message, want) ||
		!strings.Contains(res.Message, `map has no entry for key "jobUrl"`) {
		t.Errorf("result = %s/%s %q\nwant fail/errored %q…", res.Result, res.Status, res.Message, want)
	}
	if ci.polls.Load() != 0 {
		t.Errorf("%d polls, want none", ci.polls.Load())
	}
	if d := taskData(t, res.Data); d["statusCode"] != 202 {
		t.Errorf("data = %v, want the first call's", d)
	}
}

func TestLookupPath(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"status": "ok", "job": {"state": 3, "done": true, "steps": [{"name": "a"}, {"name": "b"}]}, "nil": null}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		want   string
		wantOK bool
	}{
		{"status", "ok", true},
		{"job.state", "3", true},
		{"job.done", "true", true},
		{"job.steps.1.name", "b", true},
		{"job.steps.2.name", "", false},
		{"job.steps.-1.name", "", false},
		{"job.steps.x", "", false},
		{"status.deeper", "", false},
		{"missing", "", false},
		{"nil", "null", true},
		{"job.steps.0", `{"name":"a"}`, true},
	}
	for _, tt := range tests {
		v, ok := lookupPath(doc, tt.path)
		if ok != tt.wantOK || ok && statusString(v) != tt.want {
			t.Errorf("lookupPath(%q) = %v, %v; want %q, %v", tt.path, v, ok, tt.want, tt.wantOK)
		}
	}
}
