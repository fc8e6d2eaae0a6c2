package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// The transitions the engine performs, written out by hand as a second witness of the tables: a change
// to a table must change this list too.
var (
	wantSequenceTransitions = map[SequenceState][]SequenceState{
		StateTriggered:          {StateStarted, StateFrozen, StatePaused, StateAborted},
		StateWaiting:            {StateStarted, StatePaused, StateAborted},
		StateStarted:            {StateWaitingForApproval, StatePaused, StateFinished, StateTimedOut, StateAborted},
		StateWaitingForApproval: {StateStarted, StatePaused, StateFinished, StateAborted},
		StatePaused:             {StateTriggered, StateWaiting, StateStarted, StateWaitingForApproval, StateFrozen, StateTimedOut, StateAborted},
		StateFrozen:             {StateStarted, StatePaused, StateAborted},
	}
	wantTaskTransitions = map[TaskState][]TaskState{
		TaskTriggered: {TaskStarted, TaskAborted},
		TaskScheduled: {TaskStarted, TaskAborted},
		TaskStarted:   {TaskFinished, TaskTimedOut, TaskAborted, TaskTriggered, TaskScheduled},
		TaskFinished:  {TaskTriggered, TaskScheduled},
	}
	wantApprovalTransitions = map[ApprovalState][]ApprovalState{
		ApprovalPending: {ApprovalApproved, ApprovalRejected, ApprovalExpired, ApprovalAborted, ApprovalSuperseded},
	}
)

// checkTransition asserts the outcome of moving a row from one state to another: the move succeeds when
// allowed, and otherwise is refused with ErrInvalidTransition (an ErrConflict) and leaves the row as it
// was, even though the transaction commits.
func checkTransition[R any](t *testing.T, s *Store, allowed bool, get func() (*R, error), move func(tx *Tx) (*R, error), state func(*R) string, to string) {
	t.Helper()
	before, err := get()
	if err != nil {
		t.Fatal(err)
	}
	var moved *R
	var moveErr error
	update(t, s, func(tx *Tx) error {
		moved, moveErr = move(tx)
		return nil
	})
	after, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if allowed {
		if moveErr != nil || state(moved) != to || !reflect.DeepEqual(moved, after) {
			t.Errorf("allowed transition: got %+v, %v; stored %+v", moved, moveErr, after)
		}
		return
	}
	if !errors.Is(moveErr, ErrInvalidTransition) || !errors.Is(moveErr, ErrConflict) {
		t.Errorf("refused transition: err = %v, want ErrInvalidTransition", moveErr)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("refused transition changed the row:\nbefore %+v\n after %+v", before, after)
	}
}

func TestSequenceTransitions(t *testing.T) {
	s, c := newStore(t)
	d := seedDelivery(t, s)
	for _, from := range SequenceStates() {
		for _, to := range SequenceStates() {
			allowed := slices.Contains(wantSequenceTransitions[from], to)
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				if got := CanTransition(from, to); got != allowed {
					t.Fatalf("CanTransition = %v, want %v", got, allowed)
				}
				r := &SequenceRun{DeliveryID: d.ID, Stage: "qa", Sequence: "delivery", State: from}
				update(t, s, func(tx *Tx) error { return tx.CreateSequenceRun(t.Context(), r) })
				c.Advance(1)
				checkTransition(t, s, allowed,
					func() (*SequenceRun, error) { return s.GetSequenceRun(t.Context(), r.ID) },
					func(tx *Tx) (*SequenceRun, error) {
						return tx.UpdateSequenceRun(t.Context(), r.ID, SequenceRunUpdate{State: &to, Message: new("moved")})
					},
					func(r *SequenceRun) string { return string(r.State) }, string(to))
			})
		}
	}
}

func TestTaskTransitions(t *testing.T) {
	s, c := newStore(t)
	_, r, _ := seedTask(t, s)
	pos := 0
	for _, from := range TaskStates() {
		for _, to := range TaskStates() {
			allowed := slices.Contains(wantTaskTransitions[from], to)
			pos++
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				if got := CanTransition(from, to); got != allowed {
					t.Fatalf("CanTransition = %v, want %v", got, allowed)
				}
				tr := &TaskRun{SequenceRunID: r.ID, Position: pos, Name: "test", State: from}
				update(t, s, func(tx *Tx) error { return tx.CreateTaskRun(t.Context(), tr) })
				c.Advance(1)
				checkTransition(t, s, allowed,
					func() (*TaskRun, error) { return s.GetTaskRun(t.Context(), tr.ID) },
					func(tx *Tx) (*TaskRun, error) {
						return tx.UpdateTaskRun(t.Context(), tr.ID, TaskRunUpdate{State: &to, Message: new("moved")})
					},
					func(tr *TaskRun) string { return string(tr.State) }, string(to))
			})
		}
	}
}

func TestApprovalTransitions(t *testing.T) {
	s, c := newStore(t)
	_, _, tr := seedTask(t, s)
	for _, from := range ApprovalStates() {
		for _, to := range ApprovalStates() {
			allowed := slices.Contains(wantApprovalTransitions[from], to)
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				if got := CanTransition(from, to); got != allowed {
					t.Fatalf("CanTransition = %v, want %v", got, allowed)
				}
				a := &Approval{TaskRunID: tr.ID, State: from}
				update(t, s, func(tx *Tx) error { return tx.CreateApproval(t.Context(), a) })
				c.Advance(1)
				checkTransition(t, s, allowed,
					func() (*Approval, error) { return s.GetApproval(t.Context(), a.ID) },
					func(tx *Tx) (*Approval, error) { return tx.DecideApproval(t.Context(), a.ID, to, "U1", "moved") },
					func(a *Approval) string { return string(a.State) }, string(to))
			})
		}
	}
}

// An update that leaves the state alone is no transition and is never refused, whatever the state.
func TestUpdateWithoutStateIsNoTransition(t *testing.T) {
	s, _ := newStore(t)
	d := seedDelivery(t, s)
	for _, st := range SequenceStates() {
		r := &SequenceRun{DeliveryID: d.ID, Stage: "qa", Sequence: "delivery", State: st}
		update(t, s, func(tx *Tx) error {
			if err := tx.CreateSequenceRun(t.Context(), r); err != nil {
				return err
			}
			got, err := tx.UpdateSequenceRun(t.Context(), r.ID, SequenceRunUpdate{Message: new("note")})
			if err == nil && (got.State != st || got.Message != "note") {
				err = fmt.Errorf("got %+v", got)
			}
			return err
		})
	}
}

func TestStateSets(t *testing.T) {
	seqs := SequenceStates()
	if want := []SequenceState{StateTriggered, StateWaiting, StateStarted, StateWaitingForApproval, StatePaused, StateFrozen, StateFinished, StateAborted, StateTimedOut}; !slices.Equal(seqs, want) {
		t.Errorf("SequenceStates() = %v, want %v", seqs, want)
	}
	if want := []TaskState{TaskTriggered, TaskScheduled, TaskStarted, TaskFinished, TaskTimedOut, TaskAborted}; !slices.Equal(TaskStates(), want) {
		t.Errorf("TaskStates() = %v, want %v", TaskStates(), want)
	}
	if want := []ApprovalState{ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired, ApprovalAborted, ApprovalSuperseded}; !slices.Equal(ApprovalStates(), want) {
		t.Errorf("ApprovalStates() = %v, want %v", ApprovalStates(), want)
	}

	// Live and Terminal split the known states; an unknown state is neither.
	if want := []SequenceState{StateTriggered, StateWaiting, StateStarted, StateWaitingForApproval, StatePaused, StateFrozen}; !slices.Equal(LiveSequenceStates(), want) {
		t.Errorf("LiveSequenceStates() = %v, want %v", LiveSequenceStates(), want)
	}
	for _, st := range seqs {
		if st.Live() == st.Terminal() {
			t.Errorf("%s: Live %v, Terminal %v", st, st.Live(), st.Terminal())
		}
		if st.Terminal() && len(st.Next()) > 0 {
			t.Errorf("terminal %s may become %v", st, st.Next())
		}
		// Every live sequence may be paused (but not paused again) and aborted.
		if st.Live() != CanTransition(st, StateAborted) || (st.Live() && st != StatePaused) != CanTransition(st, StatePaused) {
			t.Errorf("%s: abort %v, pause %v", st, CanTransition(st, StateAborted), CanTransition(st, StatePaused))
		}
	}
	if want := []TaskState{TaskTriggered, TaskScheduled, TaskStarted}; !slices.Equal(LiveTaskStates(), want) {
		t.Errorf("LiveTaskStates() = %v, want %v", LiveTaskStates(), want)
	}
	for _, st := range TaskStates() {
		if st.Live() == st.Terminal() || st.Live() != CanTransition(st, TaskAborted) {
			t.Errorf("%s: Live %v, Terminal %v, abort %v", st, st.Live(), st.Terminal(), CanTransition(st, TaskAborted))
		}
	}
	for _, st := range ApprovalStates() {
		if st.Live() != (st == ApprovalPending) || st.Live() == st.Terminal() {
			t.Errorf("%s: Live %v, Terminal %v", st, st.Live(), st.Terminal())
		}
	}
	for _, unknown := range []string{"", "running"} {
		if SequenceState(unknown).Live() || SequenceState(unknown).Terminal() || TaskState(unknown).Live() || ApprovalState(unknown).Terminal() ||
			CanTransition(SequenceState(unknown), StateStarted) || CanTransition(StateStarted, SequenceState(unknown)) {
			t.Errorf("unknown state %q is treated as known", unknown)
		}
	}

	// The queue and the delivery's state are about live runs only.
	if want := []SequenceState{StateWaiting, StateStarted, StateWaitingForApproval, StatePaused, StateFrozen}; !slices.Equal(QueueHoldingStates(), want) {
		t.Errorf("QueueHoldingStates() = %v, want %v", QueueHoldingStates(), want)
	}
	if want := []SequenceState{StateTriggered, StateFrozen}; !slices.Equal(WaitingToStartStates(), want) {
		t.Errorf("WaitingToStartStates() = %v, want %v", WaitingToStartStates(), want)
	}
	byUrgency := SequenceStatesByUrgency()
	if !slices.Equal(slices.Sorted(slices.Values(byUrgency)), slices.Sorted(slices.Values(LiveSequenceStates()))) {
		t.Errorf("SequenceStatesByUrgency() = %v, want every live state once", byUrgency)
	}
	if byUrgency[0] != StateWaitingForApproval || byUrgency[len(byUrgency)-1] != StateTriggered {
		t.Errorf("SequenceStatesByUrgency() = %v: waiting for approval first, queued last", byUrgency)
	}

	// The sets are copies: a caller appending to one changes nothing for the next.
	live := LiveTaskStates()
	live[0] = TaskAborted
	if LiveTaskStates()[0] != TaskTriggered {
		t.Error("LiveTaskStates() shares its slice")
	}
	next := StateStarted.Next()
	next[0] = StateTriggered
	if StateStarted.Next()[0] != StateWaitingForApproval {
		t.Error("Next() shares its slice")
	}
}
