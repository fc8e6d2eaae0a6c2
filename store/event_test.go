package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAppendEventRoundTrip(t *testing.T) {
	s, c := newStore(t)
	d := seedDelivery(t, s)
	sent := time.Date(2025, 3, 14, 9, 30, 0, 123_456_789, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name string
		in   Event
		want Event // Seq, and an ID left empty, are filled in from what AppendEvent set
	}{
		{
			name: "every field",
			in: Event{
				ID: "5f0f2c1e-8a51-4f8e-9a0a-6f3b1a6a8c01", DeliveryID: d.ID, KeptnContext: d.KeptnContext,
				TriggeredID: "1d6f5d3a-0a2b-4c1e-8f7a-3e5b9c2d4a10", Type: "sh.keptn.event.deployment.finished",
				Source: "helm-service", Time: sent, Data: json.RawMessage(`{"project":"fulltour","result":"pass"}`),
			},
			want: Event{
				ID: "5f0f2c1e-8a51-4f8e-9a0a-6f3b1a6a8c01", DeliveryID: d.ID, KeptnContext: d.KeptnContext,
				TriggeredID: "1d6f5d3a-0a2b-4c1e-8f7a-3e5b9c2d4a10", Type: "sh.keptn.event.deployment.finished",
				Source: "helm-service", Time: time.Date(2025, 3, 14, 14, 30, 0, 123_000_000, time.UTC),
				Data: json.RawMessage(`{"project":"fulltour","result":"pass"}`),
			},
		},
		{
			name: "defaults: new id, transaction time, no delivery",
			in:   Event{Type: "sh.keptn.event.qa.delivery.triggered", Source: "shipgate"},
			want: Event{Type: "sh.keptn.event.qa.delivery.triggered", Source: "shipgate", Time: c.Stored()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.in
			update(t, s, func(tx *Tx) error { return tx.AppendEvent(t.Context(), &e) })
			if _, err := uuid.Parse(e.ID); err != nil {
				t.Errorf("ID %q is not a UUID", e.ID)
			}
			want := tt.want
			want.Seq, want.ID = e.Seq, e.ID
			if !reflect.DeepEqual(e, want) {
				t.Errorf("after AppendEvent:\n got %+v\nwant %+v", e, want)
			}
			got, err := s.GetEvent(t.Context(), e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetEvent:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestAppendEventTwiceConflicts(t *testing.T) {
	s, _ := newStore(t)
	e := Event{ID: "5f0f2c1e-8a51-4f8e-9a0a-6f3b1a6a8c01", Type: "sh.keptn.event.test.finished"}
	update(t, s, func(tx *Tx) error { return tx.AppendEvent(t.Context(), &e) })
	again := e
	err := s.Update(t.Context(), func(tx *Tx) error { return tx.AppendEvent(t.Context(), &again) })
	if !errors.Is(err, ErrConflict) {
		t.Errorf("appending event %s again = %v, want ErrConflict", e.ID, err)
	}
	if _, err := s.GetEvent(t.Context(), "no-such-event"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEvent of a missing id = %v, want ErrNotFound", err)
	}
}

func TestListEventsInRecordedOrder(t *testing.T) {
	s, c := newStore(t)
	d, other := seedDelivery(t, s), seedDelivery(t, s)
	// The executors' clocks disagree: the log keeps the order events were recorded in, not their times.
	types := []string{
		"sh.keptn.event.qa.delivery.triggered",
		"sh.keptn.event.deployment.triggered",
		"sh.keptn.event.deployment.started",
		"sh.keptn.event.deployment.finished",
	}
	update(t, s, func(tx *Tx) error {
		for i, typ := range types {
			e := &Event{DeliveryID: d.ID, Type: typ, Time: c.Now().Add(-time.Duration(i) * time.Minute)}
			if err := tx.AppendEvent(t.Context(), e); err != nil {
				return err
			}
			if err := tx.AppendEvent(t.Context(), &Event{DeliveryID: other.ID, Type: typ}); err != nil {
				return err
			}
		}
		return nil
	})
	es, err := s.ListEvents(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.DeliveryID != d.ID {
			t.Errorf("event %s belongs to delivery %d", e.ID, e.DeliveryID)
		}
		got = append(got, e.Type)
	}
	if !reflect.DeepEqual(got, types) {
		t.Errorf("ListEvents = %v, want %v", got, types)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	s, _ := newStore(t)
	update(t, s, func(tx *Tx) error {
		return tx.AppendEvent(t.Context(), &Event{Type: "sh.keptn.event.qa.delivery.triggered"})
	})
	assertAppendOnly(t, s, "events")
}
