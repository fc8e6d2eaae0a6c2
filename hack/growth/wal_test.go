package growth

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/store"
)

// WALCounter counts every commit the store makes, across the WAL restarts the store's checkpointer
// makes once the WAL holds 16 MB, whether it samples after every commit or after dozens of them. The
// checkpointer's own commit after each restart (it starts the WAL over itself) is in the file too, one
// per generation, so the count may exceed the store's by as many.
func TestWALCounterCountsEveryCommit(t *testing.T) {
	for _, every := range []int{1, 37} {
		t.Run(fmt.Sprintf("sampled every %d commits", every), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "shipgate.db")
			st, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			w, err := NewWALCounter(path)
			if err != nil {
				t.Fatal(err)
			}
			before := st.Commits()
			details, _ := json.Marshal(map[string]string{"padding": strings.Repeat("x", 60<<10)})
			// The checkpointer restarts the WAL in a goroutine of its own once it holds 16 MB (about 270
			// commits), so commits go on until the counter has seen it start over, 330 at least.
			const atLeast, atMost = 330, 2000
			commits := 0
			for i := 0; i < atLeast || (w.Generations == 0 && i < atMost); i++ {
				commits++
				err := st.Update(ctx, func(tx *store.Tx) error {
					return tx.AppendAudit(ctx, &store.AuditEntry{Actor: "test", Action: "wal.fill", Target: fmt.Sprint(i), Allowed: true, Details: details})
				})
				if err != nil {
					t.Fatal(err)
				}
				if i%every == 0 || i >= atLeast {
					if err := w.Sample(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Sample(); err != nil {
				t.Fatal(err)
			}
			made := int64(st.Commits() - before)
			t.Logf("store commits %d; counted %d commits, %d frames (%.1f MB) in %d generations", made, w.Commits, w.Frames, float64(w.Bytes())/1e6, w.Generations)
			if w.Lost != "" {
				t.Errorf("the counter says it may have lost frames: %s", w.Lost)
			}
			if w.Generations < 1 {
				t.Errorf("the WAL did not start over (%d generations); the test no longer covers restarts", w.Generations)
			}
			if w.Commits < made || w.Commits > made+w.Generations {
				t.Errorf("counted %d commits, want %d, plus at most one per generation (%d)", w.Commits, made, w.Generations)
			}
			if min := int64(commits) * int64(len(details)); w.Bytes() < min {
				t.Errorf("counted %d bytes, less than the %d written", w.Bytes(), min)
			}
		})
	}
}
