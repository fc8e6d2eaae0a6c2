package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

// fakeSLIs answers GetSLIs with the values the test sets, and records the requests.
type fakeSLIs struct {
	mu       sync.Mutex
	values   map[string]float64 // missing: no value
	err      error
	requests []SLIRequest
}

func (f *fakeSLIs) GetSLIs(_ context.Context, r SLIRequest) ([]SLIValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	if f.err != nil {
		return nil, f.err
	}
	var out []SLIValue
	for _, name := range r.Indicators {
		v, ok := f.values[name]
		if !ok {
			out = append(out, SLIValue{Metric: name, Message: "query did not return any values"})
			continue
		}
		out = append(out, SLIValue{Metric: name, Value: v, Success: true})
	}
	return out, nil
}

func (f *fakeSLIs) set(kv map[string]float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values = kv
}

const evaluationShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: evaluation
              properties: {timeframe: 5m}
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks:
            - name: approval
              properties: {pass: automatic, warning: manual}
            - name: release
`

const evaluationSLO = `comparison: {compare_with: single_result, include_result_with_score: pass}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<=+10%", "<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    key_sli: true
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

const noEvaluationExecutor = "tasks:\n  deployment: {type: fake}\n  release: {type: fake}\n"

func evaluationFixture(t *testing.T, slo string, requireSLO bool) (*fixture, *fakeSLIs) {
	f := newFixture(t, evaluationShipyard, noEvaluationExecutor)
	if slo != "" {
		if err := os.WriteFile(filepath.Join(f.project.Dir, "carts", "slo.yaml"), []byte(slo), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	provider := &fakeSLIs{}
	f.stop()
	// The evaluator uses the store the fixture opens; start wires it after opening.
	f.evaluator = &Evaluator{Provider: provider, Projects: f.opts.Projects, RequireSLO: requireSLO}
	f.start()
	return f, provider
}

func (f *fixture) evaluations(t *testing.T) []*store.Evaluation {
	t.Helper()
	var all []*store.Evaluation
	ds, err := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ds) - 1; i >= 0; i-- {
		es, err := f.st.ListEvaluations(context.Background(), ds[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
	}
	return all
}

func TestEvaluationAgainstBaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, sli := evaluationFixture(t, evaluationSLO, false)

		// The first build has no baseline: its relative criterion passes.
		sli.set(map[string]float64{"response_time_p95": 200, "error_rate": 0})
		first := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "first", f.sequences(first), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		req := sli.requests[0]
		if req.End.Sub(req.Start) != 5*time.Minute || !req.End.Equal(time.Now()) || strings.Join(req.Indicators, ",") != "response_time_p95,error_rate" {
			t.Errorf("SLI request %+v, want the last 5 minutes and the SLO's indicators", req)
		}

		// A slower build fails the relative criterion against the first (200 +10% = 220): a warning,
		// which the production approval (warning: manual) holds for a person.
		timeSleep(600)
		sli.set(map[string]float64{"response_time_p95": 300, "error_rate": 0})
		second := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "second", f.sequences(second), []string{"qa.delivery=finished/warning/succeeded", "production.delivery=waitingForApproval//"})
		evals := f.evaluations(t)
		if len(evals) != 2 || evals[1].Result != store.ResultWarning || evals[1].Score != 75 || len(evals[1].ComparedIDs) != 1 || evals[1].ComparedIDs[0] != evals[0].ID {
			t.Fatalf("evaluations: %+v", evals)
		}
		if v := evals[1].SLIs["response_time_p95"]; v.Value == nil || *v.Value != 300 || !v.Success {
			t.Errorf("stored SLI value %+v", v)
		}
		approval := f.pendingApproval(second)
		f.vote(approval.ID, "U-ann", store.DecisionReject)
		synctest.Wait()

		// Invalidated, the first evaluation is no baseline any more: the next build passes again.
		if err := f.e.InvalidateEvaluation(context.Background(), evals[0].ID, "U-ops"); err != nil {
			t.Fatal(err)
		}
		sli.set(map[string]float64{"response_time_p95": 300, "error_rate": 0})
		third := f.trigger("carts", image)
		synctest.Wait()
		evals = f.evaluations(t)
		if got := evals[2]; got.Result != store.ResultPass || len(got.ComparedIDs) != 0 {
			t.Errorf("third evaluation %s compared with %v; want pass with no baseline (the second was a warning, the first invalidated)", got.Result, got.ComparedIDs)
		}
		equal(t, "third", f.sequences(third)[1:], []string{"production.delivery=finished/pass/succeeded"})

		// The evaluation's data reaches the tasks after it, as Keptn's payload merging did.
		release, _ := f.fake.lastCall("release")
		ev, _ := release.Data["evaluation"].(map[string]any)
		if ev["result"] != "pass" || ev["score"] != 100.0 || ev["indicatorResults"] == nil {
			t.Errorf("data.evaluation seen by release: %v", ev)
		}
	})
}

func TestEvaluationOutcomes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		slo     string
		require bool
		values  map[string]float64
		err     error
		want    string
		message string
		stored  int
	}{
		{name: "key SLI failed", slo: evaluationSLO, values: map[string]float64{"response_time_p95": 100, "error_rate": 5},
			want: "qa.delivery=finished/fail/succeeded", message: "Evaluation failed due to key_sli objective 'error_rate'", stored: 1},
		{name: "no SLO passes as in Keptn", values: map[string]float64{},
			want: "qa.delivery=finished/pass/succeeded", message: "no evaluation performed by lighthouse because no SLO file configured for project shop"},
		{name: "no SLO with require_slo fails", require: true,
			want: "qa.delivery=finished/fail/succeeded", message: "no SLO file for carts in stage qa, and require_slo is set"},
		{name: "provider error", slo: evaluationSLO, err: errors.New("Get \"http://127.0.0.1:9/api/v1/query\": connection refused"),
			want: "qa.delivery=finished/fail/errored", message: "evaluation performed by lighthouse received an unexpected error: Get"},
		{name: "no SLI value at all", slo: evaluationSLO, values: map[string]float64{},
			want: "qa.delivery=finished/fail/succeeded", message: "lighthouse failed because SLI failed with message unable to retrieve metrics", stored: 1},
		{name: "an SLO that does not decode", slo: "objectives: [{sli: a, weight: heavy}]\ntotal_score: {pass: 90}\n",
			want: "qa.delivery=finished/fail/errored", message: "error retrieving SLO file: Could not parse SLO file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, sli := evaluationFixture(t, tt.slo, tt.require)
				sli.set(tt.values)
				sli.err = tt.err
				id := f.trigger("carts", image)
				synctest.Wait()
				if got := f.sequences(id)[0]; got != tt.want {
					t.Errorf("sequence %s, want %s", got, tt.want)
				}
				if d := f.delivery(id); !strings.Contains(d.Message, tt.message) && !strings.Contains(f.taskMessage(id, "evaluation"), tt.message) {
					t.Errorf("evaluation message %q, want it to contain %q", f.taskMessage(id, "evaluation"), tt.message)
				}
				if got := len(f.evaluations(t)); got != tt.stored {
					t.Errorf("%d evaluations stored, want %d", got, tt.stored)
				}
			})
		})
	}
}

func (f *fixture) taskMessage(id int64, task string) string {
	trs, err := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, tr := range trs {
		if tr.Name == task {
			return tr.Message
		}
	}
	return ""
}

func TestEvaluationWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		data       map[string]any
		start, end string
		err        string
	}{
		{"default 5m", map[string]any{}, "11:55:00", "12:00:00", ""},
		{"timeframe", map[string]any{"evaluation": map[string]any{"timeframe": "10m"}}, "11:50:00", "12:00:00", ""},
		{"start and timeframe", map[string]any{"evaluation": map[string]any{"start": "2026-11-22T10:00:00.000Z", "timeframe": "2m"}}, "10:00:00", "10:02:00", ""},
		{"start and end", map[string]any{"evaluation": map[string]any{"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T10:30:00Z"}}, "10:00:00", "10:30:00", ""},
		{"the preceding test", map[string]any{"test": map[string]any{"start": "2026-11-22T11:00:00Z", "end": "2026-11-22T11:07:00Z"}}, "11:00:00", "11:07:00", ""},
		{"end and timeframe", map[string]any{"evaluation": map[string]any{"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T10:30:00Z", "timeframe": "5m"}}, "", "", "cannot be used together"},
		{"end without start", map[string]any{"evaluation": map[string]any{"end": "2026-11-22T10:30:00Z"}}, "", "", "requires a start"},
		{"under a minute", map[string]any{"evaluation": map[string]any{"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T10:00:30Z"}}, "", "", "at least one minute"},
		{"bad timeframe", map[string]any{"evaluation": map[string]any{"timeframe": "five"}}, "", "", "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := evaluationWindow(tt.data, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || start.Format("15:04:05") != tt.start || end.Format("15:04:05") != tt.end {
				t.Errorf("window %s–%s, %v; want %s–%s", start.Format("15:04:05"), end.Format("15:04:05"), err, tt.start, tt.end)
			}
		})
	}
}
