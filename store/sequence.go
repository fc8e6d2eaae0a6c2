package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SequenceRun is one execution of a sequence in a stage for a delivery: its first stage's sequence, the
// next stages', and follow-ups such as rollback.
type SequenceRun struct {
	ID               int64
	DeliveryID       int64
	Project          string // copied from the delivery
	Stage            string
	Service          string // copied from the delivery
	Sequence         string
	State            SequenceState
	StateBeforePause SequenceState // the state to return to on resume; empty unless paused
	Result           Result
	Status           Status
	TriggeredEventID string // id of the <stage>.<sequence>.triggered event
	Message          string
	TriggeredAt      time.Time
	StartedAt        *time.Time // set when State first becomes StateStarted
	FinishedAt       *time.Time // set when State becomes terminal
	// FreezeName, FreezeMessage and FrozenUntil are the freeze window that holds (or last held) the
	// run: its name, its message and when it ends. Empty and nil for a run never frozen.
	FreezeName    string
	FreezeMessage string
	FrozenUntil   *time.Time
}

const sequenceRunColumns = `id, delivery_id, project, stage, service, sequence, state, state_before_pause,
	result, status, triggered_event_id, message, triggered_at, started_at, finished_at,
	freeze_name, freeze_message, frozen_until`

func scanSequenceRun(row scanner) (*SequenceRun, error) {
	var r SequenceRun
	err := row.Scan(&r.ID, &r.DeliveryID, &r.Project, &r.Stage, &r.Service, &r.Sequence, &r.State,
		&r.StateBeforePause, &r.Result, &r.Status, &r.TriggeredEventID, &r.Message,
		timeColumn{&r.TriggeredAt}, nullTimeColumn{&r.StartedAt}, nullTimeColumn{&r.FinishedAt},
		&r.FreezeName, &r.FreezeMessage, nullTimeColumn{&r.FrozenUntil})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateSequenceRun inserts r for delivery r.DeliveryID, copying the delivery's project and service, and
// fills in its ID and TriggeredAt. An empty State becomes StateTriggered. It returns ErrNotFound when the
// delivery does not exist.
func (tx *Tx) CreateSequenceRun(ctx context.Context, r *SequenceRun) error {
	if r.State == "" {
		r.State = StateTriggered
	}
	r.TriggeredAt, r.StartedAt, r.FinishedAt = tx.now, nil, nil
	err := tx.q.QueryRowContext(ctx, `
		INSERT INTO sequence_runs (delivery_id, project, stage, service, sequence, state, state_before_pause,
			result, status, triggered_event_id, message, triggered_at)
		SELECT id, project, ?, service, ?, ?, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?
		RETURNING id, project, service`,
		r.Stage, r.Sequence, r.State, r.StateBeforePause, r.Result, r.Status, r.TriggeredEventID, r.Message,
		millis(r.TriggeredAt), r.DeliveryID,
	).Scan(&r.ID, &r.Project, &r.Service)
	if err != nil {
		return fmt.Errorf("create sequence run for delivery %d: %w", r.DeliveryID, classify(err))
	}
	return nil
}

// SequenceRunUpdate lists the fields of a sequence run to change; nil fields stay as they are.
type SequenceRunUpdate struct {
	State            *SequenceState
	StateBeforePause *SequenceState
	Result           *Result
	Status           *Status
	Message          *string
	// Freeze records the window that holds the run; set it with State StateFrozen.
	Freeze *Freeze
}

// Freeze is the freeze window that holds a sequence run, as the run keeps it.
type Freeze struct {
	Name    string
	Message string
	Until   time.Time
}

// UpdateSequenceRun applies u to sequence run id and returns the updated run. StartedAt becomes the
// transaction time the first time the state becomes StateStarted, FinishedAt the first time it becomes
// terminal. It returns ErrNotFound when the run does not exist, and ErrInvalidTransition, changing
// nothing, when u.State may not follow the run's state (CanTransition).
func (tx *Tx) UpdateSequenceRun(ctx context.Context, id int64, u SequenceRunUpdate) (*SequenceRun, error) {
	var started, finished any
	if u.State != nil && *u.State == StateStarted {
		started = millis(tx.now)
	}
	if u.State != nil && u.State.Terminal() {
		finished = millis(tx.now)
	}
	var freezeName, freezeMessage, frozenUntil any
	if f := u.Freeze; f != nil {
		freezeName, freezeMessage, frozenUntil = f.Name, f.Message, millis(f.Until)
	}
	from := fromJSON(sequenceMachine, u.State)
	r, err := scanSequenceRun(tx.q.QueryRowContext(ctx, `
		UPDATE sequence_runs SET
			state = COALESCE(?, state),
			state_before_pause = COALESCE(?, state_before_pause),
			result = COALESCE(?, result),
			status = COALESCE(?, status),
			message = COALESCE(?, message),
			started_at = COALESCE(started_at, ?),
			finished_at = COALESCE(finished_at, ?),
			freeze_name = COALESCE(?, freeze_name),
			freeze_message = COALESCE(?, freeze_message),
			frozen_until = COALESCE(?, frozen_until)
		WHERE id = ? AND (? IS NULL OR state IN (SELECT value FROM json_each(?)))
		RETURNING `+sequenceRunColumns,
		u.State, u.StateBeforePause, u.Result, u.Status, u.Message, started, finished,
		freezeName, freezeMessage, frozenUntil, id, from, from))
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrNotFound) && u.State != nil {
			// Tell "no such run" from "not in a state that may become u.State".
			if cur, getErr := tx.GetSequenceRun(ctx, id); getErr == nil {
				err = invalidTransition("sequence run", id, cur.State, *u.State)
			}
		}
		return nil, fmt.Errorf("update sequence run %d: %w", id, err)
	}
	return r, nil
}

// GetSequenceRun returns sequence run id, or ErrNotFound.
func (q queries) GetSequenceRun(ctx context.Context, id int64) (*SequenceRun, error) {
	r, err := scanSequenceRun(q.q.QueryRowContext(ctx,
		`SELECT `+sequenceRunColumns+` FROM sequence_runs WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get sequence run %d: %w", id, classify(err))
	}
	return r, nil
}

// QueueScope names one queue: the sequence runs of a project's service in one stage, which run one at a
// time, oldest trigger first.
type QueueScope struct {
	Project string
	Stage   string
	Service string
}

// NextQueued returns the sequence run of scope that should start now: the oldest one queued
// (StateTriggered), unless a run of scope holds the queue (HoldsQueue). It returns nil when none should
// start. Two index seeks (sequence_runs_queue), so it costs the same with 10 or 10,000 runs waiting.
//
// They are two statements: in one, with the hold as a NOT EXISTS beside the queue's range, SQLite
// checked it against each queued run in turn, and read the whole queue whenever it was held, which
// during a burst it nearly always is.
func (q queries) NextQueued(ctx context.Context, scope QueueScope) (*SequenceRun, error) {
	var held int
	err := q.q.QueryRowContext(ctx, queueHeldQuery, scope.Project, scope.Stage, scope.Service).Scan(&held)
	if err != nil {
		return nil, fmt.Errorf("is the queue of %s/%s/%s held: %w", scope.Project, scope.Stage, scope.Service, classify(err))
	}
	if held != 0 {
		return nil, nil
	}
	r, err := scanSequenceRun(q.q.QueryRowContext(ctx, `SELECT `+sequenceRunColumns+` FROM sequence_runs
		WHERE project = ? AND stage = ? AND service = ? AND state = ? ORDER BY triggered_at, id LIMIT 1`,
		scope.Project, scope.Stage, scope.Service, StateTriggered))
	if err = classify(err); errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("next queued sequence run of %s/%s/%s: %w", scope.Project, scope.Stage, scope.Service, err)
	}
	return r, nil
}

// queueHeldQuery tells whether a run of a scope holds its queue. The holding states are a property of the
// state table, fixed when the program starts, so the text is the same for every call and prepared once.
var queueHeldQuery = `SELECT EXISTS (SELECT 1 FROM sequence_runs
		WHERE project = ? AND stage = ? AND service = ? AND state IN (` + quoted(QueueHoldingStates()) + `))`

// FrozenSequenceRuns returns the runs a freeze window holds, the one whose window ends first first: the
// timers a restart sets again. It reads the partial index sequence_runs_frozen, which holds only them.
func (q queries) FrozenSequenceRuns(ctx context.Context) ([]*SequenceRun, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+sequenceRunColumns+` FROM sequence_runs
		WHERE state = '`+string(StateFrozen)+`' ORDER BY frozen_until`)
	if err != nil {
		return nil, fmt.Errorf("list frozen sequence runs: %w", err)
	}
	rs, err := collect(rows, scanSequenceRun)
	if err != nil {
		return nil, fmt.Errorf("list frozen sequence runs: %w", err)
	}
	return rs, nil
}

// SequenceRunQuery selects sequence runs; empty fields do not filter. Project, Stage and Service together
// with States is the queue: which sequences of one scope are running or waiting.
type SequenceRunQuery struct {
	DeliveryID int64
	Project    string
	Stage      string
	Service    string
	States     []SequenceState // any of these
}

// ListSequenceRuns returns the sequence runs matching sq, oldest trigger first, the order the queue
// starts them in.
func (q queries) ListSequenceRuns(ctx context.Context, sq SequenceRunQuery) ([]*SequenceRun, error) {
	var f filter
	if sq.DeliveryID != 0 {
		f.where("delivery_id = ?", sq.DeliveryID)
	}
	if sq.Project != "" {
		f.where("project = ?", sq.Project)
	}
	if sq.Stage != "" {
		f.where("stage = ?", sq.Stage)
	}
	if sq.Service != "" {
		f.where("service = ?", sq.Service)
	}
	in(&f, "state", sq.States)
	rows, err := q.q.QueryContext(ctx, `SELECT `+sequenceRunColumns+` FROM sequence_runs`+f.String()+
		` ORDER BY triggered_at, id`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("list sequence runs: %w", err)
	}
	rs, err := collect(rows, scanSequenceRun)
	if err != nil {
		return nil, fmt.Errorf("list sequence runs: %w", err)
	}
	return rs, nil
}
