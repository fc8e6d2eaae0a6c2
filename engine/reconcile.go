package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Default retry bounds for transitions the database refused.
const (
	// DefaultRetryInterval is the longest wait between two tries of a transition the database refused.
	DefaultRetryInterval = 5 * time.Second
	// DefaultReconcileInterval is how often the reconciler looks in the store for started tasks whose
	// deadline passed with no executor running and no result waiting: a backstop for a lost timer.
	DefaultReconcileInterval = time.Minute

	firstRetry = 100 * time.Millisecond
)

// owed is a transition the engine owes the store: an executor's result, or a timer that fired, whose
// transaction failed. The engine keeps it in memory and tries again, with backoff, until the database
// takes it; nothing else remembers it (the executor has returned, the timer is gone), and a delivery
// whose task finished but was never recorded would hold its queue for ever.
type owed struct {
	key  string // one owed transition per task result or timer
	what string // for logs
	fn   func(t *txn) error
	// fallback, when set, replaces fn after fn failed for a reason retrying cannot cure (not a database
	// fault): for a result, it records the task as errored, so the delivery still ends.
	fallback func(t *txn, cause error) error

	seq      uint64 // order owed, so results are recorded in the order their executors returned
	attempts int
	due      time.Time
	since    time.Time
	err      error
}

// retryDelay is the backoff after n failed tries: doubling from firstRetry, at most max.
func retryDelay(n int, max time.Duration) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// settle runs a transition the engine must not lose (o.fn): a task's result, a fired timer. When the
// database refuses it, or when it fails otherwise but has a fallback to record, it is kept for the
// reconciler; any other failure (a bug, which retrying would not cure) is logged.
func (e *Engine) settle(o *owed) {
	err := e.transition(e.ctx, o.fn)
	switch {
	case err == nil || e.ctx.Err() != nil:
	case store.IsTransient(err) || o.fallback != nil:
		e.owe(o, err)
	default:
		e.log.Error("transition failed", "transition", o.what, "err", err)
	}
}

// owe keeps o to be tried again after err.
func (e *Engine) owe(o *owed, err error) {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if e.closed {
		return
	}
	now := time.Now()
	if o.since.IsZero() {
		e.owedSeq++
		o.seq, o.since = e.owedSeq, now
	}
	o.attempts++
	o.err = err
	o.due = now.Add(retryDelay(o.attempts, e.retryInterval))
	// The first failure is worth a warning; then one line every ten tries keeps a long fault visible
	// without a line per retry.
	if o.attempts == 1 || o.attempts%10 == 0 {
		e.log.Warn("transition not recorded; retrying", "transition", o.what, "attempts", o.attempts,
			"retry_in", o.due.Sub(now).Round(time.Millisecond), "err", err)
	}
	e.owed[o.key] = o
	select {
	case e.reconcileWake <- struct{}{}:
	default:
	}
}

// Unrecorded is how many transitions the engine holds because the database refused them (task results,
// fired timers), waiting to be recorded: shipgate_engine_unrecorded_transitions.
func (e *Engine) Unrecorded() int {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	return len(e.owed)
}

// hasOwedResult reports whether the result of a task attempt is known but not yet recorded. Its deadline
// must not time it out meanwhile: the executor answered in time.
func (e *Engine) hasOwedResult(taskRunID int64, attempt int) bool {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	_, ok := e.owed[resultKey(taskRunID, attempt)]
	return ok
}

func resultKey(taskRunID int64, attempt int) string {
	return fmt.Sprintf("result/%d/%d", taskRunID, attempt)
}

// reconcile is the engine's reconciler: it tries owed transitions again when they are due, oldest first,
// and every reconcileInterval times out started tasks that are past their deadline with nothing running
// them. It runs from Start until Close.
func (e *Engine) reconcile() {
	sweep := time.NewTicker(e.reconcileInterval)
	defer sweep.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		retry.Reset(e.untilNextRetry())
		select {
		case <-e.ctx.Done():
			return
		case <-e.reconcileWake:
			continue // a new owed transition: recompute when the next one is due
		case <-retry.C:
			e.retryDue()
		case <-sweep.C:
			e.sweepDeadlines()
		}
	}
}

// untilNextRetry is how long until the earliest owed transition is due (an hour when none is owed; a
// new one wakes the reconciler).
func (e *Engine) untilNextRetry() time.Duration {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	next := time.Hour
	for _, o := range e.owed {
		next = min(next, time.Until(o.due))
	}
	return max(next, 0)
}

// retryDue tries the owed transitions that are due, in the order they were first owed. After a database
// fault it stops at the first one refused again, which reschedules it with a longer wait: the others
// would only fail the same way.
func (e *Engine) retryDue() {
	e.stateMu.Lock()
	now := time.Now()
	var due []*owed
	for _, o := range e.owed {
		if !o.due.After(now) {
			due = append(due, o)
		}
	}
	e.stateMu.Unlock()
	slices.SortFunc(due, func(a, b *owed) int { return cmp.Compare(a.seq, b.seq) })

	for i, o := range due {
		fn := o.fn
		if o.fallback != nil && o.err != nil && !store.IsTransient(o.err) {
			cause := o.err
			fn = func(t *txn) error { return o.fallback(t, cause) }
		}
		err := e.transition(e.ctx, fn)
		if e.ctx.Err() != nil {
			return
		}
		if err == nil {
			e.stateMu.Lock()
			delete(e.owed, o.key)
			e.stateMu.Unlock()
			e.log.Info("transition recorded after retrying", "transition", o.what, "attempts", o.attempts+1,
				"delay", time.Since(o.since).Round(time.Millisecond))
			continue
		}
		if !store.IsTransient(err) && o.fallback == nil && o.attempts >= 3 {
			// Not a database fault, and nothing else to record: a bug, which retrying will not cure.
			e.stateMu.Lock()
			delete(e.owed, o.key)
			e.stateMu.Unlock()
			e.log.Error("transition given up", "transition", o.what, "attempts", o.attempts+1, "err", err)
			continue
		}
		e.owe(o, err)
		if store.IsTransient(err) {
			// Push the rest back too, so they keep their order behind this one.
			for _, rest := range due[i+1:] {
				e.stateMu.Lock()
				rest.due = o.due
				e.stateMu.Unlock()
			}
			return
		}
	}
}

// sweepDeadlines times out started tasks that are past their deadline while no executor runs them and no
// result of theirs is owed: what the deadline timer does, for a timer that was lost.
func (e *Engine) sweepDeadlines() {
	err := e.transition(e.ctx, func(t *txn) error {
		started, err := t.ListTaskRuns(t.ctx, store.TaskRunQuery{States: []store.TaskState{store.TaskStarted}})
		if err != nil {
			return err
		}
		now := time.Now()
		for _, tr := range started {
			if tr.StartedAt == nil || e.isRunning(tr.ID) || e.hasOwedResult(tr.ID, tr.Attempt) {
				continue
			}
			tc, err := t.loadTask(tr)
			if err != nil {
				return err
			}
			if tc.runner.builtin == "approval" {
				continue // approvals wait for people; their own expiry decides
			}
			timeout := taskTimeout(tc.def, tc.runner, e.timeout)
			if now.Before(tr.StartedAt.Add(timeout)) {
				continue
			}
			e.log.Warn("task past its deadline with no executor running; timing it out", "task_run", tr.ID, "task", tr.Name)
			if err := t.timeoutTask(tr.ID, tr.Attempt, timeout); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && e.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("reconcile task deadlines", "err", err)
	}
}

func (e *Engine) isRunning(taskRunID int64) bool {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	_, ok := e.running[taskRunID]
	return ok
}

// recordResultFallback records a task as errored because its result could not be recorded: better a
// failed delivery that says why than one that never ends.
func recordResultFallback(id int64, attempt int) func(t *txn, cause error) error {
	return func(t *txn, cause error) error {
		return t.finishTask(id, attempt, Result{Result: store.ResultFail, Status: store.StatusErrored,
			Message: fmt.Sprintf("shipgate could not record this task's result: %v", cause)})
	}
}

// logUnrecorded reports, at Close, what the engine still owed the store; the next Start re-runs or fails
// those tasks as after a crash.
func (e *Engine) logUnrecorded() {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	for _, o := range e.owed {
		e.log.Warn("transition not recorded before shutdown; the next start recovers its task", "transition", o.what, "err", o.err)
	}
}
