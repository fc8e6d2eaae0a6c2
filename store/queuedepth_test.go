package store

import (
	"reflect"
	"testing"
	"time"
)

func TestQueueDepths(t *testing.T) {
	s, _ := newStore(t)
	for _, r := range []struct{ service, stage string }{
		{"helloservice", "qa"}, {"helloservice", "qa"}, {"orders", "qa"}, {"helloservice", "production"},
	} {
		d := &Delivery{Project: "fulltour", Service: r.service, Stage: "qa"}
		update(t, s, func(tx *Tx) error {
			if err := tx.CreateDelivery(t.Context(), d); err != nil {
				return err
			}
			return tx.CreateSequenceRun(t.Context(), &SequenceRun{DeliveryID: d.ID, Stage: r.stage, Sequence: "delivery"})
		})
	}
	// A started run is not queued.
	_, started, _ := seedTask(t, s)
	update(t, s, func(tx *Tx) error {
		_, err := tx.UpdateSequenceRun(t.Context(), started.ID, SequenceRunUpdate{State: new(StateStarted)})
		return err
	})

	// A frozen run waits to start as a queued one does.
	frozen := &Delivery{Project: "fulltour", Service: "orders", Stage: "production"}
	until := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		if err := tx.CreateDelivery(t.Context(), frozen); err != nil {
			return err
		}
		r := &SequenceRun{DeliveryID: frozen.ID, Stage: "production", Sequence: "delivery"}
		if err := tx.CreateSequenceRun(t.Context(), r); err != nil {
			return err
		}
		_, err := tx.UpdateSequenceRun(t.Context(), r.ID, SequenceRunUpdate{State: new(StateFrozen), Freeze: &Freeze{Name: "year-end", Message: "m", Until: until}})
		return err
	})

	got, err := s.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueDepth{
		{Project: "fulltour", Stage: "production", Service: "helloservice", Runs: 1},
		{Project: "fulltour", Stage: "production", Service: "orders", Runs: 1},
		{Project: "fulltour", Stage: "qa", Service: "helloservice", Runs: 2},
		{Project: "fulltour", Stage: "qa", Service: "orders", Runs: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// It reads the index of queued runs only: finished runs, the history, are not in it.
	plan := queryPlan(t, s, queueDepthsQuery)
	if len(plan) != 1 || plan[0] != "SCAN sequence_runs USING COVERING INDEX sequence_runs_queued" {
		t.Errorf("QueueDepths' plan is %q, want one scan of sequence_runs_queued", plan)
	}

	// The frozen run keeps its window, and is the one a restart finds.
	runs, err := s.FrozenSequenceRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].DeliveryID != frozen.ID || runs[0].FreezeName != "year-end" || runs[0].FreezeMessage != "m" ||
		runs[0].FrozenUntil == nil || !runs[0].FrozenUntil.Equal(until) {
		t.Errorf("FrozenSequenceRuns = %+v", runs)
	}
}

// queryPlan returns the details of the steps of EXPLAIN QUERY PLAN for query with args (explain).
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := explain(t.Context(), s.reader, statement{sql: query, args: args})
	if err != nil {
		t.Fatal(err)
	}
	plan := make([]string, len(rows))
	for i, r := range rows {
		plan[i] = r.detail
	}
	return plan
}
