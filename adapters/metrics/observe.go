package metrics

import (
	"encoding/json"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Keptn event types as the engine builds them (engine/keptn.go): a task event names the task, a sequence
// event the stage and sequence. Task is set on task events only.
func taskEvent(task, kind string) string { return "sh.keptn.event." + task + "." + kind }

func sequenceEvent(stage, sequence, kind string) string {
	return "sh.keptn.event." + stage + "." + sequence + "." + kind
}

// Observe updates the metrics for one engine event. Pass it to engine.Subscribe: it relies on events
// arriving in commit order, and only updates counters and small maps, so it returns at once.
func (m *Metrics) Observe(ev engine.Event) {
	switch {
	case ev.Type == engine.EventDeliveryTriggered:
		m.deliveriesStarted.WithLabelValues(ev.Project, ev.Service).Inc()
	case ev.Type == engine.EventDeliveryFinished:
		result := resultLabel(ev.Result, ev.Status)
		m.mu.Lock()
		if _, ok := m.aborted.take(ev.DeliveryID); ok {
			result = "aborted"
		}
		m.mu.Unlock()
		m.deliveriesFinished.WithLabelValues(ev.Project, ev.Service, result).Inc()
	case ev.Type == engine.EventApprovalWaiting:
		m.mu.Lock()
		m.waiting.put(ev.TaskRunID, waitingApproval{since: ev.Time, deliveryID: ev.DeliveryID, project: ev.Project, stage: ev.Stage})
		m.mu.Unlock()
	case ev.Task != "" && ev.Type == taskEvent(ev.Task, "started"):
		m.mu.Lock()
		m.taskStarts.put(ev.TaskRunID, ev.Time)
		m.mu.Unlock()
	case ev.Task != "" && ev.Type == taskEvent(ev.Task, "finished"):
		m.taskFinished(ev)
	case ev.Task == "" && ev.Type == sequenceEvent(ev.Stage, ev.Sequence, "finished"):
		m.sequenceFinished(ev)
	}
}

func (m *Metrics) sequenceFinished(ev engine.Event) {
	m.sequencesFinished.WithLabelValues(ev.Project, ev.Service, ev.Stage, ev.Sequence, resultLabel(ev.Result, ev.Status)).Inc()
	if ev.Status != store.StatusAborted {
		m.mu.Lock()
		m.aborted.take(ev.DeliveryID)
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	m.aborted.put(ev.DeliveryID, struct{}{})
	closed := m.waiting.takeWhere(func(a waitingApproval) bool { return a.deliveryID == ev.DeliveryID && a.stage == ev.Stage })
	m.mu.Unlock()
	// An abort, or a newer delivery superseding this one, closes the sequence's approvals without a
	// .finished event for their task.
	for _, a := range closed {
		m.approvalWait.WithLabelValues(a.project, a.stage, "aborted").Observe(ev.Time.Sub(a.since).Seconds())
	}
}

func (m *Metrics) taskFinished(ev engine.Event) {
	m.mu.Lock()
	started, timed := m.taskStarts.take(ev.TaskRunID)
	approval, waited := m.waiting.take(ev.TaskRunID)
	m.mu.Unlock()
	result := resultLabel(ev.Result, ev.Status)
	if timed {
		m.taskDuration.WithLabelValues(ev.Project, ev.Stage, ev.Task, result).Observe(ev.Time.Sub(started).Seconds())
	}
	if waited {
		m.approvalWait.WithLabelValues(approval.project, approval.stage, approvalOutcome(ev)).Observe(ev.Time.Sub(approval.since).Seconds())
	}
	if ev.Task == "evaluation" {
		m.evaluations.WithLabelValues(ev.Project, ev.Service, ev.Stage, result).Inc()
		if score, ok := evaluationScore(ev.Data); ok {
			m.evaluationScore.WithLabelValues(ev.Project, ev.Service, ev.Stage).Set(score)
		}
	}
}

// resultLabel is the result label of a finished task, sequence or delivery: Keptn reports an aborted
// sequence as result pass with status aborted, which here is "aborted", so that aborts are not counted
// as passes; nothing is "none".
func resultLabel(r store.Result, s store.Status) string {
	switch {
	case s == store.StatusAborted:
		return "aborted"
	case r == store.ResultNone:
		return "none"
	}
	return string(r)
}

// approvalOutcome is how an approval that waited for people ended: the state the engine put in the
// approval task's result data (approved, rejected, expired), else its result.
func approvalOutcome(ev engine.Event) string {
	if a, ok := ev.Data["approval"].(map[string]any); ok {
		if s, ok := a["state"].(string); ok && s != "" {
			return s
		}
	}
	if ev.Result == store.ResultPass || ev.Result == store.ResultWarning {
		return string(store.ApprovalApproved)
	}
	return string(store.ApprovalRejected)
}

// evaluationScore reads data.evaluation.score of an evaluation.finished payload.
func evaluationScore(data map[string]any) (float64, bool) {
	e, ok := data["evaluation"].(map[string]any)
	if !ok {
		return 0, false
	}
	switch v := e["score"].(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}
