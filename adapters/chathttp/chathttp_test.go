package chathttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOutcome(t *testing.T) {
	if got := Outcome(false); got != "ok" {
		t.Errorf("Outcome(false) = %q, want ok", got)
	}
	if got := Outcome(true); got != "duplicate" {
		t.Errorf("Outcome(true) = %q, want duplicate", got)
	}
}

// WriteJSON answers 200 with a JSON Content-Type and the value as encoding/json writes it: HTML
// characters escaped and a trailing newline, which is what the platforms have always received.
func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, map[string]any{"response_type": "ephemeral", "text": "<a & b>"})
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, want 200", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	if want := `{"response_type":"ephemeral","text":"\u003ca \u0026 b\u003e"}` + "\n"; rec.Body.String() != want {
		t.Errorf("body %q, want %q", rec.Body.String(), want)
	}
}

// A value that cannot be encoded still gets the JSON Content-Type and an empty 200, not half a body.
func TestWriteJSONUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, map[string]any{"f": func() {}})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Body.Len() != 0 {
		t.Errorf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

// The histogram's buckets end at the platforms' 3 s deadline; the counter and the histogram carry the
// names, help texts and labels the handler gives them (each handler's test checks its own).
func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, MetricsOpts{RequestsName: "t_requests_total", RequestsHelp: "Requests.", RequestLabels: []string{"outcome"},
		AckName: "t_ack_seconds", AckHelp: "Answers.", AckLabel: "type"})
	m.Request("ok")
	m.Ack("command", 200*time.Millisecond)
	want := `
# HELP t_ack_seconds Answers.
# TYPE t_ack_seconds histogram
t_ack_seconds_bucket{type="command",le="0.001"} 0
t_ack_seconds_bucket{type="command",le="0.0025"} 0
t_ack_seconds_bucket{type="command",le="0.005"} 0
t_ack_seconds_bucket{type="command",le="0.01"} 0
t_ack_seconds_bucket{type="command",le="0.025"} 0
t_ack_seconds_bucket{type="command",le="0.05"} 0
t_ack_seconds_bucket{type="command",le="0.1"} 0
t_ack_seconds_bucket{type="command",le="0.25"} 1
t_ack_seconds_bucket{type="command",le="0.5"} 1
t_ack_seconds_bucket{type="command",le="1"} 1
t_ack_seconds_bucket{type="command",le="3"} 1
t_ack_seconds_bucket{type="command",le="+Inf"} 1
t_ack_seconds_sum{type="command"} 0.2
t_ack_seconds_count{type="command"} 1
# HELP t_requests_total Requests.
# TYPE t_requests_total counter
t_requests_total{outcome="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// Request increments exactly the series its label values name, and nothing else.
func TestMetricsRequestCountsItsSeries(t *testing.T) {
	m := NewMetrics(nil, MetricsOpts{RequestsName: "t_requests_total", RequestsHelp: "h", RequestLabels: []string{"endpoint", "outcome"},
		AckName: "t_ack_seconds", AckHelp: "h", AckLabel: "endpoint"})
	m.Request("commands", Outcome(true))
	m.Request("commands", Outcome(true))
	m.Request("events", "unauthorized")
	if n := testutil.CollectAndCount(m.Requests); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
	for _, c := range []struct {
		endpoint, outcome string
		want              float64
	}{{"commands", "duplicate", 2}, {"events", "unauthorized", 1}, {"commands", "ok", 0}} {
		if got := testutil.ToFloat64(m.Requests.WithLabelValues(c.endpoint, c.outcome)); got != c.want {
			t.Errorf("%s/%s = %v, want %v", c.endpoint, c.outcome, got, c.want)
		}
	}
}

// A nil Registerer registers nothing, so handlers built without one do not collide; a real one
// exposes what is counted.
func TestMetricsRegisterer(t *testing.T) {
	opts := MetricsOpts{RequestsName: "t_requests_total", RequestsHelp: "h", RequestLabels: []string{"outcome"},
		AckName: "t_ack_seconds", AckHelp: "h", AckLabel: "type"}
	NewMetrics(nil, opts)
	NewMetrics(nil, opts)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, opts)
	m.Request("busy")
	m.Ack("ping", time.Millisecond)
	for name, want := range map[string]int{"t_requests_total": 1, "t_ack_seconds": 1} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s: %d series, err %v; want %d", name, n, err, want)
		}
	}
}

// ReadBody returns a body within its limit; past it, it answers 413 and counts too_large, and a body
// that fails to arrive is a 400 counted as bad_request. (The 503 for every slot taken is bodylimit's,
// tested there and in the handlers.)
func TestReadBody(t *testing.T) {
	var counted []string
	count := func(o string) { counted = append(counted, o) }
	rec := httptest.NewRecorder()
	body, ok := ReadBody(rec, httptest.NewRequest("POST", "/", strings.NewReader("token=x")), 16, count)
	if !ok || string(body) != "token=x" || len(counted) != 0 {
		t.Errorf("small body: %q %v %v", body, ok, counted)
	}
	rec = httptest.NewRecorder()
	if _, ok := ReadBody(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 17))), 16, count); ok || rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("large body: ok %v, status %d", ok, rec.Code)
	}
	rec = httptest.NewRecorder()
	if _, ok := ReadBody(rec, httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("to"), iotest.ErrReader(io.ErrUnexpectedEOF))), 16, count); ok || rec.Code != http.StatusBadRequest {
		t.Errorf("broken body: ok %v, status %d", ok, rec.Code)
	}
	if strings.Join(counted, ",") != "too_large,bad_request" {
		t.Errorf("counted %v", counted)
	}
}
