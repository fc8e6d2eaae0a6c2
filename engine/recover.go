package engine

import (
	"context"
	"errors"

	"github.com/shipgate/shipgate/store"
)

// interruptedMessage fails a task whose executor was running when the process stopped and cannot
// safely run again.
const interruptedMessage = "interrupted by restart: the executor does not declare itself idempotent, so it was not run again"

// recover picks up, in one transition, what a previous process left in the store:
//   - triggered tasks of paused sequences wait for resume; others begin now;
//   - scheduled tasks get their timers back; a time that passed while the process was down fires at once;
//   - started tasks were running, or about to be handed to their executor, when it stopped: an idempotent
//     executor runs them again as a new attempt
//     with a new .triggered event, any other fails them with interruptedMessage; nothing is lost, and
//     nothing runs twice without the executor knowing. First, before the transition, whatever is left of
//     the process groups they recorded is killed (stopLeftovers), so that a re-run never runs beside the
//     copy the crash left, and a failed task's command does not keep running after it was failed;
//   - approvals keep waiting, their changes are computed when the process stopped before it recorded
//     them, and one that expired while the process was down expires now; a reminder or an escalation
//     that fell due meanwhile is sent now, once (approvalTimers); one decided just before it stopped
//     ends its task now;
//   - frozen sequences get their thaw timers back; a window that ended while the process was down thaws
//     them at once;
//   - queued sequences start where nothing holds their queue.
func (e *Engine) recover(ctx context.Context) error {
	if err := e.stopLeftovers(ctx); err != nil {
		return err
	}
	return e.transition(ctx, func(t *txn) error {
		tasks, err := t.ListTaskRuns(t.ctx, store.TaskRunQuery{States: store.LiveTaskStates()})
		if err != nil {
			return err
		}
		for _, tr := range tasks {
			if err := t.recoverTask(tr); err != nil {
				return err
			}
		}
		if err := t.recoverFrozen(); err != nil {
			return err
		}
		// Every queue with a run waiting: its next run may start now that the one ahead of it is over.
		queues, err := t.QueueDepths(t.ctx)
		if err != nil {
			return err
		}
		for _, q := range queues {
			if err := t.startQueued(q.Project, q.Stage, q.Service); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *txn) recoverTask(tr *store.TaskRun) error {
	switch tr.State {
	case store.TaskTriggered:
		return t.beginTriggered(tr)
	case store.TaskScheduled:
		t.scheduleTimer(tr.ID, *tr.ScheduledFor)
		return nil
	}
	tc, err := t.loadTask(tr)
	if err != nil {
		return err
	}
	if tc.runner.builtin == "approval" {
		approvals, err := t.ListApprovals(t.ctx, store.ApprovalQuery{TaskRunID: tr.ID})
		if err != nil {
			return err
		}
		for _, a := range approvals {
			switch a.State {
			case store.ApprovalPending:
				t.approvalTimers(a)
				if err := t.recoverChanges(tc, tr, a); err != nil {
					return err
				}
			case store.ApprovalApproved, store.ApprovalRejected, store.ApprovalExpired:
				// Decided, but the process stopped before the task ended (closeApproval): end it now.
				return t.finishTask(tr.ID, tr.Attempt, approvalOutcome(a, decidedResult(a, parseApprovalPolicy(tc.def.Properties))))
			}
		}
		return nil
	}
	if !tc.runner.mayRunAgain(tr.Name) {
		return t.endTask(tr, store.TaskFinished, Result{Result: store.ResultFail, Status: store.StatusErrored, Message: interruptedMessage})
	}
	prev, err := t.GetEvent(t.ctx, tr.TriggeredEventID)
	if err != nil {
		return err
	}
	ev, err := t.emit(tc.d, Event{Type: taskEventType(tr.Name, kindTriggered), Stage: tc.run.Stage, Sequence: tc.run.Sequence, Task: tr.Name,
		TaskRunID: tr.ID, Message: "retried after restart", Data: decodeData(prev.Data)}, "")
	if err != nil {
		return err
	}
	attempt := tr.Attempt + 1
	retry, err := t.UpdateTaskRun(t.ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskTriggered), Attempt: &attempt, TriggeredEventID: &ev.ID})
	if err != nil {
		return err
	}
	return t.beginTriggered(retry)
}

// recoverChanges computes again the changes of a waiting approval that has none recorded: the process
// stopped between the approval's commit and the end of its dry run.
func (t *txn) recoverChanges(tc taskContext, tr *store.TaskRun, a *store.Approval) error {
	_, err := t.GetApprovalChanges(t.ctx, a.ID)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	trig, err := t.GetEvent(t.ctx, tr.TriggeredEventID)
	if err != nil {
		return err
	}
	j, err := t.changesJob(tc.d, tc.run, tr, decodeData(trig.Data), a)
	if err != nil {
		return err
	}
	t.fx.changes = append(t.fx.changes, j)
	return nil
}
