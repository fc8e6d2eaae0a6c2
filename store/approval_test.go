package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedApproval creates a pending approval of the production stage's approval task.
func seedApproval(t *testing.T, s *Store) *Approval {
	t.Helper()
	d := seedDelivery(t, s)
	a := &Approval{Required: 2, Roles: []string{"release-managers"}}
	update(t, s, func(tx *Tx) error {
		r := &SequenceRun{DeliveryID: d.ID, Stage: "production", Sequence: "delivery"}
		if err := tx.CreateSequenceRun(t.Context(), r); err != nil {
			return err
		}
		tr := &TaskRun{SequenceRunID: r.ID, Name: "approval"}
		if err := tx.CreateTaskRun(t.Context(), tr); err != nil {
			return err
		}
		a.TaskRunID = tr.ID
		return tx.CreateApproval(t.Context(), a)
	})
	return a
}

func TestApprovalRoundTrip(t *testing.T) {
	s, c := newStore(t)
	_, r, tr := seedTask(t, s)
	expires := c.Now().Add(24 * time.Hour)
	tests := []struct {
		name string
		in   Approval
		want Approval // ID is filled in from what CreateApproval set
	}{
		{
			name: "every field",
			in: Approval{
				DeliveryID: 999, Stage: "ignored: both copied from the task run", TaskRunID: tr.ID,
				Required: 2, Roles: []string{"release-managers", "sre"}, AllowRequester: true, ExpiresAt: &expires,
				RemindEvery: 4 * time.Hour, EscalateAfter: 20 * time.Hour, EscalateTo: []string{"engineering-leads"},
				Reminders: 7, LastRemindedAt: &expires, EscalatedAt: &expires, // ignored: a new approval has done nothing
				Evidence: json.RawMessage(`{"evaluation":{"stage":"qa","score":100}}`),
			},
			want: Approval{
				DeliveryID: tr.DeliveryID, TaskRunID: tr.ID, Stage: r.Stage, Required: 2,
				Roles: []string{"release-managers", "sre"}, AllowRequester: true, State: ApprovalPending,
				ExpiresAt: new(expires.Truncate(time.Millisecond)), CreatedAt: c.Stored(),
				RemindEvery: 4 * time.Hour, EscalateAfter: 20 * time.Hour, EscalateTo: []string{"engineering-leads"},
				Evidence: json.RawMessage(`{"evaluation":{"stage":"qa","score":100}}`),
			},
		},
		{
			name: "defaults",
			in:   Approval{TaskRunID: tr.ID},
			want: Approval{
				DeliveryID: tr.DeliveryID, TaskRunID: tr.ID, Stage: r.Stage, Required: 1, State: ApprovalPending,
				CreatedAt: c.Stored(),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.in
			update(t, s, func(tx *Tx) error { return tx.CreateApproval(t.Context(), &a) })
			want := tt.want
			want.ID = a.ID
			if !reflect.DeepEqual(a, want) {
				t.Errorf("after CreateApproval:\n got %+v\nwant %+v", a, want)
			}
			got, err := s.GetApproval(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetApproval:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestCreateApprovalForMissingTask(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateApproval(t.Context(), &Approval{TaskRunID: 3}) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateApproval for a missing task run = %v, want ErrNotFound", err)
	}
	if _, err := s.GetApproval(t.Context(), 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetApproval(3) = %v, want ErrNotFound", err)
	}
}

func TestOneVotePerPerson(t *testing.T) {
	s, c := newStore(t)
	a := seedApproval(t, s)
	votes := []struct {
		vote    Vote
		wantErr error
	}{
		{Vote{Voter: "U1", Platform: "slack", Decision: DecisionApprove, Reason: "qa looks good"}, nil},
		{Vote{Voter: "U1", Platform: "slack", Decision: DecisionReject, Reason: "changed my mind"}, ErrConflict},
		{Vote{Voter: "U2", Platform: "slack", Decision: DecisionApprove}, nil},
		{Vote{Voter: "U2", Platform: "slack", Decision: DecisionApprove}, ErrConflict},
	}
	var want []*Vote
	for _, v := range votes {
		now := c.Advance(time.Second)
		v.vote.ApprovalID = a.ID
		err := s.Update(t.Context(), func(tx *Tx) error { return tx.CastVote(t.Context(), &v.vote) })
		if !errors.Is(err, v.wantErr) {
			t.Fatalf("vote %+v: got %v, want %v", v.vote, err, v.wantErr)
		}
		if v.wantErr == nil {
			v.vote.CreatedAt = now
			want = append(want, &v.vote)
		}
	}
	got, err := s.ListVotes(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListVotes:\n got %+v\nwant %+v", got, want)
	}
}

func TestVoteOnMissingApproval(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error {
		return tx.CastVote(t.Context(), &Vote{ApprovalID: 8, Voter: "U1", Decision: DecisionApprove})
	})
	if err == nil {
		t.Error("a vote on a missing approval was recorded")
	}
}

func TestDecideApproval(t *testing.T) {
	s, c := newStore(t)
	a := seedApproval(t, s)
	now := c.Advance(time.Hour)
	var got *Approval
	update(t, s, func(tx *Tx) (err error) {
		got, err = tx.DecideApproval(t.Context(), a.ID, ApprovalApproved, "U2", "2 of 2 approvals")
		return err
	})
	want := *a
	want.State, want.DecidedBy, want.Reason, want.DecidedAt = ApprovalApproved, "U2", "2 of 2 approvals", &now
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("DecideApproval:\n got %+v\nwant %+v", *got, want)
	}

	tests := []struct {
		name    string
		id      int64
		state   ApprovalState
		wantErr error  // nil: any error
		wantMsg string // part of the message
	}{
		{"decided already", a.ID, ApprovalRejected, ErrConflict, "already approved"},
		{"missing", 77, ApprovalRejected, ErrNotFound, "decide approval 77"},
		{"pending is no decision", a.ID, ApprovalPending, nil, "not a decision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx *Tx) error {
				_, err := tx.DecideApproval(t.Context(), tt.id, tt.state, "U3", "")
				return err
			})
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("DecideApproval = %v, want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
	if stored, err := s.GetApproval(t.Context(), a.ID); err != nil || !reflect.DeepEqual(*stored, want) {
		t.Errorf("after refused decisions GetApproval = %+v, %v; want %+v", stored, err, want)
	}
}

func TestListApprovals(t *testing.T) {
	s, _ := newStore(t)
	a1, a2, a3 := seedApproval(t, s), seedApproval(t, s), seedApproval(t, s)
	update(t, s, func(tx *Tx) error {
		_, err := tx.DecideApproval(t.Context(), a2.ID, ApprovalExpired, "shipgate", "no decision within 24h")
		return err
	})
	tests := []struct {
		name string
		q    ApprovalQuery
		want []int64
	}{
		{"all, oldest first", ApprovalQuery{}, []int64{a1.ID, a2.ID, a3.ID}},
		{"pending", ApprovalQuery{State: ApprovalPending}, []int64{a1.ID, a3.ID}},
		{"of a delivery", ApprovalQuery{DeliveryID: a2.DeliveryID}, []int64{a2.ID}},
		{"of a task run", ApprovalQuery{TaskRunID: a3.TaskRunID}, []int64{a3.ID}},
		{"expired of a delivery", ApprovalQuery{DeliveryID: a1.DeliveryID, State: ApprovalExpired}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := s.ListApprovals(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(as)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListApprovals(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// GetBallot reads an approval with its delivery, task and sequence in one statement; what it reads is
// what the single-table reads return.
func TestGetBallot(t *testing.T) {
	s, _ := newStore(t)
	a := seedApproval(t, s)
	b, err := s.GetBallot(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantA, _ := s.GetApproval(t.Context(), a.ID)
	wantD, _ := s.GetDelivery(t.Context(), a.DeliveryID)
	tr, _ := s.GetTaskRun(t.Context(), a.TaskRunID)
	run, _ := s.GetSequenceRun(t.Context(), tr.SequenceRunID)
	if !reflect.DeepEqual(b.Approval, wantA) || !reflect.DeepEqual(b.Delivery, wantD) {
		t.Errorf("ballot approval/delivery:\n got %+v %+v\nwant %+v %+v", b.Approval, b.Delivery, wantA, wantD)
	}
	if b.Task != tr.Name || b.Attempt != tr.Attempt || b.SequenceRunID != run.ID || b.Sequence != run.Sequence || b.Task == "" || b.Sequence == "" {
		t.Errorf("ballot task %q attempt %d run %d sequence %q, want %q %d %d %q", b.Task, b.Attempt, b.SequenceRunID, b.Sequence, tr.Name, tr.Attempt, run.ID, run.Sequence)
	}
	if _, err := s.GetBallot(t.Context(), a.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("ballot of a missing approval: %v, want ErrNotFound", err)
	}
}

// seedLadderApproval creates a pending approval that reminds every 4h, escalates to
// engineering-leads and sre after 24h, and expires after 72h.
func seedLadderApproval(t *testing.T, s *Store, c *clock) *Approval {
	t.Helper()
	_, _, tr := seedTask(t, s)
	expires := c.Now().Add(72 * time.Hour)
	a := &Approval{TaskRunID: tr.ID, Roles: []string{"release-managers", "sre"}, ExpiresAt: &expires,
		RemindEvery: 4 * time.Hour, EscalateAfter: 24 * time.Hour, EscalateTo: []string{"engineering-leads", "sre"}}
	update(t, s, func(tx *Tx) error { return tx.CreateApproval(t.Context(), a) })
	return a
}

func TestRecordReminderOncePerSlot(t *testing.T) {
	s, c := newStore(t)
	a := seedLadderApproval(t, s, c)
	record := func(slot time.Time) (*Approval, bool) {
		t.Helper()
		var got *Approval
		var ok bool
		update(t, s, func(tx *Tx) (err error) {
			got, ok, err = tx.RecordReminder(t.Context(), a.ID, slot)
			return err
		})
		return got, ok
	}
	first, ok := a.NextReminder()
	if want := a.CreatedAt.Add(4 * time.Hour); !ok || !first.Equal(want) {
		t.Fatalf("first reminder due %v %v, want %v", first, ok, want)
	}
	at := c.Advance(4 * time.Hour)
	got, ok := record(first)
	if !ok || got.Reminders != 1 || got.LastRemindedAt == nil || !got.LastRemindedAt.Equal(at) {
		t.Fatalf("first reminder: %+v %v", got, ok)
	}
	if _, ok := record(first); ok {
		t.Error("the same slot was reminded twice")
	}
	next, _ := got.NextReminder()
	if want := a.CreatedAt.Add(8 * time.Hour); !next.Equal(want) {
		t.Errorf("after the first reminder, next due %v, want %v", next, want)
	}
	// Down from 5h to 17h: the slots at 8h, 12h and 16h collapse into one reminder, and the next is at 20h.
	c.Advance(13 * time.Hour)
	got, ok = record(next)
	if !ok || got.Reminders != 2 {
		t.Fatalf("late reminder: %+v %v", got, ok)
	}
	if next, _ := got.NextReminder(); !next.Equal(a.CreatedAt.Add(20 * time.Hour)) {
		t.Errorf("after a late reminder, next due %v, want 20h after creation", next)
	}
	update(t, s, func(tx *Tx) error {
		_, err := tx.DecideApproval(t.Context(), a.ID, ApprovalApproved, "U1", "")
		return err
	})
	c.Advance(4 * time.Hour)
	if _, ok := record(a.CreatedAt.Add(20 * time.Hour)); ok {
		t.Error("a decided approval was reminded")
	}
	stored, _ := s.GetApproval(t.Context(), a.ID)
	if _, due := stored.NextReminder(); due || stored.Reminders != 2 {
		t.Errorf("decided approval: %d reminders, next due %v", stored.Reminders, due)
	}
}

func TestNextReminderStopsAtExpiry(t *testing.T) {
	created := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	expires := created.Add(8 * time.Hour)
	last := created.Add(4 * time.Hour)
	a := Approval{State: ApprovalPending, CreatedAt: created, ExpiresAt: &expires, RemindEvery: 4 * time.Hour, LastRemindedAt: &last}
	if at, ok := a.NextReminder(); ok {
		t.Errorf("a reminder at the expiry (%v) is due; the expiry decides first", at)
	}
	a.EscalateAfter, a.EscalateTo = 8*time.Hour, []string{"leads"}
	if at, ok := a.EscalatesAt(); ok {
		t.Errorf("an escalation at the expiry (%v) is due", at)
	}
	a.EscalateAfter = 6 * time.Hour
	if at, ok := a.EscalatesAt(); !ok || !at.Equal(created.Add(6*time.Hour)) {
		t.Errorf("EscalatesAt = %v %v, want 6h after creation", at, ok)
	}
	a.RemindEvery = 0
	if _, ok := a.NextReminder(); ok {
		t.Error("an approval without remind_every is reminded")
	}
}

func TestMarkEscalatedOnce(t *testing.T) {
	s, c := newStore(t)
	a := seedLadderApproval(t, s, c)
	escalate := func(id int64) (*Approval, bool) {
		t.Helper()
		var got *Approval
		var ok bool
		update(t, s, func(tx *Tx) (err error) {
			got, ok, err = tx.MarkEscalated(t.Context(), id)
			return err
		})
		return got, ok
	}
	at := c.Advance(24 * time.Hour)
	got, ok := escalate(a.ID)
	if !ok || got.EscalatedAt == nil || !got.EscalatedAt.Equal(at) {
		t.Fatalf("escalation: %+v %v", got, ok)
	}
	// sre was an approver already: it is not added twice, and the order stays the approval's first.
	if want := []string{"release-managers", "sre", "engineering-leads"}; !reflect.DeepEqual(got.Roles, want) {
		t.Errorf("roles after escalation %q, want %q", got.Roles, want)
	}
	if _, due := got.EscalatesAt(); due {
		t.Error("an escalated approval is due to escalate again")
	}
	c.Advance(time.Hour)
	if _, ok := escalate(a.ID); ok {
		t.Error("escalated twice")
	}
	stored, _ := s.GetApproval(t.Context(), a.ID)
	if !reflect.DeepEqual(stored, got) {
		t.Errorf("after a second escalation:\n got %+v\nwant %+v", stored, got)
	}
	// Nothing to escalate to, or nothing pending: nothing happens.
	plain := seedApproval(t, s)
	if _, ok := escalate(plain.ID); ok {
		t.Error("an approval without escalate_to escalated")
	}
	if _, ok := escalate(plain.ID + 100); ok {
		t.Error("a missing approval escalated")
	}
}

// What approvers were shown is the record of what they decided on: once written with the approval, no
// statement can change it, not even one that bypasses the store's methods.
func TestApprovalEvidenceNeverChanges(t *testing.T) {
	s, _ := newStore(t)
	_, _, tr := seedTask(t, s)
	a := &Approval{TaskRunID: tr.ID, Evidence: json.RawMessage(`{"evaluation":{"stage":"qa","score":100}}`)}
	update(t, s, func(tx *Tx) error { return tx.CreateApproval(t.Context(), a) })
	for _, stmt := range []string{
		`UPDATE approvals SET evidence = '{"evaluation":{"stage":"production","score":0}}' WHERE id = ?`,
		`UPDATE approvals SET evidence = NULL WHERE id = ?`,
	} {
		err := s.Update(t.Context(), func(tx *Tx) error {
			_, err := tx.q.ExecContext(t.Context(), stmt, a.ID)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "never changes") {
			t.Errorf("%s: err = %v, want the evidence trigger's refusal", stmt, err)
		}
	}
	// Deciding the approval touches other columns and is allowed.
	update(t, s, func(tx *Tx) error {
		_, err := tx.DecideApproval(t.Context(), a.ID, ApprovalApproved, "U1", "")
		return err
	})
	got, err := s.GetApproval(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Evidence) != `{"evaluation":{"stage":"qa","score":100}}` || got.State != ApprovalApproved {
		t.Errorf("after deciding: evidence %s, state %s", got.Evidence, got.State)
	}
	// A legacy approval (no evidence) may not be given one later either: the record would be invented.
	b := &Approval{TaskRunID: tr.ID}
	update(t, s, func(tx *Tx) error { return tx.CreateApproval(t.Context(), b) })
	err = s.Update(t.Context(), func(tx *Tx) error {
		_, err := tx.q.ExecContext(t.Context(), `UPDATE approvals SET evidence = '{}' WHERE id = ?`, b.ID)
		return err
	})
	if err == nil {
		t.Error("giving a legacy approval evidence afterwards was allowed")
	}
}
