package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// querier is what *sql.DB and *sql.Tx have in common: reads run on either.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds the read functions. Embedded in Store it reads from the read pool; embedded in Tx it
// reads inside the write transaction and so sees that transaction's own writes.
type queries struct {
	q querier
}

// Tx is one write transaction, handed to the function given to [Store.Update]. It has every read method
// of Store as well, reading its own uncommitted writes.
type Tx struct {
	queries

	tx  *sql.Tx
	now time.Time
}

// Now is the time of the transaction, read once from the store's clock when it began, so every row it
// writes carries the same timestamp. It has millisecond precision, as stored.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in one write transaction and commits it if fn returns nil. If fn returns an error or
// panics, nothing fn wrote is kept; the error is returned as is and the panic continues.
//
// Writes are serialised: Update waits for the transaction before it to finish, so fn should not wait on
// anything slow, such as a chat API or an executor. fn must not call Update itself, which would wait for
// ever for the connection fn holds.
//
// Every outcome is remembered for [Store.CheckWritable]: a failure of the database itself (disk full, I/O
// error, write lock held elsewhere; see [IsTransient]) makes the store unwritable until a write commits.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	err := s.update(ctx, fn)
	s.health.record(time.Now(), err)
	return err
}

func (s *Store) update(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	var misses []string
	tx := &Tx{queries: queries{q: cachedQuerier{cache: s.writerStmts, tx: sqlTx, misses: &misses}}, tx: sqlTx, now: normalizeTime(s.now())}
	// Once the transaction is over and the writer's connection free, prepare what it ran unprepared.
	defer func() {
		if ctx.Err() != nil {
			return
		}
		for _, q := range misses {
			if _, err := s.writerStmts.prepare(ctx, q); err != nil {
				s.log.WarnContext(ctx, "prepare store statement", "err", err)
			}
		}
	}()

	ended := false
	defer func() {
		if ended {
			return
		}
		// Runs on error and while a panic unwinds; the panic itself carries on after the rollback.
		// ErrTxDone means database/sql already rolled back because ctx ended.
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			s.log.ErrorContext(ctx, "roll back store transaction", "err", rbErr)
		}
	}()

	if err := fn(tx); err != nil {
		return err
	}
	ended = true // a failed commit ends the transaction too
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit write transaction: %w", err)
	}
	s.commits.Add(1)
	if n, ok := ctx.Value(commitCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	s.checkpoints.committed()
	return nil
}

type commitCounterKey struct{}

// CountCommits returns a context under which every write transaction the store commits is counted in
// the returned counter: a test hands it to one request and learns how many commits the request cost,
// whatever else commits meanwhile.
func CountCommits(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, commitCounterKey{}, n), n
}

// Savepoint runs fn inside the transaction so that, if fn returns an error, what fn wrote is undone and
// what the transaction wrote before it is kept: one part of a request can fail and be refused while the
// rest (the audit of the refusal, the request's answer) commits. The error is returned as is.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := tx.q.ExecContext(ctx, `SAVEPOINT part`); err != nil {
		return fmt.Errorf("savepoint: %w", classify(err))
	}
	if err := fn(); err != nil {
		// Undone, then released: the savepoint leaves no trace but its rollback.
		if _, rbErr := tx.q.ExecContext(ctx, `ROLLBACK TO part`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", classify(rbErr)))
		}
		if _, rbErr := tx.q.ExecContext(ctx, `RELEASE part`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint: %w", classify(rbErr)))
		}
		return err
	}
	if _, err := tx.q.ExecContext(ctx, `RELEASE part`); err != nil {
		return fmt.Errorf("release savepoint: %w", classify(err))
	}
	return nil
}
