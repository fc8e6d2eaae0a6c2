package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// IdempotencyRecord remembers that a request was acted on: a CI Idempotency-Key, a Slack retry, a
// Discord interaction id, a button click. Scope keeps the key spaces of different sources apart.
type IdempotencyRecord struct {
	Scope      string
	Key        string
	DeliveryID int64           // the delivery the request created or touched, 0 when none
	Response   json.RawMessage // what the first request was answered, to answer a repeat the same way
	CreatedAt  time.Time
}

const idempotencyColumns = `scope, key, delivery_id, response, created_at`

func scanIdempotency(row scanner) (*IdempotencyRecord, error) {
	var r IdempotencyRecord
	err := row.Scan(&r.Scope, &r.Key, nullIDColumn{&r.DeliveryID}, rawColumn{&r.Response}, timeColumn{&r.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RecordIdempotencyKey records that (scope, key) was acted on, with what it led to, in one statement:
// for a transaction that has read GetIdempotencyKey and found nothing, holding the write lock since, so
// that nobody else can have claimed the key meanwhile. It returns false, and records nothing, if the key
// was claimed after all.
func (tx *Tx) RecordIdempotencyKey(ctx context.Context, scope, key string, deliveryID int64, response json.RawMessage) (bool, error) {
	res, err := tx.q.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, delivery_id, response, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, scope, key, nullID(deliveryID), rawJSON(response), millis(tx.now))
	if err != nil {
		return false, fmt.Errorf("record idempotency key %s/%s: %w", scope, key, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record idempotency key %s/%s: %w", scope, key, err)
	}
	return n == 1, nil
}

// PruneIdempotencyKeys forgets the keys claimed before a time and returns how many it forgot. Retries
// come within minutes (Slack) or hours (CI), so keys need not be kept for ever.
func (tx *Tx) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := tx.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, millis(before))
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return n, nil
}

// GetIdempotencyKey returns the record of (scope, key), or ErrNotFound when it was never claimed.
func (q queries) GetIdempotencyKey(ctx context.Context, scope, key string) (*IdempotencyRecord, error) {
	r, err := scanIdempotency(q.q.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
		WHERE scope = ? AND key = ?`, scope, key))
	if err != nil {
		return nil, fmt.Errorf("get idempotency key %s/%s: %w", scope, key, classify(err))
	}
	return r, nil
}
