package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Key names one request for the engine's idempotency layer, the only one shipgate has. Scope is who is
// asking, keeping the key spaces of callers apart: a chat platform's request ids ("slack.request"), an
// API caller's Idempotency-Keys, Keptn CloudEvent ids. ID is the request's own id; a Key without one is
// never remembered.
type Key struct {
	Scope string
	ID    string
}

// Handled is what a request led to: the answer its first run gave, the delivery it created or acted on
// (0 when none), and whether this run was a replay of an earlier one.
type Handled struct {
	Answer     []byte
	DeliveryID int64
	Replayed   bool
}

// Handle runs a request once per key, in one transaction: the key's claim, everything fn does through op
// (triggers, votes, pauses, audit entries) and the answer fn returns are committed together, or, when fn
// fails, not at all. A request whose key was claimed before (a platform's retry, a CI retry after a lost
// answer, the same request after a crash) does not run fn: Handle returns the first run's answer with
// Replayed set. Since the claim and what the request did share a commit, no crash can leave one without
// the other.
//
// fn runs while the engine holds the write lock, so it must not wait on anything slow: read, fetch and
// decide what can be decided before calling Handle, and act in fn. An error from fn is shipgate's own
// failure (the database, a bug): the request changed nothing and a retry may act.
func (e *Engine) Handle(ctx context.Context, key Key, fn func(op *Op) (answer []byte, err error)) (Handled, error) {
	var h Handled
	err := e.transition(ctx, func(t *txn) error {
		h = Handled{}
		if key.ID != "" {
			// The transaction holds the write lock from its start, so a key not found here cannot be
			// claimed by anyone else before this one records it.
			rec, err := t.GetIdempotencyKey(t.ctx, key.Scope, key.ID)
			if err == nil {
				h = Handled{Answer: rec.Response, DeliveryID: rec.DeliveryID, Replayed: true}
				return errReplayed // nothing to commit
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		op := &Op{t: t}
		answer, err := fn(op)
		if err != nil {
			return err
		}
		h = Handled{Answer: answer, DeliveryID: op.delivery}
		if key.ID == "" {
			return nil
		}
		fresh, err := t.RecordIdempotencyKey(t.ctx, key.Scope, key.ID, op.delivery, answer)
		if err == nil && !fresh {
			err = fmt.Errorf("idempotency key %s/%s claimed while its request held the write lock", key.Scope, key.ID)
		}
		return err
	})
	if err != nil && !errors.Is(err, errReplayed) {
		return Handled{}, err
	}
	return h, nil
}

// errReplayed ends a replay's transaction without a commit.
var errReplayed = errors.New("request replayed")

// Op is what a request may do inside the transaction Handle runs it in. Each action either happens
// whole or, when it returns an error, leaves nothing behind, so that the request can still commit its
// answer and audit entries saying why it was refused.
type Op struct {
	t        *txn
	delivery int64
}

// Now is the transaction's time.
func (o *Op) Now() time.Time { return o.t.Now() }

// part runs one action in a savepoint: on an error, its writes and its effects are undone.
func (o *Op) part(fn func() error) error {
	fx := o.t.fx
	err := o.t.Savepoint(o.t.ctx, fn)
	if err != nil {
		o.t.fx = effects{run: fx.run[:len(fx.run):len(fx.run)], cancel: fx.cancel[:len(fx.cancel):len(fx.cancel)],
			timers: fx.timers[:len(fx.timers):len(fx.timers)], events: fx.events[:len(fx.events):len(fx.events)],
			later: fx.later[:len(fx.later):len(fx.later)]}
	}
	return err
}

// Trigger is Engine.Trigger inside the request: it validates req and queues its delivery. Its
// IdempotencyKey is ignored; the request's key is the one that counts.
func (o *Op) Trigger(req Request) (int64, error) {
	if err := o.t.e.validate(&req); err != nil {
		return 0, err
	}
	return o.triggerValid(req)
}

// triggerValid is Trigger for a request validate has checked and completed.
func (o *Op) triggerValid(req Request) (int64, error) {
	var d *store.Delivery
	err := o.part(func() error {
		var err error
		d, err = o.t.trigger(req)
		return err
	})
	if err != nil {
		return 0, err
	}
	o.delivery = d.ID
	return d.ID, nil
}

// Decide is Engine.Decide inside the request.
func (o *Op) Decide(v Vote) (VoteOutcome, error) { return o.vote(v, false) }

// CheckVote is Engine.CheckVote inside the request.
func (o *Op) CheckVote(v Vote) (VoteOutcome, error) { return o.vote(v, true) }

func (o *Op) vote(v Vote, check bool) (VoteOutcome, error) {
	var out VoteOutcome
	err := o.part(func() error {
		var err error
		out, err = o.t.decide(v, check)
		return err
	})
	if err == nil && out.DeliveryID != 0 {
		o.delivery = out.DeliveryID
	}
	return out, err
}

// Pause is Engine.Pause inside the request.
func (o *Op) Pause(c Control) error { return o.control(c, "pause", pauseRun(c)) }

// Resume is Engine.Resume inside the request.
func (o *Op) Resume(c Control) error { return o.control(c, "resume", resumeRun(c)) }

// Abort is Engine.Abort inside the request.
func (o *Op) Abort(c Control) error { return o.control(c, "abort", abortRun(c)) }

func (o *Op) control(c Control, action string, fn controlFn) error {
	err := o.part(func() error { return o.t.control(c, action, fn) })
	if err == nil {
		o.delivery = c.DeliveryID
	}
	return err
}

// Audit records what the request did or was refused, beside what the engine audits itself.
func (o *Op) Audit(entries ...*store.AuditEntry) error {
	for _, e := range entries {
		if err := o.t.AppendAudit(o.t.ctx, e); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
	}
	return nil
}
