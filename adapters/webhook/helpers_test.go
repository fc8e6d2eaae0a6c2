package webhook

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/engine"
)

// with decodes a task's `with:` settings from YAML, as executors.yaml gives them to the executor.
func with(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("settings YAML: %v\n%s", err, text)
	}
	return m
}

// testTask is a task of the fulltour project with labels and data that templates can use; the note
// label holds what breaks naive JSON templating.
func testTask(cfg map[string]any) engine.Task {
	return engine.Task{
		RunID: 7, Attempt: 1, DeliveryID: 3, KeptnContext: "ctx-1",
		Project: "fulltour", Stage: "qa", Service: "helloservice", Sequence: "delivery", Name: "test",
		Image:  "ghcr.io/acme/hello:1.2.3",
		Labels: map[string]string{"version": "1.2.3", "note": "say \"hi\"\n\tthen \\ leave"},
		Data: map[string]any{
			"deployment": map[string]any{"deploymentNames": []any{"hello-primary"}},
			"test":       map[string]any{"suite": "smoke"},
		},
		Config: cfg,
	}
}

// newExecutor returns an executor with the given client and environment whose log lines are kept, so a
// test can check that no secret reached them.
func newExecutor(client *http.Client, env map[string]string) (*Executor, *syncBuffer) {
	logs := &syncBuffer{}
	return &Executor{
		Client: client,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}, logs
}

// syncBuffer is a log sink that the race detector accepts even when an HTTP client goroutine logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// roundTripFunc answers requests without a network. Inside a testing/synctest bubble the fake clock
// only moves while every goroutine is blocked on something the bubble can see, which a socket is not,
// so timing tests answer in-process.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// inProcess is a client whose requests h answers in-process, as a server would.
func inProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if r.Body != nil {
			r.Body.Close()
		}
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})}
}

// taskData is the task's entry in a result's data.
func taskData(t *testing.T, data map[string]any) map[string]any {
	t.Helper()
	d, ok := data["test"].(map[string]any)
	if !ok {
		t.Fatalf("Result.Data has no map under the task name: %#v", data)
	}
	return d
}

// mustJSON is v encoded, for searching result data; <secret> stays readable.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// hostOf is the host of a URL such as an httptest server's, for expected messages.
func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }
