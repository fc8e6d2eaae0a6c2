package store

import (
	"context"
	"path/filepath"
	"testing"
)

// Every read of a View sees the state of its first read, though a write commits between two of them.
func TestViewReadsOneState(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	d := seedDelivery(t, s)
	var before, during string
	err := s.View(ctx, func(sn *Snapshot) error {
		got, err := sn.GetDelivery(ctx, d.ID)
		if err != nil {
			return err
		}
		before = got.Message
		msg := "changed while the view reads"
		if err := s.Update(context.Background(), func(tx *Tx) error {
			_, err := tx.UpdateDelivery(ctx, d.ID, DeliveryUpdate{Message: &msg})
			return err
		}); err != nil {
			return err
		}
		got, err = sn.GetDelivery(ctx, d.ID)
		if err != nil {
			return err
		}
		during = got.Message
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if during != before {
		t.Errorf("the view's second read saw %q, its first %q", during, before)
	}
	after, err := s.GetDelivery(ctx, d.ID)
	if err != nil || after.Message != "changed while the view reads" {
		t.Errorf("after the view: %+v %v", after, err)
	}
}

// A Reader's View reads as the Reader does, and refuses writes as it does.
func TestReaderView(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx *Tx) error {
		return tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Action: "delivery.trigger", Target: "delivery:1", Allowed: true})
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.View(t.Context(), func(sn *Snapshot) error {
		entries, err := sn.ListAudit(t.Context(), AuditQuery{Target: "delivery:1", OldestFirst: true})
		if err != nil || len(entries) != 1 || entries[0].Actor != "U1" {
			t.Errorf("ListAudit in a view = %v, %v; want U1's entry", entries, err)
		}
		_, err = sn.q.ExecContext(t.Context(), `INSERT INTO audit_log (at, actor, action, allowed) VALUES (1, 'mallory', 'delivery.trigger', 1)`)
		if err == nil {
			t.Error("a write in a reader's view was taken")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
