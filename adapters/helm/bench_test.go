package helm

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/store"
)

// reportPercentiles adds p50 and p99 of the runs' durations to the benchmark's output.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkUpgrade is a deployment task through the executor against the real API server: chart and
// values files loaded, history read, namespace checked, helm upgrade, result data. Each run alternates the
// image, so every run makes a new revision.
func BenchmarkUpgrade(b *testing.B) {
	kube := kubetest.Shared(b)
	p := project(b, "benchtour", "helloservice", nil)
	x := &Executor{Kubeconfig: kube.Kubeconfig, CacheDir: b.TempDir()}
	tk := task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.0", nil)
	if res, _ := x.Execute(context.Background(), tk); res.Result != store.ResultPass {
		b.Fatalf("install: %s", res.Message)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		tk := task(p, int64(i+2), "deployment", fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", i%2+1), nil)
		start := time.Now()
		res, err := x.Execute(context.Background(), tk)
		durations = append(durations, time.Since(start))
		if err != nil || res.Result != store.ResultPass {
			b.Fatalf("upgrade: %v %s", err, res.Message)
		}
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

// BenchmarkUpgradeOverhead is what the executor does around the Helm SDK's upgrade call: settings and
// templates, the cluster configuration, chart and values files loaded, the release's history read, the
// namespace checked, and the result data (its Services' URLs from the manifest). The same work as
// BenchmarkUpgrade, without the upgrade itself.
func BenchmarkUpgradeOverhead(b *testing.B) {
	kube := kubetest.Shared(b)
	p := project(b, "overheadtour", "helloservice", nil)
	x := &Executor{Kubeconfig: kube.Kubeconfig, CacheDir: b.TempDir()}
	if res, _ := x.Execute(context.Background(), task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.0", nil)); res.Result != store.ResultPass {
		b.Fatalf("install: %s", res.Message)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		tk := task(p, int64(i+2), "deployment", fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", i%2+1), nil)
		start := time.Now()
		r, failure := x.newRun(tk)
		if r == nil {
			b.Fatal(failure.Message)
		}
		pl, err := r.plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		res := r.deployed(pl.prev, pl) // the current release stands in for the one the upgrade would return
		durations = append(durations, time.Since(start))
		if res.Result != store.ResultPass {
			b.Fatal(res.Message)
		}
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

// BenchmarkUpgradeSDKOnly is the Helm SDK's upgrade alone, with the chart loaded and the action
// configuration made beforehand, for comparison with BenchmarkUpgrade and BenchmarkUpgradeOverhead.
func BenchmarkUpgradeSDKOnly(b *testing.B) {
	kube := kubetest.Shared(b)
	p := project(b, "sdkbenchtour", "helloservice", nil)
	x := &Executor{Kubeconfig: kube.Kubeconfig, CacheDir: b.TempDir()}
	if res, _ := x.Execute(context.Background(), task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.0", nil)); res.Result != store.ResultPass {
		b.Fatalf("install: %s", res.Message)
	}
	s, err := parseSettings("deployment", nil)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := loader.Load(filepath.Join("testdata", "helloservice"))
	if err != nil {
		b.Fatal(err)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		vals := map[string]any{"image": fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", i%2+1)}
		// A configuration per upgrade, as the executor makes one per task: client-go's rate limiter
		// (5 requests/s after a burst of 10) lives in it, and one shared across runs throttles them.
		b.StopTimer()
		cfg, err := x.configuration(s, "sdkbenchtour-qa")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		up := action.NewUpgrade(cfg)
		up.Namespace, up.MaxHistory = "sdkbenchtour-qa", defaultMaxHistory
		start := time.Now()
		_, err = up.RunWithContext(context.Background(), "helloservice", ch, vals)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}
