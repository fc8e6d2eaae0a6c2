package store

import (
	"encoding/json"
	"errors"
	"testing"
)

// Changes are written once: the second write for the same approval is a conflict and the first stays.
func TestApprovalChangesWrittenOnce(t *testing.T) {
	s, c := newStore(t)
	a := seedApproval(t, s)
	if _, err := s.GetApprovalChanges(t.Context(), a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before any: %v, want ErrNotFound", err)
	}
	first := &ApprovalChanges{ApprovalID: a.ID, Summary: json.RawMessage(`{"image":{"old":"a:1","new":"a:2"}}`), Diff: "--- a/x\n+++ b/x\n"}
	update(t, s, func(tx *Tx) error { return tx.SaveApprovalChanges(t.Context(), first) })
	err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.SaveApprovalChanges(t.Context(), &ApprovalChanges{ApprovalID: a.ID, Summary: json.RawMessage(`{}`)})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second save: %v, want ErrConflict", err)
	}
	got, err := s.GetApprovalChanges(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Summary) != string(first.Summary) || got.Diff != first.Diff || !got.CreatedAt.Equal(c.Stored()) {
		t.Fatalf("got %+v (%s), want %+v", got, got.Summary, first)
	}
	assertAppendOnly(t, s, "approval_changes")
}

// A summary that is not a JSON object, or changes of an approval that does not exist, are refused.
func TestApprovalChangesRefused(t *testing.T) {
	s, _ := newStore(t)
	a := seedApproval(t, s)
	for _, tc := range []struct {
		name string
		c    ApprovalChanges
	}{
		{"not JSON", ApprovalChanges{ApprovalID: a.ID, Summary: json.RawMessage(`{`)}},
		{"not an object", ApprovalChanges{ApprovalID: a.ID, Summary: json.RawMessage(`[]`)}},
		{"empty", ApprovalChanges{ApprovalID: a.ID}},
		{"no such approval", ApprovalChanges{ApprovalID: a.ID + 100, Summary: json.RawMessage(`{}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Update(t.Context(), func(tx *Tx) error { return tx.SaveApprovalChanges(t.Context(), &tc.c) }); err == nil {
				t.Fatal("saved")
			}
		})
	}
	if _, err := s.GetApprovalChanges(t.Context(), a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after refusals: %v, want ErrNotFound", err)
	}
}
