package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TaskRun is one task of a sequence run. Its ID is the stable task-run id executors receive; a retry
// keeps the row and the ID and counts up Attempt.
type TaskRun struct {
	ID               int64
	SequenceRunID    int64
	DeliveryID       int64 // copied from the sequence run
	Position         int   // index of the task in the sequence, from 0
	Name             string
	Executor         string
	State            TaskState
	Result           Result
	Status           Status
	Message          string
	Data             json.RawMessage // what the task returned, nil when nothing
	TriggeredEventID string          // id of the <task>.triggered event of the current attempt
	Attempt          int             // from 1
	ScheduledFor     *time.Time      // when a triggeredAfter delay ends
	TriggeredAt      time.Time
	StartedAt        *time.Time // set when State first becomes TaskStarted
	FinishedAt       *time.Time // set when State becomes terminal
	// ProcessGroup is the process group of the command the started task runs (the exec executor's), 0
	// when none is recorded. It is set by SetTaskProcessGroup once the command started and cleared when
	// the task ends or is retried, so that after a crash recovery knows which group to make sure is gone.
	ProcessGroup int
}

const taskRunColumns = `id, sequence_run_id, delivery_id, position, name, executor, state, result, status,
	message, data, triggered_event_id, attempt, scheduled_for, triggered_at, started_at, finished_at, process_group`

func scanTaskRun(row scanner) (*TaskRun, error) {
	var t TaskRun
	var pgid sql.Null[int64]
	err := row.Scan(&t.ID, &t.SequenceRunID, &t.DeliveryID, &t.Position, &t.Name, &t.Executor, &t.State,
		&t.Result, &t.Status, &t.Message, rawColumn{&t.Data}, &t.TriggeredEventID, &t.Attempt,
		nullTimeColumn{&t.ScheduledFor}, timeColumn{&t.TriggeredAt}, nullTimeColumn{&t.StartedAt},
		nullTimeColumn{&t.FinishedAt}, &pgid)
	if err != nil {
		return nil, err
	}
	t.ProcessGroup = int(pgid.V)
	return &t, nil
}

// CreateTaskRun inserts t for sequence run t.SequenceRunID, copying the run's delivery, and fills in its
// ID and TriggeredAt. An empty State becomes TaskTriggered and a zero Attempt 1. It returns ErrNotFound
// when the sequence run does not exist and ErrConflict when the run already has a task at t.Position.
func (tx *Tx) CreateTaskRun(ctx context.Context, t *TaskRun) error {
	if t.State == "" {
		t.State = TaskTriggered
	}
	if t.Attempt == 0 {
		t.Attempt = 1
	}
	t.ScheduledFor = normalizeTimePtr(t.ScheduledFor)
	t.TriggeredAt, t.StartedAt, t.FinishedAt = tx.now, nil, nil
	err := tx.q.QueryRowContext(ctx, `
		INSERT INTO task_runs (sequence_run_id, delivery_id, position, name, executor, state, result, status,
			message, data, triggered_event_id, attempt, scheduled_for, triggered_at)
		SELECT id, delivery_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM sequence_runs WHERE id = ?
		RETURNING id, delivery_id`,
		t.Position, t.Name, t.Executor, t.State, t.Result, t.Status, t.Message, rawJSON(t.Data),
		t.TriggeredEventID, t.Attempt, nullMillis(t.ScheduledFor), millis(t.TriggeredAt), t.SequenceRunID,
	).Scan(&t.ID, &t.DeliveryID)
	if err != nil {
		return fmt.Errorf("create task run %q for sequence run %d: %w", t.Name, t.SequenceRunID, classify(err))
	}
	return nil
}

// TaskRunUpdate lists the fields of a task run to change; nil fields stay as they are.
type TaskRunUpdate struct {
	State            *TaskState
	Result           *Result
	Status           *Status
	Message          *string
	Data             json.RawMessage
	Executor         *string
	TriggeredEventID *string
	Attempt          *int
	ScheduledFor     *time.Time
}

// UpdateTaskRun applies u to task run id and returns the updated run. Its timestamps follow the state:
// TaskStarted sets StartedAt the first time; a terminal state sets FinishedAt the first time; going back
// to TaskTriggered or TaskScheduled is a retry, which sets TriggeredAt and clears StartedAt and FinishedAt.
// A terminal state and a retry both clear ProcessGroup: the attempt that recorded it is over. It returns
// ErrNotFound when the run does not exist, and ErrInvalidTransition, changing nothing, when u.State may
// not follow the run's state (CanTransition).
func (tx *Tx) UpdateTaskRun(ctx context.Context, id int64, u TaskRunUpdate) (*TaskRun, error) {
	var retry, start, finish bool
	if u.State != nil {
		retry = *u.State == TaskTriggered || *u.State == TaskScheduled
		start = *u.State == TaskStarted
		finish = u.State.Terminal()
	}
	t, err := scanTaskRun(tx.q.QueryRowContext(ctx, `
		UPDATE task_runs SET
			state = COALESCE(:state, state),
			result = COALESCE(:result, result),
			status = COALESCE(:status, status),
			message = COALESCE(:message, message),
			data = COALESCE(:data, data),
			executor = COALESCE(:executor, executor),
			triggered_event_id = COALESCE(:triggered_event_id, triggered_event_id),
			attempt = COALESCE(:attempt, attempt),
			scheduled_for = COALESCE(:scheduled_for, scheduled_for),
			triggered_at = CASE WHEN :retry THEN :now ELSE triggered_at END,
			started_at = CASE WHEN :retry THEN NULL WHEN :start THEN COALESCE(started_at, :now) ELSE started_at END,
			finished_at = CASE WHEN :retry THEN NULL WHEN :finish THEN COALESCE(finished_at, :now) ELSE finished_at END,
			process_group = CASE WHEN :retry OR :finish THEN NULL ELSE process_group END
		WHERE id = :id AND (:from IS NULL OR state IN (SELECT value FROM json_each(:from)))
		RETURNING `+taskRunColumns,
		sql.Named("state", u.State), sql.Named("result", u.Result), sql.Named("status", u.Status),
		sql.Named("message", u.Message), sql.Named("data", rawJSON(u.Data)),
		sql.Named("executor", u.Executor), sql.Named("triggered_event_id", u.TriggeredEventID),
		sql.Named("attempt", u.Attempt), sql.Named("scheduled_for", nullMillis(u.ScheduledFor)),
		sql.Named("retry", retry), sql.Named("start", start), sql.Named("finish", finish),
		sql.Named("now", millis(tx.now)), sql.Named("id", id), sql.Named("from", fromJSON(taskMachine, u.State))))
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrNotFound) && u.State != nil {
			// Tell "no such run" from "not in a state that may become u.State".
			if cur, getErr := tx.GetTaskRun(ctx, id); getErr == nil {
				err = invalidTransition("task run", id, cur.State, *u.State)
			}
		}
		return nil, fmt.Errorf("update task run %d: %w", id, err)
	}
	return t, nil
}

// SetTaskProcessGroup records the process group that attempt of task run id runs, if that attempt is still
// the started one, and reports whether it did. A task that ended, or was retried, in the meantime keeps no
// group: whatever ended it has stopped the command, or will. It returns ErrNotFound when the task run
// does not exist.
func (tx *Tx) SetTaskProcessGroup(ctx context.Context, id int64, attempt, pgid int) (bool, error) {
	if pgid <= 0 {
		return false, fmt.Errorf("set process group of task run %d: invalid process group %d", id, pgid)
	}
	var state TaskState
	var cur int
	err := tx.q.QueryRowContext(ctx, `
		UPDATE task_runs SET process_group = CASE WHEN state = ? AND attempt = ? THEN ? ELSE process_group END
		WHERE id = ? RETURNING state, attempt`, TaskStarted, attempt, pgid, id).Scan(&state, &cur)
	if err != nil {
		return false, fmt.Errorf("set process group of task run %d: %w", id, classify(err))
	}
	return state == TaskStarted && cur == attempt, nil
}

// GetTaskRun returns task run id, or ErrNotFound.
func (q queries) GetTaskRun(ctx context.Context, id int64) (*TaskRun, error) {
	t, err := scanTaskRun(q.q.QueryRowContext(ctx, `SELECT `+taskRunColumns+` FROM task_runs WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get task run %d: %w", id, classify(err))
	}
	return t, nil
}

// TaskRunQuery selects task runs; empty fields do not filter. States alone finds the tasks to recover
// after a restart.
type TaskRunQuery struct {
	DeliveryID    int64
	SequenceRunID int64
	States        []TaskState // any of these
}

// ListTaskRuns returns the task runs matching tq in the order they run: by sequence run, then position.
func (q queries) ListTaskRuns(ctx context.Context, tq TaskRunQuery) ([]*TaskRun, error) {
	var f filter
	if tq.DeliveryID != 0 {
		f.where("delivery_id = ?", tq.DeliveryID)
	}
	if tq.SequenceRunID != 0 {
		f.where("sequence_run_id = ?", tq.SequenceRunID)
	}
	in(&f, "state", tq.States)
	rows, err := q.q.QueryContext(ctx, `SELECT `+taskRunColumns+` FROM task_runs`+f.String()+
		` ORDER BY sequence_run_id, position`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("list task runs: %w", err)
	}
	ts, err := collect(rows, scanTaskRun)
	if err != nil {
		return nil, fmt.Errorf("list task runs: %w", err)
	}
	return ts, nil
}
