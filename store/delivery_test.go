package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestDeliveryRoundTrip(t *testing.T) {
	s, c := newStore(t)
	// Every field set, so that a column left out of an INSERT or SELECT shows.
	every := Delivery{
		KeptnContext:  "0e4c4a71-5f21-4bbf-8a57-7f0c5e9f3c10",
		Project:       "fulltour",
		Service:       "helloservice",
		Image:         "ghcr.io/podtato-head/podtatoserver:v0.1.1",
		Labels:        map[string]string{"version": "v0.1.1", "buildId": "build-17"},
		Values:        json.RawMessage(`{"replicaCount":2,"ingress":{"enabled":true}}`),
		Stage:         "qa",
		Sequence:      "canary",
		Actor:         "U024BE7LH",
		Source:        "slack",
		SourceChannel: "C0PODTATO",
		State:         StateStarted,
		Result:        ResultWarning,
		WorstResult:   ResultWarning,
		Message:       "started by CI",
	}
	stamped := every
	stamped.CreatedAt, stamped.UpdatedAt = c.Stored(), c.Stored()

	tests := []struct {
		name string
		in   Delivery
		want Delivery // ID and KeptnContext are filled in from what CreateDelivery set
	}{
		{
			name: "every field",
			in:   every,
			want: stamped,
		},
		{
			name: "defaults",
			in:   Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"},
			want: Delivery{
				Project:   "fulltour",
				Service:   "helloservice",
				Stage:     "qa",
				Sequence:  DefaultSequence,
				State:     StateTriggered,
				CreatedAt: c.Stored(),
				UpdatedAt: c.Stored(),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.in
			update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), &d) })
			if d.ID == 0 {
				t.Fatal("CreateDelivery did not set the ID")
			}
			if _, err := uuid.Parse(d.KeptnContext); err != nil {
				t.Errorf("KeptnContext %q is not a UUID: %v", d.KeptnContext, err)
			}
			want := tt.want
			want.ID, want.KeptnContext = d.ID, d.KeptnContext
			if !reflect.DeepEqual(d, want) {
				t.Errorf("after CreateDelivery:\n got %+v\nwant %+v", d, want)
			}

			got, err := s.GetDelivery(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetDelivery:\n got %+v\nwant %+v", *got, want)
			}
			got, err = s.GetDeliveryByContext(t.Context(), d.KeptnContext)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetDeliveryByContext:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestCreateDeliveryRefuses(t *testing.T) {
	s, _ := newStore(t)
	first := seedDelivery(t, s)
	tests := []struct {
		name    string
		d       Delivery
		wantErr error // nil: any error
	}{
		{"a Keptn context used before", Delivery{KeptnContext: first.KeptnContext, Project: "fulltour", Service: "helloservice", Stage: "qa"}, ErrConflict},
		{"no project", Delivery{Service: "helloservice", Stage: "qa"}, nil},
		{"no stage", Delivery{Project: "fulltour", Service: "helloservice"}, nil},
		{"values that are not JSON", Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa", Values: json.RawMessage(`{"a":`)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateDelivery(t.Context(), &tt.d) })
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("CreateDelivery: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestGetDeliveryNotFound(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.GetDelivery(t.Context(), 42)
	if !errors.Is(err, ErrNotFound) || err.Error() != "get delivery 42: not found" {
		t.Errorf("GetDelivery(42) = %v, want %q", err, "get delivery 42: not found")
	}
	if _, err := s.GetDeliveryByContext(t.Context(), "no-such-context"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDeliveryByContext = %v, want ErrNotFound", err)
	}
}

func TestUpdateDelivery(t *testing.T) {
	s, c := newStore(t)
	d := seedDelivery(t, s)
	created := d.CreatedAt

	// Each step applies to the delivery as the step before left it.
	steps := []struct {
		name         string
		u            DeliveryUpdate
		wantState    SequenceState
		wantResult   Result
		wantWorst    Result
		wantMessage  string
		wantFinished bool // FinishedAt equals the time of the step that finished it
	}{
		{"nothing set changes only UpdatedAt", DeliveryUpdate{}, StateTriggered, ResultNone, ResultNone, "", false},
		{"started", DeliveryUpdate{State: new(StateStarted)}, StateStarted, ResultNone, ResultNone, "", false},
		{"warning seen", DeliveryUpdate{WorstResult: new(ResultWarning), Message: new("qa evaluation: warning")}, StateStarted, ResultNone, ResultWarning, "qa evaluation: warning", false},
		{"finished", DeliveryUpdate{State: new(StateFinished), Result: new(ResultPass)}, StateFinished, ResultPass, ResultWarning, "qa evaluation: warning", true},
		{"message after finishing", DeliveryUpdate{Message: new("production done")}, StateFinished, ResultPass, ResultWarning, "production done", true},
	}
	var finishedAt *time.Time
	for _, st := range steps {
		now := c.Advance(time.Second)
		var got *Delivery
		update(t, s, func(tx *Tx) (err error) {
			got, err = tx.UpdateDelivery(t.Context(), d.ID, st.u)
			return err
		})
		if st.wantFinished && finishedAt == nil {
			finishedAt = &now
		}
		if got.State != st.wantState || got.Result != st.wantResult || got.WorstResult != st.wantWorst || got.Message != st.wantMessage {
			t.Errorf("%s: state, result, worst, message = %s, %q, %q, %q; want %s, %q, %q, %q", st.name,
				got.State, got.Result, got.WorstResult, got.Message, st.wantState, st.wantResult, st.wantWorst, st.wantMessage)
		}
		if got.UpdatedAt != now || got.CreatedAt != created {
			t.Errorf("%s: CreatedAt, UpdatedAt = %v, %v; want %v, %v", st.name, got.CreatedAt, got.UpdatedAt, created, now)
		}
		if !reflect.DeepEqual(got.FinishedAt, finishedAt) {
			t.Errorf("%s: FinishedAt = %v, want %v", st.name, got.FinishedAt, finishedAt)
		}
		stored, err := s.GetDelivery(t.Context(), d.ID)
		if err != nil || !reflect.DeepEqual(stored, got) {
			t.Errorf("%s: GetDelivery = %+v, %v; want what UpdateDelivery returned, %+v", st.name, stored, err, got)
		}
	}
}

func TestUpdateDeliveryNotFound(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error {
		_, err := tx.UpdateDelivery(t.Context(), 7, DeliveryUpdate{State: new(StateAborted)})
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateDelivery(7) = %v, want ErrNotFound", err)
	}
}

func TestListDeliveries(t *testing.T) {
	s, c := newStore(t)
	// Created one second apart, in this order; ids are 1 to 5.
	seed := []struct {
		project, service string
		state            SequenceState
		stages           []string // stages with a sequence run
	}{
		{"fulltour", "helloservice", StateFinished, []string{"qa", "production"}},
		{"fulltour", "helloservice", StateFinished, []string{"qa"}},
		{"fulltour", "carts", StateStarted, []string{"qa"}},
		{"sockshop", "helloservice", StateTriggered, nil},
		{"fulltour", "helloservice", StateWaitingForApproval, []string{"qa", "production"}},
	}
	for _, sd := range seed {
		c.Advance(time.Second)
		update(t, s, func(tx *Tx) error {
			d := &Delivery{Project: sd.project, Service: sd.service, Stage: "qa", State: sd.state}
			if err := tx.CreateDelivery(t.Context(), d); err != nil {
				return err
			}
			for _, stage := range sd.stages {
				if err := tx.CreateSequenceRun(t.Context(), &SequenceRun{DeliveryID: d.ID, Stage: stage, Sequence: "delivery"}); err != nil {
					return err
				}
			}
			return nil
		})
	}

	tests := []struct {
		name string
		q    DeliveryQuery
		want []int64
	}{
		{"all, newest first", DeliveryQuery{}, []int64{5, 4, 3, 2, 1}},
		{"project", DeliveryQuery{Project: "fulltour"}, []int64{5, 3, 2, 1}},
		{"service history", DeliveryQuery{Project: "fulltour", Service: "helloservice"}, []int64{5, 2, 1}},
		{"reached production", DeliveryQuery{Stage: "production"}, []int64{5, 1}},
		{"state", DeliveryQuery{State: StateFinished}, []int64{2, 1}},
		{"limit", DeliveryQuery{Service: "helloservice", Limit: 2}, []int64{5, 4}},
		{"nothing matches", DeliveryQuery{Project: "podtato"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := s.ListDeliveries(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(ds)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListDeliveries(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
