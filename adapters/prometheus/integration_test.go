package prometheus_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/prometheus"
	"github.com/shipgate/shipgate/adapters/prometheus/promtest"
	"github.com/shipgate/shipgate/config"
)

// The Keptn tutorial's names: the service is scraped as job helloservice-fulltour-qa, which is what its
// sli.yaml selects with job='$SERVICE-$PROJECT-$STAGE'.
const (
	project = "fulltour"
	stage   = "qa"
	service = "helloservice"
	job     = service + "-" + project + "-" + stage
)

// waitLimit bounds each wait for Prometheus to scrape; a scrape takes a ScrapeInterval (1s).
const waitLimit = 20 * time.Second

// tutorialQueries reads the example project's sli.yaml, so the test runs the queries users copy.
func tutorialQueries(t testing.TB) map[string]string {
	t.Helper()
	f, diags := config.ReadSLIFile("../../examples/fulltour/helloservice/prometheus/sli.yaml")
	if diags.HasErrors() {
		t.Fatalf("reading the tutorial sli.yaml: %v", diags.Err())
	}
	return config.MergeSLIs(f)
}

// phase sends n requests to svc and returns the window that holds them and nothing else: from a moment
// after Prometheus had scraped everything before, to a moment after it scraped all of them.
func phase(t testing.TB, srv *promtest.Server, svc *promtest.Service, n int) (start, end time.Time) {
	t.Helper()
	start = time.Now()
	// A sample from after start is the baseline rate() needs inside the window.
	srv.WaitScraped(t, svc.Job, start, waitLimit)
	if err := svc.Load(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	srv.WaitScraped(t, svc.Job, time.Now(), waitLimit)
	return start, time.Now()
}

func newProvider(t testing.TB, url string) *prometheus.Provider {
	t.Helper()
	p, err := prometheus.New(prometheus.Config{URL: url, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// successful returns a function that takes GetSLIs' answer, fails the test on an error or a failed SLI,
// and indexes the values by SLI name; the indirection lets a call pass GetSLIs' two results straight in.
func successful(t *testing.T) func([]prometheus.Value, error) map[string]float64 {
	return func(got []prometheus.Value, err error) map[string]float64 {
		t.Helper()
		if err != nil {
			t.Fatalf("GetSLIs: %v", err)
		}
		out := map[string]float64{}
		for _, v := range got {
			if !v.Success {
				t.Errorf("SLI %s failed: %s (query %s)", v.Metric, v.Message, v.Query)
			}
			out[v.Metric] = v.Value
		}
		return out
	}
}

func TestAgainstPrometheus(t *testing.T) {
	svc := promtest.NewService(t, job)
	srv := promtest.Start(t, svc.Target())
	p := newProvider(t, srv.URL)
	queries := tutorialQueries(t)
	request := func(start, end time.Time) prometheus.Request {
		return prometheus.Request{
			Project: project, Stage: stage, Service: service, Start: start, End: end,
			Indicators: []string{"response_time_p95", "throughput", "error_rate"},
			Queries:    queries,
		}
	}
	ctx := context.Background()

	const fastRequests = 200
	fastStart, fastEnd := phase(t, srv, svc, fastRequests)
	fast := request(fastStart, fastEnd)
	t.Run("tutorial SLIs", func(t *testing.T) {
		got := successful(t)(p.GetSLIs(ctx, fast))
		window := fastEnd.Sub(fastStart).Seconds()
		t.Logf("%d requests in %.1fs: %v", fastRequests, window, got)
		// rate() extrapolates to the window's edges, so throughput is close to, not exactly, n/window.
		if tp := got["throughput"]; tp < 0.5*fastRequests/window || tp > 2*fastRequests/window {
			t.Errorf("throughput = %.2f req/s, want about %d requests over %.1fs", tp, fastRequests, window)
		}
		if got["error_rate"] != 0 {
			t.Errorf("error_rate = %v, want 0 without failures", got["error_rate"])
		}
		if p95 := got["response_time_p95"]; p95 <= 0 || p95 > 50 {
			t.Errorf("response_time_p95 = %.2f ms, want a few ms for an idle loopback service", p95)
		}
	})

	t.Run("built-in SLIs with a job filter", func(t *testing.T) {
		r := fast
		r.Queries = nil
		r.Indicators = config.BuiltinPrometheusSLIs
		r.Filters = map[string]string{"job": job}
		got := successful(t)(p.GetSLIs(ctx, r))
		if got["response_time_p50"] > got["response_time_p90"] || got["response_time_p90"] > got["response_time_p95"] {
			t.Errorf("percentiles out of order: %v", got)
		}
		if got["throughput"] <= 0 || got["error_rate"] != 0 {
			t.Errorf("throughput %v, error_rate %v", got["throughput"], got["error_rate"])
		}
	})

	t.Run("slow and failing traffic", func(t *testing.T) {
		svc.SetDelay(300 * time.Millisecond)
		svc.SetFailureRate(0.25)
		defer svc.SetDelay(0)
		defer svc.SetFailureRate(0)
		start, end := phase(t, srv, svc, 40)
		slow := successful(t)(p.GetSLIs(ctx, request(start, end)))
		fastP95 := successful(t)(p.GetSLIs(ctx, fast))["response_time_p95"]
		t.Logf("40 slow requests in %.1fs: %v", end.Sub(start).Seconds(), slow)
		// Every request took 300 ms and a little (more on a busy machine), so the 95th percentile lies in a
		// bucket above 300 ms.
		if p95 := slow["response_time_p95"]; p95 < 300 || p95 > 500 || p95 <= fastP95 {
			t.Errorf("response_time_p95 = %.1f ms with a 300 ms delay (%.1f ms before), want 300 to 500", p95, fastP95)
		}
		// 10 of the 40 requests failed; the tutorial's error_rate is a percentage. It reads below 25: rate()
		// extrapolates a counter towards the window's start only as far as the counter could have been
		// counting, which is not at all for the failures (0 at the window's start) but up to a scrape
		// interval for the successes (200 then), and in a window of a few seconds that weighs: about 20 is
		// typical, and a window whose samples span only the 1.2 s of traffic could read 15.
		if er := slow["error_rate"]; er < 10 || er > 26 {
			t.Errorf("error_rate = %.1f%%, want 10 to 25%% (10 of 40 requests)", er)
		}
	})

	t.Run("unknown job", func(t *testing.T) {
		r := fast
		r.Service = "nosuchservice"
		got, err := p.GetSLIs(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range got {
			if v.Success || v.Message != prometheus.MsgNoValues || !strings.Contains(v.Query, "nosuchservice-fulltour-qa") {
				t.Errorf("%s: got %+v, want %q", v.Metric, v, prometheus.MsgNoValues)
			}
		}
	})
}

func TestPrometheusStopped(t *testing.T) {
	t.Parallel()
	srv := promtest.Start(t)
	p := newProvider(t, srv.URL)
	srv.Stop()
	end := time.Now()
	got, err := p.GetSLIs(context.Background(), prometheus.Request{
		Project: project, Stage: stage, Service: service, Start: end.Add(-time.Minute), End: end,
		Indicators: []string{"throughput", "error_rate", "response_time_p95"},
		Queries:    tutorialQueries(t),
	})
	if err != nil {
		t.Fatalf("GetSLIs: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d values, want 3", len(got))
	}
	for _, v := range got {
		want := "Prometheus at " + srv.URL + " is unreachable: "
		if v.Success || !strings.HasPrefix(v.Message, want) || !strings.Contains(v.Message, "connection refused") {
			t.Errorf("%s: got %+v, want a message starting %q and saying the connection was refused", v.Metric, v, want)
		}
	}
}

// BenchmarkGetSLIsRealPrometheus times one evaluation's worth of queries (the tutorial's three SLIs and
// two built-in percentiles) against a real Prometheus holding a little traffic.
func BenchmarkGetSLIsRealPrometheus(b *testing.B) {
	svc := promtest.NewService(b, job)
	srv := promtest.Start(b, svc.Target())
	start, end := phase(b, srv, svc, 200)
	p := newProvider(b, srv.URL)
	r := prometheus.Request{
		Project: project, Stage: stage, Service: service, Start: start, End: end,
		Indicators: []string{"throughput", "error_rate", "response_time_p95", "response_time_p50", "response_time_p90"},
		Queries:    tutorialQueries(b),
		Filters:    map[string]string{"job": job},
	}
	ctx := context.Background()
	for b.Loop() {
		got, err := p.GetSLIs(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if i := slices.IndexFunc(got, func(v prometheus.Value) bool { return !v.Success }); i >= 0 {
			b.Fatalf("SLI %s failed: %s", got[i].Metric, got[i].Message)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/op")
}
