package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ApprovalChanges is what a delivery would change in the stage of an approval, as the approvers were
// shown it: a summary (JSON, the engine's shape) and a unified diff of the rendered manifests with
// secrets' values masked. It is written once per approval and never changes.
type ApprovalChanges struct {
	ApprovalID int64
	Summary    json.RawMessage // a JSON object
	Diff       string
	CreatedAt  time.Time
}

// SaveApprovalChanges records c for approval c.ApprovalID and fills in its CreatedAt. It returns
// ErrConflict when the approval already has its changes: the first record stands, since approvers may
// already have read it.
func (tx *Tx) SaveApprovalChanges(ctx context.Context, c *ApprovalChanges) error {
	if !json.Valid(c.Summary) || len(c.Summary) == 0 || c.Summary[0] != '{' {
		return fmt.Errorf("save changes of approval %d: summary is not a JSON object", c.ApprovalID)
	}
	c.CreatedAt = tx.now
	_, err := tx.q.ExecContext(ctx, `
		INSERT INTO approval_changes (approval_id, summary, diff, created_at) VALUES (?, ?, ?, ?)`,
		c.ApprovalID, string(c.Summary), c.Diff, millis(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("save changes of approval %d: %w", c.ApprovalID, classify(err))
	}
	return nil
}

// GetApprovalChanges returns the changes recorded for approval id, or ErrNotFound when none were (yet).
func (q queries) GetApprovalChanges(ctx context.Context, approvalID int64) (*ApprovalChanges, error) {
	c := ApprovalChanges{ApprovalID: approvalID}
	var summary string
	err := q.q.QueryRowContext(ctx, `SELECT summary, diff, created_at FROM approval_changes WHERE approval_id = ?`, approvalID).
		Scan(&summary, &c.Diff, timeColumn{&c.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("get changes of approval %d: %w", approvalID, classify(err))
	}
	c.Summary = json.RawMessage(summary)
	return &c, nil
}
