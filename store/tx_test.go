package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestUpdateCommitsAllWrites(t *testing.T) {
	s, _ := newStore(t)
	d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
	a := &AuditEntry{Actor: "U1", Action: "delivery.trigger", Allowed: true}
	update(t, s, func(tx *Tx) error {
		if err := tx.CreateDelivery(t.Context(), d); err != nil {
			return err
		}
		a.Target = "delivery:1"
		return tx.AppendAudit(t.Context(), a)
	})
	if _, err := s.GetDelivery(t.Context(), d.ID); err != nil {
		t.Errorf("delivery not committed: %v", err)
	}
	if as, err := s.ListAudit(t.Context(), AuditQuery{}); err != nil || len(as) != 1 {
		t.Errorf("audit entries = %v, %v; want the one appended", as, err)
	}
}

func TestUpdateRollsBack(t *testing.T) {
	errBoom := errors.New("executor unreachable")
	tests := []struct {
		name string
		end  func() error // how fn ends after its writes
	}{
		{"error", func() error { return errBoom }},
		{"panic", func() error { panic(errBoom) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			var err error
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				err = s.Update(t.Context(), func(tx *Tx) error {
					d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
					if err := tx.CreateDelivery(t.Context(), d); err != nil {
						return err
					}
					if err := tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Action: "delivery.trigger"}); err != nil {
						return err
					}
					return tt.end()
				})
			}()
			if !errors.Is(err, errBoom) && recovered != errBoom {
				t.Fatalf("Update returned %v and panicked with %v, want %v from one of them", err, recovered, errBoom)
			}

			ds, err := s.ListDeliveries(t.Context(), DeliveryQuery{})
			if err != nil || len(ds) != 0 {
				t.Errorf("deliveries after rollback = %d, %v; want none", len(ds), err)
			}
			as, err := s.ListAudit(t.Context(), AuditQuery{})
			if err != nil || len(as) != 0 {
				t.Errorf("audit entries after rollback = %d, %v; want none", len(as), err)
			}
			// The writer connection went back to the pool: the next transaction runs.
			seedDelivery(t, s)
		})
	}
}

func TestTxReadsItsOwnWrites(t *testing.T) {
	s, _ := newStore(t)
	update(t, s, func(tx *Tx) error {
		d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
		if err := tx.CreateDelivery(t.Context(), d); err != nil {
			return err
		}
		if _, err := tx.GetDelivery(t.Context(), d.ID); err != nil {
			t.Errorf("Tx.GetDelivery of its own write: %v", err)
		}
		if _, err := s.GetDelivery(t.Context(), d.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Store.GetDelivery before commit: got %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestTxNowIsTheClockToTheMillisecond(t *testing.T) {
	s, c := newStore(t)
	var first, second time.Time
	update(t, s, func(tx *Tx) error {
		first = tx.Now()
		c.Advance(time.Minute) // time within one transaction stands still
		second = tx.Now()
		return nil
	})
	want := c.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if first != want || second != want {
		t.Errorf("tx.Now() = %v then %v, want %v both times", first, second, want)
	}
}

func TestReadersRunWhileWriting(t *testing.T) {
	s, _ := newStore(t)
	d := seedDelivery(t, s)
	const writes, readers = 200, 4

	done := make(chan struct{})
	errs := make(chan error, readers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range writes {
			err := s.Update(t.Context(), func(tx *Tx) error {
				return tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Action: "delivery.status", Target: "delivery:1"})
			})
			if err != nil {
				errs <- err
				return
			}
		}
	})
	for range readers {
		wg.Go(func() {
			for {
				if _, err := s.GetDelivery(t.Context(), d.ID); err != nil {
					errs <- err
					return
				}
				if _, err := s.ListAudit(t.Context(), AuditQuery{Limit: 10}); err != nil {
					errs <- err
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent access: %v", err)
	}
	as, err := s.ListAudit(t.Context(), AuditQuery{})
	if err != nil || len(as) != writes {
		t.Errorf("audit entries = %d, %v; want %d", len(as), err, writes)
	}
}
