package store

import (
	"reflect"
	"testing"
)

func TestCountSequenceRuns(t *testing.T) {
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

	tests := []struct {
		state SequenceState
		want  []QueueDepth
	}{
		{StateTriggered, []QueueDepth{
			{Project: "fulltour", Stage: "production", Service: "helloservice", Runs: 1},
			{Project: "fulltour", Stage: "qa", Service: "helloservice", Runs: 2},
			{Project: "fulltour", Stage: "qa", Service: "orders", Runs: 1},
		}},
		{StateStarted, []QueueDepth{{Project: "fulltour", Stage: "qa", Service: "helloservice", Runs: 1}}},
		{StatePaused, []QueueDepth{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			got, err := s.CountSequenceRuns(t.Context(), tt.state)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
