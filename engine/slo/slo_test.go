package slo

import (
	"math"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/config"
)

func parse(t testing.TB, doc string) *config.SLO {
	t.Helper()
	s, diags := config.ParseSLO("slo.yaml", []byte(doc))
	if s == nil {
		t.Fatalf("SLO did not decode: %v", diags.Err())
	}
	return s
}

func vals(kv ...any) map[string]Value {
	m := map[string]Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case float64:
			m[kv[i].(string)] = Value{Value: v, OK: true}
		case int:
			m[kv[i].(string)] = Value{Value: float64(v), OK: true}
		case nil:
			m[kv[i].(string)] = Value{Message: "query did not return any values"}
		}
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPercentileKeptnExample(t *testing.T) {
	var v []float64
	for i := 10; i >= 0; i-- {
		v = append(v, float64(i))
	}
	for _, tt := range []struct{ p, want float64 }{{0.5, 5}, {0.9, 9.8}, {0.95, 10}, {0.01, 0}} {
		if got := Percentile(v, tt.p); !near(got, tt.want) {
			t.Errorf("p%v of 0..10 = %v, want %v", tt.p*100, got, tt.want)
		}
	}
}

func TestScoreExamples(t *testing.T) {
	tests := []struct {
		name      string
		slo       string
		values    map[string]Value
		result    string
		score     float64
		message   string
		statuses  []string
		objScores []float64
	}{
		{
			name: "85 of 92 gives 92.39%",
			slo: `objectives:
  - {sli: a, weight: 85, pass: [{criteria: ["<10"]}]}
  - {sli: b, weight: 7, pass: [{criteria: ["<10"]}]}
total_score: {pass: "90%", warning: "75%"}`,
			values: vals("a", 1, "b", 20), result: Pass, score: 100 * 85.0 / 92, statuses: []string{Pass, Fail},
		},
		{
			name: "one objective in warning at 90/75 gives 50 and fails",
			slo: `objectives:
  - {sli: rt, pass: [{criteria: ["<100"]}], warning: [{criteria: ["<200"]}]}
total_score: {pass: "90%", warning: "75%"}`,
			values: vals("rt", 150), result: Fail, score: 50, statuses: []string{Warning}, objScores: []float64{0.5},
			message: "Evaluation failed since the calculated score of 50 is below the warning value of 75",
		},
		{
			name: "a key SLI failing fails the evaluation even at the pass threshold",
			slo: `objectives:
  - {sli: a, weight: 3, pass: [{criteria: ["<10"]}]}
  - {sli: err, displayName: Error rate, key_sli: true, pass: [{criteria: ["<=1"]}]}
total_score: {pass: "75%", warning: "50%"}`,
			values: vals("a", 1, "err", 5), result: Fail, score: 75, statuses: []string{Pass, Fail},
			message: "Evaluation failed due to key_sli objective 'Error rate': value 5 did not meet the pass criteria <=1 (target 1)",
		},
		{
			name: "a key SLI in warning does not count as failed",
			slo: `objectives:
  - {sli: err, key_sli: true, pass: [{criteria: ["<=1"]}], warning: [{criteria: ["<=2"]}]}
  - {sli: a, pass: [{criteria: ["<10"]}]}
total_score: {pass: "90%", warning: "70%"}`,
			values: vals("err", 2, "a", 1), result: Warning, score: 75, statuses: []string{Warning, Pass},
			message: "Evaluation returned a warning: the calculated score of 75 is close to the warning target value of 70",
		},
		{
			name: "pass is OR across blocks, AND within a block",
			slo: `objectives:
  - {sli: a, pass: [{criteria: ["<10", ">5"]}, {criteria: ["=100"]}]}
  - {sli: b, pass: [{criteria: ["<10", ">5"]}, {criteria: ["=100"]}]}
  - {sli: c, pass: [{criteria: ["<10", ">5"]}, {criteria: ["=100"]}]}
total_score: {pass: "60%"}`,
			values: vals("a", 7, "b", 100, "c", 3), result: Pass, score: 200.0 / 3, statuses: []string{Pass, Pass, Fail},
		},
		{
			name: "missing value fails; no warning threshold means below target",
			slo: `objectives:
  - {sli: a, pass: [{criteria: ["<10"]}]}
  - {sli: b, pass: [{criteria: ["<10"]}]}
total_score: {pass: "90%"}`,
			values: vals("a", 1, "b", nil), result: Fail, score: 50, statuses: []string{Pass, Fail},
			message: "Evaluation failed since the calculated score of 50 is below the target value of 90",
		},
		{
			name: "informative objectives are not scored, even without a value",
			slo: `objectives:
  - {sli: a, pass: [{criteria: ["<10"]}]}
  - {sli: info, warning: [{criteria: ["<1"]}]}
  - {sli: gone}
total_score: {pass: "90%"}`,
			values: vals("a", 1, "info", 5, "gone", nil), result: Pass, score: 100, statuses: []string{Pass, Info, Info},
		},
		{
			name:   "only informative objectives pass with 100",
			slo:    "objectives: [{sli: a}]\ntotal_score: {pass: \"90%\"}",
			values: vals("a", 1), result: Pass, score: 100, statuses: []string{Info},
		},
		{
			name:   "exactly at the threshold passes (>=)",
			slo:    "objectives: [{sli: a, weight: 3, pass: [{criteria: [\"<1\"]}]}, {sli: b, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: \"75\"}",
			values: vals("a", 0, "b", 5), result: Pass, score: 75, statuses: []string{Pass, Fail},
		},
		{
			name:   "additional SLIs are named",
			slo:    "objectives: [{sli: a, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: \"90%\"}",
			values: vals("a", 0, "z", 1, "y", 2), result: Pass, score: 100, statuses: []string{Pass},
			message: "Lighthouse received additional SLIs, which are not specified as SLO: y, z.",
		},
		{
			name:    "no objectives",
			slo:     "objectives: []\ntotal_score: {pass: \"90%\"}",
			values:  vals("a", 1),
			result:  Fail,
			message: "lighthouse failed because no SLO objective was provided",
		},
		{
			name:    "an unparseable pass criterion stops the evaluation",
			slo:     "objectives: [{sli: a, displayName: Latency, pass: [{criteria: [\"<=abc\"]}]}]\ntotal_score: {pass: \"90%\"}",
			values:  vals("a", 1),
			result:  Fail,
			message: "error with Latency: could not parse criteria target value",
		},
		{
			name:     "an unparseable warning criterion is silently not met",
			slo:      "objectives: [{sli: a, pass: [{criteria: [\"<1\"]}], warning: [{criteria: [\"~5\"]}]}]\ntotal_score: {pass: \"90%\"}",
			values:   vals("a", 2),
			result:   Fail,
			statuses: []string{Fail},
			message:  "Evaluation failed since the calculated score of 0 is below the target value of 90",
		},
		{name: "no total score", slo: "objectives: [{sli: a, pass: [{criteria: [\"<1\"]}]}]", values: vals("a", 0), result: Fail, statuses: []string{Pass}, message: "no target score defined"},
		{name: "bad pass score", slo: "objectives: [{sli: a, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: ninety}", values: vals("a", 0), result: Fail, statuses: []string{Pass}, message: "could not parse pass target percentage"},
		{name: "bad warning score", slo: "objectives: [{sli: a, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: \"90\", warning: x}", values: vals("a", 0), result: Fail, statuses: []string{Pass}, message: "could not parse warning target percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evaluate(parse(t, tt.slo), tt.values, nil)
			if ev.Result != tt.result || !near(ev.Score, tt.score) || ev.Message != tt.message {
				t.Errorf("got %s %v %q, want %s %v %q", ev.Result, ev.Score, ev.Message, tt.result, tt.score, tt.message)
			}
			var statuses []string
			for i, o := range ev.Objectives {
				statuses = append(statuses, o.Status)
				if i < len(tt.objScores) && !near(o.Score, tt.objScores[i]) {
					t.Errorf("objective %s score %v, want %v", o.SLI, o.Score, tt.objScores[i])
				}
			}
			if strings.Join(statuses, ",") != strings.Join(tt.statuses, ",") {
				t.Errorf("statuses %v, want %v", statuses, tt.statuses)
			}
			wantStatus := StatusSucceeded
			if strings.Contains(tt.message, "target") && strings.Contains(tt.message, "defined") || strings.HasPrefix(tt.message, "could not parse") {
				wantStatus = StatusErrored
			}
			if ev.Status != wantStatus {
				t.Errorf("status %s, want %s", ev.Status, wantStatus)
			}
		})
	}
}

func TestRelativeCriteriaAndBaseline(t *testing.T) {
	const doc = `comparison: {compare_with: several_results, number_of_comparison_results: 3, include_result_with_score: pass_or_warn, aggregate_function: %s}
objectives:
  - sli: rt
    pass: [{criteria: ["<=+10%", "<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: tp
    pass: [{criteria: [">=-80%"]}]
  - sli: up
    pass: [{criteria: ["<=+5", ">=-5"]}]
total_score: {pass: "90%", warning: "75%"}`
	history := []Previous{
		{ID: 9, Result: Fail, Values: vals("rt", 10, "tp", 1, "up", 0)}, // excluded: failed overall
		{ID: 8, Result: Pass, Values: vals("rt", 400, "tp", 100, "up", 10)},
		{ID: 7, Result: Warning, Values: vals("rt", 500, "tp", nil, "up", 20)}, // tp failed: never a baseline
		{ID: 6, Result: Pass, Values: vals("rt", 600, "tp", 50, "up", 30)},
		{ID: 5, Result: Pass, Values: vals("rt", 1, "tp", 1, "up", 1)}, // beyond the 3 results
	}
	ev := Evaluate(parse(t, strings.Replace(doc, "%s", "avg", 1)), vals("rt", 540, "tp", 10, "up", 26), history)
	if got := ev.ComparedIDs; len(got) != 3 || got[0] != 8 || got[1] != 7 || got[2] != 6 {
		t.Fatalf("compared %v, want 8, 7, 6", got)
	}
	rt, tp, up := ev.Objectives[0], ev.Objectives[1], ev.Objectives[2]
	// rt baseline avg(400, 500, 600) = 500: +10% → 550 (540 passes), and <600 passes.
	if *rt.ComparedValue != 500 || !near(rt.PassTargets[0].TargetValue, 550) || rt.Status != Pass {
		t.Errorf("rt = %+v", rt)
	}
	// tp baseline avg(100, 50) = 75 (the failed value is skipped): -80% → 15; 10 < 15 fails.
	if *tp.ComparedValue != 75 || !near(tp.PassTargets[0].TargetValue, 15) || tp.Status != Fail || !tp.PassTargets[0].Violated {
		t.Errorf("tp = %+v", tp)
	}
	// up baseline avg(10, 20, 30) = 20: +5 → 25 (26 violates), -5 → 15.
	if !near(up.PassTargets[0].TargetValue, 25) || !near(up.PassTargets[1].TargetValue, 15) || up.Status != Fail {
		t.Errorf("up = %+v", up)
	}

	p90 := Evaluate(parse(t, strings.Replace(doc, "%s", "p90", 1)), vals("rt", 540, "tp", 10, "up", 26), history)
	if got := *p90.Objectives[0].ComparedValue; !near(got, 600) {
		t.Errorf("p90 of 400, 500, 600 = %v, want 600 (position 3.6 is past n)", got)
	}
	unknown := Evaluate(parse(t, strings.Replace(doc, "%s", "max", 1)), vals("rt", 540, "tp", 10, "up", 26), history)
	if got := unknown.Objectives[0]; *got.ComparedValue != 0 || !got.PassTargets[0].Violated || got.Status != Warning {
		t.Errorf("an unknown aggregate gives baseline 0 (Keptn's quirk): %+v", got)
	}
}

func TestComparisonDefaults(t *testing.T) {
	history := []Previous{
		{ID: 3, Result: Fail, Values: vals("rt", 100)},
		{ID: 2, Result: Pass, Values: vals("rt", 200)},
		{ID: 1, Result: Pass, Values: vals("rt", 300)},
	}
	pass := "objectives: [{sli: rt, pass: [{criteria: [\"<=+0%\"]}]}]\ntotal_score: {pass: \"90%\"}"
	for _, tt := range []struct {
		name, comparison string
		compared         []int64
		base             float64
	}{
		{"no block: the last result, whatever it was", "", []int64{3}, 100},
		{"a block without compare_with: 3 results", "comparison: {aggregate_function: avg}\n", []int64{3, 2, 1}, 200},
		{"single_result ignores the count", "comparison: {compare_with: single_result, number_of_comparison_results: 3, include_result_with_score: pass}\n", []int64{2}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evaluate(parse(t, tt.comparison+pass), vals("rt", 150), history)
			if len(ev.ComparedIDs) != len(tt.compared) || ev.ComparedIDs[0] != tt.compared[0] || *ev.Objectives[0].ComparedValue != tt.base {
				t.Errorf("compared %v with baseline %v, want %v and %v", ev.ComparedIDs, *ev.Objectives[0].ComparedValue, tt.compared, tt.base)
			}
		})
	}
}

// The first evaluation of a service has no baseline: relative criteria are satisfied with target 0.
func TestRelativeWithoutBaselinePasses(t *testing.T) {
	ev := Evaluate(parse(t, "objectives: [{sli: rt, pass: [{criteria: [\"<=+10%\"]}]}]\ntotal_score: {pass: \"90%\"}"), vals("rt", 1e9), nil)
	o := ev.Objectives[0]
	if ev.Result != Pass || o.ComparedValue != nil || o.PassTargets[0].TargetValue != 0 || o.PassTargets[0].Violated {
		t.Errorf("got %s %+v", ev.Result, o)
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add("objectives: [{sli: a, pass: [{criteria: ['<=+10%', '<600']}], warning: [{criteria: ['<=800']}], key_sli: true}]\ntotal_score: {pass: '90%', warning: '75%'}", 500.0, 450.0)
	f.Add("comparison: {compare_with: several_results, aggregate_function: p95}\nobjectives: [{sli: a, weight: 0, pass: [{criteria: ['>=-80%']}]}]\ntotal_score: {pass: '0'}", 0.0, 0.0)
	f.Fuzz(func(t *testing.T, doc string, value, prev float64) {
		s, _ := config.ParseSLO("slo.yaml", []byte(doc))
		if s == nil {
			return
		}
		ev := Evaluate(s, map[string]Value{"a": {Value: value, OK: true}}, []Previous{{ID: 1, Result: Pass, Values: map[string]Value{"a": {Value: prev, OK: true}}}})
		if ev.Result != Pass && ev.Result != Warning && ev.Result != Fail {
			t.Fatalf("result %q", ev.Result)
		}
	})
}
