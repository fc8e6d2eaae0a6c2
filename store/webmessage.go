package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// WebMessage is a message of the web console, kept so that the console shows it again after a restart:
// where it is in its channel, and what it shows as the console renders it.
type WebMessage struct {
	// Seq is the console's order of posting, across its channels; the console assigns it, and a message
	// keeps it through its edits.
	Seq       int64
	Channel   string
	MessageID string
	// ThreadID is the root card's id for a reply and for the root card itself, empty for a top-level
	// message without a thread.
	ThreadID string
	Root     bool
	// Version grows with each edit: a save never replaces a newer version with an older one.
	Version int64
	// Body is what the message shows, a JSON document the console reads back as it wrote it.
	Body      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

const webMessageColumns = `seq, channel, message_id, thread_id, root, version, body, created_at, updated_at`

func scanWebMessage(row scanner) (*WebMessage, error) {
	var m WebMessage
	err := row.Scan(&m.Seq, &m.Channel, &m.MessageID, &m.ThreadID, &m.Root, &m.Version, rawColumn{&m.Body},
		timeColumn{&m.CreatedAt}, timeColumn{&m.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// SaveWebMessage records a console message, or updates the record of the same channel and message id
// in place with m's version and body, unless that record holds a newer version already: two saves of
// one message that overtake each other leave the newer. A message keeps the place (seq, thread, root)
// it was first recorded with.
func (tx *Tx) SaveWebMessage(ctx context.Context, m *WebMessage) error {
	_, err := tx.q.ExecContext(ctx, `
		INSERT INTO web_messages (seq, channel, message_id, thread_id, root, version, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel, message_id) DO UPDATE SET
			version = excluded.version,
			body = excluded.body,
			updated_at = excluded.updated_at
		WHERE excluded.version > web_messages.version`,
		m.Seq, m.Channel, m.MessageID, m.ThreadID, m.Root, m.Version, string(m.Body), millis(tx.now), millis(tx.now))
	if err != nil {
		return fmt.Errorf("save web message %s/%s: %w", m.Channel, m.MessageID, classify(err))
	}
	return nil
}

// GetWebMessage returns a console message by its id in a channel, or ErrNotFound.
func (q queries) GetWebMessage(ctx context.Context, channel, messageID string) (*WebMessage, error) {
	m, err := scanWebMessage(q.q.QueryRowContext(ctx, `SELECT `+webMessageColumns+` FROM web_messages
		WHERE channel = ? AND message_id = ?`, channel, messageID))
	if err != nil {
		return nil, fmt.Errorf("get web message %s/%s: %w", channel, messageID, classify(err))
	}
	return m, nil
}

// ListWebRoots returns the newest limit root cards and top-level messages of a channel, oldest first.
func (q queries) ListWebRoots(ctx context.Context, channel string, limit int) ([]*WebMessage, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+webMessageColumns+` FROM web_messages
		WHERE channel = ? AND root = 1 ORDER BY seq DESC LIMIT ?`, channel, limit)
	if err != nil {
		return nil, fmt.Errorf("list web messages of %s: %w", channel, err)
	}
	ms, err := collect(rows, scanWebMessage)
	if err != nil {
		return nil, fmt.Errorf("list web messages of %s: %w", channel, err)
	}
	slices.Reverse(ms)
	return ms, nil
}

// ListWebReplies returns the newest limit replies of a thread in a channel, oldest first.
func (q queries) ListWebReplies(ctx context.Context, channel, threadID string, limit int) ([]*WebMessage, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+webMessageColumns+` FROM web_messages
		WHERE channel = ? AND thread_id = ? AND root = 0 ORDER BY seq DESC LIMIT ?`, channel, threadID, limit)
	if err != nil {
		return nil, fmt.Errorf("list replies of web thread %s/%s: %w", channel, threadID, err)
	}
	ms, err := collect(rows, scanWebMessage)
	if err != nil {
		return nil, fmt.Errorf("list replies of web thread %s/%s: %w", channel, threadID, err)
	}
	slices.Reverse(ms)
	return ms, nil
}

// LastWebSeq returns the highest seq of a console message recorded in any channel, 0 when there is
// none: the console goes on from it, so that what it posts next comes after everything kept.
func (q queries) LastWebSeq(ctx context.Context) (int64, error) {
	var last int64
	if err := q.q.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM web_messages`).Scan(&last); err != nil {
		return 0, fmt.Errorf("last web message: %w", err)
	}
	return last, nil
}

// WebMessageIDTaken reports whether a channel holds a message whose id begins with prefix: the console
// starts its ids of each process with a prefix no kept message has.
func (q queries) WebMessageIDTaken(ctx context.Context, channel, prefix string) (bool, error) {
	if prefix == "" {
		return false, fmt.Errorf("web message id prefix of %s: empty", channel)
	}
	// The ids that begin with prefix are those from prefix up to, not including, prefix with its last
	// byte one higher: a range of the (channel, message_id) index.
	end := []byte(prefix)
	if end[len(end)-1] == 0xff {
		return false, fmt.Errorf("web message id prefix %q of %s: ends with byte 0xff", prefix, channel)
	}
	end[len(end)-1]++
	var one int
	err := q.q.QueryRowContext(ctx, `SELECT 1 FROM web_messages WHERE channel = ? AND message_id >= ? AND message_id < ? LIMIT 1`,
		channel, prefix, string(end)).Scan(&one)
	switch err = classify(err); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("web message id prefix %s/%s: %w", channel, prefix, err)
	}
}
