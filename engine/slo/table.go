package slo

import (
	"fmt"
	"strings"
)

// TableHeader names the columns of the score table that `shipgate evaluate` prints and the bot posts.
var TableHeader = []string{"Objective", "Value", "Baseline", "Change", "Pass criteria", "Warning criteria", "Status", "Score"}

// Rows renders each objective as a row of the score table: its value, the baseline it was compared
// with and the change in percent, every criterion with the target it was computed to (a ✗ marks the ones
// the value broke), its status and its score out of its weight.
func (ev Evaluation) Rows() [][]string {
	rows := make([][]string, 0, len(ev.Objectives))
	for _, o := range ev.Objectives {
		score := fmt.Sprintf("%s/%d", FormatScore(o.Score), o.Weight)
		if o.Status == Info {
			score = "-"
		}
		rows = append(rows, []string{objectiveName(&o), optional(o.Value), optional(o.ComparedValue), change(o.Value, o.ComparedValue),
			criteria(o.PassTargets), criteria(o.WarningTargets), o.Status, score})
	}
	return rows
}

// Summary is the line under the table: the total score against the thresholds, and the result.
func (ev Evaluation) Summary() string {
	th := "pass >= " + FormatScore(ev.PassThreshold)
	if ev.WarningThreshold > 0 {
		th += ", warning >= " + FormatScore(ev.WarningThreshold)
	}
	return fmt.Sprintf("Score %s of 100 (%s): %s", FormatScore(ev.Score), th, strings.ToUpper(ev.Result))
}

func optional(v *float64) string {
	if v == nil {
		return "-"
	}
	return formatValue(*v)
}

func change(v, base *float64) string {
	if v == nil || base == nil || *base == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", (*v-*base) / *base * 100)
}

func criteria(targets []Target) string {
	parts := make([]string, 0, len(targets))
	for _, t := range targets {
		s := t.Criteria
		if formatValue(t.TargetValue) != strings.TrimLeft(strings.ReplaceAll(t.Criteria, " ", ""), "<>=") {
			s += " (" + formatValue(t.TargetValue) + ")"
		}
		if t.Violated {
			s += " ✗"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
