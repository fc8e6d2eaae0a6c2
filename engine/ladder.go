package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/store"
)

// ladderActor is who the audit trail names for what the timeout ladder does: nobody clicked anything.
const ladderActor = "shipgate"

// approvalTimers arms the timers of a pending approval: its expiry, its next reminder and its
// escalation. Each time is derived from what the store holds (creation, the reminders sent, whether it
// escalated), so recover arms the same timers after a restart, and one whose time passed while the
// process was down fires at once.
func (t *txn) approvalTimers(a *store.Approval) {
	if a.State != store.ApprovalPending {
		return
	}
	if a.ExpiresAt != nil {
		t.expiryTimer(a.ID, *a.ExpiresAt)
	}
	if at, ok := a.NextReminder(); ok {
		t.reminderTimer(a.ID, at)
	}
	if at, ok := a.EscalatesAt(); ok {
		t.escalationTimer(a.ID, at)
	}
}

// reminderTimer reminds the approvers of a pending approval who have not voted, once for the slot due at
// slot, and arms the next reminder. The store records the slot in the same transaction (RecordReminder),
// so a timer that fires again for it, in this process or after a restart, sends nothing; a decided
// approval sends nothing and arms nothing.
func (t *txn) reminderTimer(approvalID int64, slot time.Time) {
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("remind/%d", approvalID), at: slot, fn: func(_ context.Context, t *txn) error {
		a, ok, err := t.RecordReminder(t.ctx, approvalID, slot)
		if err != nil || !ok {
			return err
		}
		if err := t.ladderStep(a, EventApprovalReminded, "approval.reminded", fmt.Sprintf("reminder %d", a.Reminders),
			map[string]any{"reminders": a.Reminders}); err != nil {
			return err
		}
		if next, ok := a.NextReminder(); ok {
			t.reminderTimer(a.ID, next)
		}
		return nil
	}})
}

// escalationTimer escalates a pending approval once: its escalate_to roles may vote on it from now on,
// and are asked to.
func (t *txn) escalationTimer(approvalID int64, at time.Time) {
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("escalate/%d", approvalID), at: at, fn: func(_ context.Context, t *txn) error {
		a, ok, err := t.MarkEscalated(t.ctx, approvalID)
		if err != nil || !ok {
			return err
		}
		return t.ladderStep(a, EventApprovalEscalated, "approval.escalated", fmt.Sprintf("escalated after %s", a.EscalateAfter),
			map[string]any{"escalate_to": a.EscalateTo, "roles": a.Roles})
	}})
}

// ladderStep audits a step of the timeout ladder and publishes it, for the bot to ask the approvers in
// the delivery's thread.
func (t *txn) ladderStep(a *store.Approval, eventType, action, reason string, details map[string]any) error {
	b, err := t.GetBallot(t.ctx, a.ID)
	if err != nil {
		return err
	}
	votes, err := t.ListVotes(t.ctx, a.ID)
	if err != nil {
		return err
	}
	details["delivery"], details["stage"] = a.DeliveryID, a.Stage
	if err := t.AppendAudit(t.ctx, &store.AuditEntry{Actor: ladderActor, Action: action, Target: fmt.Sprintf("approval:%d", a.ID),
		Allowed: true, Reason: reason, Details: mustJSON(details)}); err != nil {
		return err
	}
	t.publish(b.Delivery, Event{Type: eventType, Stage: a.Stage, Sequence: b.Sequence, Task: b.Task, TaskRunID: a.TaskRunID,
		Message: reason, Approval: t.approvalInfo(b.Delivery, a, votes)})
	return nil
}
