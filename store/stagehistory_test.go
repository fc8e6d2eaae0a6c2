package store

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// historyRun is one sequence run for seedHistory; a zero finishAfter leaves it live.
type historyRun struct {
	stage, sequence string
	finishAfter     time.Duration // 0 leaves the run live
}

// seedHistory creates a delivery of service in project fulltour with its sequence runs, all triggered
// now; then, in order, each run to finish is finished finishAfter later.
func seedHistory(t *testing.T, s *Store, c *clock, service string, runs ...historyRun) (*Delivery, []*SequenceRun) {
	t.Helper()
	d := &Delivery{Project: "fulltour", Service: service, Stage: "qa"}
	update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) })
	var out []*SequenceRun
	for _, spec := range runs {
		r := &SequenceRun{DeliveryID: d.ID, Stage: spec.stage, Sequence: spec.sequence}
		update(t, s, func(tx *Tx) error { return tx.CreateSequenceRun(t.Context(), r) })
		out = append(out, r)
	}
	for i, spec := range runs {
		if spec.finishAfter == 0 {
			continue
		}
		c.Advance(spec.finishAfter)
		update(t, s, func(tx *Tx) error {
			if _, err := tx.UpdateSequenceRun(t.Context(), out[i].ID, SequenceRunUpdate{State: new(StateStarted)}); err != nil {
				return err // a run finishes only once it has started
			}
			var err error
			out[i], err = tx.UpdateSequenceRun(t.Context(), out[i].ID, SequenceRunUpdate{State: new(StateFinished), Result: new(ResultPass)})
			return err
		})
	}
	return d, out
}

func TestListStageFacts(t *testing.T) {
	s, c := newStore(t)
	// Before the window: a production run that ended an hour after it started.
	seedHistory(t, s, c, "helloservice", historyRun{"production", "delivery", time.Hour})
	since := c.Advance(time.Hour)
	// In the window: a delivery whose production run finishes, then is rolled back in the same delivery.
	_, rolled := seedHistory(t, s, c, "helloservice", historyRun{"production", "delivery", time.Minute}, historyRun{"production", "rollback", time.Minute})
	// Only qa: not in the stage.
	seedHistory(t, s, c, "helloservice", historyRun{"qa", "delivery", time.Minute})
	// Another service, still live.
	_, other := seedHistory(t, s, c, "orders", historyRun{"production", "delivery", 0})
	// Live in the stage, with a qa run: only the production run is listed.
	_, live := seedHistory(t, s, c, "helloservice", historyRun{"qa", "delivery", time.Minute}, historyRun{"production", "delivery", 0})
	until := c.Advance(time.Minute)
	// After the window.
	_, late := seedHistory(t, s, c, "helloservice", historyRun{"production", "delivery", time.Minute})

	tests := []struct {
		name string
		q    StageHistoryQuery
		want []*SequenceRun
	}{
		{"one service", StageHistoryQuery{Project: "fulltour", Stage: "production", Service: "helloservice", Since: since, Until: until},
			[]*SequenceRun{rolled[0], rolled[1], live[1]}},
		{"every service", StageHistoryQuery{Project: "fulltour", Stage: "production", Since: since, Until: until},
			[]*SequenceRun{rolled[0], rolled[1], other[0], live[1]}},
		{"no end", StageHistoryQuery{Project: "fulltour", Stage: "production", Service: "helloservice", Since: since},
			[]*SequenceRun{rolled[0], rolled[1], live[1], late[0]}},
		{"from the start", StageHistoryQuery{Project: "fulltour", Stage: "production", Service: "orders", Until: until},
			[]*SequenceRun{other[0]}},
		{"other project", StageHistoryQuery{Project: "elsewhere", Stage: "production", Since: since, Until: until}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.ListStageFacts(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(factIDs(got), ids(tt.want)) {
				t.Errorf("runs %v, want %v", factIDs(got), ids(tt.want))
			}
		})
	}
	got, _, err := s.ListStageFacts(t.Context(), StageHistoryQuery{Project: "fulltour", Stage: "production", Service: "helloservice", Since: since, Until: until})
	r := rolled[0]
	want := StageRunFact{ID: r.ID, DeliveryID: r.DeliveryID, Service: "helloservice", DeliveryCreatedAt: r.TriggeredAt,
		Sequence: r.Sequence, State: r.State, Result: r.Result, TriggeredAt: r.TriggeredAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if err != nil || len(got) == 0 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("first run read back as %+v (%v), want %+v", got, err, want)
	}
}

func factIDs(rs []StageRunFact) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestListStageFactsBringsTheDeliverysEarlierRuns(t *testing.T) {
	s, c := newStore(t)
	d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "production"}
	first := &SequenceRun{Stage: "production", Sequence: "delivery"}
	update(t, s, func(tx *Tx) error {
		if err := tx.CreateDelivery(t.Context(), d); err != nil {
			return err
		}
		first.DeliveryID = d.ID
		return tx.CreateSequenceRun(t.Context(), first)
	})
	c.Advance(time.Minute)
	update(t, s, func(tx *Tx) error {
		if _, err := tx.UpdateSequenceRun(t.Context(), first.ID, SequenceRunUpdate{State: new(StateStarted)}); err != nil {
			return err
		}
		_, err := tx.UpdateSequenceRun(t.Context(), first.ID, SequenceRunUpdate{State: new(StateFinished)})
		return err
	})
	// A day later someone rolls the same delivery back: the window starts after its deployment ended.
	since := c.Advance(24 * time.Hour)
	rollback := &SequenceRun{DeliveryID: d.ID, Stage: "production", Sequence: "rollback"}
	update(t, s, func(tx *Tx) error { return tx.CreateSequenceRun(t.Context(), rollback) })

	got, _, err := s.ListStageFacts(t.Context(), StageHistoryQuery{Project: "fulltour", Stage: "production", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{first.ID, rollback.ID}; !slices.Equal(factIDs(got), want) {
		t.Errorf("runs %v, want %v: the delivery's earlier run too", factIDs(got), want)
	}
}

// The runs' tasks come with them, by run and position, with their names, results and times.
func TestListStageFactsTasks(t *testing.T) {
	s, c := newStore(t)
	since := c.Stored()
	d, r1, t1 := seedTask(t, s)
	second := &TaskRun{SequenceRunID: r1.ID, Position: 1, Name: "test"}
	update(t, s, func(tx *Tx) error { return tx.CreateTaskRun(t.Context(), second) })
	c.Advance(time.Minute)
	update(t, s, func(tx *Tx) error {
		var err error
		t1, err = tx.UpdateTaskRun(t.Context(), t1.ID, TaskRunUpdate{State: new(TaskStarted)})
		return err
	})
	seedTask(t, s) // another delivery's run, in the same stage

	runs, tasks, err := s.ListStageFacts(t.Context(), StageHistoryQuery{Project: "fulltour", Stage: "qa", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != r1.ID || runs[0].DeliveryID != d.ID {
		t.Fatalf("runs %+v, want run %d of delivery %d first", runs, r1.ID, d.ID)
	}
	if len(tasks) != 3 {
		t.Fatalf("%d tasks, want 3: %+v", len(tasks), tasks)
	}
	want := StageTaskFact{SequenceRunID: r1.ID, Name: t1.Name, Result: t1.Result, StartedAt: t1.StartedAt}
	if !reflect.DeepEqual(tasks[0], want) || tasks[1].Name != "test" || tasks[2].SequenceRunID == r1.ID {
		t.Errorf("tasks %+v, want %+v, then test, then the other run's", tasks, want)
	}
}

// The window's runs are found through sequence_runs_by_stage_end, and the runs of their deliveries by
// delivery: no step reads the stage's or the service's whole history.
func TestListStageFactsReadsTheWindowOnly(t *testing.T) {
	s, c := newStore(t)
	for _, hq := range []StageHistoryQuery{
		{Project: "fulltour", Stage: "production", Since: c.Stored()},
		{Project: "fulltour", Stage: "production", Service: "helloservice", Since: c.Stored(), Until: c.Advance(time.Hour)},
	} {
		selected, args := stageWindow(hq)
		plan := queryPlan(t, s, "SELECT delivery_id FROM sequence_runs WHERE delivery_id IN ("+selected+")", args...)
		windows := 0
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN") {
				t.Errorf("%+v: plan %q scans: %s", hq, plan, step)
			}
			if strings.HasPrefix(step, "SEARCH sequence_runs USING INDEX sequence_runs_by_stage_end (project=? AND stage=? AND finished_at") {
				windows++
			}
		}
		if windows != 2 {
			t.Errorf("%+v: plan %q, want both parts of the window searched by sequence_runs_by_stage_end", hq, plan)
		}
	}
}
