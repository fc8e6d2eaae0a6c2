package metrics

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// shipyard takes a build through qa, then production behind a manual approval, each with an evaluation.
const shipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: evaluation
    - name: production
      sequences:
        - name: delivery
          triggeredOn:
            - event: qa.delivery.finished
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual}
            - name: deployment
            - name: evaluation
        - name: rollback
          tasks:
            - name: rollback
`

const image = "ghcr.io/podtato-head/podtatoserver:v0.1.1"

// writeProject writes project fulltour with services helloservice and orders; its tasks run on noop.
func writeProject(t *testing.T) *config.Project {
	t.Helper()
	return configtest.WriteProject(t, filepath.Join(t.TempDir(), "fulltour"), map[string]string{
		"shipyard.yaml":          shipyard,
		"executors.yaml":         "tasks:\n  deployment: {type: noop}\n  rollback: {type: noop}\n",
		"helloservice/README.md": "helloservice\n",
		"orders/README.md":       "orders\n",
	})
}

// t0 is when the tests' clocks start.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a settable clock for the store and the metrics.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openStore opens a store on c in a fresh directory, closed when the test ends.
func openStore(t *testing.T, c *clock) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"), store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// families gathers g by metric name.
func families(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// labelString writes a metric's labels as k=v,k=v in name order, as Prometheus sorts them.
func labelString(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// series lists a family's series as "k=v,... value", the value a counter's or gauge's value, or a
// histogram's "count/sum", sorted.
func series(mfs map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range mfs[name].GetMetric() {
		var v string
		switch {
		case m.GetHistogram() != nil:
			v = fmt.Sprintf("%d/%g", m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum())
		case m.GetCounter() != nil:
			v = fmt.Sprintf("%g", m.GetCounter().GetValue())
		default:
			v = fmt.Sprintf("%g", m.GetGauge().GetValue())
		}
		out = append(out, labelString(m)+" "+v)
	}
	slices.Sort(out)
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}
