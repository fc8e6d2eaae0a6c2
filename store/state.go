package store

// The words stored in state, result and status columns. They are Keptn's (spec/keptn-compat.md section 2)
// so that events and API answers can carry them unchanged. Which states are terminal, and which may
// follow which, is in transitions.go.

// SequenceState is the state of a delivery or of one sequence run.
type SequenceState string

// Sequence states, as in Keptn's go-utils models/state.go.
const (
	StateTriggered          SequenceState = "triggered"
	StateWaiting            SequenceState = "waiting"
	StateStarted            SequenceState = "started"
	StateWaitingForApproval SequenceState = "waitingForApproval"
	StatePaused             SequenceState = "paused"
	// StateFrozen is shipgate's own: the run would have started, but a freeze window holds its stage
	// (the run's FreezeName, FrozenUntil); it starts when the window ends, or when someone exempt says so.
	StateFrozen   SequenceState = "frozen"
	StateFinished SequenceState = "finished"
	StateAborted  SequenceState = "aborted"
	StateTimedOut SequenceState = "timedOut"
)

// TaskState is the state of one task run.
type TaskState string

// Task states. TaskScheduled is a task waiting for its triggeredAfter delay.
const (
	TaskTriggered TaskState = "triggered"
	TaskScheduled TaskState = "scheduled"
	TaskStarted   TaskState = "started"
	TaskFinished  TaskState = "finished"
	TaskTimedOut  TaskState = "timedOut"
	TaskAborted   TaskState = "aborted"
)

// Result is Keptn's quality verdict of a task, sequence, delivery or evaluation.
type Result string

// Results. ResultNone is the result of something that has not finished.
const (
	ResultNone    Result = ""
	ResultPass    Result = "pass"
	ResultWarning Result = "warning"
	ResultFail    Result = "fail"
)

// Status is Keptn's technical outcome of a task or sequence, independent of its Result.
type Status string

// Statuses. StatusNone is the status of something that has not finished.
const (
	StatusNone      Status = ""
	StatusSucceeded Status = "succeeded"
	StatusErrored   Status = "errored"
	StatusAborted   Status = "aborted"
	StatusUnknown   Status = "unknown"
)

// ApprovalState is the state of an approval gate.
type ApprovalState string

// Approval states. Only ApprovalPending accepts votes and decisions.
const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved"
	ApprovalRejected ApprovalState = "rejected"
	ApprovalExpired  ApprovalState = "expired"
	ApprovalAborted  ApprovalState = "aborted"
	// ApprovalSuperseded: a newer delivery of the same service reached the same stage first.
	ApprovalSuperseded ApprovalState = "superseded"
)

// Decision is what one voter chose.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
)

// MessageKind says what a posted chat message is for.
type MessageKind string

// Message kinds: the root card of a delivery, a reply in its thread, an approval request.
const (
	MessageRoot     MessageKind = "root"
	MessageThread   MessageKind = "thread"
	MessageApproval MessageKind = "approval"
)
