package config

import (
	"strings"
)

// Remediation is a Keptn remediation.yaml: for each problem type, the actions a remediation sequence's
// get-action task hands out in turn.
type Remediation struct {
	Pos        `yaml:"-"`
	File       string          `yaml:"-"`
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Metadata   Metadata        `yaml:"metadata"`
	Spec       RemediationSpec `yaml:"spec"`
}

// RemediationSpec lists the remediations.
type RemediationSpec struct {
	Pos          `yaml:"-"`
	Remediations []ProblemRemediation `yaml:"remediations"`
}

// ProblemRemediation maps a problem type (a root cause or problem title, or "default") to actions.
type ProblemRemediation struct {
	Pos           `yaml:"-"`
	ProblemType   string              `yaml:"problemType"`
	ActionsOnOpen []RemediationAction `yaml:"actionsOnOpen"`
}

// RemediationAction is one action; Value is free-form and passed to the action's executor.
type RemediationAction struct {
	Pos         `yaml:"-"`
	Name        string `yaml:"name"`
	Action      string `yaml:"action"`
	Description string `yaml:"description"`
	Value       any    `yaml:"value"`
}

// RemediationFile is the name Keptn's remediation-service looked for, per service and stage.
const RemediationFile = "remediation.yaml"

// remediationAPIVersion is the only version Keptn's remediation-service accepted.
const remediationAPIVersion = "spec.keptn.sh/0.1.4"

// ReadRemediation reads and validates a remediation.yaml.
func ReadRemediation(path string) (*Remediation, Diagnostics) {
	return readFile(path, "remediation file", ParseRemediation)
}

// ParseRemediation decodes and validates remediation content.
func ParseRemediation(file string, data []byte) (*Remediation, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	r := &Remediation{File: file}
	if !decodeKeptnFile(d, data, r, "apiVersion, kind and spec.remediations") {
		return nil, diags
	}
	if r.APIVersion != remediationAPIVersion {
		d.errorf(r.LineOf("apiVersion"), "apiVersion is %q; a remediation file has apiVersion: %s", r.APIVersion, remediationAPIVersion)
	}
	if r.Kind != "Remediation" {
		d.errorf(r.LineOf("kind"), "kind is %q; a remediation file has kind: Remediation", r.Kind)
	}
	seen := map[string]int{}
	for i, pr := range r.Spec.Remediations {
		pt := strings.TrimSpace(pr.ProblemType)
		if pt == "" {
			d.errorf(pr.Line, "remediation %d has no problemType; use a problem title, a root cause, or default", i+1)
		} else if prev, dup := seen[pt]; dup {
			d.warnf(pr.LineOf("problemType"), "problemType %q is already defined at line %d; only the first is used", pt, prev)
		} else {
			seen[pt] = pr.LineOf("problemType")
		}
		if len(pr.ActionsOnOpen) == 0 {
			d.warnf(pr.Line, "problemType %q has no actionsOnOpen: get-action fails for it", pt)
		}
		for j, a := range pr.ActionsOnOpen {
			if a.Action == "" {
				d.errorf(a.Line, "problemType %q: action %d has no action; expected the name of the action to run", pt, j+1)
			}
		}
	}
	return r, diags
}
