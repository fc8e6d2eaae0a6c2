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
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// measure runs fn b.N times and reports the p50 and p99 of its durations besides the mean.
func measure(b *testing.B, fn func(i int)) {
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		fn(i)
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}

// benchProject installs the chart once into a project of its own and returns the executor and project.
func benchProject(b *testing.B, name string) (*Executor, *config.Project) {
	kube := kubetest.Shared(b)
	p := project(b, name, "helloservice", nil)
	x := &Executor{Kubeconfig: kube.Kubeconfig, CacheDir: b.TempDir()}
	if res, _ := x.Execute(context.Background(), task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.0", nil)); res.Result != store.ResultPass {
		b.Fatalf("install: %s", res.Message)
	}
	return x, p
}

// image alternates between two tags, so that every upgrade makes a new revision.
func image(i int) string { return fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", i%2+1) }

// BenchmarkUpgrade is a deployment task through the executor against the real API server: chart and
// values files loaded, history read, namespace checked, helm upgrade, result data.
func BenchmarkUpgrade(b *testing.B) {
	x, p := benchProject(b, "benchtour")
	measure(b, func(i int) {
		res, err := x.Execute(context.Background(), task(p, int64(i+2), "deployment", image(i), nil))
		if err != nil || res.Result != store.ResultPass {
			b.Fatalf("upgrade: %v %s", err, res.Message)
		}
	})
}

// BenchmarkUpgradeOverhead is what the executor does around the Helm SDK's upgrade call: settings and
// templates, the cluster configuration, chart and values files loaded, the release's history read, the
// namespace checked, and the result data (its Services' URLs from the manifest). The same work as
// BenchmarkUpgrade, without the upgrade itself.
func BenchmarkUpgradeOverhead(b *testing.B) {
	x, p := benchProject(b, "overheadtour")
	measure(b, func(i int) {
		r, failure := x.newRun(task(p, int64(i+2), "deployment", image(i), nil))
		if r == nil {
			b.Fatal(failure.Message)
		}
		pl, err := r.plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		// The current release stands in for the one the upgrade would return.
		if res := r.deployed(pl.prev, pl); res.Result != store.ResultPass {
			b.Fatal(res.Message)
		}
	})
}

// BenchmarkUpgradeSDKOnly is the Helm SDK's upgrade alone, with the chart loaded and the action
// configurations made beforehand, for comparison with BenchmarkUpgrade and BenchmarkUpgradeOverhead.
func BenchmarkUpgradeSDKOnly(b *testing.B) {
	x, _ := benchProject(b, "sdkbenchtour")
	s, err := parseSettings("deployment", nil)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := loader.Load(filepath.Join("testdata", "helloservice"))
	if err != nil {
		b.Fatal(err)
	}
	// A configuration per upgrade, as the executor makes one per task: client-go's rate limiter (5
	// requests/s after a burst of 10) lives in it, and one shared across runs throttles them.
	cfgs := make([]*action.Configuration, b.N)
	for i := range cfgs {
		if cfgs[i], err = x.configuration(s, "sdkbenchtour-qa"); err != nil {
			b.Fatal(err)
		}
	}
	measure(b, func(i int) {
		up := action.NewUpgrade(cfgs[i])
		up.Namespace, up.MaxHistory = "sdkbenchtour-qa", defaultMaxHistory
		if _, err := up.RunWithContext(context.Background(), "helloservice", ch, map[string]any{"image": image(i)}); err != nil {
			b.Fatal(err)
		}
	})
}
