package config

import (
	"os"
	"testing"
)

func TestSLOTutorial(t *testing.T) {
	slo, diags := ReadSLO("../examples/fulltour/helloservice/slo.yaml")
	checkDiags(t, diags)
	if slo.SpecVersion != "0.1.0" || len(slo.Objectives) != 3 {
		t.Fatalf("spec_version %q with %d objectives, want 0.1.0 with 3", slo.SpecVersion, len(slo.Objectives))
	}
	rt := slo.Objectives[0]
	if rt.Name() != "Response time P95" || len(rt.Pass) != 1 || len(rt.Pass[0].Criteria) != 2 {
		t.Fatalf("first objective = %+v", rt)
	}
	c := rt.Pass[0].Criteria[0]
	if c.Raw != "<=+10%" || !c.Relative || !c.Percent || !c.Increase || c.Value != 10 || c.Line != 14 {
		t.Errorf("first criterion = %+v, want relative +10%% at line 14", c)
	}
	tp := slo.Objectives[1].Pass[0].Criteria[0]
	if tp.Raw != ">=-80%" || tp.Increase || tp.Value != 80 {
		t.Errorf("throughput criterion = %+v, want relative decrease of 80%%", tp)
	}
	if er := slo.Objectives[2]; !er.KeySLI || er.ObjectiveWeight() != 2 {
		t.Errorf("error_rate = %+v, want key SLI with weight 2", er)
	}
	if slo.Objectives[1].ObjectiveWeight() != 1 {
		t.Errorf("missing weight scores as %d, want 1", slo.Objectives[1].ObjectiveWeight())
	}
	if got := slo.EffectiveComparison(); got != (ResolvedComparison{CompareSingleResult, IncludePass, 1, "avg"}) {
		t.Errorf("comparison = %+v", got)
	}
}

func TestEffectiveComparison(t *testing.T) {
	tests := []struct {
		name string
		c    *Comparison
		want ResolvedComparison
	}{
		{"no block", nil, ResolvedComparison{CompareSingleResult, IncludeAll, 1, "avg"}},
		{"block without compare_with reads 3", &Comparison{}, ResolvedComparison{"", IncludeAll, 3, "avg"}},
		{"single_result ignores the count", &Comparison{CompareWith: CompareSingleResult, NumberOfComparisonResults: 5}, ResolvedComparison{CompareSingleResult, IncludeAll, 1, "avg"}},
		{"several_results default", &Comparison{CompareWith: CompareSeveralResults}, ResolvedComparison{CompareSeveralResults, IncludeAll, 3, "avg"}},
		{"several_results count", &Comparison{CompareWith: CompareSeveralResults, NumberOfComparisonResults: 5, IncludeResultWithScore: IncludePassOrWarn, AggregateFunction: "p90"}, ResolvedComparison{CompareSeveralResults, IncludePassOrWarn, 5, "p90"}},
		{"unknown compare_with reads 3", &Comparison{CompareWith: "last", NumberOfComparisonResults: 7}, ResolvedComparison{"last", IncludeAll, 3, "avg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&SLO{Comparison: tt.c}).EffectiveComparison(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSLOValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{
			name: "criteria that do not parse",
			doc: `objectives:
  - sli: rt
    pass:
      - criteria: ["<=abc", "600"]
    warning:
      - criteria:
          - "<= 8 00 ms"
total_score: {pass: "90%"}
`,
			want: []want{
				errAt(4, `pass criterion "<=abc": could not parse criteria target value (the evaluation fails)`),
				errAt(4, `pass criterion "600": invalid criteria string`),
				errAt(7, `warning criterion "<= 8 00 ms": could not parse criteria target value (Keptn silently treated the warning as not met)`),
			},
		},
		{
			name: "total score",
			doc: `objectives: [{sli: rt, pass: [{criteria: ["<1"]}]}]
total_score:
  pass: ninety
  warning: "75 %"
`,
			want: []want{errAt(3, `total_score.pass: could not parse "ninety"`), errAt(4, `total_score.warning: could not parse "75 %"`)},
		},
		{
			name: "missing total score",
			doc:  "objectives: [{sli: rt, pass: [{criteria: [\"<1\"]}]}]\n",
			want: []want{errAt(1, "total_score.pass is missing")},
		},
		{
			name: "warning above pass",
			doc:  "objectives: [{sli: rt, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: 75%, warning: 90%}\n",
			want: []want{warnAt(2, "no evaluation ever ends in warning")},
		},
		{
			name: "no objectives",
			doc:  "objectives: []\ntotal_score: {pass: 90%}\n",
			want: []want{errAt(1, "no objectives")},
		},
		{
			name: "objective problems",
			doc: `objectives:
  - displayName: nameless
    pass: [{criteria: ["<1"]}]
  - sli: rt
    weight: -2
    pass: [{criteria: ["<1"]}]
  - sli: rt
    warning: [{criteria: ["<1"]}]
  - sli: info
    weight: 1.5
  -
total_score: {pass: 90%}
`,
			want: []want{
				errAt(2, "objective 1 has no sli"),
				errAt(5, `objective "rt": weight -2 is negative`),
				warnAt(7, `objective "rt" is already defined at line 4`),
				warnAt(8, "informative and its warning criteria are ignored"),
				warnAt(10, `objectives[3].weight: expected a whole number, got "1.5"; it is read as 1`),
			},
		},
		{
			name: "comparison quirks",
			doc: `comparison:
  include_result_with_score: passed
  aggregate_function: max
  number_of_comparison_results: -1
objectives: [{sli: rt, pass: [{criteria: ["<1"]}]}]
total_score: {pass: 90%}
`,
			want: []want{
				warnAt(1, "without compare_with compares with 3 earlier results"),
				warnAt(2, `include_result_with_score "passed"`),
				warnAt(3, `aggregate_function "max" is not one of avg, p50, p90, p95`),
				errAt(4, "number_of_comparison_results -1 is negative"),
			},
		},
		{
			name: "unknown keys are warnings",
			doc:  "objectives: [{sli: rt, key-sli: true, pass: [{criteria: [\"<1\"]}]}]\ntotal_score: {pass: 90%}\n",
			want: []want{warnAt(1, `unknown key "key-sli" in objectives[0]`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseSLO("slo.yaml", []byte(tt.doc))
			checkDiags(t, diags, tt.want...)
		})
	}
}

func TestSLONullObjectiveDropped(t *testing.T) {
	slo, diags := ParseSLO("slo.yaml", []byte("objectives:\n  -\n  - sli: rt\n    pass: [{criteria: [\"<1\"]}]\n  - ~\ntotal_score: {pass: 90%}\n"))
	checkDiags(t, diags)
	if len(slo.Objectives) != 1 || slo.Objectives[0].SLI != "rt" {
		t.Fatalf("objectives = %+v, want only rt", slo.Objectives)
	}
}

func FuzzSLO(f *testing.F) {
	seed, err := os.ReadFile("../examples/fulltour/helloservice/slo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("objectives: [{sli: a, pass: [{criteria: ['<=+10%', '<1']}], warning: [{criteria: ['<=2']}], weight: 3, key_sli: true}]\ntotal_score: {pass: '90%', warning: '75%'}\n"))
	f.Add([]byte("comparison: {compare_with: several_results, number_of_comparison_results: 3, aggregate_function: p95}\nobjectives: [~]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		slo, diags := ParseSLO("slo.yaml", data)
		if slo == nil {
			if !diags.HasErrors() {
				t.Fatal("no SLO and no error")
			}
			return
		}
		for _, o := range slo.Objectives {
			if o == nil {
				t.Fatal("null objective kept")
			}
			for _, b := range append(append([]CriteriaBlock{}, o.Pass...), o.Warning...) {
				for _, c := range b.Criteria {
					if c.Err != nil && !diags.HasErrors() {
						t.Fatalf("criterion %q does not parse but no error was reported", c.Raw)
					}
				}
			}
		}
		if r := slo.EffectiveComparison(); r.Results < 1 {
			t.Fatalf("comparison reads %d results", r.Results)
		}
	})
}

// Keptn checks warning criteria only when pass fails: warning criteria that accept nothing beyond what
// pass accepts can never give the warning status, and are a warning. Relative criteria move with the
// baseline, so only what is certain either way is judged.
func TestSLOWarningNeverReached(t *testing.T) {
	objective := func(pass, warning string) string {
		return "objectives:\n  - sli: rt\n    pass: " + pass + "\n    warning: " + warning + "\ntotal_score: {pass: 90%}\n"
	}
	tests := []struct {
		name          string
		pass, warning string
		want          []want
	}{
		{"the tutorial's: inside pass", `[{criteria: ["<=0.4"]}]`, `[{criteria: ["<=0.1"]}]`,
			[]want{warnAt(4, `objective "rt": warning criteria "<=0.1" can never give a warning: every value they accept also meets pass "<=0.4", and Keptn checks warning only when pass fails; did you mean pass "<=0.1" and warning "<=0.4"?`)}},
		{"lower limits the wrong way round", `[{criteria: [">=10"]}]`, `[{criteria: [">20"]}]`,
			[]want{warnAt(4, `did you mean pass ">20" and warning ">=10"?`)}},
		{"the same limit", `[{criteria: ["<600"]}]`, `[{criteria: ["<600"]}]`,
			[]want{warnAt(4, `warning criteria "<600" can never give a warning: every value they accept also meets pass "<600", and Keptn checks warning only when pass fails`)}},
		{"a looser warning band", `[{criteria: ["<=1"]}]`, `[{criteria: ["<=2"]}]`, nil},
		{"the boundary itself warns", `[{criteria: ["<1"]}]`, `[{criteria: ["<=1"]}]`, nil},
		{"covered by two pass blocks that touch", `[{criteria: ["<1"]}, {criteria: [">=1", "<=5"]}]`, `[{criteria: ["<=3"]}]`,
			[]want{warnAt(4, `every value they accept also meets pass "<1" or (">=1" and "<=5")`)}},
		{"a gap between pass blocks", `[{criteria: ["<1"]}, {criteria: [">1"]}]`, `[{criteria: ["<=3"]}]`, nil},
		{"one warning block outside pass", `[{criteria: ["<=5"]}]`, `[{criteria: ["=3"]}, {criteria: [">8"]}]`, nil},
		{"an exact value inside pass", `[{criteria: ["<=5"]}]`, `[{criteria: ["=3"]}]`,
			[]want{warnAt(4, `warning criteria "=3" can never give a warning`)}},
		{"warning criteria that exclude each other", `[{criteria: ["<=5"]}]`, `[{criteria: [">8", "<6"]}]`,
			[]want{warnAt(4, `warning criteria ">8" and "<6" accept no value, so the objective never ends in warning`)}},
		// Pass with a relative criterion accepts an unknown part of <600, so <=800 may well warn.
		{"relative pass", `[{criteria: ["<=+10%", "<600"]}]`, `[{criteria: ["<=800"]}]`, nil},
		// Whatever the baseline, the warning block accepts at most <=500, all of which passes.
		{"relative warning inside pass", `[{criteria: ["<600"]}]`, `[{criteria: ["<=+10%", "<=500"]}]`,
			[]want{warnAt(4, `warning criteria "<=+10%" and "<=500" can never give a warning`)}},
		{"relative warning alone", `[{criteria: ["<600"]}]`, `[{criteria: ["<=+10%"]}]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseSLO("slo.yaml", []byte(objective(tt.pass, tt.warning)))
			checkDiags(t, diags, tt.want...)
		})
	}
}

// A file that is no SLO is one error saying what it is, coded so that `shipgate evaluate` refuses it; the
// engine still scores it as Keptn did, as an SLO without objectives.
func TestSLONotAnSLO(t *testing.T) {
	shipyard, err := os.ReadFile("../examples/fulltour/shipyard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, doc string
		line      int
		want      string
	}{
		{"shipyard.yaml", string(shipyard), 2, "shipyard.yaml is a Keptn Shipyard (kind: Shipyard), not an SLO file; an SLO file has objectives and total_score"},
		{"remediation.yaml", "apiVersion: spec.keptn.sh/0.1.4\nkind: Remediation\n", 2, "remediation.yaml is a Keptn Remediation (kind: Remediation), not an SLO file"},
		{"sli.yaml", "spec_version: '1.0'\nindicators:\n  rt: query\n", 1, "sli.yaml is an SLI file (indicators), not an SLO file"},
		{"values.json", `{"response_time_p95": 412.5, "error_rate": null}`, 1, "values.json is not an SLO file: its top-level keys (response_time_p95, error_rate) include neither objectives nor total_score"},
		{"empty.json", "{}", 1, "empty.json is an empty mapping, not an SLO file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			slo, diags := ParseSLO(tt.file, []byte(tt.doc))
			checkDiags(t, diags, errAt(tt.line, tt.want))
			if len(diags) == 1 && diags[0].Code != CodeSLONotSLO {
				t.Errorf("code %q, want %q", diags[0].Code, CodeSLONotSLO)
			}
			if slo == nil || len(slo.Objectives) != 0 {
				t.Errorf("SLO = %+v, want one without objectives", slo)
			}
		})
	}
	// An SLO whose objectives are missing is still an SLO: Keptn failed its evaluation.
	_, diags := ParseSLO("slo.yaml", []byte("total_score: {pass: 90%}\n"))
	checkDiags(t, diags, errAt(1, "no objectives"))
}
