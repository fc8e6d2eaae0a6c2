package slo

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkEvaluate50Objectives20History scores an SLO of 50 objectives, each with relative and absolute
// criteria, against 20 earlier evaluations.
func BenchmarkEvaluate50Objectives20History(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("comparison: {compare_with: several_results, number_of_comparison_results: 20, aggregate_function: p90}\nobjectives:\n")
	values := map[string]Value{}
	for i := range 50 {
		fmt.Fprintf(&doc, "  - {sli: s%d, key_sli: %v, pass: [{criteria: [\"<=+10%%\", \"<600\"]}], warning: [{criteria: [\"<=800\"]}]}\n", i, i%10 == 0)
		values[fmt.Sprintf("s%d", i)] = Value{Value: float64(400 + i), OK: true}
	}
	doc.WriteString("total_score: {pass: \"90%\", warning: \"75%\"}\n")
	s := parse(b, doc.String())
	history := make([]Previous, 20)
	for h := range history {
		history[h] = Previous{ID: int64(100 - h), Result: Pass, Values: map[string]Value{}}
		for i := range 50 {
			history[h].Values[fmt.Sprintf("s%d", i)] = Value{Value: float64(380 + i + h), OK: true}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if ev := Evaluate(s, values, history); len(ev.Objectives) != 50 {
			b.Fatal("objectives missing")
		}
	}
}
