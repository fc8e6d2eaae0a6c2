package store

import (
	"encoding/json"
	"fmt"
	"slices"
)

// The state machines of sequence runs, task runs and approvals, written down once. The engine decides
// when a transition happens; the tables below say which transitions can happen at all, and the store's
// update functions refuse any other with ErrInvalidTransition. Deliveries have no table of their own:
// a delivery's state is derived from its sequence runs (a finished delivery becomes live again when a
// new sequence of it is triggered), so any change of it is allowed.

// ErrInvalidTransition is returned when an update would move a row to a state its table does not allow
// from the state it is in: most often because something else moved it first, so it is an ErrConflict.
var ErrInvalidTransition = fmt.Errorf("%w: state transition not allowed", ErrConflict)

// state is a row of a state table: whether the state is terminal and where it may go.
type state[S ~string] struct {
	is       S
	terminal bool // the run or gate is over: reaching it sets finished_at (or decided_at)
	next     []S
}

// machine is a state table, in the order the states are declared.
type machine[S ~string] []state[S]

func (m machine[S]) row(s S) (state[S], bool) {
	i := slices.IndexFunc(m, func(r state[S]) bool { return r.is == s })
	if i < 0 {
		return state[S]{}, false
	}
	return m[i], true
}

func (m machine[S]) can(from, to S) bool {
	r, ok := m.row(from)
	return ok && slices.Contains(r.next, to)
}

// from returns the states that may become to.
func (m machine[S]) from(to S) []S {
	var out []S
	for _, r := range m {
		if slices.Contains(r.next, to) {
			out = append(out, r.is)
		}
	}
	return out
}

// where returns the states, in table order, for which keep is true.
func (m machine[S]) where(keep func(state[S]) bool) []S {
	var out []S
	for _, r := range m {
		if keep(r) {
			out = append(out, r.is)
		}
	}
	return out
}

func live[S ~string](r state[S]) bool { return !r.terminal }

// fromJSON is the SQL argument of `state IN (SELECT value FROM json_each(?))` that lets the update of a
// row to state to through only when the row is in a state allowed to become to; NULL (every row) when
// the update does not change the state.
func fromJSON[S ~string](m machine[S], to *S) any {
	if to == nil {
		return nil
	}
	from := m.from(*to)
	if from == nil {
		from = []S{}
	}
	b, err := json.Marshal(from)
	if err != nil {
		panic(err) // a slice of strings always encodes
	}
	return string(b)
}

// sequenceMachine: a run is queued (triggered) until nothing holds its queue, then started; an approval
// task holds it in waitingForApproval until decided; pause and resume may happen in any live state and
// resume returns to the state before the pause; a task's deadline may run out while its run is paused;
// abort ends any live run. Nothing enters waiting (Keptn's word, kept for its API): a run found in it
// is treated as a queued one. A queued run that a freeze window holds is frozen instead of started, and
// starts when the window ends (or someone exempt unfreezes it); it may be paused and aborted as a queued
// one may.
var sequenceMachine = machine[SequenceState]{
	{StateTriggered, false, []SequenceState{StateStarted, StateFrozen, StatePaused, StateAborted}},
	{StateWaiting, false, []SequenceState{StateStarted, StatePaused, StateAborted}},
	{StateStarted, false, []SequenceState{StateWaitingForApproval, StatePaused, StateFinished, StateTimedOut, StateAborted}},
	{StateWaitingForApproval, false, []SequenceState{StateStarted, StatePaused, StateFinished, StateAborted}},
	{StatePaused, false, []SequenceState{StateTriggered, StateWaiting, StateStarted, StateWaitingForApproval, StateFrozen, StateTimedOut, StateAborted}},
	{StateFrozen, false, []SequenceState{StateStarted, StatePaused, StateAborted}},
	{StateFinished, true, nil},
	{StateAborted, true, nil},
	{StateTimedOut, true, nil},
}

// taskMachine: a task is triggered, or scheduled when it has a triggeredAfter delay, then started, then
// finished or timed out; abort ends it in any live state. A retry (after a restart, or of a finished
// task) is a new attempt of the same run: back to triggered, or to scheduled when it must wait again.
var taskMachine = machine[TaskState]{
	{TaskTriggered, false, []TaskState{TaskStarted, TaskAborted}},
	{TaskScheduled, false, []TaskState{TaskStarted, TaskAborted}},
	{TaskStarted, false, []TaskState{TaskFinished, TaskTimedOut, TaskAborted, TaskTriggered, TaskScheduled}},
	{TaskFinished, true, []TaskState{TaskTriggered, TaskScheduled}},
	{TaskTimedOut, true, nil},
	{TaskAborted, true, nil},
}

// approvalMachine: an approval is decided once.
var approvalMachine = machine[ApprovalState]{
	{ApprovalPending, false, []ApprovalState{ApprovalApproved, ApprovalRejected, ApprovalExpired, ApprovalAborted, ApprovalSuperseded}},
	{ApprovalApproved, true, nil},
	{ApprovalRejected, true, nil},
	{ApprovalExpired, true, nil},
	{ApprovalAborted, true, nil},
	{ApprovalSuperseded, true, nil},
}

// CanTransition reports whether a sequence run, task run or approval in state from may move to state to.
// Staying in the same state is a transition too, allowed only where the table says so.
func CanTransition[S SequenceState | TaskState | ApprovalState](from, to S) bool {
	switch from := any(from).(type) {
	case SequenceState:
		return sequenceMachine.can(from, SequenceState(to))
	case TaskState:
		return taskMachine.can(from, TaskState(to))
	case ApprovalState:
		return approvalMachine.can(from, ApprovalState(to))
	}
	return false
}

func invalidTransition[S ~string](what string, id int64, from, to S) error {
	return fmt.Errorf("%w: %s %d is %s and cannot become %s", ErrInvalidTransition, what, id, from, to)
}

// Terminal reports whether nothing more will happen in this state; reaching it sets finished_at.
func (s SequenceState) Terminal() bool { r, ok := sequenceMachine.row(s); return ok && r.terminal }

// Live reports whether s is a known state that is not terminal: the run is queued, running, waiting
// for approval or paused, and may still change.
func (s SequenceState) Live() bool { r, ok := sequenceMachine.row(s); return ok && !r.terminal }

// Next returns the states a sequence run in s may move to.
func (s SequenceState) Next() []SequenceState {
	r, _ := sequenceMachine.row(s)
	return slices.Clone(r.next)
}

// HoldsQueue reports whether a sequence run in s holds its project/stage/service queue, so that the next
// queued run waits. Unlike Keptn (#5259), a paused sequence and one waiting for approval hold it too: the
// next delivery waits instead of deploying underneath them. A frozen run holds it too: it is the next to
// start, and the ones behind it wait their turn after it rather than freeze beside it.
func (s SequenceState) HoldsQueue() bool {
	return s == StateStarted || s == StateWaiting || s == StateWaitingForApproval || s == StatePaused || s == StateFrozen
}

// WaitsToStart reports whether a run in s has not started yet and waits for its turn: queued, or held
// by a freeze window. Queue depths count these.
func (s SequenceState) WaitsToStart() bool { return s == StateTriggered || s == StateFrozen }

// SequenceStates returns every sequence state, in the order they are declared.
func SequenceStates() []SequenceState {
	return sequenceMachine.where(func(state[SequenceState]) bool { return true })
}

// LiveSequenceStates returns the live sequence states.
func LiveSequenceStates() []SequenceState { return sequenceMachine.where(live) }

// QueueHoldingStates returns the states that hold a queue (HoldsQueue).
func QueueHoldingStates() []SequenceState {
	return sequenceMachine.where(func(r state[SequenceState]) bool { return r.is.HoldsQueue() })
}

// SequenceStatesByUrgency returns the live sequence states from the one that most needs a person's
// attention to the one that least does: waiting for approval, running, paused, frozen, queued. A
// delivery shows the first of them any of its sequence runs is in.
func SequenceStatesByUrgency() []SequenceState {
	return []SequenceState{StateWaitingForApproval, StateStarted, StatePaused, StateFrozen, StateWaiting, StateTriggered}
}

// WaitingToStartStates returns the states of runs that wait to start (WaitsToStart).
func WaitingToStartStates() []SequenceState {
	return sequenceMachine.where(func(r state[SequenceState]) bool { return r.is.WaitsToStart() })
}

// Terminal reports whether the task run is over; reaching it sets finished_at. A finished task may
// still be retried, which makes it live again.
func (s TaskState) Terminal() bool { r, ok := taskMachine.row(s); return ok && r.terminal }

// Live reports whether s is a known state that is not terminal: the task waits to start or runs.
func (s TaskState) Live() bool { r, ok := taskMachine.row(s); return ok && !r.terminal }

// Next returns the states a task run in s may move to.
func (s TaskState) Next() []TaskState { r, _ := taskMachine.row(s); return slices.Clone(r.next) }

// TaskStates returns every task state, in the order they are declared.
func TaskStates() []TaskState { return taskMachine.where(func(state[TaskState]) bool { return true }) }

// LiveTaskStates returns the live task states: the tasks to recover after a restart, or to abort.
func LiveTaskStates() []TaskState { return taskMachine.where(live) }

// Terminal reports whether the approval is decided.
func (s ApprovalState) Terminal() bool { r, ok := approvalMachine.row(s); return ok && r.terminal }

// Live reports whether the approval still accepts votes and decisions: it is pending.
func (s ApprovalState) Live() bool { r, ok := approvalMachine.row(s); return ok && !r.terminal }

// Next returns the states an approval in s may move to.
func (s ApprovalState) Next() []ApprovalState {
	r, _ := approvalMachine.row(s)
	return slices.Clone(r.next)
}

// ApprovalStates returns every approval state, in the order they are declared.
func ApprovalStates() []ApprovalState {
	return approvalMachine.where(func(state[ApprovalState]) bool { return true })
}
