package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/store/storetest"
)

// While another process holds the database's write lock, a trigger is refused with 503 and Retry-After,
// not a 500: nothing was recorded, and the same request succeeds once the lock is released.
func TestTriggerWhileTheDatabaseRefusesWritesAsksToRetry(t *testing.T) {
	f := newFixture(t)
	release := storetest.HoldWriteLock(t, f.dbPath)

	r := f.as(tokCI, "POST", "/api/v1/deliveries", hello())
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.errorText(t), "retry later") {
		t.Fatalf("trigger with the write lock held: %d Retry-After %q %s, want 503 asking to retry", r.status, r.header.Get("Retry-After"), r.body)
	}
	if ds, err := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries after the refused trigger: %v %v, want none", ds, err)
	}

	release()
	f.trigger(tokCI, hello())
}
