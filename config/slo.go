package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SLO is a Keptn slo.yaml: the objectives an evaluation scores and the total score it needs. Field names
// and defaults follow Keptn lighthouse (parseSLO), so files tuned for Keptn score the same here.
type SLO struct {
	Pos         `yaml:"-"`
	File        string            `yaml:"-"`
	SpecVersion string            `yaml:"spec_version"`
	Filter      map[string]string `yaml:"filter"`
	Comparison  *Comparison       `yaml:"comparison"`
	Objectives  []*Objective      `yaml:"objectives"`
	TotalScore  *TotalScore       `yaml:"total_score"`
}

// Comparison says which earlier evaluations form the baseline of relative criteria.
type Comparison struct {
	Pos                       `yaml:"-"`
	CompareWith               string `yaml:"compare_with"`
	IncludeResultWithScore    string `yaml:"include_result_with_score"`
	NumberOfComparisonResults int    `yaml:"number_of_comparison_results"`
	AggregateFunction         string `yaml:"aggregate_function"`
}

// Objective is one SLI with its pass and warning criteria.
type Objective struct {
	Pos         `yaml:"-"`
	SLI         string          `yaml:"sli"`
	DisplayName string          `yaml:"displayName"`
	Pass        []CriteriaBlock `yaml:"pass"`
	Warning     []CriteriaBlock `yaml:"warning"`
	Weight      int             `yaml:"weight"`
	KeySLI      bool            `yaml:"key_sli"`
}

// CriteriaBlock is a list of criteria that must all hold; an objective passes when any block holds.
type CriteriaBlock struct {
	Pos      `yaml:"-"`
	Criteria []Criterion `yaml:"criteria"`
}

// TotalScore holds the score thresholds, as percentages ("90%" or "90").
type TotalScore struct {
	Pos     `yaml:"-"`
	Pass    string `yaml:"pass"`
	Warning string `yaml:"warning"`
}

// Name returns the objective's display name, or its SLI when it has none, as Keptn's messages do.
func (o *Objective) Name() string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.SLI
}

// Informative reports whether the objective has no pass criteria: it is shown but not scored.
func (o *Objective) Informative() bool { return len(o.Pass) == 0 }

// Comparison settings accepted by Keptn; anything else falls back to a documented quirk.
const (
	CompareSingleResult   = "single_result"
	CompareSeveralResults = "several_results"

	IncludeAll        = "all"
	IncludePass       = "pass"
	IncludePassOrWarn = "pass_or_warn"
)

var aggregateFunctions = []string{"avg", "p50", "p90", "p95"}

// ResolvedComparison is the comparison that evaluation applies once Keptn's defaults are filled in.
type ResolvedComparison struct {
	CompareWith            string
	IncludeResultWithScore string
	// Results is how many earlier evaluations are read as a baseline.
	Results           int
	AggregateFunction string
}

// EffectiveComparison applies Keptn's defaults, including the ones that differ from its docs: with no
// comparison block, one earlier result; with a block, 3 unless it says otherwise; single_result always 1;
// a compare_with that is neither single_result nor several_results reads 3.
func (s *SLO) EffectiveComparison() ResolvedComparison {
	if s.Comparison == nil {
		return ResolvedComparison{CompareWith: CompareSingleResult, IncludeResultWithScore: IncludeAll, Results: 1, AggregateFunction: "avg"}
	}
	c := ResolvedComparison{
		CompareWith:            s.Comparison.CompareWith,
		IncludeResultWithScore: s.Comparison.IncludeResultWithScore,
		Results:                s.Comparison.NumberOfComparisonResults,
		AggregateFunction:      s.Comparison.AggregateFunction,
	}
	if c.IncludeResultWithScore == "" {
		c.IncludeResultWithScore = IncludeAll
	}
	if c.AggregateFunction == "" {
		c.AggregateFunction = "avg"
	}
	switch c.CompareWith {
	case CompareSingleResult:
		c.Results = 1
	case CompareSeveralResults:
		if c.Results <= 0 {
			c.Results = 3
		}
	default:
		c.Results = 3
	}
	return c
}

// ObjectiveWeight returns the weight Keptn scores with: 0 or missing means 1.
func (o *Objective) ObjectiveWeight() int {
	if o.Weight == 0 {
		return 1
	}
	return o.Weight
}

// ParseScoreTarget reads a total_score threshold the way Keptn did: a float after removing one trailing %.
func ParseScoreTarget(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("could not parse %q as a percentage", s)
	}
	return v, nil
}

// SLOFile is the name Keptn's lighthouse looked for, per service.
const SLOFile = "slo.yaml"

// ReadSLO reads and validates an slo.yaml.
func ReadSLO(path string) (*SLO, Diagnostics) {
	return readFile(path, "SLO file", ParseSLO)
}

// ParseSLO decodes and validates SLO content. Null objectives are dropped, as Keptn did.
func ParseSLO(file string, data []byte) (*SLO, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	slo := &SLO{File: file}
	if !decodeKeptnFile(d, data, slo, "objectives and total_score") {
		return nil, diags
	}
	slo.Objectives = slices.DeleteFunc(slo.Objectives, func(o *Objective) bool { return o == nil })
	slo.validate(d)
	return slo, diags
}

func (s *SLO) validate(d diagnoser) {
	if len(s.Objectives) == 0 {
		d.errorCode(CodeSLONoObjectives, s.LineOf("objectives"), "no objectives: an evaluation without objectives fails (\"lighthouse failed because no SLO objective was provided\")")
	}
	s.validateComparison(d)
	seen := map[string]int{}
	for i, o := range s.Objectives {
		if o.SLI == "" {
			d.errorf(o.Line, "objective %d has no sli; expected the name of an indicator in sli.yaml", i+1)
		} else if prev, dup := seen[o.SLI]; dup {
			d.warnf(o.LineOf("sli"), "objective %q is already defined at line %d; both are scored", o.SLI, prev)
		} else {
			seen[o.SLI] = o.LineOf("sli")
		}
		if o.Weight < 0 {
			d.errorf(o.LineOf("weight"), "objective %q: weight %d is negative; expected a whole number of 1 or more", o.Name(), o.Weight)
		}
		if o.Informative() && len(o.Warning) > 0 {
			d.warnf(o.LineOf("warning"), "objective %q has warning criteria but no pass criteria: it is informative and its warning criteria are ignored", o.Name())
		}
		for _, blocks := range []struct {
			name   string
			list   []CriteriaBlock
			effect string
		}{
			{"pass", o.Pass, "the evaluation fails"},
			{"warning", o.Warning, "Keptn silently treated the warning as not met"},
		} {
			for _, b := range blocks.list {
				if len(b.Criteria) == 0 {
					d.warnf(b.Line, "objective %q: a %s block with no criteria always holds", o.Name(), blocks.name)
				}
				for _, c := range b.Criteria {
					if c.Err != nil {
						d.errorCode(CodeSLOCriteria, c.Line, "objective %q: %s criterion %q: %v (%s); expected an operator <, <=, =, >= or > and a number, optionally signed and with %%, such as \"<=+10%%\" or \"<600\"", o.Name(), blocks.name, c.Raw, c.Err, blocks.effect)
					}
				}
			}
		}
	}
	s.validateTotalScore(d)
}

func (s *SLO) validateComparison(d diagnoser) {
	c := s.Comparison
	if c == nil {
		return
	}
	if c.CompareWith != "" && c.CompareWith != CompareSingleResult && c.CompareWith != CompareSeveralResults {
		d.warnf(c.LineOf("compare_with"), "comparison.compare_with %q is neither single_result nor several_results; it compares with 3 results", c.CompareWith)
	}
	if c.CompareWith == "" {
		d.warnf(s.LineOf("comparison"), "comparison block without compare_with compares with 3 earlier results, not 1 (Keptn's behaviour, which its docs describe differently); set compare_with to say which you mean")
	}
	if v := c.IncludeResultWithScore; v != "" && v != IncludeAll && v != IncludePass && v != IncludePassOrWarn {
		d.warnf(c.LineOf("include_result_with_score"), "comparison.include_result_with_score %q is not all, pass or pass_or_warn; it includes all results", v)
	}
	if c.NumberOfComparisonResults < 0 {
		d.errorf(c.LineOf("number_of_comparison_results"), "comparison.number_of_comparison_results %d is negative", c.NumberOfComparisonResults)
	}
	if c.AggregateFunction != "" && !slices.Contains(aggregateFunctions, c.AggregateFunction) {
		d.warnf(c.LineOf("aggregate_function"), "comparison.aggregate_function %q is not one of %s: Keptn aggregates it to a baseline of 0", c.AggregateFunction, strings.Join(aggregateFunctions, ", "))
	}
}

func (s *SLO) validateTotalScore(d diagnoser) {
	ts := s.TotalScore
	if ts == nil || ts.Pass == "" {
		line := s.LineOf("total_score")
		if ts != nil {
			line = ts.Line
		}
		d.errorCode(CodeSLOTotalScore, line, "total_score.pass is missing: the evaluation fails with \"no target score defined\"; add for example total_score: {pass: \"90%%\", warning: \"75%%\"}")
		return
	}
	pass, err := ParseScoreTarget(ts.Pass)
	if err != nil {
		d.errorCode(CodeSLOTotalScore, ts.LineOf("pass"), "total_score.pass: %v; expected a percentage such as \"90%%\" (the evaluation fails with \"could not parse pass target percentage\")", err)
	}
	if ts.Warning == "" {
		return
	}
	warn, werr := ParseScoreTarget(ts.Warning)
	if werr != nil {
		d.errorCode(CodeSLOTotalScore, ts.LineOf("warning"), "total_score.warning: %v; expected a percentage such as \"75%%\" (the evaluation fails with \"could not parse warning target percentage\")", werr)
		return
	}
	if err == nil && warn > pass {
		d.warnf(ts.LineOf("warning"), "total_score.warning %s is above pass %s: a score between them passes, so no evaluation ever ends in warning", ts.Warning, ts.Pass)
	}
}
