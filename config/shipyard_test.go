package config

import (
	"os"
	"strings"
	"testing"
)

func TestShipyardTutorialIsValid(t *testing.T) {
	for _, path := range []string{"../examples/fulltour/shipyard.yaml", "testdata/keptn-tutorial/fulltour/shipyard.yaml"} {
		t.Run(path, func(t *testing.T) {
			sy, diags := ReadShipyard(path)
			checkDiags(t, diags)
			if got := strings.Join(sy.StageNames(), ","); got != "qa,production" {
				t.Fatalf("stages = %s, want qa,production", got)
			}
			prod, _ := sy.Stage("production")
			seq, ok := prod.Sequence("remediation")
			if !ok {
				t.Fatal("production has no remediation sequence")
			}
			if got := seq.TriggeredOn[0].Selector.Match["evaluation.result"]; got != "fail" {
				t.Errorf("remediation selector evaluation.result = %q, want fail", got)
			}
			delay, err := seq.Tasks[2].Delay()
			if err != nil || delay.String() != "2m0s" {
				t.Errorf("evaluation triggeredAfter = %v, %v; want 2m", delay, err)
			}
			approval := prod.Sequences[0].Tasks[0]
			if approval.Name != "approval" || approval.Properties["pass"] != "manual" {
				t.Errorf("first production task = %+v, want approval with pass: manual", approval)
			}
			// Every stage has the built-in evaluation sequence unless it declares its own.
			if s, ok := prod.Sequence(EvaluationSequence); !ok || s.Tasks[0].Name != "evaluation" {
				t.Errorf("built-in evaluation sequence = %+v, %v", s, ok)
			}
		})
	}
}

const shipyardHead = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata:
  name: test
spec:
  stages:
`

func TestShipyardValidation(t *testing.T) {
	tests := []struct {
		name string
		body string // appended to shipyardHead, whose last line is 6
		want []want
	}{
		{
			name: "invalid and duplicate stage names",
			body: `    - name: QA
      sequences: []
    - name: prod
    - name: prod
`,
			want: []want{errAt(7, `stage name "QA" is invalid`), errAt(10, `stage "prod" is already defined at line 9`)},
		},
		{
			name: "long stage name",
			body: `    - name: a-very-long-stage-name-that-does-not-fit-into-helm
`,
			want: []want{warnAt(7, "keep it to 43")},
		},
		{
			name: "duplicate sequence and task, empty sequence",
			body: `    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: deployment
        - name: delivery
          tasks: []
`,
			want: []want{
				errAt(12, `task "deployment" is already defined at line 11`),
				errAt(13, `sequence "delivery" is already defined at line 9`),
				errAt(14, `sequence "delivery" has no tasks`),
			},
		},
		{
			name: "triggeredOn names a missing stage, a missing sequence, and a non-finished event",
			body: `    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn:
            - event: staging.delivery.finished
            - event: qa.deliver.finished
            - event: qa.delivery.started
            - event: qa.evaluation.finished
          tasks: [{name: deployment}]
`,
			want: []want{
				errAt(15, `names stage "staging", which does not exist; stages are: qa, production`),
				errAt(16, `names sequence "deliver", which stage "qa" does not have; its sequences are: delivery, evaluation (built in)`),
				errAt(17, `never happens: expected STAGE.SEQUENCE.finished`),
			},
		},
		{
			name: "selector values and keys",
			body: `    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: evaluation}]
        - name: rollback
          triggeredOn:
            - event: qa.delivery.finished
              selector:
                match:
                  result: failed
                  test.result: fail
                  evaluation.result: pass
                  status: errored
          tasks: [{name: rollback}]
`,
			want: []want{
				errAt(16, `"failed" never matches`),
				warnAt(17, `sequence "qa.delivery" has no task "test"`),
				errAt(19, `selector status: "errored" is not a result`),
				errAt(19, `selector key "status" is never matched`),
			},
		},
		{
			name: "triggeredAfter and approval strategy",
			body: `    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties:
                pass: automatically
            - name: evaluation
              triggeredAfter: 2 minutes
            - name: release
              triggeredAfter: -1m
`,
			want: []want{
				warnAt(13, "approval pass strategy automatically is neither automatic nor manual"),
				errAt(15, `triggeredAfter "2 minutes" is not a duration`),
				errAt(17, `triggeredAfter "-1m" is negative`),
			},
		},
		{
			name: "approval timeout ladder",
			body: `    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties:
                remind_every: 0s
                escalate_after: 72h
                escalate_to: [engineering-leads]
                timeout: 72h
        - name: hotfix
          tasks:
            - name: approval
              properties:
                remind_every: soon
                escalate_after: 1d
                escalate_to: [leads, 7]
                timeout: -1h
        - name: lone
          tasks:
            - name: approval
              properties: {escalate_after: 1h, remind_every: 2h, timeout: 1h}
        - name: other
          tasks:
            - name: approval
              properties: {escalate_to: leads}
        - name: fine
          tasks:
            - name: approval
              properties: {remind_every: 4h, escalate_after: 24h, escalate_to: engineering-leads, timeout: 72h}
`,
			want: []want{
				errAt(13, `approval remind_every "0s" must be positive`),
				errAt(14, `approval escalate_after 72h0m0s is not before its timeout 72h0m0s`),
				errAt(21, `approval remind_every soon is not a duration`),
				errAt(22, `approval escalate_after 1d is not a duration`),
				errAt(23, `approval escalate_to must be a role or a list of roles`),
				errAt(24, `approval timeout "-1h" must be positive`),
				errAt(28, `approval escalate_after needs escalate_to`),
				errAt(28, `approval escalate_after 1h0m0s is not before its timeout 1h0m0s`),
				warnAt(28, `approval remind_every 2h0m0s is not shorter than its timeout 1h0m0s`),
				errAt(32, `approval escalate_to needs escalate_after`),
			},
		},
		{
			name: "unknown keys are warnings, as Keptn ignored them",
			body: `    - name: qa
      sequences:
        - name: delivery
          triggerdOn: []
          tasks: [{name: deployment, propertys: {}}]
`,
			want: []want{
				warnAt(10, `unknown key "triggerdOn" in spec.stages[0].sequences[0]; expected one of: name, triggeredOn, tasks`),
				warnAt(11, `unknown key "propertys"`),
			},
		},
		{
			name: "wrong types",
			body: `    - name: qa
      sequences:
        - name: [delivery]
          tasks: deployment
`,
			want: []want{
				errAt(9, `spec.stages[0].sequences[0].name: expected a string, got a list`),
				errAt(10, `spec.stages[0].sequences[0].tasks: expected a list, got "deployment"`),
				errAt(10, `sequence "" has no tasks`),
				errAt(9, `sequence 1 has no name`),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseShipyard("shipyard.yaml", []byte(shipyardHead+tt.body))
			checkDiags(t, diags, tt.want...)
		})
	}
}

func TestShipyardDocumentProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"empty", "", []want{errAt(0, "file is empty; expected apiVersion, kind, metadata and spec.stages")}},
		{"not YAML", "spec:\n  stages: [\n", []want{errAt(2, "invalid YAML: did not find expected node content")}},
		{"no stages", "apiVersion: spec.keptn.sh/0.2.0\nkind: Shipyard\nspec: {}\n", []want{errAt(3, "at least one stage")}},
		{"old version", "apiVersion: spec.keptn.sh/0.1.7\nkind: Shipyard\nspec:\n  stages: [{name: qa}]\n", []want{errAt(1, "too old")}},
		{"bad version", "apiVersion: spec.keptn.sh/latest\nspec:\n  stages: [{name: qa}]\n", []want{errAt(1, "is not a version")}},
		{"missing version", "kind: Shipyard\nspec:\n  stages: [{name: qa}]\n", []want{errAt(1, "apiVersion is missing")}},
		{"wrong kind", "apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyrd\nspec:\n  stages: [{name: qa}]\n", []want{warnAt(2, `kind is "Shipyrd"`)}},
		{"duplicate key", "apiVersion: spec.keptn.sh/0.2.3\napiVersion: spec.keptn.sh/0.2.3\nspec:\n  stages: [{name: qa}]\n", []want{errAt(2, `key "apiVersion" is already defined at line 1`)}},
		{"a list, not a mapping", "- qa\n", []want{errAt(1, "expected a mapping"), errAt(0, "apiVersion is missing"), errAt(0, "at least one stage")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseShipyard("shipyard.yaml", []byte(tt.doc))
			checkDiags(t, diags, tt.want...)
		})
	}
}

func TestShipyardAliasBombIsBounded(t *testing.T) {
	// Nine levels of nine aliases expand to 9^9 nodes; decoding must stop early with an error.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("a")
		b.WriteString(string(rune('0' + i)))
		b.WriteString(": &a")
		b.WriteString(string(rune('0' + i)))
		b.WriteString(" [")
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a")
			b.WriteString(string(rune('0' + i - 1)))
		}
		b.WriteString("]\n")
	}
	doc := "apiVersion: spec.keptn.sh/0.2.0\nspec:\n  stages:\n    - name: qa\n      sequences:\n        - name: s\n          tasks:\n            - name: t\n              properties:\n                bomb:\n" +
		indent(b.String(), "                  ")
	_, diags := ParseShipyard("shipyard.yaml", []byte(doc))
	if !diags.HasErrors() {
		t.Fatal("alias bomb decoded without error")
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func FuzzShipyard(f *testing.F) {
	seed, err := os.ReadFile("../examples/fulltour/shipyard.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(shipyardHead + "    - name: qa\n      sequences:\n        - name: d\n          triggeredOn: [{event: qa.d.finished, selector: {match: {result: fail}}}]\n          tasks: [{name: t, triggeredAfter: 1m}]\n"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("<<: {spec: {stages: [{name: qa}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sy, diags := ParseShipyard("shipyard.yaml", data)
		for _, d := range diags {
			if d.File != "shipyard.yaml" || d.Line < 0 || d.Message == "" {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
		if sy != nil && !diags.HasErrors() && len(sy.Spec.Stages) == 0 {
			t.Fatal("a shipyard without stages was accepted")
		}
	})
}

// Sequences that start one another in a circle can run for ever unless a failing get-action ends the
// circle, as in Keptn's remediation sequence; the others are warned about once, where the circle closes.
func TestShipyardLoops(t *testing.T) {
	remediation := func(selector string) string {
		return `    - name: production
      sequences:
        - name: remediation
          triggeredOn:
            - event: production.remediation.finished
              selector:
                match: ` + selector + `
          tasks:
            - name: get-action
            - name: action
            - name: evaluation
`
	}
	tests := []struct {
		name string
		body string // appended to shipyardHead, whose last line is 6
		want []want
	}{
		{"Keptn's remediation loop ends when get-action runs out of actions", remediation("{evaluation.result: fail}"), nil},
		{"a selector a failing get-action matches too", remediation("{result: fail}"), []want{warnAt(11,
			`stage "production", sequence "remediation": triggeredOn "production.remediation.finished" starts this sequence again each time it ends with result fail, so it can repeat without end: a failing get-action, which ends Keptn's remediation loops once the actions run out, matches this selector too; select on a later task, such as evaluation.result: fail`)}},
		{"get-action's own failure selected", remediation("{get-action.result: fail, evaluation.result: fail}"), []want{warnAt(11,
			"each time it ends at task evaluation with result fail or ends at task get-action with result fail, so it can repeat without end")}},
		{"without a selector, every passing run starts the next", `    - name: qa
      sequences:
        - name: soak
          triggeredOn: [{event: qa.soak.finished}]
          tasks: [{name: test}]
`, []want{warnAt(10, `stage "qa", sequence "soak": triggeredOn "qa.soak.finished" starts this sequence again each time it passes or ends with a warning, so it can repeat without end: nothing ends it`)}},
		{"a selector that never matches starts nothing", `    - name: qa
      sequences:
        - name: soak
          triggeredOn: [{event: qa.soak.finished, selector: {match: {test.result: pass}}}]
          tasks: [{name: test}, {name: wait}]
`, nil},
		{"two sequences starting each other", `    - name: qa
      sequences:
        - name: delivery
          triggeredOn: [{event: production.retry.finished, selector: {match: {result: fail}}}]
          tasks: [{name: deployment}]
    - name: production
      sequences:
        - name: retry
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: deployment}]
`, []want{warnAt(10, `stage "qa", sequence "delivery": triggeredOn "production.retry.finished" closes a loop of sequences that start one another, production.retry → qa.delivery → production.retry, which can repeat without end`)}},
		{"a circle through three stages, reported once", `    - name: a
      sequences:
        - name: s
          triggeredOn: [{event: c.s.finished}]
          tasks: [{name: t}]
    - name: b
      sequences:
        - name: s
          triggeredOn: [{event: a.s.finished}]
          tasks: [{name: t}]
    - name: c
      sequences:
        - name: s
          triggeredOn: [{event: b.s.finished}]
          tasks: [{name: t}]
`, []want{warnAt(10, `closes a loop of sequences that start one another, c.s → a.s → b.s → c.s`)}},
		{"a chain is no circle", `    - name: a
      sequences:
        - name: s
          tasks: [{name: t}]
    - name: b
      sequences:
        - name: s
          triggeredOn: [{event: a.s.finished}]
          tasks: [{name: t}]
        - name: u
          triggeredOn: [{event: b.s.finished}, {event: a.s.finished}]
          tasks: [{name: t}]
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseShipyard("shipyard.yaml", []byte(shipyardHead+tt.body))
			checkDiags(t, diags, tt.want...)
		})
	}
}
