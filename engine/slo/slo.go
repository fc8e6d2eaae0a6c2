// Package slo scores SLO evaluations exactly as Keptn's lighthouse-service did, so that slo.yaml files
// tuned for Keptn give the same results here. It is pure: values, history and the parsed SLO in, an
// Evaluation out; fetching SLIs and storing results is the caller's business.
package slo

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/config"
)

// Results and statuses, in Keptn's words.
const (
	Pass    = "pass"
	Warning = "warning"
	Fail    = "fail"
	Info    = "info"

	StatusSucceeded = "succeeded"
	StatusErrored   = "errored"
)

// Value is one SLI's measurement: a number, or no value (OK false) with the provider's reason.
type Value struct {
	Value   float64
	OK      bool
	Message string
}

// Previous is an earlier evaluation of the same project, stage and service: its overall result and the
// SLI values it measured.
type Previous struct {
	ID     int64
	Result string
	Values map[string]Value
}

// Target is one criterion with the target value it was computed to and whether the value broke it.
type Target struct {
	Criteria    string  `json:"criteria"`
	TargetValue float64 `json:"target_value"`
	Violated    bool    `json:"violated"`
}

// Objective is the outcome of one SLO objective.
type Objective struct {
	SLI         string `json:"sli"`
	DisplayName string `json:"display_name"`
	// Value is nil when the provider gave none.
	Value *float64 `json:"value"`
	// ComparedValue is the aggregate of the baseline values; nil when there was no usable baseline.
	ComparedValue  *float64 `json:"compared_value"`
	Status         string   `json:"status"`
	Score          float64  `json:"score"`
	Weight         int      `json:"weight"`
	KeySLI         bool     `json:"key_sli"`
	PassTargets    []Target `json:"pass_targets"`
	WarningTargets []Target `json:"warning_targets"`
	Message        string   `json:"message,omitempty"`
}

// Evaluation is the outcome of scoring an SLO.
type Evaluation struct {
	Result     string      `json:"result"`
	Status     string      `json:"status"`
	Score      float64     `json:"score"`
	Message    string      `json:"message"`
	Objectives []Objective `json:"objectives"`
	// PassThreshold and WarningThreshold are total_score's pass and warning (0 when unset).
	PassThreshold    float64 `json:"pass_threshold"`
	WarningThreshold float64 `json:"warning_threshold,omitempty"`
	// ComparedIDs are the earlier evaluations used as the baseline (Keptn's comparedEvents).
	ComparedIDs []int64 `json:"compared_ids,omitempty"`
}

// Evaluate scores values against s, comparing relative criteria with the eligible earlier evaluations
// in history (newest first): the comparison block's include_result_with_score filters them on their
// overall result, and its count (Keptn's defaults, see config.SLO.EffectiveComparison) limits them.
func Evaluate(s *config.SLO, values map[string]Value, history []Previous) Evaluation {
	if len(s.Objectives) == 0 {
		return Evaluation{Result: Fail, Status: StatusSucceeded, Message: "lighthouse failed because no SLO objective was provided"}
	}
	cmp := s.EffectiveComparison()
	baseline := selectBaseline(history, cmp)
	ev := Evaluation{Status: StatusSucceeded}
	for _, b := range baseline {
		ev.ComparedIDs = append(ev.ComparedIDs, b.ID)
	}

	var (
		maxScore, total float64
		keyFailed       *Objective
		keyFailReason   string
	)
	for _, o := range s.Objectives {
		if err := firstPassError(o); err != nil {
			// Keptn stops at a pass criterion it cannot parse: the evaluation fails, with no results.
			return Evaluation{Result: Fail, Status: StatusSucceeded, Message: fmt.Sprintf("error with %s: %v", o.Name(), err)}
		}
		res, reason := scoreObjective(o, values[o.SLI], baseline, cmp.AggregateFunction)
		ev.Objectives = append(ev.Objectives, res)
		if !o.Informative() {
			maxScore += float64(res.Weight)
			total += res.Score
		}
		if o.KeySLI && res.Status == Fail && keyFailed == nil {
			keyFailed, keyFailReason = &ev.Objectives[len(ev.Objectives)-1], reason
		}
	}

	if s.TotalScore == nil || s.TotalScore.Pass == "" {
		return errored(ev, "no target score defined")
	}
	passT, err := config.ParseScoreTarget(s.TotalScore.Pass)
	if err != nil {
		return errored(ev, "could not parse pass target percentage")
	}
	ev.PassThreshold = passT
	warnT, hasWarn := 0.0, s.TotalScore.Warning != ""
	if hasWarn {
		if warnT, err = config.ParseScoreTarget(s.TotalScore.Warning); err != nil {
			return errored(ev, "could not parse warning target percentage")
		}
		ev.WarningThreshold = warnT
	}

	if maxScore == 0 {
		ev.Result, ev.Score = Pass, 100 // only informative objectives
	} else {
		ev.Score = 100 * total / maxScore
		score := FormatScore(ev.Score)
		switch {
		case ev.Score >= passT && keyFailed == nil:
			ev.Result = Pass
		case keyFailed != nil:
			ev.Result = Fail
			ev.Message = fmt.Sprintf("Evaluation failed due to key_sli objective '%s': %s", objectiveName(keyFailed), keyFailReason)
		case hasWarn && ev.Score >= warnT:
			ev.Result = Warning
			ev.Message = fmt.Sprintf("Evaluation returned a warning: the calculated score of %s is close to the warning target value of %s", score, FormatScore(warnT))
		case hasWarn:
			ev.Result = Fail
			ev.Message = fmt.Sprintf("Evaluation failed since the calculated score of %s is below the warning value of %s", score, FormatScore(warnT))
		default:
			ev.Result = Fail
			ev.Message = fmt.Sprintf("Evaluation failed since the calculated score of %s is below the target value of %s", score, FormatScore(passT))
		}
	}
	if extra := unused(s, values); len(extra) > 0 {
		msg := "Lighthouse received additional SLIs, which are not specified as SLO: " + strings.Join(extra, ", ") + "."
		ev.Message = strings.TrimSpace(ev.Message + " " + msg)
	}
	return ev
}

func errored(ev Evaluation, msg string) Evaluation {
	ev.Result, ev.Status, ev.Score, ev.Message = Fail, StatusErrored, 0, msg
	return ev
}

func objectiveName(o *Objective) string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.SLI
}

func firstPassError(o *config.Objective) error {
	for _, b := range o.Pass {
		for _, c := range b.Criteria {
			if c.Err != nil {
				return c.Err
			}
		}
	}
	return nil
}

// selectBaseline keeps the earlier evaluations lighthouse would have asked its datastore for: the
// newest ones whose overall result passes the include_result_with_score filter (#2224), at most Results.
func selectBaseline(history []Previous, cmp config.ResolvedComparison) []Previous {
	var out []Previous
	for _, h := range history {
		if len(out) == cmp.Results {
			break
		}
		switch cmp.IncludeResultWithScore {
		case config.IncludePass:
			if h.Result != Pass {
				continue
			}
		case config.IncludePassOrWarn:
			if h.Result != Pass && h.Result != Warning {
				continue
			}
		}
		out = append(out, h)
	}
	return out
}

// scoreObjective evaluates one objective; reason explains a fail for the key-SLI message.
func scoreObjective(o *config.Objective, v Value, baseline []Previous, aggregate string) (Objective, string) {
	res := Objective{SLI: o.SLI, DisplayName: o.DisplayName, Weight: o.ObjectiveWeight(), KeySLI: o.KeySLI}
	if v.OK {
		res.Value = &v.Value
	}
	var prev []float64
	for _, b := range baseline {
		// Only values the provider delivered are a baseline; an earlier failed SLI never is (#1263).
		if pv, ok := b.Values[o.SLI]; ok && pv.OK {
			prev = append(prev, pv.Value)
		}
	}
	base, hasBase := aggregateValues(prev, aggregate)
	if hasBase {
		res.ComparedValue = &base
	}
	if o.Informative() {
		res.Status = Info
		return res, ""
	}
	if !v.OK {
		res.Status = Fail
		res.Message = "no value received from SLI provider"
		if v.Message != "" {
			res.Message += ": " + v.Message
		}
		return res, res.Message
	}
	passed, targets := evaluateBlocks(o.Pass, v.Value, base, hasBase)
	res.PassTargets = targets
	if passed {
		res.Status, res.Score = Pass, float64(res.Weight)
		return res, ""
	}
	if len(o.Warning) > 0 {
		warned, wt := evaluateBlocks(o.Warning, v.Value, base, hasBase)
		res.WarningTargets = wt
		if warned {
			res.Status, res.Score = Warning, 0.5*float64(res.Weight)
			return res, ""
		}
	}
	res.Status = Fail
	return res, fmt.Sprintf("value %s did not meet the pass criteria %s", formatValue(v.Value), describeViolated(targets))
}

func describeViolated(targets []Target) string {
	var parts []string
	for _, t := range targets {
		if t.Violated {
			parts = append(parts, fmt.Sprintf("%s (target %s)", t.Criteria, formatValue(t.TargetValue)))
		}
	}
	return strings.Join(parts, ", ")
}

// evaluateBlocks is an OR over criteria blocks, each an AND of its criteria. Every criterion's target is
// reported, whichever block decided.
func evaluateBlocks(blocks []config.CriteriaBlock, value, base float64, hasBase bool) (bool, []Target) {
	any := false
	var targets []Target
	for _, b := range blocks {
		all := true
		for _, c := range b.Criteria {
			ok, target := evaluateCriterion(c, value, base, hasBase)
			targets = append(targets, Target{Criteria: c.Raw, TargetValue: target, Violated: !ok})
			all = all && ok
		}
		any = any || all
	}
	return any, targets
}

// evaluateCriterion checks value against one criterion. A relative criterion without a usable baseline
// is satisfied, with target 0 (Keptn's aggregateValues): a service's first evaluation passes its relative
// criteria. A criterion that does not parse (possible in warning, which Keptn silently ignored) is not met.
func evaluateCriterion(c config.Criterion, value, base float64, hasBase bool) (bool, float64) {
	if c.Err != nil {
		return false, 0
	}
	target := c.Value
	if c.Relative {
		if !hasBase {
			return true, 0
		}
		switch {
		case c.Percent && c.Increase:
			target = base * (100 + c.Value) / 100
		case c.Percent:
			target = base * (100 - c.Value) / 100
		case c.Increase:
			target = base + c.Value
		default:
			target = base - c.Value
		}
	}
	switch c.Operator {
	case "<":
		return value < target, target
	case "<=":
		return value <= target, target
	case "=":
		return value == target, target
	case ">=":
		return value >= target, target
	case ">":
		return value > target, target
	}
	return false, target
}

// aggregateValues reduces the baseline values with Keptn's aggregate functions; an unknown function
// gives 0 (a quirk Keptn had), and no values give no baseline.
func aggregateValues(values []float64, fn string) (float64, bool) {
	if len(values) == 0 {
		return 0, false
	}
	switch fn {
	case "avg":
		sum := 0.0
		for _, v := range values {
			sum += v
		}
		return sum / float64(len(values)), true
	case "p50":
		return Percentile(values, 0.5), true
	case "p90":
		return Percentile(values, 0.9), true
	case "p95":
		return Percentile(values, 0.95), true
	}
	return 0, true
}

// Percentile is Keptn's percentile: position p*(n+1) in the sorted values, the smallest value below
// position 1, the largest from position n, linear interpolation between neighbours otherwise. For 0..10,
// p50 is 5, p90 9.8 and p95 10.
func Percentile(values []float64, p float64) float64 {
	v := slices.Clone(values)
	sort.Float64s(v)
	n := float64(len(v))
	pos := p * (n + 1)
	switch {
	case pos < 1:
		return v[0]
	case pos >= n:
		return v[len(v)-1]
	}
	lower := math.Floor(pos)
	frac := pos - lower
	i := int(lower) - 1 // positions are 1-based
	return v[i] + frac*(v[i+1]-v[i])
}

// unused lists SLI values no objective consumed, sorted.
func unused(s *config.SLO, values map[string]Value) []string {
	var out []string
	for name := range values {
		if !slices.ContainsFunc(s.Objectives, func(o *config.Objective) bool { return o.SLI == name }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// FormatScore prints a score as Keptn did: rounded to two decimals, without trailing zeros.
func FormatScore(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

func formatValue(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
