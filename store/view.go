package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Snapshot is a read transaction, handed to the function given to [Store.View]: every read in it sees
// the database as one committed state, the one at its first read, whatever commits meanwhile. A document
// read in several queries (the evidence pack) is then consistent across them.
type Snapshot struct {
	queries
}

// View runs fn in a read transaction on the read pool. Thanks to WAL it neither waits for nor holds up the
// writer; it holds a read connection until fn returns, so fn should only read.
func (s *Store) View(ctx context.Context, fn func(*Snapshot) error) error {
	return view(ctx, s.readerStmts, fn)
}

// View runs fn in a read transaction, as [Store.View] does.
func (r *Reader) View(ctx context.Context, fn func(*Snapshot) error) error {
	return view(ctx, r.stmts, fn)
}

func view(ctx context.Context, cache *stmtCache, fn func(*Snapshot) error) error {
	tx, err := cache.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	// Statements not prepared yet run unprepared: the cache is prepared on the pool, not in transactions.
	var misses []string
	err = fn(&Snapshot{queries{q: cachedQuerier{cache: cache, tx: tx, misses: &misses}}})
	if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && err == nil {
		err = fmt.Errorf("end read transaction: %w", rbErr)
	}
	return err
}
