package store

import (
	"database/sql"
	"errors"
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

// A cached statement stopped in the middle of its result keeps a read transaction open on its connection,
// and that snapshot pins the WAL: no checkpoint can restart it. Reads through the cache end their
// statements (closing rows resets a cached statement), so once they are done, on every connection of the
// read pool, a TRUNCATE checkpoint empties the WAL without waiting for anyone.
func TestCachedReadsKeepNoSnapshot(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	var d *Delivery
	for range 3 {
		d = seedDelivery(t, s)
	}

	// Hold a query open on each read connection and read one row of its three.
	var open []*sql.Rows
	for range readConns {
		rows, err := s.queries.q.QueryContext(ctx, `SELECT id FROM deliveries`)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatal("no delivery")
		}
		open = append(open, rows)
	}
	for _, rows := range open {
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// And the shapes the read methods use: a single row of many, lists, and a read that finds nothing.
	var id int64
	if err := s.queries.q.QueryRowContext(ctx, `SELECT id FROM deliveries`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListDeliveries(ctx, DeliveryQuery{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListEvents(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDelivery(ctx, d.ID+1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDelivery of a missing delivery: %v", err)
	}

	ckpt, err := sql.Open("sqlite", dsn(s.checkpoints.path, "_pragma=busy_timeout(0)"))
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	var busy, frames, copied int
	if err := ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Errorf("TRUNCATE checkpoint blocked (%d of %d frames copied): a read connection kept its snapshot", copied, frames)
	}
	if n, err := s.WALBytes(); err != nil || n != 0 {
		t.Errorf("WAL is %d bytes (%v) after TRUNCATE, want 0", n, err)
	}
}
