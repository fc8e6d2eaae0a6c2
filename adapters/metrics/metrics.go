// Package metrics exposes shipgate's work as Prometheus metrics: counters and histograms fed by engine
// events (deliveries, sequences, task durations, approval waits, evaluations), and gauges read from the
// store when Prometheus scrapes (queue depth, DORA figures). It also counts outbound chat API calls for
// the chat adapters (ChatCalls).
package metrics

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// maxPending bounds the start times kept for tasks and approvals that have not finished. A task whose
// sequence is aborted never sends .finished, so without a bound the maps would grow for ever; the oldest
// entries go first, and a task that outlives them is simply not timed.
const maxPending = 4096

// Buckets of the histograms: tasks run from milliseconds (noop) to the default task timeout of an hour;
// people answer approvals in minutes to days.
var (
	taskBuckets     = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}
	approvalBuckets = []float64{60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600}
)

// Metrics turns engine events into Prometheus metrics and reads the store's gauges at scrape time.
// Create it with New and pass Observe to engine.Subscribe.
type Metrics struct {
	deliveriesStarted  *prometheus.CounterVec
	deliveriesFinished *prometheus.CounterVec
	sequencesFinished  *prometheus.CounterVec
	taskDuration       *prometheus.HistogramVec
	approvalWait       *prometheus.HistogramVec
	evaluationScore    *prometheus.GaugeVec
	evaluations        *prometheus.CounterVec

	mu         sync.Mutex // guards the maps below, so that Observe is safe from any goroutine
	taskStarts *pending[time.Time]
	waiting    *pending[waitingApproval]
	// aborted marks deliveries whose last sequence to end was aborted: the engine then reports the
	// delivery aborted, but its delivery.finished event carries only the result of its last finished
	// sequence.
	aborted *pending[struct{}]

	log *slog.Logger
}

// waitingApproval is an approval open for votes.
type waitingApproval struct {
	since      time.Time
	deliveryID int64
	project    string
	stage      string
}

// Option configures New.
type Option func(*Metrics)

// WithLogger sets where failures to read the store at scrape time are reported. The default discards.
func WithLogger(log *slog.Logger) Option {
	return func(m *Metrics) { m.log = log }
}

// New creates the metrics and registers them with reg (nil registers nothing). The store-backed
// gauges — queue depth and the DORA figures of each project's last stage over the last 30 days — are
// read from st when reg is scraped, and left out when st is nil; now is their clock (nil: time.Now).
// Every configured project's services start with a zero deliveries_started_total, so that rate()
// sees their first delivery.
func New(reg prometheus.Registerer, st *store.Store, projects []*config.Project, now func() time.Time, opts ...Option) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		deliveriesStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_deliveries_started_total",
			Help: "Deliveries triggered, by project and service."}, []string{"project", "service"}),
		deliveriesFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_deliveries_finished_total",
			Help: "Deliveries that ended, by result: that of their last finished sequence (pass, warning, fail), aborted when their last sequence was aborted, none when no sequence finished."},
			[]string{"project", "service", "result"}),
		sequencesFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_sequences_finished_total",
			Help: "Sequence runs that ended, by result: pass, warning, fail (timed out included) or aborted."},
			[]string{"project", "service", "stage", "sequence", "result"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shipgate_task_duration_seconds",
			Help: "Time from a task's .started to its .finished event, by result.", Buckets: taskBuckets},
			[]string{"project", "stage", "task", "result"}),
		approvalWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shipgate_approval_wait_seconds",
			Help: "Time an approval waited for people, by outcome: approved, rejected, expired or aborted (aborted or superseded).", Buckets: approvalBuckets},
			[]string{"project", "stage", "outcome"}),
		evaluationScore: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shipgate_evaluation_score",
			Help: "Score (0-100) of the last evaluation task that reported one."}, []string{"project", "service", "stage"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_evaluations_total",
			Help: "Evaluation tasks that finished, by result."}, []string{"project", "service", "stage", "result"}),
		taskStarts: newPending[time.Time](maxPending),
		waiting:    newPending[waitingApproval](maxPending),
		aborted:    newPending[struct{}](maxPending),
		log:        slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(m)
	}
	for _, p := range projects {
		for _, svc := range p.Services {
			m.deliveriesStarted.WithLabelValues(p.Name, svc)
		}
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.deliveriesStarted, m.deliveriesFinished, m.sequencesFinished, m.taskDuration, m.approvalWait,
		m.evaluationScore, m.evaluations)
	if st != nil {
		reg.MustRegister(newStoreCollector(st, projects, now, m.log))
	}
	return m
}
