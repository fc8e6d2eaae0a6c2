package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRecordIdempotencyKey(t *testing.T) {
	s, c := newStore(t)
	at := c.Stored()

	// CI triggers a delivery with an Idempotency-Key: look, create, record the answer, in one transaction.
	var d *Delivery
	update(t, s, func(tx *Tx) error {
		if _, err := tx.GetIdempotencyKey(t.Context(), "api", "ci-run-8812"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown key: %v, want ErrNotFound", err)
		}
		d = &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
		if err := tx.CreateDelivery(t.Context(), d); err != nil {
			return err
		}
		fresh, err := tx.RecordIdempotencyKey(t.Context(), "api", "ci-run-8812", d.ID, json.RawMessage(`{"id":1}`))
		if !fresh {
			t.Error("first record of a key not fresh")
		}
		return err
	})

	// CI retries: the key answers with the first request's outcome; recording it again records nothing.
	c.Advance(time.Minute)
	want := IdempotencyRecord{Scope: "api", Key: "ci-run-8812", DeliveryID: d.ID, Response: json.RawMessage(`{"id":1}`), CreatedAt: at}
	got, err := s.GetIdempotencyKey(t.Context(), "api", "ci-run-8812")
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("GetIdempotencyKey = %+v, %v; want %+v", got, err, want)
	}
	update(t, s, func(tx *Tx) error {
		fresh, err := tx.RecordIdempotencyKey(t.Context(), "api", "ci-run-8812", 0, json.RawMessage(`{"id":2}`))
		if fresh {
			t.Error("a key recorded twice")
		}
		return err
	})
	if got, _ := s.GetIdempotencyKey(t.Context(), "api", "ci-run-8812"); !reflect.DeepEqual(*got, want) {
		t.Errorf("after a second record: %+v, want the first kept", got)
	}

	// The same key in another scope is another request.
	update(t, s, func(tx *Tx) error {
		fresh, err := tx.RecordIdempotencyKey(t.Context(), "slack", "ci-run-8812", 0, nil)
		if !fresh {
			t.Error("a key in another scope was taken")
		}
		return err
	})
}

// A request that fails rolls its key back with everything else, so that a retry can act.
func TestFailedRequestLeavesNoKey(t *testing.T) {
	s, _ := newStore(t)
	errHelm := errors.New("chart not found")
	err := s.Update(t.Context(), func(tx *Tx) error {
		if _, err := tx.RecordIdempotencyKey(t.Context(), "discord", "interaction-1", 0, nil); err != nil {
			return err
		}
		return errHelm
	})
	if !errors.Is(err, errHelm) {
		t.Fatal(err)
	}
	if _, err := s.GetIdempotencyKey(t.Context(), "discord", "interaction-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("key of a failed request: %v, want ErrNotFound", err)
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	s, c := newStore(t)
	keys := []string{"a", "b", "c"} // recorded one hour apart
	var recorded []time.Time
	for _, k := range keys {
		recorded = append(recorded, c.Advance(time.Hour))
		update(t, s, func(tx *Tx) error {
			_, err := tx.RecordIdempotencyKey(t.Context(), "slack", k, 0, nil)
			return err
		})
	}
	var pruned int64
	update(t, s, func(tx *Tx) (err error) {
		pruned, err = tx.PruneIdempotencyKeys(t.Context(), recorded[2])
		return err
	})
	if pruned != 2 {
		t.Errorf("pruned %d keys, want 2", pruned)
	}
	for i, k := range keys {
		_, err := s.GetIdempotencyKey(t.Context(), "slack", k)
		if kept := err == nil; kept != (i == 2) {
			t.Errorf("key %s kept = %v (%v), want only the newest kept", k, kept, err)
		}
	}
}
