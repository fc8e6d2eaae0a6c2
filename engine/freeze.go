package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// FreezeInfo is the freeze window that holds a sequence run, for messages.
type FreezeInfo struct {
	Name    string
	Message string
	Until   time.Time
}

// Types of the events of freeze windows.
const (
	// EventSequenceFrozen: a sequence that would have started waits for a freeze window to end; Freeze
	// says which, and until when. Published again when, at the window's end, another one holds it.
	EventSequenceFrozen = "sh.shipgate.sequence.frozen"
	// EventSequenceThawed: the window ended and the sequence starts.
	EventSequenceThawed = "sh.shipgate.sequence.thawed"
	// EventSequenceUnfrozen: someone exempt started the sequence before the window ended; Message says
	// who and why.
	EventSequenceUnfrozen = "sh.shipgate.sequence.unfrozen"
)

// systemActor is who the audit trail names for what the engine does by itself (a window that ends).
const systemActor = "shipgate"

// Freezes are the freeze windows the engine applies, as shipgate.yaml gives them.
func (e *Engine) Freezes() config.Freezes { return e.freezes }

// startOrFreeze starts a queued sequence run, or, when a freeze window holds its stage now, leaves it
// frozen until the window ends.
func (t *txn) startOrFreeze(d *store.Delivery, run *store.SequenceRun) error {
	if w, _ := t.e.freezes.At(t.Now(), d.Project, run.Stage); w != nil {
		return t.freeze(d, run, *w)
	}
	return t.startRun(d, run)
}

// freeze records that window w holds the run, audits it, and sets the timer that starts the run when w
// ends. A run already frozen (by a window that ended into w) stays frozen, with w's name and end.
func (t *txn) freeze(d *store.Delivery, run *store.SequenceRun, w config.Window) error {
	u := store.SequenceRunUpdate{Freeze: &store.Freeze{Name: w.Name, Message: w.Message, Until: w.End}}
	if run.State != store.StateFrozen {
		u.State = new(store.StateFrozen)
	}
	run, err := t.UpdateSequenceRun(t.ctx, run.ID, u)
	if err != nil {
		return err
	}
	info := &FreezeInfo{Name: w.Name, Message: w.Message, Until: w.End}
	t.publish(d, Event{Type: EventSequenceFrozen, Stage: run.Stage, Sequence: run.Sequence, Message: w.Message, Freeze: info})
	if err := t.AppendAudit(t.ctx, &store.AuditEntry{Actor: systemActor, Action: "delivery.frozen", Target: fmt.Sprintf("delivery:%d", d.ID),
		Allowed: true, Reason: fmt.Sprintf("freeze window %s holds stage %s until %s", w.Name, run.Stage, w.End.UTC().Format(time.RFC3339)),
		Details: mustJSON(map[string]any{"stage": run.Stage, "sequence": run.Sequence, "freeze": w.Name, "until": w.End.UTC(), "message": w.Message})}); err != nil {
		return err
	}
	t.thawTimer(run.ID, w.End)
	return t.refreshDelivery(d.ID)
}

// thawTimer starts a frozen run when its window ends. Its time is the run's frozen_until, so recover
// sets it again after a restart; a run no longer frozen by then (aborted, unfrozen) is left alone.
func (t *txn) thawTimer(runID int64, at time.Time) {
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("thaw/%d", runID), at: at, fn: func(_ context.Context, t *txn) error {
		run, err := t.GetSequenceRun(t.ctx, runID)
		if err != nil || run.State != store.StateFrozen {
			return err
		}
		d, err := t.GetDelivery(t.ctx, run.DeliveryID)
		if err != nil {
			return err
		}
		return t.thaw(d, run)
	}})
}

// thaw starts a frozen run whose window ended, unless another window holds the stage by now (two that
// overlap, or a window whose end the configuration moved), which freezes it again until that one ends.
func (t *txn) thaw(d *store.Delivery, run *store.SequenceRun) error {
	if w, _ := t.e.freezes.At(t.Now(), d.Project, run.Stage); w != nil {
		return t.freeze(d, run, *w)
	}
	t.publish(d, Event{Type: EventSequenceThawed, Stage: run.Stage, Sequence: run.Sequence,
		Message: fmt.Sprintf("freeze window %s ended", run.FreezeName)})
	if err := t.AppendAudit(t.ctx, &store.AuditEntry{Actor: systemActor, Action: "delivery.thawed", Target: fmt.Sprintf("delivery:%d", d.ID),
		Allowed: true, Reason: fmt.Sprintf("freeze window %s ended", run.FreezeName),
		Details: mustJSON(map[string]any{"stage": run.Stage, "sequence": run.Sequence, "freeze": run.FreezeName})}); err != nil {
		return err
	}
	return t.startRun(d, run)
}

// Unfreeze starts a delivery's frozen sequences now, before their windows end (break-glass). Only an
// actor holding config.FreezeExemptRole where the request came from may, and only with a reason, which
// the audit entry delivery.unfreeze keeps.
func (e *Engine) Unfreeze(ctx context.Context, c Control) error {
	if err := checkUnfreeze(c); err != nil {
		return err
	}
	return e.control(ctx, c, "unfreeze", unfreezeRun(c))
}

// Unfreeze is Engine.Unfreeze inside the request.
func (o *Op) Unfreeze(c Control) error {
	if err := checkUnfreeze(c); err != nil {
		return err
	}
	return o.control(c, "unfreeze", unfreezeRun(c))
}

// maxUnfreezeReason bounds the reason the audit trail keeps.
const maxUnfreezeReason = 500

func checkUnfreeze(c Control) error {
	if strings.TrimSpace(c.Reason) == "" {
		return invalidf("unfreeze needs a reason; it is kept in the audit trail")
	}
	if len(c.Reason) > maxUnfreezeReason {
		return invalidf("the reason is %d bytes long; at most %d fit in the audit trail", len(c.Reason), maxUnfreezeReason)
	}
	return nil
}

func unfreezeRun(c Control) controlFn {
	return func(t *txn, d *store.Delivery, r *store.SequenceRun) (bool, error) {
		if r.State != store.StateFrozen {
			return false, nil
		}
		t.publish(d, Event{Type: EventSequenceUnfrozen, Stage: r.Stage, Sequence: r.Sequence,
			Message: fmt.Sprintf("unfrozen by %s: %s", c.Actor, c.Reason),
			Freeze:  &FreezeInfo{Name: r.FreezeName, Message: r.FreezeMessage, Until: timeOr(r.FrozenUntil)}})
		return true, t.startRun(d, r)
	}
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// recoverFrozen sets again the timers of the runs freeze windows hold; a window that ended while the
// process was down thaws its runs at once. The configuration may have changed meanwhile: a run no
// window holds any more thaws at once, and one whose window now ends earlier thaws then (thaw checks
// again, and freezes it anew if another window holds it).
func (t *txn) recoverFrozen() error {
	runs, err := t.FrozenSequenceRuns(t.ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		at := timeOr(r.FrozenUntil)
		if w, _ := t.e.freezes.At(t.Now(), r.Project, r.Stage); w == nil {
			at = t.Now()
		} else if w.End.Before(at) {
			at = w.End
		}
		t.thawTimer(r.ID, at)
	}
	return nil
}
