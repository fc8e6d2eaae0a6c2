package metrics

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// ev is an event of delivery 1 of helloservice in production at t0 + offset.
func ev(typ string, offset time.Duration, fill func(*engine.Event)) engine.Event {
	e := engine.Event{Type: typ, Time: t0.Add(offset), DeliveryID: 1, Project: "fulltour", Service: "helloservice", Stage: "production", Sequence: "delivery"}
	if fill != nil {
		fill(&e)
	}
	return e
}

// task sets the task fields of a task event.
func task(name string, runID int64, result store.Result, status store.Status) func(*engine.Event) {
	return func(e *engine.Event) { e.Task, e.TaskRunID, e.Result, e.Status = name, runID, result, status }
}

func TestObserve(t *testing.T) {
	approvalFinished := func(offset time.Duration, runID int64, result store.Result, state string) engine.Event {
		return ev("sh.keptn.event.approval.finished", offset, func(e *engine.Event) {
			task("approval", runID, result, store.StatusSucceeded)(e)
			if state != "" {
				e.Data = map[string]any{"approval": map[string]any{"state": state, "decidedBy": "U-lead"}}
			}
		})
	}
	waiting := func(offset time.Duration, delivery, runID int64, stage string) engine.Event {
		return ev(engine.EventApprovalWaiting, offset, func(e *engine.Event) {
			e.DeliveryID, e.Stage, e.Task, e.TaskRunID = delivery, stage, "approval", runID
		})
	}
	evaluation := func(offset time.Duration, result store.Result, data map[string]any) engine.Event {
		return ev("sh.keptn.event.evaluation.finished", offset, func(e *engine.Event) {
			task("evaluation", 9, result, store.StatusSucceeded)(e)
			e.Data = data
		})
	}
	tests := []struct {
		name   string
		events []engine.Event
		want   map[string][]string // series by family; families not named must be empty
	}{
		{
			name: "rejected approval",
			events: []engine.Event{
				ev("sh.keptn.event.approval.started", 0, task("approval", 7, "", store.StatusSucceeded)),
				waiting(0, 1, 7, "production"),
				approvalFinished(2*time.Minute, 7, store.ResultFail, "rejected"),
			},
			want: map[string][]string{
				"shipgate_approval_wait_seconds": {"outcome=rejected,project=fulltour,stage=production 1/120"},
				"shipgate_task_duration_seconds": {"project=fulltour,result=fail,stage=production,task=approval 1/120"},
			},
		},
		{
			name: "expired, then approved by on_timeout",
			events: []engine.Event{
				waiting(0, 1, 7, "production"),
				approvalFinished(time.Hour, 7, store.ResultPass, "expired"),
			},
			want: map[string][]string{"shipgate_approval_wait_seconds": {"outcome=expired,project=fulltour,stage=production 1/3600"}},
		},
		{
			name: "decided without a state in the data",
			events: []engine.Event{
				waiting(0, 1, 7, "production"),
				approvalFinished(time.Minute, 7, store.ResultPass, ""),
			},
			want: map[string][]string{"shipgate_approval_wait_seconds": {"outcome=approved,project=fulltour,stage=production 1/60"}},
		},
		{
			name: "an automatic approval never waited",
			events: []engine.Event{
				approvalFinished(0, 7, store.ResultPass, ""),
			},
			want: map[string][]string{},
		},
		{
			// Delivery 2 supersedes delivery 1's approval in production; delivery 1's qa approval and
			// delivery 3's wait on.
			name: "superseded approval",
			events: []engine.Event{
				waiting(0, 1, 7, "production"),
				waiting(0, 1, 8, "qa"),
				waiting(0, 3, 9, "production"),
				ev("sh.keptn.event.production.delivery.finished", 5*time.Minute, func(e *engine.Event) {
					e.Result, e.Status, e.Message = store.ResultPass, store.StatusAborted, "superseded by delivery 2"
				}),
			},
			want: map[string][]string{
				"shipgate_approval_wait_seconds":    {"outcome=aborted,project=fulltour,stage=production 1/300"},
				"shipgate_sequences_finished_total": {"project=fulltour,result=aborted,sequence=delivery,service=helloservice,stage=production 1"},
			},
		},
		{
			name: "evaluations",
			events: []engine.Event{
				evaluation(0, store.ResultPass, map[string]any{"evaluation": map[string]any{"score": 0}}),
				evaluation(0, store.ResultWarning, map[string]any{"evaluation": map[string]any{"score": 87.5}}),
				evaluation(0, store.ResultFail, nil), // errored before scoring: counted, score kept
				evaluation(0, store.ResultFail, map[string]any{"evaluation": map[string]any{"score": json.Number("12")}}),
			},
			want: map[string][]string{
				"shipgate_evaluations_total": {
					"project=fulltour,result=fail,service=helloservice,stage=production 2",
					"project=fulltour,result=pass,service=helloservice,stage=production 1",
					"project=fulltour,result=warning,service=helloservice,stage=production 1",
				},
				"shipgate_evaluation_score": {"project=fulltour,service=helloservice,stage=production 12"},
			},
		},
		{
			name: "timed out task, retried",
			events: []engine.Event{
				ev("sh.keptn.event.deployment.started", 0, task("deployment", 4, "", store.StatusSucceeded)),
				ev("sh.keptn.event.deployment.started", time.Minute, task("deployment", 4, "", store.StatusSucceeded)),
				ev("sh.keptn.event.deployment.finished", time.Hour+time.Minute, task("deployment", 4, store.ResultFail, store.StatusErrored)),
				ev("sh.keptn.event.deployment.finished", 2*time.Hour, task("deployment", 4, store.ResultFail, store.StatusErrored)),
			},
			want: map[string][]string{"shipgate_task_duration_seconds": {"project=fulltour,result=fail,stage=production,task=deployment 1/3600"}},
		},
		{
			name: "deliveries",
			events: []engine.Event{
				ev(engine.EventDeliveryTriggered, 0, nil),
				ev(engine.EventDeliveryFinished, 0, func(e *engine.Event) { e.Result = store.ResultWarning }),
				// Aborted in qa before any sequence finished.
				ev("sh.keptn.event.qa.delivery.finished", 0, func(e *engine.Event) {
					e.DeliveryID, e.Stage, e.Result, e.Status = 2, "qa", store.ResultPass, store.StatusAborted
				}),
				ev(engine.EventDeliveryFinished, 0, func(e *engine.Event) { e.DeliveryID = 2 }),
				// Aborted in one stage, then finished in another: the last sequence decides.
				ev("sh.keptn.event.production.delivery.finished", 0, func(e *engine.Event) {
					e.DeliveryID, e.Result, e.Status = 3, store.ResultPass, store.StatusAborted
				}),
				ev("sh.keptn.event.production.rollback.finished", 0, func(e *engine.Event) {
					e.DeliveryID, e.Sequence, e.Result, e.Status = 3, "rollback", store.ResultFail, store.StatusSucceeded
				}),
				ev(engine.EventDeliveryFinished, 0, func(e *engine.Event) { e.DeliveryID, e.Result = 3, store.ResultFail }),
			},
			want: map[string][]string{
				"shipgate_deliveries_started_total": {"project=fulltour,service=helloservice 1"},
				"shipgate_deliveries_finished_total": {
					"project=fulltour,result=aborted,service=helloservice 1",
					"project=fulltour,result=fail,service=helloservice 1",
					"project=fulltour,result=warning,service=helloservice 1",
				},
				"shipgate_sequences_finished_total": {
					"project=fulltour,result=aborted,sequence=delivery,service=helloservice,stage=production 1",
					"project=fulltour,result=aborted,sequence=delivery,service=helloservice,stage=qa 1",
					"project=fulltour,result=fail,sequence=rollback,service=helloservice,stage=production 1",
				},
			},
		},
		{
			name: "events that are not measured",
			events: []engine.Event{
				ev("sh.keptn.event.production.delivery.triggered", 0, nil),
				ev("sh.keptn.event.production.delivery.started", 0, nil),
				ev("sh.keptn.event.deployment.triggered", 0, task("deployment", 4, "", "")),
				ev(engine.EventApprovalVoted, 0, task("approval", 7, "", "")),
				ev(engine.EventSequencePaused, 0, nil),
				ev(engine.EventSequenceResumed, 0, nil),
			},
			want: map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := New(reg, nil, nil, nil)
			for _, e := range tt.events {
				m.Observe(e)
			}
			mfs := families(t, reg)
			for name := range mfs {
				equal(t, name, series(mfs, name), tt.want[name])
			}
			for name, want := range tt.want {
				if _, ok := mfs[name]; !ok {
					equal(t, name, nil, want)
				}
			}
		})
	}
}
