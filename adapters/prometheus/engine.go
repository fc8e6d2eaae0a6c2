package prometheus

import (
	"context"

	"github.com/shipgate/shipgate/engine"
)

// EngineProvider lets the engine's evaluation task use a Provider as its engine.SLIProvider.
type EngineProvider struct{ Provider *Provider }

// GetSLIs translates the engine's request and answer.
func (e EngineProvider) GetSLIs(ctx context.Context, r engine.SLIRequest) ([]engine.SLIValue, error) {
	got, err := e.Provider.GetSLIs(ctx, Request{Project: r.Project, Stage: r.Stage, Service: r.Service, Labels: r.Labels,
		Deployment: r.Deployment, Start: r.Start, End: r.End, Indicators: r.Indicators, Queries: r.Queries, Filters: r.Filters})
	if err != nil {
		return nil, err
	}
	out := make([]engine.SLIValue, len(got))
	for i, v := range got {
		out[i] = engine.SLIValue{Metric: v.Metric, Value: v.Value, Success: v.Success, Message: v.Message}
	}
	return out, nil
}
