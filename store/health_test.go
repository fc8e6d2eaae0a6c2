package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store/storetest"
)

// fillerTable is a scratch table the fault tests grow the database with; it is not part of the schema.
func createFiller(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.writer.ExecContext(t.Context(), "CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
}

// insertFiller writes a row large enough to need new pages.
func insertFiller(ctx context.Context, s *Store) error {
	return s.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, "INSERT INTO filler (b) VALUES (zeroblob(65536))")
		return err
	})
}

// fillDisk caps the database at the pages it has, as a full disk does: SQLite then fails any write that
// needs another page with SQLITE_FULL, "database or disk is full". lift undoes it.
func fillDisk(t *testing.T, s *Store) (lift func()) {
	t.Helper()
	var pages int
	if err := s.writer.QueryRowContext(t.Context(), "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.ExecContext(t.Context(), fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := s.writer.ExecContext(context.Background(), "PRAGMA max_page_count = 1073741823"); err != nil {
			t.Error(err)
		}
	}
}

// setBusyTimeout shortens how long the writer waits for a lock another process holds.
func setBusyTimeout(t *testing.T, s *Store, d time.Duration) {
	t.Helper()
	if _, err := s.writer.ExecContext(t.Context(), fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds())); err != nil {
		t.Fatal(err)
	}
}

func TestDiskFullMakesTheStoreUnwritableUntilAWriteCommits(t *testing.T) {
	s, _ := newStore(t)
	createFiller(t, s)
	if err := insertFiller(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(t.Context()); err != nil {
		t.Fatalf("CheckWritable before the fault: %v", err)
	}

	lift := fillDisk(t, s)
	err := insertFiller(t.Context(), s)
	if err == nil || !strings.Contains(err.Error(), "database or disk is full") {
		t.Fatalf("insert on a full disk: got %v, want SQLite's disk full error", err)
	}
	if !IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true: the same write succeeds once there is room", err)
	}
	if got := s.WriteErrors(); got != 1 {
		t.Errorf("WriteErrors = %d, want 1", got)
	}
	if err := s.CheckWritable(t.Context()); !errors.Is(err, ErrUnwritable) || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("CheckWritable on a full disk: got %v, want ErrUnwritable naming the cause", err)
	}

	lift()
	if err := insertFiller(t.Context(), s); err != nil {
		t.Fatalf("insert after the disk has room again: %v", err)
	}
	if err := s.CheckWritable(t.Context()); err != nil {
		t.Errorf("CheckWritable after a write committed: %v", err)
	}
	if got := s.WriteErrors(); got != 1 {
		t.Errorf("WriteErrors = %d, want still 1", got)
	}
}

func TestWriteLockHeldElsewhereIsTransient(t *testing.T) {
	s, _ := newStore(t)
	setBusyTimeout(t, s, 50*time.Millisecond)
	release := storetest.HoldWriteLock(t, s.path)

	err := s.Update(t.Context(), func(tx *Tx) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Update with the write lock held elsewhere: got %v, want SQLITE_BUSY", err)
	}
	if !IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
	if err := s.CheckWritable(t.Context()); !errors.Is(err, ErrUnwritable) {
		t.Errorf("CheckWritable: got %v, want ErrUnwritable", err)
	}

	release()
	if err := s.Update(t.Context(), func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("Update after the lock was released: %v", err)
	}
	if err := s.CheckWritable(t.Context()); err != nil {
		t.Errorf("CheckWritable: %v", err)
	}
}

func TestRefusedWritesSayNothingAboutTheDatabase(t *testing.T) {
	s, _ := newStore(t)
	for _, err := range []error{ErrNotFound, fmt.Errorf("%w: vote twice", ErrConflict), errors.New("bad request")} {
		if got := s.Update(t.Context(), func(tx *Tx) error { return err }); !errors.Is(got, err) {
			t.Fatalf("Update returned %v, want %v", got, err)
		}
		if IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
	}
	if got := s.WriteErrors(); got != 0 {
		t.Errorf("WriteErrors = %d, want 0", got)
	}
	if err := s.CheckWritable(t.Context()); err != nil {
		t.Errorf("CheckWritable: %v", err)
	}
}

// When nothing has written for a while, readiness learns the present by committing a probe row; a
// failure that is no longer recent is probed again, so readiness comes back by itself once the fault
// clears, without waiting for the engine to write.
func TestCheckWritableProbesWhenTheLastOutcomeIsOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		createFiller(t, s)

		probedAt := func() int64 {
			var at int64
			if err := s.writer.QueryRowContext(t.Context(), "SELECT at FROM write_probe").Scan(&at); err != nil {
				t.Fatalf("read the probe row: %v", err)
			}
			return at
		}
		if err := s.CheckWritable(t.Context()); err != nil { // nothing written since Open: probes
			t.Fatal(err)
		}
		first := probedAt()

		time.Sleep(probeAfter / 2)
		if err := s.CheckWritable(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := probedAt(); got != first {
			t.Errorf("probed again %v after the last write; want the recent outcome reused", probeAfter/2)
		}

		lift := fillDisk(t, s)
		if err := insertFiller(t.Context(), s); err == nil {
			t.Fatal("insert on a full disk succeeded")
		}
		lift()
		if err := s.CheckWritable(t.Context()); !errors.Is(err, ErrUnwritable) {
			t.Errorf("CheckWritable right after a failed write: got %v, want ErrUnwritable", err)
		}
		time.Sleep(probeAfter)
		if err := s.CheckWritable(t.Context()); err != nil {
			t.Errorf("CheckWritable once the failure is old and the fault gone: %v", err)
		}
		if got := probedAt(); got <= first {
			t.Errorf("probe row at %d, want later than %d", got, first)
		}
	})
}

// A probe stuck behind a write lock that another process holds must not hold readiness past its own
// timeout; it finishes in the background, and a later check sees its outcome.
func TestCheckWritableAnswersWithinItsContext(t *testing.T) {
	s, _ := newStore(t)
	release := storetest.HoldWriteLock(t, s.path)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := s.CheckWritable(ctx); !errors.Is(err, ErrUnwritable) || !strings.Contains(err.Error(), "did not commit") {
		t.Fatalf("CheckWritable with the lock held: got %v, want ErrUnwritable saying the probe did not commit", err)
	}
	release()
	// The probe in flight gets the lock now; this check waits for it.
	if err := s.CheckWritable(t.Context()); err != nil {
		t.Errorf("CheckWritable after the lock was released: %v", err)
	}
}
