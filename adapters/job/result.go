package job

import (
	"fmt"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Outcome is how a Job ended.
type Outcome string

// Outcomes of Run.
const (
	Succeeded Outcome = "succeeded" // condition Complete
	Failed    Outcome = "failed"    // condition Failed
	TimedOut  Outcome = "timedOut"  // MaxPollDuration passed; the Job was deleted
)

// Result is how a Job ended and what it said.
type Result struct {
	Namespace, Job string
	Outcome        Outcome
	// Reason and Message are the Job's final condition's (BackoffLimitExceeded, DeadlineExceeded, ...),
	// or, for TimedOut, what happened.
	Reason, Message string
	// ExitCode is the task container's, from the newest pod whose container terminated; nil when none
	// did (the pod never started, or the Job timed out).
	ExitCode *int32
	// Logs are the tail of the pods' logs (LogTailLines lines, LogTailBytes bytes at most).
	Logs string
	Pods int
	// Reattached says the Job existed already (a restart) and Run waited for it instead of creating it.
	Reattached bool
}

// messageLogLines is how many of the last log lines a failed task's chat message quotes.
const messageLogLines = 10

// Engine is the task's result as the engine takes it: a Job that completed passes, one that failed
// fails with its exit code and last log lines, and one that timed out errors. Data carries the details
// under "job" for later tasks.
func (r Result) Engine() engine.Result {
	data := map[string]any{"name": r.Job, "namespace": r.Namespace, "outcome": string(r.Outcome), "logs": r.Logs}
	if r.ExitCode != nil {
		data["exitCode"] = int(*r.ExitCode)
	}
	out := engine.Result{Data: map[string]any{"job": data}}
	switch r.Outcome {
	case Succeeded:
		out.Result, out.Status = store.ResultPass, store.StatusSucceeded
		out.Message = fmt.Sprintf("job %s succeeded", r.Job)
	case TimedOut:
		out.Result, out.Status = store.ResultFail, store.StatusErrored
		out.Message = fmt.Sprintf("job %s: %s", r.Job, r.Message)
	default:
		out.Result, out.Status = store.ResultFail, store.StatusSucceeded
		var b strings.Builder
		fmt.Fprintf(&b, "job %s failed", r.Job)
		if r.ExitCode != nil {
			fmt.Fprintf(&b, " with exit code %d", *r.ExitCode)
		}
		if r.Reason != "" {
			fmt.Fprintf(&b, " (%s)", r.Reason)
		}
		if last := tail(r.Logs, messageLogLines, LogTailBytes); strings.TrimSpace(last) != "" {
			fmt.Fprintf(&b, "; last lines:\n%s", strings.TrimSuffix(last, "\n"))
		}
		out.Message = b.String()
	}
	return out
}
