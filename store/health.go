package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// ErrUnwritable wraps the cause when the database does not take writes: the disk is full, the file
// cannot be written, or another process holds the write lock past the busy timeout.
var ErrUnwritable = errors.New("database does not take writes")

// IsTransient reports whether err is a failure of the database file rather than of the request: the disk
// is full, an I/O error, the file turned read-only or cannot be opened, or the write lock stayed taken
// past the busy timeout. The same write may succeed once the fault clears, so it is worth retrying;
// anything else (not found, a conflict, a bad value) would fail again.
func IsTransient(err error) bool {
	if errors.Is(err, ErrUnwritable) {
		return true
	}
	switch sqliteCode(err) & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM:
		return true
	}
	return false
}

// Readiness windows. A write that failed makes the store unwritable until a later write succeeds; when
// the last outcome is older than probeAfter, CheckWritable writes a probe row to learn the present.
const probeAfter = 5 * time.Second

// writeHealth remembers the outcome of the last write, so that readiness can answer from what the engine
// and the API saw instead of writing on every probe.
type writeHealth struct {
	errors atomic.Uint64 // failed writes since Open, for shipgate_store_write_errors_total

	mu     sync.Mutex
	okAt   time.Time // last write that committed
	failAt time.Time // last write that failed with a transient error
	fail   error
	probe  chan struct{} // closed when the probe in flight ends; nil when none is
}

// record notes the outcome of one write transaction. Only failures of the database itself count: a
// refused request (not found, a conflict) says nothing about whether the file takes writes.
func (h *writeHealth) record(at time.Time, err error) {
	switch {
	case err == nil:
		h.mu.Lock()
		h.okAt = at
		h.mu.Unlock()
	case IsTransient(err):
		h.errors.Add(1)
		h.mu.Lock()
		h.failAt, h.fail = at, err
		h.mu.Unlock()
	}
}

// failure is the error of the last write when it failed after the last one that committed, or nil.
// Call it with mu held.
func (h *writeHealth) failure() error {
	if h.fail != nil && h.failAt.After(h.okAt) {
		return h.fail
	}
	return nil
}

// WriteErrors is how many write transactions have failed since Open because the database did not take
// them (disk full, I/O error, write lock held elsewhere): shipgate_store_write_errors_total.
func (s *Store) WriteErrors() uint64 { return s.health.errors.Load() }

// CheckWritable reports whether the database takes writes, wrapping ErrUnwritable when it does not.
// It answers from the last write's outcome when that is recent; otherwise it commits a one-row probe,
// waiting for it no longer than ctx allows (a probe that has not finished by then counts as a failure,
// and goes on in the background to record its outcome). Concurrent callers share one probe.
func (s *Store) CheckWritable(ctx context.Context) error {
	h := &s.health
	now := time.Now()
	h.mu.Lock()
	failed := h.failure()
	switch {
	case failed != nil && now.Sub(h.failAt) < probeAfter:
		h.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrUnwritable, failed)
	case failed == nil && now.Sub(h.okAt) < probeAfter:
		h.mu.Unlock()
		return nil
	}
	done := h.probe
	if done == nil {
		done = make(chan struct{})
		h.probe = done
		go s.runProbe(done)
	}
	h.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("%w: a one-row write did not commit within the readiness timeout", ErrUnwritable)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failure(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnwritable, err)
	}
	return nil
}

// runProbe writes the probe row. It runs detached from the caller's context, so that a probe stuck
// behind a held write lock still records how it ended (which a later check then reports).
func (s *Store) runProbe(done chan struct{}) {
	defer func() {
		s.health.mu.Lock()
		s.health.probe = nil
		s.health.mu.Unlock()
		close(done)
	}()
	err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.tx.ExecContext(context.Background(),
			`INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, millis(tx.now))
		return err
	})
	if err != nil && !IsTransient(err) {
		// Not a fault of the file (a closed store, a bug): still not writable, as far as anyone can tell.
		s.health.record(time.Now(), fmt.Errorf("%w: %w", ErrUnwritable, err))
	}
}
