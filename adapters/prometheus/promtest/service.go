package promtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// LatencyBuckets are the upper bounds, in milliseconds, of the service's response time histogram. They
// are fine around the latencies tests set (a few ms when idle, hundreds with SetDelay), so that
// histogram_quantile's interpolation lands near the truth.
var LatencyBuckets = []float64{1, 2.5, 5, 10, 25, 50, 100, 200, 250, 300, 350, 400, 500, 750, 1000, 2500, 5000}

// loadWorkers bounds how many requests Load has in flight, so a burst stays a burst on two cores.
const loadWorkers = 10

// Service is an HTTP service instrumented the way Keptn's tutorials expected: every request to / is
// counted in http_requests_total{status} and timed in http_response_time_milliseconds{status}, and
// /metrics serves them with the Go runtime's metrics (go_goroutines, ...) and
// promhttp_metric_handler_requests_total.
type Service struct {
	// Job is the job name to scrape the service under.
	Job string
	// URL is the service's base URL on the loopback interface.
	URL string

	srv    *httptest.Server
	client *http.Client
	delay  atomic.Int64 // nanoseconds

	mu          sync.Mutex
	failureRate float64
	requests    int64 // requests to / so far; decides which ones fail
}

// NewService starts the service on a free loopback port; it stops when the test ends.
func NewService(t testing.TB, job string) *Service {
	t.Helper()
	// Each service has its own registry, so a test may run several; promhttp.Handler() would share the
	// default registry among them, and InstrumentMetricHandler is what it does for that registry.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "Requests served, by HTTP status code.",
	}, []string{"status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_response_time_milliseconds",
		Help:    "Time to answer a request, in milliseconds, by HTTP status code.",
		Buckets: LatencyBuckets,
	}, []string{"status"})
	reg.MustRegister(requests, latency)
	// Series appear at 0 before the first request: rate() counts only increases it has seen, and Keptn's
	// error_rate divides by a series of failures that would otherwise not exist until the first one.
	for _, status := range []string{"200", "500"} {
		requests.WithLabelValues(status)
		latency.WithLabelValues(status)
	}

	s := &Service{Job: job}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		status := http.StatusOK
		if s.nextFails() {
			status = http.StatusInternalServerError
		}
		// The delay stands in for work; it ends early if the client gives up, so Close never waits on it.
		if d := time.Duration(s.delay.Load()); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
			}
		}
		w.WriteHeader(status)
		fmt.Fprintln(w, http.StatusText(status))
		code := strconv.Itoa(status)
		requests.WithLabelValues(code).Inc()
		latency.WithLabelValues(code).Observe(float64(time.Since(began)) / float64(time.Millisecond))
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.client = s.srv.Client()
	if tr, ok := s.client.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = loadWorkers // keep the workers' connections instead of redialling
	}
	return s
}

// Target is the service as a scrape target for Start.
func (s *Service) Target() Target {
	return Target{Job: s.Job, Addr: s.srv.Listener.Addr().String()}
}

// SetDelay makes every later request to / take at least d.
func (s *Service) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetFailureRate makes a fraction of later requests (0 to 1) answer 500. Failures are spread evenly and
// deterministically, so 40 requests at 0.25 give exactly 10 failures.
func (s *Service) SetFailureRate(rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failureRate = min(max(rate, 0), 1)
}

// nextFails counts a request and says whether it fails: the n-th does when floor(n*rate) steps up.
func (s *Service) nextFails() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	n := float64(s.requests)
	return int64(n*s.failureRate) > int64((n-1)*s.failureRate)
}

// Load sends n requests to / on the loopback interface, at most 10 at a time, and returns when all have
// been answered. An answer of 500 is not an error; failing to get an answer is.
func (s *Service) Load(ctx context.Context, n int) error {
	jobs := make(chan struct{})
	errs := make(chan error, loadWorkers)
	var wg sync.WaitGroup
	for range min(n, loadWorkers) {
		wg.Go(func() {
			for range jobs {
				if err := s.get(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
send:
	for range n {
		select {
		case jobs <- struct{}{}:
		case err = <-errs:
			break send
		case <-ctx.Done():
			err = ctx.Err()
			break send
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs // nil once closed and empty
	}
	if err != nil {
		return fmt.Errorf("load on %s: %w", s.URL, err)
	}
	return nil
}

func (s *Service) get(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/", nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
