package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

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
