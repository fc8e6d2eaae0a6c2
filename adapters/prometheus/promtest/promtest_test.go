package promtest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConfigYAML(t *testing.T) {
	got := configYAML([]Target{{"a", "127.0.0.1:1"}, {"b", "127.0.0.1:2"}, {"a", "127.0.0.1:3"}})
	want := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: "a"
    static_configs:
      - targets: ["127.0.0.1:1", "127.0.0.1:3"]
  - job_name: "b"
    static_configs:
      - targets: ["127.0.0.1:2"]
`
	if got != want {
		t.Errorf("prometheus.yml:\n%s\nwant:\n%s", got, want)
	}
}

func metrics(t *testing.T, s *Service) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestServiceMetrics(t *testing.T) {
	s := NewService(t, "svc")
	// Before any traffic both status series exist at 0, so rate() sees the first requests.
	before := metrics(t, s)
	for _, line := range []string{`http_requests_total{status="200"} 0`, `http_requests_total{status="500"} 0`} {
		if !strings.Contains(before, line+"\n") {
			t.Errorf("/metrics before traffic lacks %q", line)
		}
	}

	s.SetFailureRate(0.25)
	if err := s.Load(context.Background(), 40); err != nil {
		t.Fatal(err)
	}
	s.SetFailureRate(0)
	s.SetDelay(30 * time.Millisecond)
	if err := s.Load(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	got := metrics(t, s)
	for _, line := range []string{
		`http_requests_total{status="200"} 32`,
		`http_requests_total{status="500"} 10`, // failures are spread evenly: exactly a quarter of 40
		`http_response_time_milliseconds_count{status="200"} 32`,
		`http_response_time_milliseconds_bucket{status="200",le="+Inf"} 32`,
		`http_response_time_milliseconds_bucket{status="200",le="25"} 30`, // the two delayed ones took longer
		`promhttp_metric_handler_requests_total{code="200"} 1`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if !strings.Contains(got, "\ngo_goroutines ") {
		t.Error("/metrics lacks the Go collector's go_goroutines")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", got)
	}
}

func TestLoadStopsWithContext(t *testing.T) {
	s := NewService(t, "svc")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Load(ctx, 5); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Load with a cancelled context = %v, want context canceled", err)
	}
}
