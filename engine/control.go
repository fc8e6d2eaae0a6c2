package engine

import (
	"context"
	"fmt"

	"github.com/shipgate/shipgate/store"
)

// Control is a request to pause, resume or abort a delivery, in one stage or (Stage empty) in all.
type Control struct {
	DeliveryID int64
	Stage      string
	Actor      string
	Platform   string
	Channel    string
	// Roles and Where are who asks and from where, for authorizeDelivery; a Control with no Where
	// comes from a caller that authorized it already (the API).
	Roles []string
	Where *Where
	// Reason is why, in the requester's words, for the audit trail; Unfreeze requires one.
	Reason string
}

// Pause holds a delivery's live sequences: a running task finishes and is recorded, but nothing new is
// triggered until Resume. Keptn allowed pausing in states started, waiting, triggered and
// waitingForApproval.
func (e *Engine) Pause(ctx context.Context, c Control) error {
	return e.control(ctx, c, "pause", pauseRun(c))
}

func pauseRun(c Control) controlFn {
	return func(t *txn, d *store.Delivery, r *store.SequenceRun) (bool, error) {
		if !store.CanTransition(r.State, store.StatePaused) {
			return false, nil
		}
		prev := r.State
		if _, err := t.UpdateSequenceRun(t.ctx, r.ID, store.SequenceRunUpdate{State: new(store.StatePaused), StateBeforePause: &prev}); err != nil {
			return false, err
		}
		t.publish(d, Event{Type: EventSequencePaused, Stage: r.Stage, Sequence: r.Sequence, Message: "paused by " + c.Actor})
		return true, nil
	}
}

// Resume restores paused sequences to where they were and carries on: a task that finished while paused
// leads to the next one, a delayed task whose time came is released.
func (e *Engine) Resume(ctx context.Context, c Control) error {
	return e.control(ctx, c, "resume", resumeRun(c))
}

func resumeRun(c Control) controlFn {
	return func(t *txn, d *store.Delivery, r *store.SequenceRun) (bool, error) {
		if r.State != store.StatePaused {
			return false, nil
		}
		run, err := t.UpdateSequenceRun(t.ctx, r.ID, store.SequenceRunUpdate{State: &r.StateBeforePause, StateBeforePause: new(store.SequenceState(""))})
		if err != nil {
			return false, err
		}
		t.publish(d, Event{Type: EventSequenceResumed, Stage: r.Stage, Sequence: r.Sequence, Message: "resumed by " + c.Actor})
		if run.State == store.StateTriggered {
			return true, t.startQueued(d.Project, run.Stage, d.Service)
		}
		if run.State == store.StateFrozen {
			// Its window may have ended during the pause, when the thaw timer left the paused run alone.
			if run.FrozenUntil != nil && t.Now().Before(*run.FrozenUntil) {
				t.thawTimer(run.ID, *run.FrozenUntil)
				return true, nil
			}
			return true, t.thaw(d, run)
		}
		// Back to waitingForApproval too: an approval decided, or expired, while the run was paused has
		// finished its task, and advance held still for the pause; the run moves on now. One still
		// pending keeps waiting.
		return true, t.continueAfterPause(d, run)
	}
}

// continueAfterPause picks a started sequence up where the pause held it.
func (t *txn) continueAfterPause(d *store.Delivery, run *store.SequenceRun) error {
	tasks, err := t.ListTaskRuns(t.ctx, store.TaskRunQuery{SequenceRunID: run.ID})
	if err != nil || len(tasks) == 0 {
		return err
	}
	last := tasks[len(tasks)-1]
	switch last.State {
	case store.TaskTriggered:
		return t.beginTriggered(last)
	case store.TaskScheduled:
		t.scheduleTimer(last.ID, *last.ScheduledFor)
	case store.TaskFinished:
		return t.advance(d, run)
	}
	return nil
}

// Abort ends a delivery's live sequences, queued ones included (#5472): the running task's executor is
// cancelled, a pending approval closes, and each sequence finishes with result pass and status aborted,
// as in Keptn. Aborted sequences trigger nothing.
func (e *Engine) Abort(ctx context.Context, c Control) error {
	return e.control(ctx, c, "abort", abortRun(c))
}

func abortRun(c Control) controlFn {
	return func(t *txn, d *store.Delivery, r *store.SequenceRun) (bool, error) {
		if r.State.Terminal() {
			return false, nil
		}
		return true, t.abortSequence(d, r, "aborted by "+c.Actor, store.ApprovalAborted)
	}
}

// abortSequence ends a live sequence run as aborted, with its running task and pending approval.
func (t *txn) abortSequence(d *store.Delivery, r *store.SequenceRun, msg string, approvalState store.ApprovalState) error {
	tasks, err := t.ListTaskRuns(t.ctx, store.TaskRunQuery{SequenceRunID: r.ID,
		States: store.LiveTaskStates()})
	if err != nil {
		return err
	}
	for _, tr := range tasks {
		approvals, err := t.ListApprovals(t.ctx, store.ApprovalQuery{TaskRunID: tr.ID, State: store.ApprovalPending})
		if err != nil {
			return err
		}
		for _, a := range approvals {
			if _, err := t.DecideApproval(t.ctx, a.ID, approvalState, "", msg); err != nil {
				return err
			}
		}
		res, status := store.ResultPass, store.StatusAborted
		if _, err := t.UpdateTaskRun(t.ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskAborted), Result: &res, Status: &status, Message: &msg}); err != nil {
			return err
		}
		t.fx.cancel = append(t.fx.cancel, tr.ID)
	}
	return t.finishSequence(d, r, store.StateAborted, Result{Result: store.ResultPass, Status: store.StatusAborted, Message: msg}, false)
}

// controlFn acts on one sequence run of a delivery and says whether it did.
type controlFn func(t *txn, d *store.Delivery, r *store.SequenceRun) (bool, error)

// control applies fn to the delivery's sequence runs (in c.Stage, if set) and audits the request. It is
// refused when no sequence was in a state fn acts on.
func (e *Engine) control(ctx context.Context, c Control, action string, fn controlFn) error {
	return e.transition(ctx, func(t *txn) error { return t.control(c, action, fn) })
}

func (t *txn) control(c Control, action string, fn controlFn) error {
	{
		d, err := t.GetDelivery(t.ctx, c.DeliveryID)
		if err != nil {
			return storeErr(err, fmt.Sprintf("delivery %d", c.DeliveryID))
		}
		if r := authorizeDelivery(c.Where, c.Roles, d.Project, d.ID, action); r != nil {
			return r
		}
		runs, err := t.ListSequenceRuns(t.ctx, store.SequenceRunQuery{DeliveryID: d.ID, Stage: c.Stage})
		if err != nil {
			return err
		}
		acted := false
		for _, r := range runs {
			// Earlier iterations may have changed later runs (an abort starts the next queued one).
			if r, err = t.GetSequenceRun(t.ctx, r.ID); err != nil {
				return err
			}
			ok, err := fn(t, d, r)
			if err != nil {
				return err
			}
			acted = acted || ok
		}
		if !acted {
			where := ""
			if c.Stage != "" {
				where = " in stage " + c.Stage
			}
			return refusedf("delivery %d has nothing to %s%s (it is %s)", d.ID, action, where, d.State)
		}
		details := map[string]any{"stage": c.Stage}
		if c.Reason != "" {
			details["reason"] = c.Reason
		}
		if err := t.AppendAudit(t.ctx, &store.AuditEntry{Actor: c.Actor, Platform: c.Platform, Channel: c.Channel, Action: "delivery." + action,
			Target: fmt.Sprintf("delivery:%d", d.ID), Allowed: true, Reason: c.Reason, Details: mustJSON(details)}); err != nil {
			return err
		}
		return t.refreshDelivery(d.ID)
	}
}
