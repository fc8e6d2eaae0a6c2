package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestClaimIdempotencyKey(t *testing.T) {
	s, c := newStore(t)
	claimedAt := c.Stored()

	// CI triggers a delivery with an Idempotency-Key: claim, create, record the answer, in one transaction.
	var d *Delivery
	update(t, s, func(tx *Tx) error {
		rec, claimed, err := tx.ClaimIdempotencyKey(t.Context(), "api", "ci-run-8812")
		if err != nil {
			return err
		}
		if !claimed || !reflect.DeepEqual(*rec, IdempotencyRecord{Scope: "api", Key: "ci-run-8812", CreatedAt: claimedAt}) {
			t.Errorf("first claim = %+v, %v; want a new record and true", rec, claimed)
		}
		d = &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
		if err := tx.CreateDelivery(t.Context(), d); err != nil {
			return err
		}
		return tx.SetIdempotencyResult(t.Context(), "api", "ci-run-8812", d.ID, json.RawMessage(`{"id":1}`))
	})

	// CI retries: the key answers with the first request's outcome and nothing is created.
	c.Advance(time.Minute)
	want := IdempotencyRecord{Scope: "api", Key: "ci-run-8812", DeliveryID: d.ID, Response: json.RawMessage(`{"id":1}`), CreatedAt: claimedAt}
	update(t, s, func(tx *Tx) error {
		rec, claimed, err := tx.ClaimIdempotencyKey(t.Context(), "api", "ci-run-8812")
		if err != nil {
			return err
		}
		if claimed || !reflect.DeepEqual(*rec, want) {
			t.Errorf("repeated claim = %+v, %v; want the first record and false", rec, claimed)
		}
		return nil
	})
	got, err := s.GetIdempotencyKey(t.Context(), "api", "ci-run-8812")
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("GetIdempotencyKey = %+v, %v; want %+v", got, err, want)
	}

	// The same key in another scope is another request.
	update(t, s, func(tx *Tx) error {
		if _, claimed, err := tx.ClaimIdempotencyKey(t.Context(), "slack", "ci-run-8812"); err != nil || !claimed {
			t.Errorf("claim in another scope = %v, %v; want claimed", claimed, err)
		}
		return nil
	})
}

func TestFailedRequestReleasesItsClaim(t *testing.T) {
	s, _ := newStore(t)
	errHelm := errors.New("chart not found")
	err := s.Update(t.Context(), func(tx *Tx) error {
		if _, _, err := tx.ClaimIdempotencyKey(t.Context(), "discord", "interaction-1"); err != nil {
			return err
		}
		return errHelm
	})
	if !errors.Is(err, errHelm) {
		t.Fatal(err)
	}
	update(t, s, func(tx *Tx) error {
		if _, claimed, err := tx.ClaimIdempotencyKey(t.Context(), "discord", "interaction-1"); err != nil || !claimed {
			t.Errorf("claim after a rolled-back claim = %v, %v; want claimed", claimed, err)
		}
		return nil
	})
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	s, _ := newStore(t)
	const clicks = 8 // Slack delivering the same click several times at once
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		records []IdempotencyRecord
	)
	for range clicks {
		wg.Go(func() {
			err := s.Update(t.Context(), func(tx *Tx) error {
				rec, claimed, err := tx.ClaimIdempotencyKey(t.Context(), "slack", "click-42")
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				if claimed {
					winners++
				}
				records = append(records, *rec)
				return nil
			})
			if err != nil {
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d claims won, want exactly 1", winners)
	}
	for _, r := range records {
		if !reflect.DeepEqual(r, records[0]) {
			t.Errorf("claims saw different records: %+v and %+v", r, records[0])
		}
	}
}

func TestSetIdempotencyResultNeedsAClaim(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.SetIdempotencyResult(t.Context(), "api", "never-claimed", 0, nil)
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("SetIdempotencyResult of an unclaimed key = %v, want ErrNotFound", err)
	}
	if _, err := s.GetIdempotencyKey(t.Context(), "api", "never-claimed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIdempotencyKey of an unclaimed key = %v, want ErrNotFound", err)
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	s, c := newStore(t)
	keys := []string{"a", "b", "c"} // claimed one hour apart
	var claimed []time.Time
	for _, k := range keys {
		claimed = append(claimed, c.Advance(time.Hour))
		update(t, s, func(tx *Tx) error {
			_, _, err := tx.ClaimIdempotencyKey(t.Context(), "slack", k)
			return err
		})
	}
	var pruned int64
	update(t, s, func(tx *Tx) (err error) {
		pruned, err = tx.PruneIdempotencyKeys(t.Context(), claimed[2])
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

func TestReleaseIdempotencyKey(t *testing.T) {
	s, _ := newStore(t)
	claim := func() bool {
		var first bool
		update(t, s, func(tx *Tx) (err error) {
			_, first, err = tx.ClaimIdempotencyKey(t.Context(), "slack", "T1")
			return err
		})
		return first
	}
	if !claim() {
		t.Fatal("first claim lost")
	}
	update(t, s, func(tx *Tx) error { return tx.ReleaseIdempotencyKey(t.Context(), "slack", "T1") })
	if !claim() {
		t.Error("a released key could not be claimed again")
	}
	if claim() {
		t.Error("a claimed key was claimed twice")
	}
}
