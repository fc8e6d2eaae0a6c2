package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine/dora"
	"github.com/shipgate/shipgate/store"
)

const (
	// doraWindow is the window the DORA gauges look back over.
	doraWindow = 30 * 24 * time.Hour
	// doraCacheFor is how long computed figures are served again: they move slowly, and computing them
	// reads a month of history for every project.
	doraCacheFor = time.Minute
	// doraTimeout bounds the reads of one computation, all projects together.
	doraTimeout = 5 * time.Second
)

// doraCollector reports each configured service's DORA figures in its project's last stage over the
// last 30 days, computed again in the background once they are a minute old, so that a scrape does not
// wait for the window's history to be read.
type doraCollector struct {
	st       *store.Store
	projects []*config.Project
	now      func() time.Time

	deploymentsPerDay, deployments, leadTime, failureRatio, timeToRestore *prometheus.Desc

	mu         sync.Mutex // held while the first computation runs, so that concurrent scrapes compute once
	cachedAt   time.Time
	cached     []serviceFigures
	refreshing bool  // a computation runs in the background
	failed     error // the last background computation's error, for the next scrape to report
}

// serviceFigures are the figures of one service.
type serviceFigures struct {
	project, service string
	figures          dora.Figures
}

func newDORACollector(st *store.Store, projects []*config.Project, now func() time.Time) *doraCollector {
	labels := []string{"project", "service", "stage"}
	quantile := append(labels[:len(labels):len(labels)], "quantile")
	return &doraCollector{st: st, projects: projects, now: now,
		deploymentsPerDay: prometheus.NewDesc("shipgate_dora_deployments_per_day",
			"DORA deployment frequency: successful deployments per day to the shipyard's last stage (label stage) over the last 30 days.", labels, nil),
		deployments: prometheus.NewDesc("shipgate_dora_deployments",
			"Successful deployments to the shipyard's last stage (label stage) in the last 30 days.", labels, nil),
		leadTime: prometheus.NewDesc("shipgate_dora_lead_time_seconds",
			"DORA lead time for changes: from a delivery's trigger to its production deployment, over the last 30 days; absent without deployments.", quantile, nil),
		failureRatio: prometheus.NewDesc("shipgate_dora_change_failure_ratio",
			"DORA change failure rate: the fraction of production changes in the last 30 days followed by a failure, a rollback or a failed evaluation; absent without changes.", labels, nil),
		timeToRestore: prometheus.NewDesc("shipgate_dora_time_to_restore_seconds",
			"DORA time to restore: from a production failure to the next successful deployment or rollback, over the last 30 days; absent when nothing was restored.", quantile, nil),
	}
}

func (c *doraCollector) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.deploymentsPerDay, c.deployments, c.leadTime, c.failureRatio, c.timeToRestore} {
		ch <- d
	}
}

// collect reports the figures of every configured service; a figure without data is left out rather
// than reported as 0, which would read as "instant" or "never fails". When a project's history cannot be
// read, the other projects are still reported.
func (c *doraCollector) collect(ch chan<- prometheus.Metric) error {
	all, err := c.figures()
	for _, sf := range all {
		f := sf.figures
		labels := []string{sf.project, sf.service, f.Stage}
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(labels[:len(labels):len(labels)], extra...)...)
		}
		gauge(c.deploymentsPerDay, f.DeploymentsPerDay)
		gauge(c.deployments, float64(f.Deployments))
		if f.Deployments > 0 {
			gauge(c.leadTime, f.LeadTime.Median.Seconds(), "0.5")
			gauge(c.leadTime, f.LeadTime.P90.Seconds(), "0.9")
		}
		if f.Changes > 0 {
			gauge(c.failureRatio, f.ChangeFailureRate)
		}
		if f.Restored > 0 {
			gauge(c.timeToRestore, f.TimeToRestore.Median.Seconds(), "0.5")
			gauge(c.timeToRestore, f.TimeToRestore.P90.Seconds(), "0.9")
		}
	}
	return err
}

// figures returns the figures of the last computation. The first scrape computes them; after that a
// scrape never waits for a computation: when the figures are older than doraCacheFor it gets them as
// they are and starts a new computation in the background, whose figures the next scrapes get. A
// computation that failed is not cached, and the next scrape reports its error.
func (c *doraCollector) figures() ([]serviceFigures, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cached == nil {
		out, err := c.compute(now)
		if err == nil {
			c.cached, c.cachedAt = out, now
		}
		return out, err
	}
	if err := c.failed; err != nil {
		c.failed = nil
		return c.cached, err
	}
	stale := now.Sub(c.cachedAt) >= doraCacheFor || now.Before(c.cachedAt)
	if stale && !c.refreshing {
		c.refreshing = true
		go func() {
			out, err := c.compute(now)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.refreshing = false
			if err != nil {
				c.failed = err
				return
			}
			c.cached, c.cachedAt = out, now
		}()
	}
	return c.cached, nil
}

// compute reads the window's history of every project and works out each service's figures.
func (c *doraCollector) compute(now time.Time) ([]serviceFigures, error) {
	ctx, cancel := context.WithTimeout(context.Background(), doraTimeout)
	defer cancel()
	w := dora.Last(doraWindow, now)
	out := []serviceFigures{}
	var errs []error
	for _, p := range c.projects {
		stage := dora.ProductionStage(p)
		records, err := dora.Load(ctx, c.st, dora.Query{Project: p.Name, Stage: stage, Window: w})
		if err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", p.Name, err))
			continue
		}
		by := dora.ByService(records)
		for _, svc := range p.Services {
			f := dora.Compute(by[svc], w)
			f.Stage = stage
			out = append(out, serviceFigures{project: p.Name, service: svc, figures: f})
		}
	}
	return out, errors.Join(errs...)
}
