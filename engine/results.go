package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SLI providers an evaluation task can name in its sli_provider property. Without the property the
// evaluation uses the Evaluator's Provider (Prometheus when configured), as Keptn's lighthouse used the
// project's configured provider.
const (
	SLIProviderPrometheus = "prometheus"
	// SLIProviderResults takes the values an earlier task of the same sequence reported in its result
	// data under SLIResultsKey, such as a load test's own p95 (the exec executor's SHIPGATE_SLI_FILE).
	SLIProviderResults = "results"
)

// SLIResultsKey is where a task's result data carries SLI values: {"sli_name": number or null}.
const SLIResultsKey = "sliResults"

var sliProviders = []string{SLIProviderPrometheus, SLIProviderResults}

// sliProviderOf is an evaluation task's sli_provider property, checked.
func sliProviderOf(props map[string]any) (string, error) {
	v, ok := props["sli_provider"]
	if !ok {
		return "", nil
	}
	name, _ := v.(string)
	if !slices.Contains(sliProviders, name) {
		return "", fmt.Errorf("sli_provider %v is not one of %s", v, strings.Join(sliProviders, ", "))
	}
	return name, nil
}

// resultsProvider answers an evaluation from the SLI values earlier tasks of its sequence reported.
type resultsProvider struct {
	data map[string]any
}

func (p resultsProvider) GetSLIs(_ context.Context, r SLIRequest) ([]SLIValue, error) {
	reported, ok := p.data[SLIResultsKey].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no task before the evaluation reported SLI values (%s in its result data); an exec task reports them by writing $SHIPGATE_SLI_FILE", SLIResultsKey)
	}
	values := make([]SLIValue, 0, len(r.Indicators))
	for _, name := range r.Indicators {
		v, found := reported[name]
		switch n, isNumber := toFloat(v); {
		case !found:
			values = append(values, SLIValue{Metric: name, Message: fmt.Sprintf("no value reported for SLI %s", name)})
		case v == nil:
			values = append(values, SLIValue{Metric: name, Message: fmt.Sprintf("the task reported no value (null) for SLI %s", name)})
		case !isNumber || math.IsNaN(n) || math.IsInf(n, 0):
			values = append(values, SLIValue{Metric: name, Message: fmt.Sprintf("the value reported for SLI %s is not a number: %v", name, v)})
		default:
			values = append(values, SLIValue{Metric: name, Value: n, Success: true})
		}
	}
	return values, nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}
