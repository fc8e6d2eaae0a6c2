package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
)

// Executor carries out a task: a deployment, a test, any command. It is called once per attempt with a
// stable Task.RunID, so a retried task can be recognised, and must return when ctx ends (abort, timeout,
// shutdown). An error fails the task with status errored; so does a panic.
type Executor interface {
	Execute(ctx context.Context, t Task) (Result, error)
}

// Idempotent is implemented by executors that know whether a task may safely run again after a restart
// interrupted it: a Helm upgrade to the same values may, a webhook that starts a job may not. It is asked
// per task, with the task's name and executors.yaml settings, since one executor type can do both kinds of
// work. Tasks of executors that do not implement it, or answer false, are failed with "interrupted by
// restart" instead of being run twice without knowing, unless executors.yaml says idempotent: true.
type Idempotent interface {
	Idempotent(task string, config map[string]any) bool
}

// ConfigChecker is implemented by executors that validate their executors.yaml settings (`with:`). The
// engine refuses to start with a task whose settings are invalid, and `shipgate validate` reports them at
// the task's line, so a typo is found before a delivery reaches the task. The error says what is wrong
// in words a user can act on.
type ConfigChecker interface {
	CheckConfig(task string, config map[string]any) error
}

// Task is what an executor is asked to do.
type Task struct {
	RunID        int64 // stable across attempts
	Attempt      int   // from 1
	DeliveryID   int64
	KeptnContext string
	Project      string
	Stage        string
	Service      string
	Sequence     string
	// DeliverySequence is the sequence the delivery was triggered with (delivery; rollback when a person
	// asked for a rollback), as opposed to Sequence, which a triggeredOn follow-up may have started.
	DeliverySequence string
	Name             string
	Image            string
	Labels           map[string]string
	// Data is the task's .triggered payload, merged as Keptn did: the sequence trigger, then every earlier
	// task's result data, the last result and status, and the task's properties under Data[Name].
	Data       map[string]any
	Properties map[string]any
	// Config is the executor's settings for this task from executors.yaml (`with:`).
	Config map[string]any
	// ProjectConfig is the task's project: its directory and service files (Resource), for executors that
	// read charts, values files or test scripts from it.
	ProjectConfig *config.Project
	// TriggeredEventID is the id of the <task>.triggered event of this attempt.
	TriggeredEventID string
	Deadline         time.Time
	// ProcessStarted, set by the engine, is how an executor that runs the task in a process group of its
	// own reports the group's id as soon as the group exists. The engine records it with the task run;
	// after a crash, recovery kills what is left of the group before the task runs again or fails. The
	// group's processes must carry TaskRunEnv(RunID, Attempt) in their environment: recovery kills only a
	// group that still holds such a process, never one whose id has since gone to someone else. It must
	// not be called after Execute returned.
	ProcessStarted func(pgid int)
}

// Result is what an executor reports. An empty Result counts as fail and an empty Status as succeeded,
// so an executor that forgets to say pass has not passed.
type Result struct {
	Result  store.Result
	Status  store.Status
	Message string         // a short line for chat
	Data    map[string]any // merged into the payload of later tasks
	// Evaluation is the scored evaluation of an evaluation task (the Evaluator's), passed on in the
	// task's .finished event for the score table; Data carries it in Keptn's form.
	Evaluation *slo.Evaluation
}

// normalize applies Keptn's aggregation rules to a single executor's answer (CompleteCurrentTask):
// anything but pass or warning is fail, an errored status forces fail, and an unknown status fails too.
func (r Result) normalize() Result {
	if r.Status == store.StatusNone {
		r.Status = store.StatusSucceeded
	}
	if r.Result != store.ResultPass && r.Result != store.ResultWarning {
		r.Result = store.ResultFail
	}
	if r.Status != store.StatusSucceeded {
		r.Result = store.ResultFail
	}
	return r
}

// Noop is an executor that passes at once; executors.yaml maps tasks to it with `type: noop`.
type Noop struct{}

// Execute passes.
func (Noop) Execute(context.Context, Task) (Result, error) {
	return Result{Result: store.ResultPass, Status: store.StatusSucceeded}, nil
}

// Idempotent is true: doing nothing twice is harmless.
func (Noop) Idempotent(string, map[string]any) bool { return true }

// execute calls ex and turns a panic into an errored result: a broken executor fails its task, not the
// process.
func execute(ctx context.Context, ex Executor, t Task) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("executor panicked: %v", p)
		}
	}()
	return ex.Execute(ctx, t)
}
