package store

import (
	"reflect"
	"slices"
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

func TestListStageRuns(t *testing.T) {
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
			got, err := s.ListStageRuns(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), ids(tt.want)) {
				t.Errorf("runs %v, want %v", ids(got), ids(tt.want))
			}
		})
	}
	got, err := s.ListStageRuns(t.Context(), StageHistoryQuery{Project: "fulltour", Stage: "production", Service: "helloservice", Since: since, Until: until})
	if err != nil || len(got) == 0 || !reflect.DeepEqual(*got[0], *rolled[0]) {
		t.Errorf("first run read back as %+v (%v), want %+v", got, err, *rolled[0])
	}
}

func TestListStageRunsBringsTheDeliverysEarlierRuns(t *testing.T) {
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

	got, err := s.ListStageRuns(t.Context(), StageHistoryQuery{Project: "fulltour", Stage: "production", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{first.ID, rollback.ID}; !slices.Equal(ids(got), want) {
		t.Errorf("runs %v, want %v: the delivery's earlier run too", ids(got), want)
	}
}

func TestListTaskRunsOf(t *testing.T) {
	s, _ := newStore(t)
	_, r1, t1 := seedTask(t, s)
	_, r2, t2 := seedTask(t, s)
	seedTask(t, s) // a third run, never asked for
	second := &TaskRun{SequenceRunID: r1.ID, Position: 1, Name: "test"}
	update(t, s, func(tx *Tx) error { return tx.CreateTaskRun(t.Context(), second) })

	tests := []struct {
		name string
		runs []int64
		want []int64
	}{
		{"two runs", []int64{r2.ID, r1.ID}, []int64{t1.ID, second.ID, t2.ID}},
		{"missing run", []int64{999}, nil},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListTaskRunsOf(t.Context(), tt.runs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("task runs %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestListDeliveriesByID(t *testing.T) {
	s, _ := newStore(t)
	a, b := seedDelivery(t, s), seedDelivery(t, s)
	got, err := s.ListDeliveriesByID(t.Context(), []int64{b.ID, 999, a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{a.ID, b.ID}; !slices.Equal(ids(got), want) {
		t.Errorf("deliveries %v, want %v", ids(got), want)
	}
	if got[0].CreatedAt != a.CreatedAt || got[0].Service != a.Service {
		t.Errorf("delivery read back as %+v, want %+v", *got[0], *a)
	}
	if got, err := s.ListDeliveriesByID(t.Context(), nil); err != nil || got != nil {
		t.Errorf("no ids: %v, %v", got, err)
	}
}
