package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// openBubbled opens a store for a synctest bubble, with the checkpointer configured by cfg, whose observe
// it sets to record into the returned log.
func openBubbled(t *testing.T, cfg checkpointConfig) (*Store, *checkpointLog) {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ckpts := newCheckpointLog()
	cfg.observe = ckpts.observe
	useCheckpointer(t, s, cfg)
	return s, ckpts
}

// audit commits one audit entry with a reason of the given size.
func audit(t testing.TB, s *Store, reasonBytes int) {
	t.Helper()
	reason := strings.Repeat("x", reasonBytes)
	update(t, s, func(tx *Tx) error {
		return tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Action: "test.commit", Allowed: true, Reason: reason})
	})
}

func walBytes(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.WALBytes()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// With SQLite's automatic checkpoint off, the checkpointer must keep the WAL from growing with every
// commit. Each commit here writes about six 4 KB pages, so without checkpoints the WAL would grow by
// about 24 MB per 1,000 commits; with them it stays at the size a few checkpoint intervals fill.
func TestCheckpointerBoundsTheWAL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shipgate.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		reason := strings.Repeat("x", 1000)
		walSize := func() int64 {
			info, err := os.Stat(path + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			return info.Size()
		}
		var sizes []int64
		for i := 1; i <= 3000; i++ {
			err := s.Update(context.Background(), func(tx *Tx) error {
				return tx.AppendAudit(context.Background(), &AuditEntry{Actor: "U1", Action: "test.commit", Allowed: true, Reason: reason})
			})
			if err != nil {
				t.Fatal(err)
			}
			if i%checkpointEvery == 0 {
				synctest.Wait() // let the checkpoint that is due run, as it would between bursts
			}
			if i%1000 == 0 {
				sizes = append(sizes, walSize())
			}
		}
		if sizes[2]-sizes[0] > 1<<20 || sizes[2] > 8<<20 {
			t.Errorf("WAL sizes after 1,000, 2,000 and 3,000 commits: %v; want it to stop growing, under 8 MB", sizes)
		}
	})
}

// Once no commit has come for idleCheckpointAfter, the WAL is truncated, then primed with one frame so that
// the next commit does not write and sync its header; each commit starts the delay again.
func TestIdleStoreTruncatesTheWAL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ckpts := openBubbled(t, defaultCheckpointConfig())
		idle := s.checkpoints.idleBytes()
		audit(t, s, 100)
		synctest.Wait()
		if walBytes(t, s) <= idle {
			t.Fatal("the commit left no WAL to truncate")
		}

		time.Sleep(idleCheckpointAfter - time.Millisecond)
		synctest.Wait()
		if walBytes(t, s) <= idle {
			t.Fatal("the WAL was truncated before the store was idle for idleCheckpointAfter")
		}
		audit(t, s, 100)
		time.Sleep(idleCheckpointAfter - time.Millisecond)
		synctest.Wait()
		if walBytes(t, s) <= idle {
			t.Fatal("a commit did not start the idle delay again")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := walBytes(t, s); n != idle {
			t.Fatalf("WAL is %d bytes after the store was idle for idleCheckpointAfter, want %d: its header and one frame", n, idle)
		}
		// The WAL's header is written already (an empty WAL would be 0 bytes): the commit after the
		// TRUNCATE appends to it and does not start the WAL over, which syncs the disk.
		audit(t, s, 100)
		if n := walBytes(t, s); n <= idle {
			t.Fatalf("a commit after the idle TRUNCATE left the WAL at %d bytes", n)
		}
		time.Sleep(idleCheckpointAfter)
		synctest.Wait()

		// Nothing more to do until the next commit, which is truncated in turn.
		time.Sleep(10 * idleCheckpointAfter)
		synctest.Wait()
		if got := ckpts.count("TRUNCATE"); got != 2 {
			t.Errorf("%d TRUNCATE checkpoints with no commit to truncate, want 2", got)
		}
		audit(t, s, 100)
		time.Sleep(idleCheckpointAfter)
		synctest.Wait()
		if n := walBytes(t, s); n != idle || ckpts.count("TRUNCATE") != 3 {
			t.Errorf("after a third idle period the WAL is %d bytes after %d TRUNCATE checkpoints, want %d after 3",
				n, idle, ckpts.count("TRUNCATE"))
		}
	})
}

// A few large transactions get a checkpoint before checkpointEvery commits.
func TestLargeTransactionsAreCheckpointedByWALGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ckpts := openBubbled(t, defaultCheckpointConfig())
		const commits = 20 // of 300 KB each, 6 MB, more than checkpointGrowth
		for range commits {
			audit(t, s, 300<<10)
			synctest.Wait()
		}
		if ckpts.count("PASSIVE") == 0 {
			t.Errorf("no checkpoint after %d commits that grew the WAL by %d MB", commits, walBytes(t, s)>>20)
		}
	})
}

// A reader that keeps its snapshot stops the WAL from restarting, and the writer then waits for each
// RESTART attempt for no longer than checkpointWait; once the reader lets go, the WAL restarts.
func TestCheckpointWaitsForReadersOnlyBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := defaultCheckpointConfig()
		cfg.restartAt = 256 << 10 // reached in about 60 commits
		s, ckpts := openBubbled(t, cfg)
		audit(t, s, 1000)

		reader, err := s.reader.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := reader.QueryRowContext(t.Context(), "SELECT count(*) FROM audit_log").Scan(&n); err != nil {
			t.Fatal(err)
		}
		var slowest time.Duration
		for i := 1; i <= 3*checkpointEvery; i++ {
			began := time.Now() // the bubble's clock: only the checkpointer's waits move it
			audit(t, s, 1000)
			slowest = max(slowest, time.Since(began))
		}
		synctest.Wait()
		if ckpts.count("RESTART busy") == 0 || ckpts.count("RESTART") != 0 {
			t.Fatalf("checkpoints while a reader kept its snapshot: %v; want RESTART tried and refused", ckpts)
		}
		if slowest > cfg.wait {
			t.Errorf("a commit waited %v for a RESTART checkpoint, want at most the checkpoint's wait, %v", slowest, cfg.wait)
		}

		if err := reader.Rollback(); err != nil {
			t.Fatal(err)
		}
		for range checkpointEvery {
			audit(t, s, 1000)
		}
		synctest.Wait()
		if ckpts.count("RESTART") == 0 {
			t.Errorf("checkpoints after the reader ended: %v; want a RESTART", ckpts)
		}
	})
}

// Under load the WAL restarts without its file being cut back: the commit after a RESTART writes over the
// file from its start instead of freeing its blocks first (which cost that commit milliseconds). Only the
// idle TRUNCATE shrinks it.
func TestRestartedWALKeepsItsFileWhileWritesGoOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ckpts := openBubbled(t, defaultCheckpointConfig())
		var size int64
		for i := 0; ckpts.count("RESTART") == 0; i++ {
			if i == 200 {
				t.Fatalf("no RESTART after %d MB written: %v", i/4, ckpts)
			}
			audit(t, s, 256<<10)
			synctest.Wait()
			size = walBytes(t, s)
		}
		if size <= walRestartBytes {
			t.Fatalf("the WAL file was %d bytes when it restarted, want more than %d for this test to tell", size, walRestartBytes)
		}
		audit(t, s, 100) // the commit that starts the WAL over
		if n := walBytes(t, s); n < size {
			t.Errorf("the commit after a RESTART cut the WAL file from %d to %d bytes", size, n)
		}
		time.Sleep(idleCheckpointAfter)
		synctest.Wait()
		if n := walBytes(t, s); n != s.checkpoints.idleBytes() {
			t.Errorf("WAL is %d bytes once idle, want %d", n, s.checkpoints.idleBytes())
		}
	})
}

// WALWritten counts every frame a commit appends, across the WAL's restarts: the same commits count the
// same bytes whether the WAL only grew (where the file's size is the truth) or was restarted many times,
// plus the one frame the checkpointer writes to start each new WAL.
func TestWALWrittenCountsAcrossRestarts(t *testing.T) {
	commits := func(t *testing.T, s *Store) {
		for i := range 300 {
			audit(t, s, 100+i*37%3000)
			synctest.Wait()
		}
	}
	var counted int64
	synctest.Test(t, func(t *testing.T) {
		cfg := defaultCheckpointConfig()
		cfg.every, cfg.growth, cfg.restartAt, cfg.idleAfter = 1<<40, 1<<40, 1<<40, time.Hour
		s, _ := openBubbled(t, cfg)
		// WALWritten copies every frame, so the next commit starts the WAL over; from there it only grows.
		written0, err := s.WALWritten(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		commits(t, s)
		written, err := s.WALWritten(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		counted = written - written0
		if grown := walBytes(t, s) - walFileHeader; grown <= 0 || counted != grown {
			t.Fatalf("the WAL holds %d bytes of frames, WALWritten counted %d", grown, counted)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		cfg := defaultCheckpointConfig()
		cfg.every, cfg.restartAt = 10, 64<<10
		s, ckpts := openBubbled(t, cfg)
		written0, err := s.WALWritten(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		restarts0 := ckpts.count("RESTART")
		commits(t, s)
		written, err := s.WALWritten(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		restarts := ckpts.count("RESTART") - restarts0
		if restarts < 5 {
			t.Fatalf("%d RESTART checkpoints; the test needs several: %v", restarts, ckpts)
		}
		primes := int64(restarts) * s.checkpoints.frameSize
		if got := written - written0 - primes; got != counted {
			t.Errorf("with %d restarts WALWritten counted %d bytes besides the priming frames, want %d as without them", restarts, got, counted)
		}
	})
}
