package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds the cache. List queries build their WHERE clause from the filters set, so the
// number of distinct texts is small but not fixed.
const maxCachedStmts = 256

// stmtCache prepares each SQL text once per pool and reuses it. SQLite parses a statement every time it
// is prepared, and before the cache, parsing took a quarter of the CPU time of an engine transition.
//
// A prepared statement stopped in the middle of its result would keep a read transaction open on its
// connection between uses, and that snapshot would stop the WAL from ever restarting. The driver resets
// a cached statement when its rows are closed, and every read closes them (collect, Row.Scan), so an idle
// connection holds no snapshot; TestCachedReadsKeepNoSnapshot checks it.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

// lookup returns the prepared statement for query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// prepare prepares query on the pool unless it is cached or the cache is full. It takes a connection
// from the pool, so on the one-connection writer it must not run inside a transaction.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if s := c.lookup(query); s != nil {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok || len(c.stmts) >= maxCachedStmts {
		s.Close()
		return prev, nil
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.Close())
	}
	c.stmts = map[string]*sql.Stmt{}
	return errors.Join(errs...)
}

// cachedQuerier runs queries through the cache's prepared statements. Outside a transaction (the read
// pool) it prepares what is missing at once. Inside one (tx set) it cannot: the writer's only connection
// is the transaction's, so a missing statement runs unprepared and is noted in misses, to be prepared
// once the transaction is over (see Store.Update); later transactions reuse it.
type cachedQuerier struct {
	cache  *stmtCache
	tx     *sql.Tx
	misses *[]string
}

// stmt returns a statement to run query with, or nil to run it unprepared.
func (q cachedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.tx == nil {
		s, err := q.cache.prepare(ctx, query)
		if err != nil {
			return nil // running it unprepared reports the error
		}
		return s
	}
	s := q.cache.lookup(query)
	if s == nil {
		*q.misses = append(*q.misses, query)
		return nil
	}
	return q.tx.StmtContext(ctx, s)
}

func (q cachedQuerier) direct() querier {
	if q.tx != nil {
		return q.tx
	}
	return q.cache.db
}

func (q cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return q.direct().ExecContext(ctx, query, args...)
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return q.direct().QueryContext(ctx, query, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return q.direct().QueryRowContext(ctx, query, args...)
}
