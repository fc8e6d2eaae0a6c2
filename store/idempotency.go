package store

import (
	"context"
	"encoding/json"
	"errors"
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

// ClaimIdempotencyKey claims (scope, key) for this transaction. The first claim returns the new record
// and true; any later one returns the first record and false, and the caller answers as before instead
// of acting again. Claim, act and SetIdempotencyResult in the same transaction, so that a failure
// releases the claim and a retry can act.
func (tx *Tx) ClaimIdempotencyKey(ctx context.Context, scope, key string) (*IdempotencyRecord, bool, error) {
	r, err := scanIdempotency(tx.q.QueryRowContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, created_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING
		RETURNING `+idempotencyColumns, scope, key, millis(tx.now)))
	if err == nil {
		return r, true, nil
	}
	if err = classify(err); !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("claim idempotency key %s/%s: %w", scope, key, err)
	}
	// Nothing was inserted: the key is claimed already.
	r, err = tx.GetIdempotencyKey(ctx, scope, key)
	if err != nil {
		return nil, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return r, false, nil
}

// SetIdempotencyResult records what a claimed key's request led to. It returns ErrNotFound when the key
// was never claimed.
func (tx *Tx) SetIdempotencyResult(ctx context.Context, scope, key string, deliveryID int64, response json.RawMessage) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE idempotency_keys SET delivery_id = ?, response = ?
		WHERE scope = ? AND key = ?`, nullID(deliveryID), rawJSON(response), scope, key)
	if err != nil {
		return fmt.Errorf("set result of idempotency key %s/%s: %w", scope, key, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("set result of idempotency key %s/%s: %w", scope, key, err)
	}
	if n == 0 {
		return fmt.Errorf("set result of idempotency key %s/%s: %w", scope, key, ErrNotFound)
	}
	return nil
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

// ReleaseIdempotencyKey forgets a claim whose request failed before it changed anything, so that a
// retry of the request can act. Use it when the claim and the action cannot share a transaction.
func (tx *Tx) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	if _, err := tx.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key); err != nil {
		return fmt.Errorf("release idempotency key %s/%s: %w", scope, key, classify(err))
	}
	return nil
}
