package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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

// ParseSLO decodes and validates SLO content. Null objectives are dropped, as Keptn did. Content that is
// no SLO at all (another Keptn file, a JSON object of values) is one CodeSLONotSLO error saying what it is,
// and an SLO without objectives, which is how Keptn scored it.
func ParseSLO(file string, data []byte) (*SLO, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	slo := &SLO{File: file}
	root := keptnRoot(d, data, "objectives and total_score")
	if root == nil {
		return nil, diags
	}
	if notSLO(d, root) {
		slo.Line = root.Line
		return slo, diags
	}
	decodeYAML(d, root, slo, SeverityWarning)
	slo.Objectives = slices.DeleteFunc(slo.Objectives, func(o *Objective) bool { return o == nil })
	slo.validate(d)
	return slo, diags
}

// notSLO reports, as one CodeSLONotSLO error, a mapping with neither objectives nor total_score, the keys
// every SLO has: unknown keys are only warnings in Keptn files, and a shipyard or a values.json given as an
// SLO would otherwise read as an SLO without objectives. It names what the file is when it can tell.
func notSLO(d diagnoser, root *yaml.Node) bool {
	if root.Kind != yaml.MappingNode {
		return false // the decoder says it is not a mapping
	}
	keys := map[string]*yaml.Node{}
	var names []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		keys[k.Value] = root.Content[i+1]
		names = append(names, k.Value)
		if k.Value == "objectives" || k.Value == "total_score" {
			return false
		}
	}
	name := filepath.Base(d.file)
	const slo = "an SLO file has objectives and total_score"
	switch kind := keys["kind"]; {
	case kind != nil && kind.Kind == yaml.ScalarNode && kind.Value != "":
		d.errorCode(CodeSLONotSLO, kind.Line, "%s is a Keptn %s (kind: %s), not an SLO file; %s", name, kind.Value, kind.Value, slo)
	case keys["indicators"] != nil:
		d.errorCode(CodeSLONotSLO, root.Line, "%s is an SLI file (indicators), not an SLO file; %s", name, slo)
	case len(names) == 0:
		d.errorCode(CodeSLONotSLO, root.Line, "%s is an empty mapping, not an SLO file; %s", name, slo)
	default:
		if len(names) > 5 {
			names = append(names[:5], "…")
		}
		d.errorCode(CodeSLONotSLO, root.Line, "%s is not an SLO file: its top-level keys (%s) include neither objectives nor total_score", name, strings.Join(names, ", "))
	}
	return true
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
	for _, o := range s.Objectives {
		o.checkWarningReachable(d)
	}
	s.validateTotalScore(d)
}

// checkWarningReachable warns about warning criteria that can never give the objective the warning
// status. Keptn checks them only when pass does not hold, so warning criteria that accept nothing beyond
// what pass accepts never warn (the tutorial's warning "<=0.1" beside pass "<=0.4"). Only what is certain
// is judged: a relative criterion's target moves with the baseline, so a pass block with one is left out
// of what pass surely accepts, and a warning block counts by its absolute criteria alone, which accept
// at least what the whole block does.
func (o *Objective) checkWarningReachable(d diagnoser) {
	if o.Informative() || len(o.Warning) == 0 {
		return // ignored, and reported as such
	}
	var pass, warn []interval
	for _, b := range o.Pass {
		iv, relative, ok := b.interval()
		if !ok {
			return
		}
		if !relative {
			pass = append(pass, iv)
		}
	}
	for _, b := range o.Warning {
		iv, _, ok := b.interval()
		if !ok {
			return
		}
		warn = append(warn, iv)
	}
	passes := union(pass)
	for _, w := range warn {
		if !slices.ContainsFunc(passes, func(p interval) bool { return p.contains(w) }) {
			return
		}
	}
	if !slices.ContainsFunc(warn, func(w interval) bool { return !w.empty() }) {
		d.warnf(o.LineOf("warning"), "objective %q: warning criteria %s accept no value, so the objective never ends in warning", o.Name(), formatBlocks(o.Warning))
		return
	}
	hint := ""
	if p, w, ok := soleCriteria(o); ok && !p.Relative && !w.Relative && p.direction() != 0 && p.direction() == w.direction() && p.Value != w.Value {
		// One limit each, the same way: the two were most likely written the wrong way round.
		hint = fmt.Sprintf("; did you mean pass %q and warning %q?", w.Raw, p.Raw)
	}
	d.warnf(o.LineOf("warning"), "objective %q: warning criteria %s can never give a warning: every value they accept also meets pass %s, and Keptn checks warning only when pass fails%s",
		o.Name(), formatBlocks(o.Warning), formatBlocks(o.Pass), hint)
}

// interval returns what the block's absolute criteria accept, whether it also has relative ones, and
// false when the block cannot be judged: it has no criteria (it always holds) or one that does not parse,
// both reported already.
func (b CriteriaBlock) interval() (iv interval, relative, ok bool) {
	if len(b.Criteria) == 0 {
		return iv, false, false
	}
	iv = allNumbers
	for _, c := range b.Criteria {
		switch {
		case c.Err != nil:
			return iv, false, false
		case c.Relative:
			relative = true
		default:
			iv = iv.narrow(c)
		}
	}
	return iv, relative, true
}

// soleCriteria returns the objective's pass and warning criteria when each is a single criterion.
func soleCriteria(o *Objective) (pass, warning Criterion, ok bool) {
	if len(o.Pass) != 1 || len(o.Warning) != 1 || len(o.Pass[0].Criteria) != 1 || len(o.Warning[0].Criteria) != 1 {
		return pass, warning, false
	}
	return o.Pass[0].Criteria[0], o.Warning[0].Criteria[0], true
}

// formatBlocks writes criteria blocks as Keptn reads them: criteria of a block ANDed, blocks ORed.
func formatBlocks(blocks []CriteriaBlock) string {
	parts := make([]string, len(blocks))
	for i, b := range blocks {
		cs := make([]string, len(b.Criteria))
		for j, c := range b.Criteria {
			cs[j] = strconv.Quote(c.Raw)
		}
		parts[i] = strings.Join(cs, " and ")
		if len(blocks) > 1 && len(cs) > 1 {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " or ")
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
