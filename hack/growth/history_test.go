package growth

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Generate writes finished deliveries of the tutorial's shape, spread over the span its rate gives,
// each with the events of the path it took: 24 for one that reached production and was released, 18
// for one rolled back in qa or whose approval was refused.
func TestGenerateWritesFinishedDeliveriesOfTheTutorialShape(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shipgate.db")
	end := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	shape := Shape{Deliveries: 40, PerDay: 10, End: end, Seed: 7}
	stats, err := Generate(ctx, path, shape)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", stats)
	if stats.Deliveries != shape.Deliveries {
		t.Errorf("wrote %d deliveries, want %d", stats.Deliveries, shape.Deliveries)
	}
	if first := end.Add(-newestTrigger - shape.Span()); stats.First.Before(first) || stats.First.After(first.Add(24*time.Hour)) {
		t.Errorf("the oldest delivery was triggered at %v, want within a day after %v", stats.First, first)
	}
	if stats.Last.After(end.Add(-newestTrigger)) || stats.Last.Before(end.Add(-newestTrigger-24*time.Hour)) {
		t.Errorf("the newest delivery was triggered at %v, want within the day before %v", stats.Last, end.Add(-newestTrigger))
	}

	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ds, err := st.ListDeliveries(ctx, store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != shape.Deliveries {
		t.Fatalf("the store lists %d deliveries, want %d", len(ds), shape.Deliveries)
	}
	paths := map[int]int{}
	events := 0
	for _, d := range ds {
		if d.State != store.StateFinished || d.FinishedAt == nil || d.FinishedAt.After(end) || d.FinishedAt.Before(d.CreatedAt) {
			t.Errorf("delivery %d: state %s, created %v, finished %v; want finished between its creation and %v", d.ID, d.State, d.CreatedAt, d.FinishedAt, end)
		}
		es, err := st.ListEvents(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		events += len(es)
		paths[len(es)]++
		if n := len(es); n != 18 && n != 24 {
			t.Errorf("delivery %d (%s) has %d events, want 24 (released) or 18 (rolled back or refused)", d.ID, d.Result, n)
		}
	}
	if paths[24] == 0 || paths[18] == 0 {
		t.Errorf("deliveries by number of events: %v; want some released and some not", paths)
	}
	if events != stats.Events {
		t.Errorf("the store holds %d events, Generate says it wrote %d", events, stats.Events)
	}
	live, err := st.ListSequenceRuns(ctx, store.SequenceRunQuery{States: store.LiveSequenceStates()})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) > 0 {
		t.Errorf("%d sequence runs are still live, for example %+v", len(live), live[0])
	}
}
