package api

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count requests by route pattern and outcome (ok, unauthorized, forbidden, duplicate, invalid,
// not_found, refused, error) and time them. The pattern, not the path, keeps the label set small.
type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_api_requests_total",
			Help: "Delivery API requests by endpoint (route pattern) and outcome (ok, unauthorized, forbidden, duplicate, invalid, not_found, refused, error)."},
			[]string{"endpoint", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shipgate_api_request_seconds",
			Help:    "Time to answer a delivery API request, by endpoint (route pattern).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"endpoint"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.seconds} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(endpoint, outcome string, d time.Duration) {
	m.requests.WithLabelValues(endpoint, outcome).Inc()
	m.seconds.WithLabelValues(endpoint).Observe(d.Seconds())
}
