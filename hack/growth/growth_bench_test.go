package growth

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/modroot"
)

// What BenchmarkGrowth measures, and how; each can be changed from the environment, since make bench
// runs every package's benchmarks and flags would reach all of them.
const (
	// defaultSizes are the histories measured (SHIPGATE_GROWTH_SIZES, comma-separated).
	defaultSizes = "1000,10000,100000"
	// defaultPerDay is the history's rate (SHIPGATE_GROWTH_PER_DAY): a busy team's 33 deliveries a
	// day, so that the last 30 days (the DORA window) hold about 1,000 deliveries at every size, the
	// last day about 33, and a larger history is a longer one, not a busier one.
	defaultPerDay = 1000.0 / 30
	// defaultBurst deliveries of one service are queued at once (SHIPGATE_GROWTH_BURST).
	defaultBurst = 1000
	// defaultSamples of each read (SHIPGATE_GROWTH_SAMPLES); the list gets twice as many, for p99.
	defaultSamples = 100
	// defaultMaxAge is how long a cached history is used (SHIPGATE_GROWTH_MAX_AGE): its last day and
	// last 30 days are measured against the time now, so an older one would measure less of them.
	defaultMaxAge = 24 * time.Hour
	// generatorVersion changes whenever Generate writes something else, so that cached histories are
	// made again.
	generatorVersion = "2"
	// The burst's service, and the one /deliver history is asked about.
	burstProject, burstService = "shop", "web"
)

// executorsYAML runs every task of the tutorial's shipyard with the noop executor, which succeeds at
// once: the burst measures shipgate, not a deployment. approval and evaluation are shipgate's own.
const executorsYAML = `tasks:
  deployment: {type: noop}
  test: {type: noop}
  release: {type: noop}
  rollback: {type: noop}
`

// BenchmarkGrowth measures a real `shipgate serve` on histories of 1,000, 10,000 and 100,000 finished
// deliveries: a burst of 1,000 deliveries of one service (deliveries/s from the first POST to the last
// finished, the POSTs' p50, commits/s and WAL bytes per commit), the delivery API's list (p50, p99) and
// get (p50), /deliver history (p50), one day of `shipgate audit export` (p50), /metrics (the first
// scrape and p50), and the process's memory after the first scrape and after the burst. Each figure
// should be within 1.5x from the smallest history to the largest; the table at the end says by how much
// each grew. No figure is asserted.
//
// Histories are generated through the store's API (Generate) and kept in .cache/growth for a day
// (SHIPGATE_GROWTH_MAX_AGE), keyed by the schema's migrations and the generator's version; each size is
// served from a fresh copy. SHIPGATE_GROWTH_SIZES, SHIPGATE_GROWTH_PER_DAY, SHIPGATE_GROWTH_BURST and
// SHIPGATE_GROWTH_SAMPLES change what is measured.
func BenchmarkGrowth(b *testing.B) {
	began := time.Now()
	sizes := envSizes(b)
	root, err := modroot.Dir()
	if err != nil {
		b.Fatal(err)
	}
	bin := buildShipgate(b, root)
	slo, err := os.ReadFile(filepath.Join(root, "examples", "fulltour", "helloservice", "slo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	samples := envInt(b, "SHIPGATE_GROWTH_SAMPLES", defaultSamples)
	burst := envInt(b, "SHIPGATE_GROWTH_BURST", defaultBurst)
	perDay := envFloat(b, "SHIPGATE_GROWTH_PER_DAY", defaultPerDay)
	// The tutorial's shipyard, but a passing build is approved by itself, so that the burst runs to the
	// end without anyone clicking; history recorded people's approvals.
	shipyard := configtest.Variant(configtest.TutorialShipyard,
		"properties: {pass: manual, warning: manual}", "properties: {pass: automatic, warning: manual}")

	figures := map[int]Figures{}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("deliveries=%d", n), func(b *testing.B) {
			b.StopTimer()
			h := cachedHistory(b, root, n, perDay)
			var f Figures
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
				srv, err := StartServer(ctx, ServerOptions{Binary: bin, Dir: b.TempDir(), Database: h.path, Shipyard: shipyard,
					SLO: string(slo), Executors: executorsYAML})
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				b.StartTimer()
				f, err = Measure(ctx, srv, MeasureOptions{Deliveries: n, HistoryEnd: h.stats.End, Burst: burst,
					Project: burstProject, Service: burstService, Samples: samples, RunID: strconv.FormatInt(time.Now().UnixNano(), 36)})
				b.StopTimer()
				stopErr := srv.Stop()
				cancel()
				if err != nil {
					b.Fatalf("%v\nshipgate's log:\n%s", err, srv.Log())
				}
				if stopErr != nil {
					b.Fatalf("stop shipgate: %v\n%s", stopErr, srv.Log())
				}
				if f.Burst.WALLost != "" {
					b.Logf("the WAL counter may have missed frames during the burst, so its figures are a lower bound: %s", f.Burst.WALLost)
				}
			}
			report(b, f)
			figures[n] = f
			b.Logf("history: %s", describeHistory(n, h))
			if n == sizes[len(sizes)-1] {
				// On standard output: the testing package keeps only the first lines a benchmark logs.
				// Each line is indented, which benchstat reads as neither a result nor a configuration.
				out := fmt.Sprintf("growth benchmark, %s, %d-delivery burst of %s/%s\n%swhole benchmark: %v\n",
					time.Now().UTC().Format("2006-01-02 15:04 MST"), burst, burstProject, burstService,
					table(sizes, figures), time.Since(began).Round(time.Second))
				fmt.Print("    " + strings.ReplaceAll(strings.TrimSuffix(out, "\n"), "\n", "\n    ") + "\n")
			}
		})
	}
}

// report sets the benchmark's metrics, one per figure; ns/op, the time a measurement took, says nothing.
func report(b *testing.B, f Figures) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(f.Burst.Rate(), "deliveries/s")
	b.ReportMetric(ms(f.Burst.PostP50), "post-p50-ms")
	b.ReportMetric(f.Burst.CommitRate(), "commits/s")
	b.ReportMetric(f.Burst.BytesPerCommit(), "wal-B/commit")
	b.ReportMetric(ms(f.ListP50), "list-p50-ms")
	b.ReportMetric(ms(f.ListP99), "list-p99-ms")
	b.ReportMetric(ms(f.GetP50), "get-p50-ms")
	b.ReportMetric(ms(f.HistoryP50), "history-p50-ms")
	b.ReportMetric(ms(f.AuditP50), "audit-p50-ms")
	b.ReportMetric(ms(f.FirstScrape), "scrape-first-ms")
	b.ReportMetric(ms(f.ScrapeP50), "scrape-p50-ms")
	b.ReportMetric(mib(f.AfterScrape.RSS), "rss-scrape-MiB")
	b.ReportMetric(mib(f.AfterScrape.Anon), "anon-scrape-MiB")
	b.ReportMetric(mib(f.Burst.After.RSS), "rss-burst-MiB")
	b.ReportMetric(mib(f.Burst.After.Anon), "anon-burst-MiB")
	b.ReportMetric(ms(f.Ready), "ready-ms")
}

// buildShipgate builds the shipgate binary from the module into a temporary folder.
func buildShipgate(b *testing.B, root string) string {
	bin := filepath.Join(b.TempDir(), "shipgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/shipgate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func envSizes(b *testing.B) []int {
	raw := os.Getenv("SHIPGATE_GROWTH_SIZES")
	if raw == "" {
		raw = defaultSizes
	}
	var sizes []int
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("SHIPGATE_GROWTH_SIZES=%q: want positive numbers separated by commas", raw)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

func envInt(b *testing.B, name string, def int) int {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, raw)
	}
	return n
}

func envFloat(b *testing.B, name string, def float64) float64 {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, raw)
	}
	return v
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, raw, err)
	}
	return d
}
