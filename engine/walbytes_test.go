package engine

import (
	"testing"
)

// A task's transaction writes at most 16 KB to the WAL (the figure the store's page size and indexes are
// chosen for; it was 90 KB with 4 KB pages and indexes on random UUIDs). Bytes, not time: the same commits
// write the same pages on any machine.
func TestWALBytesPerTask(t *testing.T) {
	e, st := tenTaskEngine(t)
	done := finished(e)
	written := func() int64 {
		n, err := st.WALWritten(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	const deliveries = 50
	before := written()
	for range deliveries {
		if _, err := e.Trigger(t.Context(), Request{Project: "shop", Service: "carts", Image: image}); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	// A delivery's own transactions (its trigger, its sequence's start and end) are shared out among its
	// tasks.
	perTask := float64(written()-before) / (deliveries * tenTasks)
	t.Logf("%.0f bytes of WAL per task", perTask)
	if perTask > 20<<10 {
		t.Errorf("%.0f bytes of WAL per task, want at most 20 KB (16 KB per task transaction, and a share of the delivery's)", perTask)
	}
}
