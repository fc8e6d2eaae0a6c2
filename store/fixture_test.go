package store

import (
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// clock is a settable clock for WithClock. It starts with sub-millisecond digits so tests notice when a
// time is not stored at millisecond precision.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on and returns the new time as the store records it.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now.Truncate(time.Millisecond)
}

// Stored is the current time as the store records it.
func (c *clock) Stored() time.Time { return c.Now().Truncate(time.Millisecond) }

// newStore opens a store in a fresh directory, on a fake clock, closed when the test ends.
func newStore(t testing.TB) (*Store, *clock) {
	t.Helper()
	c := newClock()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"), WithClock(c.Now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, c
}

// update runs fn in a write transaction and fails the test if it returns an error.
func update(t testing.TB, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// seedDelivery creates a delivery of helloservice in project fulltour.
func seedDelivery(t testing.TB, s *Store) *Delivery {
	t.Helper()
	d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa", Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1"}
	update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) })
	return d
}

// seedTask creates a delivery, its qa sequence run and the run's first task, a deployment.
func seedTask(t testing.TB, s *Store) (*Delivery, *SequenceRun, *TaskRun) {
	t.Helper()
	d := seedDelivery(t, s)
	r := &SequenceRun{DeliveryID: d.ID, Stage: "qa", Sequence: "delivery"}
	tr := &TaskRun{Name: "deployment", Executor: "helm"}
	update(t, s, func(tx *Tx) error {
		if err := tx.CreateSequenceRun(t.Context(), r); err != nil {
			return err
		}
		tr.SequenceRunID = r.ID
		return tx.CreateTaskRun(t.Context(), tr)
	})
	return d, r, tr
}

// assertAppendOnly checks that the database itself refuses to change or delete rows of table, which must
// have rows: triggers do not fire for statements that touch none.
func assertAppendOnly(t *testing.T, s *Store, table string) {
	t.Helper()
	for _, stmt := range []string{
		"UPDATE " + table + " SET rowid = rowid",
		"DELETE FROM " + table,
	} {
		t.Run(strings.Fields(stmt)[0], func(t *testing.T) {
			err := s.Update(t.Context(), func(tx *Tx) error {
				_, err := tx.tx.ExecContext(t.Context(), stmt)
				return err
			})
			if sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_TRIGGER || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: got error %v, want the append-only trigger to abort it", stmt, err)
			}
		})
	}
}

// when reads an optional time, the zero time standing for none.
func when(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// identified is every row type with an integer id.
type identified interface {
	Approval | AuditEntry | Delivery | SequenceRun | TaskRun | Evaluation
}

// ids lists the ids of rows in order, so list queries can be compared with the rows they should return.
func ids[T identified](rows []*T) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, reflect.ValueOf(r).Elem().FieldByName("ID").Int())
	}
	return out
}
