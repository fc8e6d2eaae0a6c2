package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

const resultsShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: test
            - name: evaluation
              properties: {sli_provider: results}
`

// An evaluation with sli_provider: results scores the values the test task of its own sequence
// reported, with no Prometheus configured.
func TestEvaluationFromTaskResults(t *testing.T) {
	for _, tt := range []struct {
		name     string
		reported map[string]any // the test task's sliResults; nil reports none
		want     string
		message  string
	}{
		{"fast build passes", map[string]any{"response_time_p95": 250.0, "error_rate": 0.0}, "qa.delivery=finished/pass/succeeded", "score 100.00, pass"},
		{"slow build fails", map[string]any{"response_time_p95": 1020.0, "error_rate": 0.0}, "qa.delivery=finished/fail/succeeded", "score 50.00, fail"},
		{"a null value fails its objective", map[string]any{"response_time_p95": nil, "error_rate": 0.0}, "qa.delivery=finished/fail/succeeded", "score 50.00, fail"},
		{"no values reported", nil, "qa.delivery=finished/fail/errored", "no task before the evaluation reported SLI values"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, resultsShipyard, noEvaluationExecutor+"  test: {type: fake}\n")
				if err := os.WriteFile(filepath.Join(f.project.Dir, "carts", "slo.yaml"), []byte(evaluationSLO), 0o644); err != nil {
					t.Fatal(err)
				}
				f.stop()
				f.evaluator = &Evaluator{Projects: f.opts.Projects} // no Prometheus
				f.start()
				f.fake.on("test", func(context.Context, Task) (Result, error) {
					res := Result{Result: store.ResultPass}
					if tt.reported != nil {
						res.Data = map[string]any{SLIResultsKey: tt.reported}
					}
					return res, nil
				})
				id := f.trigger("carts", image)
				synctest.Wait()
				if got := f.sequences(id)[0]; got != tt.want {
					t.Errorf("sequence %s, want %s", got, tt.want)
				}
				if got := f.taskMessage(id, "evaluation"); !strings.Contains(got, tt.message) {
					t.Errorf("evaluation message %q, want it to contain %q", got, tt.message)
				}
			})
		})
	}
}

// An sli_provider the engine does not know is refused when the engine starts, naming the shipyard.
func TestUnknownSLIProvider(t *testing.T) {
	f := newFixture(t, resultsShipyard, noEvaluationExecutor+"  test: {type: fake}\n")
	f.stop()
	p := f.project
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range p.Shipyard.Spec.Stages[0].Sequences[0].Tasks {
		if task := &p.Shipyard.Spec.Stages[0].Sequences[0].Tasks[i]; task.Name == "evaluation" {
			task.Properties["sli_provider"] = "dynatrace"
		}
	}
	opts := f.opts
	opts.Store = st
	_, err = New(opts)
	if err == nil || !strings.Contains(err.Error(), `shipyard.yaml: stage "qa": task "evaluation": sli_provider dynatrace is not one of prometheus, results`) {
		t.Fatalf("New: %v", err)
	}
}
