package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChatMessage is a message shipgate posted for a delivery, kept so it can edit the message later (the
// root card, an approval request) and reply in its thread.
type ChatMessage struct {
	ID         int64
	DeliveryID int64
	Platform   string // slack, discord, web, api
	Channel    string
	MessageID  string // the platform's id: a Slack ts, a Discord snowflake
	ThreadID   string // the thread the message is in, empty for a top-level message
	Kind       MessageKind
	ApprovalID int64 // the approval a MessageApproval asks for, 0 otherwise
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const chatMessageColumns = `id, delivery_id, platform, channel, message_id, thread_id, kind, approval_id,
	created_at, updated_at`

func scanChatMessage(row scanner) (*ChatMessage, error) {
	var m ChatMessage
	err := row.Scan(&m.ID, &m.DeliveryID, &m.Platform, &m.Channel, &m.MessageID, &m.ThreadID, &m.Kind,
		nullIDColumn{&m.ApprovalID}, timeColumn{&m.CreatedAt}, timeColumn{&m.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// SaveChatMessage records m, or updates the record of the same platform, channel and message id, and
// fills in its ID and timestamps. It returns ErrConflict when that message is recorded for another
// delivery: one chat message never speaks for two deliveries.
func (tx *Tx) SaveChatMessage(ctx context.Context, m *ChatMessage) error {
	saved, err := scanChatMessage(tx.q.QueryRowContext(ctx, `
		INSERT INTO chat_messages (delivery_id, platform, channel, message_id, thread_id, kind, approval_id,
			created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, channel, message_id) DO UPDATE SET
			thread_id = excluded.thread_id,
			kind = excluded.kind,
			approval_id = excluded.approval_id,
			updated_at = excluded.updated_at
		WHERE chat_messages.delivery_id = excluded.delivery_id
		RETURNING `+chatMessageColumns,
		m.DeliveryID, m.Platform, m.Channel, m.MessageID, m.ThreadID, m.Kind, nullID(m.ApprovalID),
		millis(tx.now), millis(tx.now)))
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrNotFound) {
			// The upsert's WHERE refused: the message belongs to another delivery.
			err = fmt.Errorf("%w: message is recorded for another delivery", ErrConflict)
		}
		return fmt.Errorf("save %s message %s/%s: %w", m.Platform, m.Channel, m.MessageID, err)
	}
	*m = *saved
	return nil
}

// GetChatMessage returns the record of a posted message, or ErrNotFound; a button click names only the
// message it came from.
func (q queries) GetChatMessage(ctx context.Context, platform string, channel, messageID string) (*ChatMessage, error) {
	m, err := scanChatMessage(q.q.QueryRowContext(ctx, `SELECT `+chatMessageColumns+` FROM chat_messages
		WHERE platform = ? AND channel = ? AND message_id = ?`, platform, channel, messageID))
	if err != nil {
		return nil, fmt.Errorf("get %s message %s/%s: %w", platform, channel, messageID, classify(err))
	}
	return m, nil
}

// RootMessage returns the root card of a delivery in a platform's channel, the first one posted there if
// there were several, or ErrNotFound when none was posted there yet.
func (q queries) RootMessage(ctx context.Context, deliveryID int64, platform string, channel string) (*ChatMessage, error) {
	// In ListChatMessages' order, so that chat_messages_by_delivery finds it among the delivery's first
	// messages: the root card is posted before its thread.
	m, err := scanChatMessage(q.q.QueryRowContext(ctx, `SELECT `+chatMessageColumns+` FROM chat_messages
		WHERE delivery_id = ? AND platform = ? AND channel = ? AND kind = ?
		ORDER BY created_at, id LIMIT 1`, deliveryID, platform, channel, MessageRoot))
	if err != nil {
		return nil, fmt.Errorf("root %s message of delivery %d in %s: %w", platform, deliveryID, channel, classify(err))
	}
	return m, nil
}

// ListChatMessages returns the messages posted for a delivery, oldest first.
func (q queries) ListChatMessages(ctx context.Context, deliveryID int64) ([]*ChatMessage, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+chatMessageColumns+` FROM chat_messages
		WHERE delivery_id = ? ORDER BY created_at, id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list chat messages of delivery %d: %w", deliveryID, err)
	}
	ms, err := collect(rows, scanChatMessage)
	if err != nil {
		return nil, fmt.Errorf("list chat messages of delivery %d: %w", deliveryID, err)
	}
	return ms, nil
}
