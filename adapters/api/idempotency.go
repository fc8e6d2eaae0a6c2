package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shipgate/shipgate/store"
)

// IdempotencyHeader names a trigger so that retrying it (after a timeout, a lost answer) returns the
// delivery the first attempt created instead of starting a second. ReplayedHeader marks such an answer.
const (
	IdempotencyHeader = "Idempotency-Key"
	ReplayedHeader    = "Idempotent-Replayed"
)

// maxKeyLength bounds an Idempotency-Key; a UUID or a CI run id with its attempt fits many times over.
const maxKeyLength = 255

// triggerScope keeps the API's record of its triggers apart from the other keys in the store.
const triggerScope = "api.trigger"

// checkKey validates a client's Idempotency-Key, returning a message for the caller or "".
func checkKey(key string) string {
	if len(key) > maxKeyLength {
		return fmt.Sprintf("%s is longer than %d characters", IdempotencyHeader, maxKeyLength)
	}
	for _, r := range key {
		if r < 0x20 || r > 0x7e {
			return IdempotencyHeader + " must be printable ASCII"
		}
	}
	return ""
}

// once triggers a delivery for a scoped key the first time and remembers which one; a repeat returns
// that delivery and replayed true without triggering. Repeats arriving while the first is being handled
// wait for it, so both see one delivery and only the first says it created it. The engine is given the
// key too, so that even a crash between its commit and this record cannot start a second delivery.
// Without a key, trigger just runs.
func (a *API) once(ctx context.Context, key string, trigger func(engineKey string) (int64, error)) (id int64, replayed bool, err error) {
	if key == "" {
		id, err = trigger("")
		return id, false, err
	}
	unlock, err := a.keys.lock(ctx, key)
	if err != nil {
		return 0, false, err
	}
	defer unlock()
	rec, err := a.st.GetIdempotencyKey(ctx, triggerScope, key)
	switch {
	case err == nil && rec.DeliveryID != 0:
		return rec.DeliveryID, true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, false, fmt.Errorf("read idempotency key: %w", err)
	}
	if id, err = trigger(key); err != nil {
		return 0, false, err
	}
	err = a.st.Update(ctx, func(tx *store.Tx) error {
		if _, claimed, err := tx.ClaimIdempotencyKey(ctx, triggerScope, key); err != nil || !claimed {
			return err
		}
		return tx.SetIdempotencyResult(ctx, triggerScope, key, id, nil)
	})
	if err != nil {
		// The delivery exists and the engine knows the key, so a retry still finds it; say it was made.
		a.log.Error("record idempotency key", "delivery", id, "err", err)
	}
	return id, false, nil
}

// keyLocks serialises requests that carry the same idempotency key. shipgate is one process writing
// one database, so an in-memory lock is enough to make "first or repeat" exact.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the holder unlocks
}

func newKeyLocks() *keyLocks { return &keyLocks{held: map[string]chan struct{}{}} }

// lock waits until no other request holds key, or ctx ends, and returns the function that releases it.
func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	for {
		k.mu.Lock()
		busy, ok := k.held[key]
		if !ok {
			done := make(chan struct{})
			k.held[key] = done
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.held, key)
				k.mu.Unlock()
				close(done)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
