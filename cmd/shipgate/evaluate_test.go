package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const tutorialSLO = "../../examples/fulltour/helloservice/slo.yaml"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestEvaluateTable(t *testing.T) {
	values := writeFile(t, "values.json", `{"response_time_p95": 540, "throughput": 10, "error_rate": 0.5}`)
	history := writeFile(t, "history.json", `[
  {"sli": {"response_time_p95": 480, "throughput": 100, "error_rate": 0}, "result": "pass"},
  {"sli": {"response_time_p95": 100, "throughput": 1, "error_rate": 9}, "result": "fail"}
]`)
	code, out, errOut := runCLI(t, "evaluate", "--slo", tutorialSLO, "--sli", values, "--history", history)
	if code != exitFailed || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden(t, "evaluate-fail.txt", out)
}

func TestEvaluateJSONFirstBuildPasses(t *testing.T) {
	// No history: relative criteria pass (target 0), so a fast first build passes.
	values := writeFile(t, "values.json", `{"response_time_p95": 120, "throughput": 42, "error_rate": 0}`)
	code, out, _ := runCLI(t, "evaluate", "--slo", tutorialSLO, "--sli", values, "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var got struct {
		Result     string  `json:"result"`
		Score      float64 `json:"score"`
		Message    string  `json:"message"`
		Objectives []struct {
			SLI           string   `json:"sli"`
			DisplayName   string   `json:"display_name"`
			Value         *float64 `json:"value"`
			ComparedValue *float64 `json:"compared_value"`
			Status        string   `json:"status"`
			Score         float64  `json:"score"`
			Weight        int      `json:"weight"`
			KeySLI        bool     `json:"key_sli"`
			PassTargets   []struct {
				Criteria    string  `json:"criteria"`
				TargetValue float64 `json:"target_value"`
				Violated    bool    `json:"violated"`
			} `json:"pass_targets"`
			WarningTargets []any `json:"warning_targets"`
		} `json:"objectives"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result != "pass" || got.Score != 100 || len(got.Objectives) != 3 {
		t.Fatalf("got %+v", got)
	}
	rt := got.Objectives[0]
	if rt.SLI != "response_time_p95" || rt.DisplayName != "Response time P95" || *rt.Value != 120 || rt.ComparedValue != nil ||
		rt.Status != "pass" || rt.PassTargets[0].Criteria != "<=+10%" || rt.PassTargets[0].TargetValue != 0 || rt.PassTargets[1].TargetValue != 600 {
		t.Errorf("response time objective = %+v", rt)
	}
	if er := got.Objectives[2]; !er.KeySLI || er.Weight != 2 || er.Score != 2 {
		t.Errorf("error rate objective = %+v", er)
	}
}

func TestEvaluateExitCodesAndInputErrors(t *testing.T) {
	good := writeFile(t, "values.json", `{"response_time_p95": 120, "throughput": 42, "error_rate": 0}`)
	badCriterion := writeFile(t, "slo.yaml", "objectives:\n  - sli: rt\n    pass: [{criteria: [\"<=abc\"]}]\ntotal_score: {pass: \"90%\"}\n")
	badYAML := writeFile(t, "broken.yaml", "objectives:\n  - sli: rt\n    weight: heavy\ntotal_score: {pass: \"90%\"}\n")
	syntax := writeFile(t, "syntax.json", "{\n  \"rt\": 1,\n  \"tp\": oops\n}\n")
	typed := writeFile(t, "typed.json", "{\n  \"rt\": \"fast\"\n}\n")
	history := writeFile(t, "history.json", "[\n  {\"sli\": {\"rt\": 1}, \"result\": \"pass\"},\n  {\"sli\": {\"rt\": 2}, \"result\": \"failed\"}\n]\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"unparseable pass criterion: Keptn's failed evaluation", []string{"--slo", badCriterion, "--sli", good}, exitFailed,
			"error with rt: could not parse criteria target value", badCriterion + ":3: objective \"rt\": pass criterion"},
		{"SLO that does not decode", []string{"--slo", badYAML, "--sli", good}, exitUsage, "", badYAML + `:3: objectives[0].weight: expected a whole number, got "heavy"`},
		{"JSON syntax", []string{"--slo", tutorialSLO, "--sli", syntax}, exitUsage, "", syntax + ":3: invalid character 'o' looking for beginning of value"},
		{"JSON type", []string{"--slo", tutorialSLO, "--sli", typed}, exitUsage, "", typed + `:2: rt is "fast", expected a number or null`},
		{"history result", []string{"--slo", tutorialSLO, "--sli", good, "--history", history}, exitUsage, "", history + `:3: evaluation 2: result "failed" is not pass, warning or fail`},
		{"missing file", []string{"--slo", tutorialSLO, "--sli", filepath.Join(t.TempDir(), "none.json")}, exitUsage, "", "cannot read SLI values"},
		{"bad output", []string{"--slo", tutorialSLO, "--sli", good, "--output", "yaml"}, exitUsage, "", "--output must be table or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"evaluate"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d with %q and %q", code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// A file that is no SLO is invalid input (exit 2) with what it is, not a failed gate (exit 1) that CI
// would read as a bad build.
func TestEvaluateRefusesFilesThatAreNoSLO(t *testing.T) {
	values := writeFile(t, "values.json", `{"response_time_p95": 120, "throughput": 42, "error_rate": 0}`)
	shipyard := "../../examples/fulltour/shipyard.yaml"
	tests := []struct {
		slo, want string
	}{
		{shipyard, shipyard + ":2: shipyard.yaml is a Keptn Shipyard (kind: Shipyard), not an SLO file; an SLO file has objectives and total_score\n"},
		{values, values + ":1: values.json is not an SLO file: its top-level keys (response_time_p95, throughput, error_rate) include neither objectives nor total_score\n"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, "evaluate", "--slo", tt.slo, "--sli", values)
		if code != exitUsage || out != "" || errOut != tt.want {
			t.Errorf("--slo %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.slo, code, out, errOut, tt.want)
		}
	}
	// An SLO without objectives is still Keptn's failed evaluation.
	noObjectives := writeFile(t, "slo.yaml", "objectives: []\ntotal_score: {pass: 90%}\n")
	if code, out, _ := runCLI(t, "evaluate", "--slo", noObjectives, "--sli", values); code != exitFailed || !strings.Contains(out, "no SLO objective was provided") {
		t.Errorf("SLO without objectives: exit %d, stdout %q; want Keptn's failed evaluation", code, out)
	}
}
