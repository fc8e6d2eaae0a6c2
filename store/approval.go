package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Approval is the gate of one approval task: how many approvals it needs and from whom, and how it ended.
type Approval struct {
	ID             int64
	DeliveryID     int64 // copied from the task run
	TaskRunID      int64
	Stage          string   // copied from the task run's sequence run
	Required       int      // approvals needed, at least 1
	Roles          []string // roles allowed to vote, nil when none are named
	AllowRequester bool     // whether the person who triggered the delivery may approve it
	State          ApprovalState
	Reason         string // why it was decided this way
	DecidedBy      string
	DecidedAt      *time.Time
	ExpiresAt      *time.Time
	CreatedAt      time.Time
	// Evidence is what the approvers were shown when the approval was requested (JSON; the engine owns
	// its shape). It is written with the approval and never changes; nil for approvals requested before
	// shipgate recorded it.
	Evidence json.RawMessage

	// The timeout ladder, fixed when the approval opens: remind the approvers who have not voted every
	// RemindEvery, and after EscalateAfter add EscalateTo to Roles. Zero durations turn a step off.
	RemindEvery   time.Duration
	EscalateAfter time.Duration
	EscalateTo    []string
	// What the ladder has done: how many reminders were sent and when the latest was, and when the
	// approval was escalated (nil: not yet).
	Reminders      int
	LastRemindedAt *time.Time
	EscalatedAt    *time.Time
}

// NextReminder is when the approval's next reminder is due, false when it reminds nobody. Reminders
// fall on CreatedAt + k·RemindEvery; the next is the first such time after the latest reminder sent, so
// that slots missed while the process was down collapse into one reminder, sent late, and a slot is
// never sent twice.
func (a *Approval) NextReminder() (time.Time, bool) {
	if a.RemindEvery <= 0 || a.State != ApprovalPending {
		return time.Time{}, false
	}
	k := int64(1)
	if a.LastRemindedAt != nil {
		if since := a.LastRemindedAt.Sub(a.CreatedAt); since >= 0 {
			k = int64(since/a.RemindEvery) + 1
		}
	}
	next := a.CreatedAt.Add(time.Duration(k) * a.RemindEvery)
	if a.ExpiresAt != nil && !next.Before(*a.ExpiresAt) {
		return time.Time{}, false // the expiry decides first
	}
	return next, true
}

// EscalatesAt is when the approval is due to escalate, false when it does not escalate (any more).
func (a *Approval) EscalatesAt() (time.Time, bool) {
	if a.EscalateAfter <= 0 || len(a.EscalateTo) == 0 || a.EscalatedAt != nil || a.State != ApprovalPending {
		return time.Time{}, false
	}
	at := a.CreatedAt.Add(a.EscalateAfter)
	if a.ExpiresAt != nil && !at.Before(*a.ExpiresAt) {
		return time.Time{}, false
	}
	return at, true
}

// Vote is one person's decision on an approval. A person votes once.
type Vote struct {
	ApprovalID int64
	Voter      string // platform user id
	Platform   string // slack, discord, web, api
	Decision   Decision
	Reason     string
	CreatedAt  time.Time
}

const approvalColumns = `id, delivery_id, task_run_id, stage, required, roles, allow_requester, state,
	reason, decided_by, decided_at, expires_at, created_at, evidence, remind_every_ns, escalate_after_ns, escalate_to,
	reminders, last_reminded_at, escalated_at`

func scanApproval(row scanner) (*Approval, error) {
	var a Approval
	err := row.Scan(&a.ID, &a.DeliveryID, &a.TaskRunID, &a.Stage, &a.Required, jsonColumn{&a.Roles},
		&a.AllowRequester, &a.State, &a.Reason, &a.DecidedBy, nullTimeColumn{&a.DecidedAt},
		nullTimeColumn{&a.ExpiresAt}, timeColumn{&a.CreatedAt}, rawColumn{&a.Evidence}, &a.RemindEvery, &a.EscalateAfter, jsonColumn{&a.EscalateTo},
		&a.Reminders, nullTimeColumn{&a.LastRemindedAt}, nullTimeColumn{&a.EscalatedAt})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateApproval inserts a for task run a.TaskRunID, copying the task's delivery and stage, and fills in
// its ID and CreatedAt. A zero Required becomes 1 and an empty State ApprovalPending. It returns
// ErrNotFound when the task run does not exist.
func (tx *Tx) CreateApproval(ctx context.Context, a *Approval) error {
	if a.Required == 0 {
		a.Required = 1
	}
	if a.State == "" {
		a.State = ApprovalPending
	}
	if a.RemindEvery < 0 || a.EscalateAfter < 0 {
		return fmt.Errorf("create approval: negative remind_every or escalate_after")
	}
	a.ExpiresAt = normalizeTimePtr(a.ExpiresAt)
	a.DecidedAt = normalizeTimePtr(a.DecidedAt)
	a.CreatedAt = tx.now
	roles, err := jsonList(a.Roles)
	if err != nil {
		return fmt.Errorf("create approval: roles: %w", err)
	}
	escalateTo, err := jsonList(a.EscalateTo)
	if err != nil {
		return fmt.Errorf("create approval: escalate_to: %w", err)
	}
	// A new approval has sent no reminder and not escalated, whatever a says.
	a.Reminders, a.LastRemindedAt, a.EscalatedAt = 0, nil, nil
	err = tx.q.QueryRowContext(ctx, `
		INSERT INTO approvals (delivery_id, task_run_id, stage, required, roles, allow_requester, state,
			reason, decided_by, decided_at, expires_at, created_at, evidence, remind_every_ns, escalate_after_ns, escalate_to)
		SELECT t.delivery_id, t.id, s.stage, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		FROM task_runs t JOIN sequence_runs s ON s.id = t.sequence_run_id
		WHERE t.id = ?
		RETURNING delivery_id, stage, id`,
		a.Required, roles, a.AllowRequester, a.State, a.Reason, a.DecidedBy, nullMillis(a.DecidedAt),
		nullMillis(a.ExpiresAt), millis(a.CreatedAt), rawJSON(a.Evidence), int64(a.RemindEvery), int64(a.EscalateAfter), escalateTo, a.TaskRunID,
	).Scan(&a.DeliveryID, &a.Stage, &a.ID)
	if err != nil {
		return fmt.Errorf("create approval for task run %d: %w", a.TaskRunID, classify(err))
	}
	return nil
}

// DecideApproval moves pending approval id to state, recording who decided, why, and when (the
// transaction time), and returns the decided approval. It returns ErrInvalidTransition (an ErrConflict)
// when the approval is no longer pending, so two decisions cannot both win, or when state is no
// decision.
func (tx *Tx) DecideApproval(ctx context.Context, id int64, state ApprovalState, decidedBy, reason string) (*Approval, error) {
	if !CanTransition(ApprovalPending, state) {
		return nil, fmt.Errorf("decide approval %d: %w: %q is not a decision", id, ErrInvalidTransition, state)
	}
	a, err := scanApproval(tx.q.QueryRowContext(ctx, `
		UPDATE approvals SET state = ?, decided_by = ?, reason = ?, decided_at = ?
		WHERE id = ? AND state IN (SELECT value FROM json_each(?))
		RETURNING `+approvalColumns,
		state, decidedBy, reason, millis(tx.now), id, fromJSON(approvalMachine, &state)))
	if err == nil {
		return a, nil
	}
	err = classify(err)
	if errors.Is(err, ErrNotFound) {
		// Tell "no such approval" from "already decided".
		if cur, getErr := tx.GetApproval(ctx, id); getErr == nil {
			err = fmt.Errorf("%w: approval is already %s", ErrInvalidTransition, cur.State)
		}
	}
	return nil, fmt.Errorf("decide approval %d: %w", id, err)
}

// RecordReminder records that pending approval id was reminded at the transaction time for the slot
// due at slot (its NextReminder). It returns the updated approval and true, or false when that slot was
// already reminded or the approval is no longer pending: a timer that fires twice, or once more after a
// restart, sends nothing the second time.
func (tx *Tx) RecordReminder(ctx context.Context, id int64, slot time.Time) (*Approval, bool, error) {
	a, err := scanApproval(tx.q.QueryRowContext(ctx, `
		UPDATE approvals SET reminders = reminders + 1, last_reminded_at = ?
		WHERE id = ? AND state = ? AND remind_every_ns > 0 AND COALESCE(last_reminded_at, created_at) < ?
		RETURNING `+approvalColumns,
		millis(tx.now), id, ApprovalPending, millis(slot)))
	if errors.Is(classify(err), ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("record reminder of approval %d: %w", id, classify(err))
	}
	return a, true, nil
}

// MarkEscalated escalates pending approval id at the transaction time: its EscalateTo roles join the
// roles that may vote on it. It returns the updated approval and true, or false when it has escalated
// already, has nothing to escalate to, or is no longer pending, so that an escalation happens once.
func (tx *Tx) MarkEscalated(ctx context.Context, id int64) (*Approval, bool, error) {
	// The union keeps the roles' order, the approval's first, and adds each escalation role once.
	a, err := scanApproval(tx.q.QueryRowContext(ctx, `
		UPDATE approvals SET escalated_at = ?, roles = (
			SELECT json_group_array(value ORDER BY o) FROM (
				SELECT value, min(o) AS o FROM (
					SELECT value, key AS o FROM json_each(COALESCE(approvals.roles, '[]'))
					UNION ALL
					SELECT value, 1000000 + key FROM json_each(approvals.escalate_to))
				GROUP BY value))
		WHERE id = ? AND state = ? AND escalated_at IS NULL AND escalate_to IS NOT NULL
		RETURNING `+approvalColumns,
		millis(tx.now), id, ApprovalPending))
	if errors.Is(classify(err), ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("escalate approval %d: %w", id, classify(err))
	}
	return a, true, nil
}

// CastVote records v and fills in its CreatedAt. It returns ErrConflict when the voter has already voted
// on this approval. Whether the voter may vote is the caller's rule, checked in the same transaction.
func (tx *Tx) CastVote(ctx context.Context, v *Vote) error {
	v.CreatedAt = tx.now
	_, err := tx.q.ExecContext(ctx, `
		INSERT INTO approval_votes (approval_id, voter, platform, decision, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		v.ApprovalID, v.Voter, v.Platform, v.Decision, v.Reason, millis(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("cast vote of %s on approval %d: %w", v.Voter, v.ApprovalID, classify(err))
	}
	return nil
}

// GetApproval returns approval id, or ErrNotFound.
func (q queries) GetApproval(ctx context.Context, id int64) (*Approval, error) {
	a, err := scanApproval(q.q.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get approval %d: %w", id, classify(err))
	}
	return a, nil
}

// ApprovalQuery selects approvals; empty fields do not filter. State alone finds the pending approvals
// to expire or to show after a restart.
type ApprovalQuery struct {
	DeliveryID int64
	TaskRunID  int64
	State      ApprovalState
}

// ListApprovals returns the approvals matching aq, oldest first.
func (q queries) ListApprovals(ctx context.Context, aq ApprovalQuery) ([]*Approval, error) {
	var f filter
	if aq.DeliveryID != 0 {
		f.where("delivery_id = ?", aq.DeliveryID)
	}
	if aq.TaskRunID != 0 {
		f.where("task_run_id = ?", aq.TaskRunID)
	}
	if aq.State != "" {
		f.where("state = ?", aq.State)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT `+approvalColumns+` FROM approvals`+f.String()+
		` ORDER BY created_at, id`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	as, err := collect(rows, scanApproval)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	return as, nil
}

// ListVotes returns the votes on an approval in the order they were cast.
func (q queries) ListVotes(ctx context.Context, approvalID int64) ([]*Vote, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT approval_id, voter, platform, decision, reason, created_at
		FROM approval_votes WHERE approval_id = ? ORDER BY created_at, rowid`, approvalID)
	if err != nil {
		return nil, fmt.Errorf("list votes on approval %d: %w", approvalID, err)
	}
	vs, err := collect(rows, func(row scanner) (*Vote, error) {
		var v Vote
		err := row.Scan(&v.ApprovalID, &v.Voter, &v.Platform, &v.Decision, &v.Reason, timeColumn{&v.CreatedAt})
		return &v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list votes on approval %d: %w", approvalID, err)
	}
	return vs, nil
}

// Ballot is what a vote is judged and cast on: the approval, its delivery, and the task and sequence
// it belongs to.
type Ballot struct {
	Approval *Approval
	Delivery *Delivery
	// The approval's task run: its name and attempt, and its sequence run's id and sequence name.
	Task          string
	Attempt       int
	SequenceRunID int64
	Sequence      string
}

// ballotQuery reads a Ballot in one statement: a vote is on the answer's path, and each statement
// there costs.
var ballotQuery = `SELECT ` + prefixed("a.", approvalColumns) + `, ` + prefixed("d.", deliveryColumns) + `,
	t.name, t.attempt, t.sequence_run_id, s.sequence
	FROM approvals a
	JOIN deliveries d ON d.id = a.delivery_id
	JOIN task_runs t ON t.id = a.task_run_id
	JOIN sequence_runs s ON s.id = t.sequence_run_id
	WHERE a.id = ?`

// GetBallot returns approval id with its delivery, task and sequence, or ErrNotFound.
func (q queries) GetBallot(ctx context.Context, id int64) (*Ballot, error) {
	// scanApproval and scanDelivery name the fields to scan into; one Scan of the joined row fills them.
	var cols gather
	a, _ := scanApproval(&cols)
	d, _ := scanDelivery(&cols)
	b := &Ballot{Approval: a, Delivery: d}
	dest := append(cols.dest, &b.Task, &b.Attempt, &b.SequenceRunID, &b.Sequence)
	if err := q.q.QueryRowContext(ctx, ballotQuery, id).Scan(dest...); err != nil {
		return nil, fmt.Errorf("get approval %d: %w", id, classify(err))
	}
	return b, nil
}

// gather is a scanner that only collects what it is asked to scan into, so that the scan functions of
// several tables can fill one joined row.
type gather struct{ dest []any }

func (g *gather) Scan(dest ...any) error {
	g.dest = append(g.dest, dest...)
	return nil
}

// prefixed qualifies a column list with a table alias ("a." turns "id, state" into "a.id, a.state").
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
