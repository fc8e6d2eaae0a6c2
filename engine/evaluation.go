package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
)

// SLIProvider fetches SLI values for an evaluation; adapters/prometheus is one.
type SLIProvider interface {
	GetSLIs(ctx context.Context, r SLIRequest) ([]SLIValue, error)
}

// SLIRequest asks for the values of an evaluation's indicators over a time window.
type SLIRequest struct {
	Project, Stage, Service string
	Labels                  map[string]string
	Deployment              string
	Start, End              time.Time
	Indicators              []string          // the SLIs the SLO needs, in SLO order
	Queries                 map[string]string // the merged sli.yaml indicators
	Filters                 map[string]string // the SLO's filter
}

// SLIValue is one indicator's value, or Success false with the provider's reason.
type SLIValue struct {
	Metric  string
	Value   float64
	Success bool
	Message string
}

// noProviderResult is Keptn's answer to an evaluation with no SLI provider: pass, score 0, and a message
// saying nothing was evaluated.
func noProviderResult(project string) Result {
	return Result{Result: store.ResultPass, Status: store.StatusSucceeded,
		Message: "no evaluation performed by lighthouse because no SLI-provider configured for project " + project,
		Data:    map[string]any{"evaluation": map[string]any{"result": "pass", "score": 0}}}
}

// defaultTimeframe is Keptn's evaluation window when the task says nothing.
const defaultTimeframe = 5 * time.Minute

// Evaluator runs evaluation tasks as Keptn's lighthouse did: it works out the time window, fetches the
// SLIs from the provider, scores them against the stage's slo.yaml with the earlier evaluations of the
// same project, stage and service as baseline, and stores the evaluation, which later ones compare with.
type Evaluator struct {
	Store    *store.Store
	Provider SLIProvider
	// Projects are looked up by name for their SLO and SLI files, which are read at evaluation time so
	// that an edited SLO applies to the next evaluation without a restart.
	Projects []*config.Project
	// RequireSLO fails an evaluation without an SLO file; Keptn passed it with score 0 (#2277, #1212).
	RequireSLO bool
}

// Idempotent is true: evaluating again only measures again.
func (ev *Evaluator) Idempotent(string, map[string]any) bool { return true }

// Execute evaluates the task's service in its stage.
func (ev *Evaluator) Execute(ctx context.Context, t Task) (Result, error) {
	p := ev.project(t.Project)
	if p == nil {
		return Result{}, fmt.Errorf("project %s is not loaded", t.Project)
	}
	start, end, err := evaluationWindow(t.Data, time.Now())
	if err != nil {
		return Result{Result: store.ResultFail, Status: store.StatusErrored, Message: err.Error()}, nil
	}
	s, diags := p.SLO(t.Stage, t.Service)
	switch {
	case s == nil && len(diags) == 0 && ev.RequireSLO:
		return Result{Result: store.ResultFail, Message: fmt.Sprintf("no SLO file for %s in stage %s, and require_slo is set", t.Service, t.Stage)}, nil
	case s == nil && len(diags) == 0:
		return Result{Result: store.ResultPass, Message: "no evaluation performed by lighthouse because no SLO file configured for project " + t.Project,
			Data: map[string]any{"evaluation": map[string]any{"result": "pass", "score": 0}}}, nil
	case s == nil || invalidSLO(diags):
		return Result{Result: store.ResultFail, Status: store.StatusErrored, Message: "error retrieving SLO file: Could not parse SLO file: " + diags.Errors()[0].String()}, nil
	}
	provider := ev.Provider
	switch name, err := sliProviderOf(t.Properties); {
	case err != nil:
		return Result{Result: store.ResultFail, Status: store.StatusErrored, Message: err.Error()}, nil
	case name == SLIProviderResults:
		provider = resultsProvider{data: t.Data}
	case name == SLIProviderPrometheus && provider == nil:
		return Result{Result: store.ResultFail, Status: store.StatusErrored, Message: "sli_provider prometheus: no prometheus is configured in shipgate.yaml"}, nil
	}
	if provider == nil {
		return noProviderResult(t.Project), nil
	}
	queries, _ := p.SLIs(t.Stage, t.Service, config.DefaultSLIProvider)
	req := SLIRequest{Project: t.Project, Stage: t.Stage, Service: t.Service, Labels: t.Labels, Deployment: deploymentName(t.Data),
		Start: start, End: end, Queries: queries, Filters: s.Filter}
	for _, o := range s.Objectives {
		req.Indicators = append(req.Indicators, o.SLI)
	}
	got, err := provider.GetSLIs(ctx, req)
	if err != nil {
		return Result{Result: store.ResultFail, Status: store.StatusErrored, Message: "evaluation performed by lighthouse received an unexpected error: " + err.Error()}, nil
	}
	values := map[string]slo.Value{}
	failed := 0
	for _, v := range got {
		values[v.Metric] = slo.Value{Value: v.Value, OK: v.Success && !math.IsNaN(v.Value), Message: v.Message}
		if !v.Success {
			failed++
		}
	}
	history, err := ev.baseline(ctx, t, s)
	if err != nil {
		return Result{}, err
	}
	scored := slo.Evaluate(s, values, history)
	result, message := scored.Result, scored.Message
	if len(got) > 0 && failed == len(got) {
		// Keptn: when the provider got nothing, the gate fails whatever the score says (#6096).
		result, message = slo.Fail, "lighthouse failed because SLI failed with message unable to retrieve metrics"
	}
	stored, err := ev.store(ctx, t, start, end, scored, result, message, got)
	if err != nil {
		return Result{}, err
	}
	status := store.StatusSucceeded
	if scored.Status == slo.StatusErrored {
		status = store.StatusErrored
	}
	typed := scored
	typed.Result, typed.Message = result, message
	return Result{Result: store.Result(result), Status: status, Message: summary(scored, result, message),
		Data: map[string]any{"evaluation": evaluationData(stored, scored, start, end)}, Evaluation: &typed}, nil
}

func (ev *Evaluator) project(name string) *config.Project {
	for _, p := range ev.Projects {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// invalidSLO reports SLO errors that Keptn reported as an unparseable file, not as a failed evaluation.
func invalidSLO(diags config.Diagnostics) bool {
	for _, d := range diags.Errors() {
		if d.Code == "" {
			return true
		}
	}
	return false
}

// baseline reads the earlier evaluations lighthouse would compare with: same project, stage and service,
// not invalidated, newest first, filtered on their overall result and limited as the SLO's comparison says.
func (ev *Evaluator) baseline(ctx context.Context, t Task, s *config.SLO) ([]slo.Previous, error) {
	cmp := s.EffectiveComparison()
	q := store.PreviousQuery{Project: t.Project, Stage: t.Stage, Service: t.Service, Limit: cmp.Results}
	switch cmp.IncludeResultWithScore {
	case config.IncludePass:
		q.Results = []store.Result{store.ResultPass}
	case config.IncludePassOrWarn:
		q.Results = []store.Result{store.ResultPass, store.ResultWarning}
	}
	prev, err := ev.Store.PreviousEvaluations(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read earlier evaluations: %w", err)
	}
	history := make([]slo.Previous, len(prev))
	for i, e := range prev {
		history[i] = slo.Previous{ID: e.ID, Result: string(e.Result), Values: map[string]slo.Value{}}
		for name, v := range e.SLIs {
			sv := slo.Value{OK: v.Success && v.Value != nil, Message: v.Message}
			if v.Value != nil {
				sv.Value = *v.Value
			}
			history[i].Values[name] = sv
		}
	}
	return history, nil
}

func (ev *Evaluator) store(ctx context.Context, t Task, start, end time.Time, scored slo.Evaluation, result, message string, got []SLIValue) (*store.Evaluation, error) {
	objectives, err := json.Marshal(scored.Objectives)
	if err != nil {
		return nil, err
	}
	e := &store.Evaluation{DeliveryID: t.DeliveryID, TaskRunID: t.RunID, Project: t.Project, Stage: t.Stage, Service: t.Service,
		Result: store.Result(result), Status: store.Status(scored.Status), Score: scored.Score, Message: message,
		TimeStart: start, TimeEnd: end, Objectives: objectives, ComparedIDs: scored.ComparedIDs, SLIs: map[string]store.SLIValue{}}
	for _, v := range got {
		sv := store.SLIValue{Success: v.Success, Message: v.Message}
		if v.Success {
			sv.Value = &v.Value
		}
		e.SLIs[v.Metric] = sv
	}
	err = ev.Store.Update(ctx, func(tx *store.Tx) error { return tx.CreateEvaluation(ctx, e) })
	if err != nil {
		return nil, fmt.Errorf("store evaluation: %w", err)
	}
	return e, nil
}

// evaluationData is data.evaluation of evaluation.finished, in Keptn's shape, for the tasks after it
// (an approval reads data.evaluation.result) and for the score table in chat.
func evaluationData(e *store.Evaluation, scored slo.Evaluation, start, end time.Time) map[string]any {
	var indicators []any
	// A JSON round trip gives the payload plain maps, as every stored payload has.
	raw, _ := json.Marshal(scored.Objectives)
	_ = json.Unmarshal(raw, &indicators)
	compared := make([]any, len(scored.ComparedIDs))
	for i, id := range scored.ComparedIDs {
		compared[i] = id
	}
	return map[string]any{
		"id": e.ID, "result": string(e.Result), "score": scored.Score, "timeStart": start.UTC().Format(time.RFC3339), "timeEnd": end.UTC().Format(time.RFC3339),
		"indicatorResults": indicators, "comparedEvents": compared, "passThreshold": scored.PassThreshold, "warningThreshold": scored.WarningThreshold,
	}
}

// summary is the short line for chat: the score and result, and why when it did not pass.
func summary(scored slo.Evaluation, result, message string) string {
	s := fmt.Sprintf("score %.2f, %s", scored.Score, result)
	if message != "" && result != slo.Pass {
		s += ": " + message
	}
	return s
}

// deploymentName is Keptn's $DEPLOYMENT source: the deployment task's first deployment name.
func deploymentName(data map[string]any) string {
	if dep, ok := data["deployment"].(map[string]any); ok {
		if names, ok := dep["deploymentNames"].([]any); ok && len(names) > 0 {
			s, _ := names[0].(string)
			return s
		}
	}
	return ""
}

// evaluationWindow works out the evaluated time window as Keptn's getEvaluationTimestamps did:
// data.evaluation start/end or timeframe (timeframe alone ends now, start + timeframe from start), else
// the preceding test's start and end, else the last timeframe of 5 minutes.
func evaluationWindow(data map[string]any, now time.Time) (time.Time, time.Time, error) {
	evaluation, _ := data["evaluation"].(map[string]any)
	startS, _ := evaluation["start"].(string)
	endS, _ := evaluation["end"].(string)
	frameS, _ := evaluation["timeframe"].(string)
	if startS == "" && endS == "" && frameS == "" {
		if test, ok := data["test"].(map[string]any); ok {
			ts, _ := test["start"].(string)
			te, _ := test["end"].(string)
			if ts != "" && te != "" {
				start, err := parseTimestamp(ts)
				if err != nil {
					return time.Time{}, time.Time{}, err
				}
				end, err := parseTimestamp(te)
				return start, end, err
			}
		}
	}
	frame := defaultTimeframe
	if frameS != "" {
		d, err := time.ParseDuration(frameS)
		if err != nil || d <= 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("evaluation timeframe %q is not a duration such as 5m", frameS)
		}
		frame = d
	}
	switch {
	case endS != "" && frameS != "":
		return time.Time{}, time.Time{}, fmt.Errorf("evaluation end and timeframe cannot be used together")
	case endS != "" && startS == "":
		return time.Time{}, time.Time{}, fmt.Errorf("evaluation end requires a start")
	case startS != "" && endS != "":
		start, err := parseTimestamp(startS)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end, err := parseTimestamp(endS)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		if end.Sub(start) < time.Minute {
			return time.Time{}, time.Time{}, fmt.Errorf("evaluation end must be at least one minute after its start")
		}
		return start, end, nil
	case startS != "":
		start, err := parseTimestamp(startS)
		return start, start.Add(frame), err
	}
	return now.Add(-frame), now, nil
}

// parseTimestamp accepts the formats Keptn did.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("evaluation time %q is not a timestamp such as %s", s, strings.Replace(time.RFC3339, "Z07:00", "Z", 1))
}

// InvalidateEvaluation marks an evaluation so that it is never a baseline again (Keptn's
// evaluation.invalidated), and audits who did it.
func (e *Engine) InvalidateEvaluation(ctx context.Context, id int64, actor string) error {
	return e.transition(ctx, func(t *txn) error {
		if err := t.InvalidateEvaluation(t.ctx, id); err != nil {
			return storeErr(err, fmt.Sprintf("evaluation %d", id))
		}
		return t.AppendAudit(t.ctx, &store.AuditEntry{Actor: actor, Action: "evaluation.invalidate", Target: fmt.Sprintf("evaluation:%d", id), Allowed: true})
	})
}
