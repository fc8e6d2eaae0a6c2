// Package chathttp holds the plumbing the Slack and Discord HTTP handlers share: how an answer is
// written, and how inbound requests are counted and timed. It lives in one place so that the two
// platforms cannot drift apart in how they answer or in what their metrics mean.
//
// It knows nothing of either platform. The names, labels and help texts of each platform's metrics stay
// with its handler: they are a public contract (dashboards and alerts query them), and they differ
// between the platforms, Slack counting by endpoint and Discord, which has one endpoint, by outcome only.
package chathttp

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/adapters/bodylimit"
)

// Outcome labels an answered request for the requests counter. The bot answers a request it has seen
// before (the same trigger or interaction id, delivered again) as it did the first time without acting
// again; counting those apart from new requests shows redeliveries on a dashboard instead of hiding
// them in the traffic.
func Outcome(dup bool) string {
	if dup {
		return "duplicate"
	}
	return "ok"
}

// WriteJSON answers 200 with v as JSON, the form both platforms take an answer in. The Content-Type is
// set because Slack shows a slash command's answer without it as plain text rather than as a message.
// Errors are dropped because nothing could be done with them: a value that does not encode is a bug the
// tests catch, and a failed write means the platform has hung up.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// ackBuckets end at 3 s because both Slack and Discord give up on an answer after 3 seconds: what
// matters is how close answers come to that, not how late the ones past it were.
var ackBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3}

// MetricsOpts name a platform's request metrics. Every field is part of the metrics' public contract,
// so each handler spells them out in full rather than having them derived from the platform's name,
// where a search for a metric's name would not find them.
type MetricsOpts struct {
	RequestsName  string // the counter, e.g. shipgate_slack_requests_total
	RequestsHelp  string
	RequestLabels []string // the counter's labels, the outcome among them
	AckName       string   // the answer-time histogram, e.g. shipgate_slack_ack_seconds
	AckHelp       string
	AckLabel      string // the histogram's one label
}

// Metrics counts a platform's inbound requests by outcome, refused ones included, since a flood of
// unauthorized or busy requests is what an operator needs to see, and times the answers, which the
// platform gives up on past 3 seconds.
//
// Requests and Acks are exported for tests that read a series.
type Metrics struct {
	Requests *prometheus.CounterVec
	Acks     *prometheus.HistogramVec
}

// NewMetrics creates the counter and the histogram and registers them with reg. A nil reg registers
// nothing, so that a handler can be built without exposing metrics, as tests build several.
func NewMetrics(reg prometheus.Registerer, o MetricsOpts) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: o.RequestsName, Help: o.RequestsHelp}, o.RequestLabels),
		Acks: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: o.AckName, Help: o.AckHelp, Buckets: ackBuckets},
			[]string{o.AckLabel}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Acks)
	}
	return m
}

// Request counts one request. labelValues go in the order of MetricsOpts.RequestLabels; a wrong number
// of them panics, as prometheus does, since it is a programming error a test run reveals at once.
func (m *Metrics) Request(labelValues ...string) {
	m.Requests.WithLabelValues(labelValues...).Inc()
}

// Ack records how long a verified request took to answer, from its arrival to the answer's write.
func (m *Metrics) Ack(label string, d time.Duration) {
	m.Acks.WithLabelValues(label).Observe(d.Seconds())
}

// ReadBody reads a platform's request body, at most max bytes, under limiter's cap on unverified bodies
// read at once (bodylimit). When it cannot, it answers (503 when every slot is taken, 413 for a body
// over max, 400 for one that cannot be read), reports the outcome (busy, too_large, bad_request) to
// count, and returns false; the handler then does nothing more.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64, count func(outcome string)) ([]byte, bool) {
	body, err := bodylimit.Read(w, r, max)
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, bodylimit.ErrBusy):
		count("busy")
		bodylimit.Refuse(w, r)
	case errors.As(err, &tooBig):
		count("too_large")
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	default:
		count("bad_request")
		http.Error(w, "cannot read request", http.StatusBadRequest)
	}
	return nil, false
}
