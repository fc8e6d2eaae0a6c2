package metrics

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// storeCollector reads the store-backed metrics at scrape time: queue depth and DORA figures. When a
// part cannot read the store, its metrics are left out of that scrape, the rest of /metrics is served,
// and shipgate_metrics_errors_total counts the failure in the same scrape.
type storeCollector struct {
	parts  []storePart
	errors *prometheus.Desc
	log    *slog.Logger

	mu       sync.Mutex
	failures map[string]float64 // by part name
}

// storePart is one group of store-backed metrics.
type storePart struct {
	name     string
	describe func(chan<- *prometheus.Desc)
	collect  func(chan<- prometheus.Metric) error
}

func newStoreCollector(st *store.Store, projects []*config.Project, now func() time.Time, log *slog.Logger) *storeCollector {
	q, d := newQueueCollector(st, projects), newDORACollector(st, projects, now)
	c := &storeCollector{
		parts: []storePart{{"queue", q.describe, q.collect}, {"dora", d.describe, d.collect}},
		errors: prometheus.NewDesc("shipgate_metrics_errors_total",
			"Scrapes in which a store-backed collector (queue, dora) could not read the store; its metrics were left out.",
			[]string{"collector"}, nil),
		log:      log,
		failures: map[string]float64{},
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, p := range c.parts {
		p.describe(ch)
	}
	ch <- c.errors
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.parts {
		err := p.collect(ch)
		c.mu.Lock()
		if err != nil {
			c.failures[p.name]++
		}
		n := c.failures[p.name]
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("collect metrics from the store", "collector", p.name, "err", err)
		}
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, n, p.name)
	}
}
