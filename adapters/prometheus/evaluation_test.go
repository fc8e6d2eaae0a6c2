package prometheus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/prometheus"
	"github.com/shipgate/shipgate/adapters/prometheus/promtest"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// evaluate runs the engine's evaluation task for helloservice in qa over [start, end] against p.
func evaluate(t testing.TB, ev *engine.Evaluator, start, end time.Time) (engine.Result, *store.Evaluation) {
	t.Helper()
	frame := time.Duration(math.Ceil(end.Sub(start).Seconds())) * time.Second
	task := engine.Task{Project: project, Stage: stage, Service: service, Name: "evaluation",
		Data: map[string]any{"evaluation": map[string]any{"start": start.UTC().Format(time.RFC3339Nano), "timeframe": frame.String()}}}
	res, err := ev.Execute(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	evaluation, _ := res.Data["evaluation"].(map[string]any)
	id, _ := evaluation["id"].(int64)
	if id == 0 {
		return res, nil
	}
	stored, err := ev.Store.GetEvaluation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return res, stored
}

func objectiveStatus(t testing.TB, e *store.Evaluation, sli string) string {
	t.Helper()
	var objectives []struct {
		SLI    string `json:"sli"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(e.Objectives, &objectives); err != nil {
		t.Fatal(err)
	}
	for _, o := range objectives {
		if o.SLI == sli {
			return o.Status
		}
	}
	return ""
}

// TestTutorialQualityGate is issue 4's end-to-end check: the Keptn tutorial's SLO and SLI files,
// evaluated by the engine's evaluation task through a real Prometheus scraping an instrumented service.
func TestTutorialQualityGate(t *testing.T) {
	svc := promtest.NewService(t, job)
	srv := promtest.Start(t, svc.Target())
	p := newProvider(t, srv.URL)
	proj, diags := config.LoadProject("../../examples/fulltour")
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	// A project of our own with a strict relative criterion, in a copy of the tutorial.
	strictFiles := map[string]string{service + "/slo.yaml": "comparison: {compare_with: single_result, include_result_with_score: pass}\nobjectives:\n  - sli: response_time_p95\n    pass: [{criteria: [\"<=+10%\"]}]\ntotal_score: {pass: \"90%\"}\n"}
	for _, f := range []string{"shipyard.yaml", "executors.yaml", service + "/prometheus/sli.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../examples/fulltour", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		strictFiles[f] = string(data)
	}
	strict := configtest.WriteProject(t, filepath.Join(t.TempDir(), project), strictFiles)

	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	strictStore, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "strict.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer strictStore.Close()
	tutorial := &engine.Evaluator{Store: st, Provider: prometheus.EngineProvider{Provider: p}, Projects: []*config.Project{proj}}
	own := &engine.Evaluator{Store: strictStore, Provider: prometheus.EngineProvider{Provider: p}, Projects: []*config.Project{strict}}

	fastStart, fastEnd := phase(t, srv, svc, 200)
	res, first := evaluate(t, tutorial, fastStart, fastEnd)
	if res.Result != store.ResultPass || first.Score != 100 {
		t.Fatalf("fast build: %s %q, score %v; want pass with 100", res.Result, res.Message, first.Score)
	}
	if strictRes, _ := evaluate(t, own, fastStart, fastEnd); strictRes.Result != store.ResultPass {
		t.Fatalf("own SLO on the fast build: %s %q", strictRes.Result, strictRes.Message)
	}

	svc.SetDelay(300 * time.Millisecond)
	slowStart, slowEnd := phase(t, srv, svc, 30)
	res, second := evaluate(t, tutorial, slowStart, slowEnd)
	t.Logf("slow build: %s, score %v: %s", res.Result, second.Score, res.Message)
	if res.Result == store.ResultPass || second.Score >= first.Score {
		t.Errorf("slow build: %s with score %v; want the result to drop below the first's %v", res.Result, second.Score, first.Score)
	}
	if got := objectiveStatus(t, second, "response_time_p95"); got == "pass" {
		t.Errorf("response time objective %s, want it to fail its relative criterion against the fast baseline", got)
	}
	if len(second.ComparedIDs) != 1 || second.ComparedIDs[0] != first.ID {
		t.Errorf("compared with %v, want the first evaluation %d", second.ComparedIDs, first.ID)
	}
	strictRes, strictEval := evaluate(t, own, slowStart, slowEnd)
	if strictRes.Result != store.ResultFail || objectiveStatus(t, strictEval, "response_time_p95") != "fail" {
		t.Errorf("own SLO (<=+10%%) on the slow build: %s %q; want fail", strictRes.Result, strictRes.Message)
	}

	// Prometheus down: the evaluation fails with a clear message; nothing crashes.
	srv.Stop()
	res, down := evaluate(t, tutorial, slowStart, slowEnd)
	if res.Result != store.ResultFail || !strings.Contains(res.Message, "unable to retrieve metrics") {
		t.Errorf("Prometheus down: %s %q", res.Result, res.Message)
	}
	if v := down.SLIs["response_time_p95"]; v.Success || !strings.Contains(v.Message, "unreachable") {
		t.Errorf("stored SLI when Prometheus is down: %+v", v)
	}
}

// BenchmarkEvaluationTaskRealPrometheus measures the whole evaluation task end to end — window, SLO and
// SLI files, five queries against a real Prometheus, scoring against the stored baseline, storing the
// result — with an SLO of five objectives.
func BenchmarkEvaluationTaskRealPrometheus(b *testing.B) {
	svc := promtest.NewService(b, job)
	srv := promtest.Start(b, svc.Target())
	p := newProvider(b, srv.URL)
	dir := filepath.Join(b.TempDir(), project)
	files := map[string]string{
		"shipyard.yaml":  "apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nspec:\n  stages:\n    - name: qa\n      sequences:\n        - name: delivery\n          tasks: [{name: evaluation}]\n",
		"executors.yaml": "tasks: {}\n",
	}
	var slo strings.Builder
	slo.WriteString("comparison: {compare_with: several_results, number_of_comparison_results: 5}\nobjectives:\n")
	for _, sli := range []string{"throughput", "error_rate", "response_time_p50", "response_time_p90", "response_time_p95"} {
		fmt.Fprintf(&slo, "  - {sli: %s, pass: [{criteria: [\"<=+50%%\"]}]}\n", sli)
	}
	slo.WriteString("total_score: {pass: \"90%\"}\nfilter: {job: " + job + "}\n")
	files[service+"/slo.yaml"] = slo.String()
	proj := configtest.WriteProject(b, dir, files)
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "shipgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ev := &engine.Evaluator{Store: st, Provider: prometheus.EngineProvider{Provider: p}, Projects: []*config.Project{proj}}
	start, end := phase(b, srv, svc, 100)
	b.ResetTimer()
	for b.Loop() {
		if res, _ := evaluate(b, ev, start, end); res.Status == store.StatusErrored {
			b.Fatalf("evaluation errored: %s", res.Message)
		}
	}
}
