package store

import (
	"testing"
)

// A statement first run inside a write transaction is prepared once the transaction is over and reused by
// the next; reads outside transactions are prepared on first use.
func TestStatementsArePreparedOnceAndReused(t *testing.T) {
	s, _ := newStore(t)
	d := seedDelivery(t, s)
	update(t, s, func(tx *Tx) error {
		_, err := tx.GetDelivery(t.Context(), d.ID)
		return err
	})
	query := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id = ?`
	first := s.writerStmts.lookup(query)
	if first == nil {
		t.Fatal("the query run inside the transaction was not prepared after it")
	}
	update(t, s, func(tx *Tx) error {
		got, err := tx.GetDelivery(t.Context(), d.ID)
		if err == nil && got.ID != d.ID {
			t.Errorf("got delivery %d", got.ID)
		}
		return err
	})
	if s.writerStmts.lookup(query) != first {
		t.Error("the prepared statement was replaced instead of reused")
	}
	if _, err := s.GetDelivery(t.Context(), d.ID); err != nil {
		t.Fatal(err)
	}
	if s.readerStmts.lookup(query) == nil {
		t.Error("the read pool did not keep its prepared statement")
	}
}
