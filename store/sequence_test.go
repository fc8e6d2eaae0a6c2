package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSequenceRunRoundTrip(t *testing.T) {
	s, c := newStore(t)
	d := seedDelivery(t, s)
	r := SequenceRun{
		DeliveryID:       d.ID,
		Project:          "ignored: copied from the delivery",
		Stage:            "production",
		Service:          "ignored too",
		Sequence:         "delivery",
		TriggeredEventID: "7e1ad2b0-8a0e-4c52-9fb4-d8ad0a3c0a11",
		Message:          "triggered by qa",
	}
	update(t, s, func(tx *Tx) error { return tx.CreateSequenceRun(t.Context(), &r) })
	want := SequenceRun{
		ID:               r.ID,
		DeliveryID:       d.ID,
		Project:          "fulltour",
		Stage:            "production",
		Service:          "helloservice",
		Sequence:         "delivery",
		State:            StateTriggered,
		TriggeredEventID: "7e1ad2b0-8a0e-4c52-9fb4-d8ad0a3c0a11",
		Message:          "triggered by qa",
		TriggeredAt:      c.Stored(),
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("after CreateSequenceRun:\n got %+v\nwant %+v", r, want)
	}
	got, err := s.GetSequenceRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetSequenceRun:\n got %+v\nwant %+v", *got, want)
	}
}

func TestSequenceRunNotFound(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.CreateSequenceRun(t.Context(), &SequenceRun{DeliveryID: 9, Stage: "qa", Sequence: "delivery"})
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateSequenceRun for a missing delivery = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSequenceRun(t.Context(), 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSequenceRun(9) = %v, want ErrNotFound", err)
	}
	err = s.Update(t.Context(), func(tx *Tx) error {
		_, err := tx.UpdateSequenceRun(t.Context(), 9, SequenceRunUpdate{State: new(StateStarted)})
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateSequenceRun(9) = %v, want ErrNotFound", err)
	}
}

func TestUpdateSequenceRunLifecycle(t *testing.T) {
	s, c := newStore(t)
	_, r, _ := seedTask(t, s)

	// A sequence that starts, waits for approval, is paused and resumed, and finishes.
	var startedAt, finishedAt *time.Time
	steps := []struct {
		name    string
		u       SequenceRunUpdate
		started bool // this step sets StartedAt
		ended   bool // this step sets FinishedAt
		want    func(r *SequenceRun) bool
	}{
		{"started", SequenceRunUpdate{State: new(StateStarted)}, true, false,
			func(r *SequenceRun) bool { return r.State == StateStarted }},
		{"waiting for approval", SequenceRunUpdate{State: new(StateWaitingForApproval)}, false, false,
			func(r *SequenceRun) bool { return r.State == StateWaitingForApproval }},
		{"paused", SequenceRunUpdate{State: new(StatePaused), StateBeforePause: new(StateWaitingForApproval)}, false, false,
			func(r *SequenceRun) bool {
				return r.State == StatePaused && r.StateBeforePause == StateWaitingForApproval
			}},
		{"resumed", SequenceRunUpdate{State: new(StateWaitingForApproval), StateBeforePause: new(SequenceState(""))}, false, false,
			func(r *SequenceRun) bool { return r.State == StateWaitingForApproval && r.StateBeforePause == "" }},
		{"started again keeps the first start", SequenceRunUpdate{State: new(StateStarted)}, false, false,
			func(r *SequenceRun) bool { return r.State == StateStarted }},
		{"finished", SequenceRunUpdate{State: new(StateFinished), Result: new(ResultFail), Status: new(StatusErrored), Message: new("helm upgrade failed")}, false, true,
			func(r *SequenceRun) bool {
				return r.State == StateFinished && r.Result == ResultFail && r.Status == StatusErrored && r.Message == "helm upgrade failed"
			}},
	}
	for _, st := range steps {
		now := c.Advance(time.Minute)
		if st.started {
			startedAt = &now
		}
		if st.ended {
			finishedAt = &now
		}
		var got *SequenceRun
		update(t, s, func(tx *Tx) (err error) {
			got, err = tx.UpdateSequenceRun(t.Context(), r.ID, st.u)
			return err
		})
		if !st.want(got) {
			t.Errorf("%s: got %+v", st.name, got)
		}
		if !reflect.DeepEqual(got.StartedAt, startedAt) || !reflect.DeepEqual(got.FinishedAt, finishedAt) {
			t.Errorf("%s: StartedAt, FinishedAt = %v, %v; want %v, %v", st.name, got.StartedAt, got.FinishedAt, startedAt, finishedAt)
		}
		if got.TriggeredAt != r.TriggeredAt {
			t.Errorf("%s: TriggeredAt changed to %v", st.name, got.TriggeredAt)
		}
	}
}

func TestListSequenceRuns(t *testing.T) {
	s, c := newStore(t)
	helloA, helloB := seedDelivery(t, s), seedDelivery(t, s)
	carts := &Delivery{Project: "fulltour", Service: "carts", Stage: "qa"}
	update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), carts) })

	// Triggered one second apart in this order; ids are 1 to 5.
	seed := []struct {
		delivery *Delivery
		stage    string
		state    SequenceState
	}{
		{helloA, "qa", StateFinished},
		{helloA, "production", StateStarted},
		{helloB, "qa", StateStarted},
		{helloB, "production", StateTriggered},
		{carts, "production", StateTriggered},
	}
	for _, sd := range seed {
		c.Advance(time.Second)
		update(t, s, func(tx *Tx) error {
			return tx.CreateSequenceRun(t.Context(), &SequenceRun{DeliveryID: sd.delivery.ID, Stage: sd.stage, Sequence: "delivery", State: sd.state})
		})
	}

	tests := []struct {
		name string
		q    SequenceRunQuery
		want []int64
	}{
		{"queue of one scope, oldest first", SequenceRunQuery{Project: "fulltour", Stage: "production", Service: "helloservice", States: []SequenceState{StateTriggered, StateStarted}}, []int64{2, 4}},
		{"running in a scope", SequenceRunQuery{Project: "fulltour", Stage: "qa", Service: "helloservice", States: []SequenceState{StateStarted}}, []int64{3}},
		{"of a delivery", SequenceRunQuery{DeliveryID: helloB.ID}, []int64{3, 4}},
		{"open ones anywhere, for recovery", SequenceRunQuery{States: []SequenceState{StateTriggered, StateStarted}}, []int64{2, 3, 4, 5}},
		{"everything", SequenceRunQuery{}, []int64{1, 2, 3, 4, 5}},
		{"other service", SequenceRunQuery{Service: "carts"}, []int64{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := s.ListSequenceRuns(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(rs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListSequenceRuns(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// NextQueued picks the oldest queued run of its scope, and none while a run of the scope holds the queue.
func TestNextQueued(t *testing.T) {
	s, c := newStore(t)
	scope := QueueScope{Project: "fulltour", Stage: "production", Service: "helloservice"}
	next := func() int64 {
		t.Helper()
		r, err := s.NextQueued(t.Context(), scope)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return 0
		}
		return r.ID
	}
	if got := next(); got != 0 {
		t.Fatalf("empty queue: NextQueued = run %d", got)
	}
	run := func(d *Delivery, stage string, state SequenceState) *SequenceRun {
		c.Advance(time.Second)
		r := &SequenceRun{DeliveryID: d.ID, Stage: stage, Sequence: "delivery", State: state}
		update(t, s, func(tx *Tx) error { return tx.CreateSequenceRun(t.Context(), r) })
		return r
	}
	carts := &Delivery{Project: "fulltour", Service: "carts", Stage: "production"}
	update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), carts) })
	run(carts, "production", StateStarted)               // another service's queue
	run(seedDelivery(t, s), "qa", StateStarted)          // another stage's queue
	run(seedDelivery(t, s), "production", StateFinished) // over: holds nothing
	first := run(seedDelivery(t, s), "production", StateTriggered)
	run(seedDelivery(t, s), "production", StateTriggered)
	if got := next(); got != first.ID {
		t.Fatalf("NextQueued = run %d, want the oldest queued, %d", got, first.ID)
	}
	for _, holding := range QueueHoldingStates() {
		r := run(seedDelivery(t, s), "production", holding)
		if got := next(); got != 0 {
			t.Errorf("with run %d %s: NextQueued = run %d, want none", r.ID, holding, got)
		}
		update(t, s, func(tx *Tx) error {
			_, err := tx.q.ExecContext(t.Context(), "UPDATE sequence_runs SET state = ? WHERE id = ?", StateFinished, r.ID)
			return err
		})
	}
	if got := next(); got != first.ID {
		t.Fatalf("once nothing holds the queue: NextQueued = run %d, want %d", got, first.ID)
	}
}
