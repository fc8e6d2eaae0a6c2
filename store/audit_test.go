package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAuditRoundTrip(t *testing.T) {
	s, c := newStore(t)
	a := AuditEntry{
		Actor: "U024BE7LH", Platform: "slack", Channel: "C0PODTATO", Action: "approval.vote",
		Target: "approval:3", Allowed: false, Reason: "needs role release-managers in this channel",
		Details: json.RawMessage(`{"decision":"approve"}`),
	}
	update(t, s, func(tx *Tx) error { return tx.AppendAudit(t.Context(), &a) })
	want := a
	want.At = c.Stored()
	if a.ID == 0 || !reflect.DeepEqual(a, want) {
		t.Errorf("after AppendAudit: %+v, want ID set and At %v", a, c.Stored())
	}
	got, err := s.ListAudit(t.Context(), AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(*got[0], want) {
		t.Errorf("ListAudit = %+v, want [%+v]", got, want)
	}
}

func TestListAudit(t *testing.T) {
	s, c := newStore(t)
	// Recorded one minute apart in this order; ids are 1 to 5.
	seed := []AuditEntry{
		{Actor: "U1", Action: "delivery.trigger", Target: "delivery:1", Allowed: true},
		{Actor: "U2", Action: "approval.vote", Target: "approval:1", Allowed: false},
		{Actor: "U1", Action: "approval.vote", Target: "approval:1", Allowed: true},
		{Actor: "shipgate", Action: "approval.decide", Target: "approval:1", Allowed: true},
		{Actor: "U2", Action: "delivery.abort", Target: "delivery:1", Allowed: false},
	}
	var third time.Time
	for i := range seed {
		now := c.Advance(time.Minute)
		if i == 2 {
			third = now
		}
		update(t, s, func(tx *Tx) error { return tx.AppendAudit(t.Context(), &seed[i]) })
	}

	tests := []struct {
		name string
		q    AuditQuery
		want []int64
	}{
		{"all, newest first", AuditQuery{}, []int64{5, 4, 3, 2, 1}},
		{"target", AuditQuery{Target: "approval:1"}, []int64{4, 3, 2}},
		{"target, oldest first, as the evidence pack reads it", AuditQuery{Target: "approval:1", OldestFirst: true}, []int64{2, 3, 4}},
		{"actor", AuditQuery{Actor: "U2"}, []int64{5, 2}},
		{"since, inclusive", AuditQuery{Since: third}, []int64{5, 4, 3}},
		{"limit", AuditQuery{Target: "approval:1", Limit: 1}, []int64{4}},
		{"target and actor", AuditQuery{Target: "delivery:1", Actor: "U1"}, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := s.ListAudit(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(as)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListAudit(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	s, _ := newStore(t)
	update(t, s, func(tx *Tx) error {
		return tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Action: "delivery.trigger"})
	})
	assertAppendOnly(t, s, "audit_log")
}
