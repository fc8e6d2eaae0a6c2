// Package store keeps all of shipgate's state in one SQLite file: deliveries, sequence and task runs,
// Keptn events, approvals and votes, evaluations, chat message references, idempotency keys and the audit
// log. It is the only package that speaks SQL; callers use typed functions.
//
// Writes go through a single connection, one transaction at a time ([Store.Update]), so SQLite never
// answers "database is locked" to shipgate itself. Reads use a separate pool of read-only connections that,
// thanks to WAL, run alongside the writer and see the last committed state.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

// readConns is the size of the read pool: enough for the HTTP API, the bot and the engine to read at once
// on a small machine, while each connection keeps its own page cache.
const readConns = 4

// Store is an open shipgate database. Its read methods use the read pool; writes happen in [Store.Update].
type Store struct {
	queries // reads, bound to the read pool

	path        string
	writer      *sql.DB
	reader      *sql.DB
	checkpoints *checkpointer
	// Prepared statements of each pool.
	writerStmts *stmtCache
	readerStmts *stmtCache
	now         func() time.Time
	log         *slog.Logger
	health      writeHealth   // outcome of the last writes, for readiness
	busyTimeout time.Duration // how long a write waits for a lock another process holds
	commits     atomic.Uint64 // write transactions committed since Open
}

// Commits is how many write transactions the store has committed since it was opened: what a request
// costs in commits, the dearest thing it does, can be counted with it.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock every stored timestamp comes from; tests pass a fake one. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithLogger sets where the store reports migrations and failed rollbacks. The default discards.
func WithLogger(log *slog.Logger) Option {
	return func(s *Store) { s.log = log }
}

// DefaultBusyTimeout is how long a write waits for the write lock while another process (a backup,
// sqlite3 run by hand) holds it, before it fails with SQLITE_BUSY.
const DefaultBusyTimeout = 5 * time.Second

// WithBusyTimeout sets how long a write waits for a lock another process holds; the default is
// DefaultBusyTimeout. Tests rehearsing a held lock shorten it.
func WithBusyTimeout(d time.Duration) Option {
	return func(s *Store) { s.busyTimeout = d }
}

// Open opens, and creates if needed, the database file at path and its parent directory, and applies the
// migrations it does not have yet. It refuses a database written by a newer shipgate (ErrSchemaTooNew).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now, log: slog.New(slog.DiscardHandler), busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		opt(s)
	}
	if err := s.open(ctx); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) (err error) {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = s.Close() // the open error is the one worth reporting
		}
	}()

	if err := createWithPageSize(ctx, abs); err != nil {
		return err
	}

	// busy_timeout comes first so the pragmas after it wait for another process instead of failing.
	// _txlock=immediate makes every write transaction take the write lock at BEGIN: a deferred one
	// that reads first and then writes could fail with SQLITE_BUSY halfway through.
	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", s.busyTimeout.Milliseconds())
	s.writer, err = sql.Open("sqlite", dsn(abs, "_txlock=immediate",
		busy,
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=wal_autocheckpoint(0)", // see checkpointer
		// Savepoints (Tx.Savepoint) and statement journals stay in memory: a request's part needs no
		// temporary file opened and written for each.
		"_pragma=temp_store(MEMORY)",
		fmt.Sprintf("_pragma=journal_size_limit(%d)", walSizeLimit)))
	if err != nil {
		return err
	}
	s.writer.SetMaxOpenConns(1)

	if err := s.checkWriter(ctx); err != nil {
		return err
	}
	if _, err := migrate(ctx, s.writer, migrations, s.log); err != nil {
		return err
	}

	// journal_mode is a property of the file, set by the writer above; readers do not repeat it.
	s.reader, err = sql.Open("sqlite", dsn(abs,
		"_pragma=busy_timeout(5000)",
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)"))
	if err != nil {
		return err
	}
	s.reader.SetMaxOpenConns(readConns)
	s.reader.SetMaxIdleConns(readConns)
	s.checkpoints, err = newCheckpointer(ctx, abs, s.writer, defaultCheckpointConfig(),
		func(err error) { s.log.Warn("checkpoint store", "err", err) })
	if err != nil {
		return err
	}
	s.writerStmts, s.readerStmts = newStmtCache(s.writer), newStmtCache(s.reader)
	s.queries = queries{q: cachedQuerier{cache: s.readerStmts}}
	return s.Ping(ctx)
}

// dsn builds a file: URI for the driver. Going through url.URL escapes '?', '#' and '%' in the path,
// which a plain file name with a query appended would not survive.
func dsn(absPath string, params ...string) string {
	p := filepath.ToSlash(absPath)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // file:///C:/... on Windows
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: strings.Join(params, "&")}
	return u.String()
}

// checkWriter verifies the pragmas took effect: PRAGMA journal_mode=WAL does not fail when SQLite cannot
// switch, it reports the mode it kept, and without WAL readers would block the writer.
func (s *Store) checkWriter(ctx context.Context) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var fk bool
	if err := s.writer.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	if !fk {
		return errors.New("foreign keys are not enforced")
	}
	return nil
}

// Ping checks that the database can be read; /readyz uses it, and [Store.CheckWritable] for writes. It
// does not wait for the writer's one connection, which a long transaction, or one waiting for a lock
// another process holds, may keep busy: that says nothing about whether the file answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store readers: %w", err)
	}
	return nil
}

// Close closes both pools. Callers must not use the store afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, c := range []*stmtCache{s.readerStmts, s.writerStmts} {
		if c != nil {
			errs = append(errs, c.close())
		}
	}
	if s.checkpoints != nil {
		errs = append(errs, s.checkpoints.close())
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// pageSize is the page size of a database shipgate creates. Every page a commit changes is written to
// the WAL whole, and a task's transaction changes about ten (a row and an index entry or two in each of
// events, task_runs, sequence_runs, deliveries), each in a different B-tree: with SQLite's default of
// 4 KB that was about 45 KB of WAL per task for a few hundred bytes of data. With 1 KB pages the same
// transaction writes about 12 KB; rows larger than a page (event payloads) take overflow pages as before,
// byte for byte about the same. A database created with another page size keeps it (changing it needs a
// VACUUM outside WAL mode).
const pageSize = 1024

// createWithPageSize creates the database file at path with pageSize pages, unless it exists already.
// The page size must be set before anything is written, and the driver runs the writer's pragmas in
// alphabetical order, journal_mode (which writes the file's first page) before page_size; so a connection
// of its own creates the file first.
func createWithPageSize(ctx context.Context, path string) error {
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, pragma := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("create database: %s: %w", pragma, err)
		}
	}
	return db.Close()
}
