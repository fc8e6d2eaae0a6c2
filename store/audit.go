package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry records one attempt to change state: who, what, when, from where, and whether it was
// allowed and why. Entries are never changed or deleted; the database refuses it.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string // platform user id, or "shipgate" for the bot's own decisions
	Platform string // slack, discord, web, api, cli
	Channel  string
	Action   string // for example delivery.trigger, approval.vote
	Target   string // for example delivery:42
	Allowed  bool
	Reason   string // why it was allowed or denied, in words a user may read
	Details  json.RawMessage
}

const auditColumns = `id, at, actor, platform, channel, action, target, allowed, reason, details`

func scanAudit(row scanner) (*AuditEntry, error) {
	var a AuditEntry
	err := row.Scan(&a.ID, timeColumn{&a.At}, &a.Actor, &a.Platform, &a.Channel, &a.Action, &a.Target,
		&a.Allowed, &a.Reason, rawColumn{&a.Details})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// AppendAudit records a and fills in its ID and At, the transaction time.
func (tx *Tx) AppendAudit(ctx context.Context, a *AuditEntry) error {
	a.At = tx.now
	err := tx.q.QueryRowContext(ctx, `
		INSERT INTO audit_log (at, actor, platform, channel, action, target, allowed, reason, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		millis(a.At), a.Actor, a.Platform, a.Channel, a.Action, a.Target, a.Allowed, a.Reason,
		rawJSON(a.Details),
	).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("append audit %s on %s: %w", a.Action, a.Target, classify(err))
	}
	return nil
}

// AuditQuery selects audit entries; empty fields do not filter.
type AuditQuery struct {
	Target string
	Actor  string
	Since  time.Time // entries at or after this time
	Limit  int       // 0 means no limit
	// OldestFirst lists in the order things happened, as an export writes them; the default is newest
	// first.
	OldestFirst bool
	// After continues a list where an earlier page of it ended: only the entries listed after that one.
	After *Position
}

// ListAudit returns the audit entries matching aq, newest first (by time, then id) unless aq.OldestFirst.
func (q queries) ListAudit(ctx context.Context, aq AuditQuery) ([]*AuditEntry, error) {
	var f filter
	if aq.Target != "" {
		f.where("target = ?", aq.Target)
	}
	if aq.Actor != "" {
		f.where("actor = ?", aq.Actor)
	}
	if !aq.Since.IsZero() {
		f.where("at >= ?", millis(aq.Since))
	}
	f.after("at", aq.After, aq.OldestFirst)
	order := ` ORDER BY at DESC, id DESC`
	if aq.OldestFirst {
		order = ` ORDER BY at, id`
	}
	rows, err := q.q.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log`+f.String()+order+` LIMIT ?`,
		append(f.args, limit(aq.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	as, err := collect(rows, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return as, nil
}
