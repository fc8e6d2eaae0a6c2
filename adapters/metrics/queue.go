package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// queueTimeout bounds the queue's read at scrape time.
const queueTimeout = 2 * time.Second

// queueCollector reports, at scrape time, how many sequence runs wait in each queue.
type queueCollector struct {
	st       *store.Store
	projects []*config.Project
	depth    *prometheus.Desc
}

func newQueueCollector(st *store.Store, projects []*config.Project) *queueCollector {
	return &queueCollector{st: st, projects: projects,
		depth: prometheus.NewDesc("shipgate_queue_depth",
			"Sequence runs waiting to start (queued behind the running one, or held by a freeze window), by project, stage and service.",
			[]string{"project", "stage", "service"}, nil)}
}

func (c *queueCollector) describe(ch chan<- *prometheus.Desc) { ch <- c.depth }

// collect reports every configured project, stage and service, with 0 when nothing waits, so that a
// queue that empties drops to 0 instead of disappearing; and the queues of anything else in the store.
func (c *queueCollector) collect(ch chan<- prometheus.Metric) error {
	ctx, cancel := context.WithTimeout(context.Background(), queueTimeout)
	defer cancel()
	depths, err := c.st.QueueDepths(ctx)
	if err != nil {
		return err
	}
	type place struct{ project, stage, service string }
	counts := map[place]int{}
	for _, p := range c.projects {
		for _, stage := range p.Shipyard.StageNames() {
			for _, svc := range p.Services {
				counts[place{p.Name, stage, svc}] = 0
			}
		}
	}
	for _, d := range depths {
		counts[place{d.Project, d.Stage, d.Service}] = d.Runs
	}
	for pl, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), pl.project, pl.stage, pl.service)
	}
	return nil
}
