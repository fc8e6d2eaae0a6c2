package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// txn is one engine transition: a store transaction plus the effects to apply once it commits.
type txn struct {
	*store.Tx
	e   *Engine
	ctx context.Context
	fx  effects
}

// emit appends a Keptn event to the log and queues it for subscribers.
func (t *txn) emit(d *store.Delivery, ev Event, triggeredID string) (*store.Event, error) {
	raw, err := encodeData(ev.Data)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ev.Type, err)
	}
	se := &store.Event{DeliveryID: d.ID, KeptnContext: d.KeptnContext, TriggeredID: triggeredID, Type: ev.Type, Source: eventSource, Data: raw}
	if err := t.AppendEvent(t.ctx, se); err != nil {
		return nil, err
	}
	t.publish(d, ev)
	return se, nil
}

// publish queues an event for subscribers without recording it in the Keptn log.
func (t *txn) publish(d *store.Delivery, ev Event) {
	ev.Time = t.Now()
	ev.DeliveryID, ev.KeptnContext, ev.Project, ev.Service = d.ID, d.KeptnContext, d.Project, d.Service
	t.fx.events = append(t.fx.events, ev)
}

func (t *txn) sequenceDef(d *store.Delivery, stage, name string) (*config.Project, *config.Sequence, error) {
	p, err := t.e.project(d.Project)
	if err != nil {
		return nil, nil, err
	}
	st, ok := p.Shipyard.Stage(stage)
	if !ok {
		return nil, nil, fmt.Errorf("project %s has no stage %q any more", d.Project, stage)
	}
	seq, ok := st.Sequence(name)
	if !ok {
		return nil, nil, fmt.Errorf("stage %q of project %s has no sequence %q any more", stage, d.Project, name)
	}
	return p, seq, nil
}

// triggerSequence queues a sequence run of the delivery in a stage, with the payload of its .triggered
// event, and starts it (startSequence).
func (t *txn) triggerSequence(d *store.Delivery, stage, sequence string, data map[string]any) error {
	run, err := t.queueSequence(d, stage, sequence, data)
	if err != nil {
		return err
	}
	return t.startSequence(d, run)
}

// queueSequence records a sequence run of the delivery in a stage, triggered, with its .triggered event.
func (t *txn) queueSequence(d *store.Delivery, stage, sequence string, data map[string]any) (*store.SequenceRun, error) {
	data = deepMerge(data, map[string]any{"stage": stage})
	ev, err := t.emit(d, Event{Type: sequenceEventType(stage, sequence, kindTriggered), Stage: stage, Sequence: sequence, Data: data}, "")
	if err != nil {
		return nil, err
	}
	run := &store.SequenceRun{DeliveryID: d.ID, Stage: stage, Sequence: sequence, State: store.StateTriggered, TriggeredEventID: ev.ID}
	if err := t.CreateSequenceRun(t.ctx, run); err != nil {
		return nil, err
	}
	return run, nil
}

// startSequence supersedes older deliveries waiting for approval where a queued run is, and starts the
// queue.
func (t *txn) startSequence(d *store.Delivery, run *store.SequenceRun) error {
	if t.e.supersede {
		if err := t.supersede(d, run); err != nil {
			return err
		}
	}
	return t.startQueued(d.Project, run.Stage, d.Service)
}

// startQueued starts the oldest queued sequence run of a project, stage and service, unless another one
// holds the queue (store.SequenceState.HoldsQueue), or freezes it when a freeze window holds the stage.
// Other services are not affected.
func (t *txn) startQueued(project, stage, service string) error {
	next, err := t.NextQueued(t.ctx, store.QueueScope{Project: project, Stage: stage, Service: service})
	if err != nil || next == nil {
		return err
	}
	d, err := t.GetDelivery(t.ctx, next.DeliveryID)
	if err != nil {
		return err
	}
	return t.startOrFreeze(d, next)
}

// startRun starts a sequence run that was queued or frozen: its .started event and its first task.
func (t *txn) startRun(d *store.Delivery, next *store.SequenceRun) error {
	run, err := t.UpdateSequenceRun(t.ctx, next.ID, store.SequenceRunUpdate{State: new(store.StateStarted)})
	if err != nil {
		return err
	}
	if _, err := t.emit(d, Event{Type: sequenceEventType(run.Stage, run.Sequence, kindStarted), Stage: run.Stage, Sequence: run.Sequence,
		Data: scopeData(d.Project, run.Stage, d.Service, d.Labels)}, run.TriggeredEventID); err != nil {
		return err
	}
	if err := t.triggerTask(d, run, 0, nil); err != nil {
		return err
	}
	return t.refreshDelivery(d.ID)
}

// sequencePayload is the sequence's .triggered payload with every finished task's data merged in, in
// order, followed by the result and status of the last finished task (Keptn's GetNextTriggeredEventData).
func (t *txn) sequencePayload(run *store.SequenceRun) (map[string]any, *store.TaskRun, error) {
	trig, err := t.GetEvent(t.ctx, run.TriggeredEventID)
	if err != nil {
		return nil, nil, err
	}
	data := decodeData(trig.Data)
	tasks, err := t.ListTaskRuns(t.ctx, store.TaskRunQuery{SequenceRunID: run.ID})
	if err != nil {
		return nil, nil, err
	}
	var last *store.TaskRun
	for _, tr := range tasks {
		if tr.State != store.TaskFinished && tr.State != store.TaskTimedOut {
			continue
		}
		deepMerge(data, decodeData(tr.Data))
		last = tr
	}
	if last != nil {
		data["result"], data["status"] = string(last.Result), string(last.Status)
	}
	return data, last, nil
}

// triggerTask creates the task run at position pos of a started sequence with its .triggered payload,
// and begins it, or schedules it when the task has a triggeredAfter delay. payload is the sequence's
// payload so far (sequencePayload), or nil to have it read.
func (t *txn) triggerTask(d *store.Delivery, run *store.SequenceRun, pos int, payload map[string]any) error {
	p, seq, err := t.sequenceDef(d, run.Stage, run.Sequence)
	if err != nil {
		return err
	}
	def := seq.Tasks[pos]
	data := payload
	if data == nil {
		if data, _, err = t.sequencePayload(run); err != nil {
			return err
		}
	}
	deepMerge(data, scopeData(d.Project, run.Stage, d.Service, nil))
	deepMerge(data, map[string]any{def.Name: copyData(def.Properties), "message": ""})
	if _, ok := data[def.Name].(map[string]any); !ok {
		data[def.Name] = map[string]any{}
	}
	ev, err := t.emit(d, Event{Type: taskEventType(def.Name, kindTriggered), Stage: run.Stage, Sequence: run.Sequence, Task: def.Name, Data: data}, "")
	if err != nil {
		return err
	}
	r, err := t.e.resolve(p, run.Stage, def.Name)
	if err != nil {
		return err
	}
	tr := &store.TaskRun{SequenceRunID: run.ID, Position: pos, Name: def.Name, Executor: r.name, State: store.TaskTriggered, TriggeredEventID: ev.ID}
	delay, _ := def.Delay() // validated when the project was loaded
	if delay > 0 {
		at := t.Now().Add(delay)
		tr.State, tr.ScheduledFor = store.TaskScheduled, &at
	}
	if err := t.CreateTaskRun(t.ctx, tr); err != nil {
		return err
	}
	if delay > 0 {
		t.scheduleTimer(tr.ID, *tr.ScheduledFor)
		return nil
	}
	return t.begin(d, run, tr, def, data, r)
}

// scheduleTimer releases a task waiting for its triggeredAfter delay.
func (t *txn) scheduleTimer(taskRunID int64, at time.Time) {
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("schedule/%d", taskRunID), at: at, fn: func(_ context.Context, t *txn) error {
		tr, err := t.GetTaskRun(t.ctx, taskRunID)
		if err != nil || tr.State != store.TaskScheduled {
			return err
		}
		return t.beginTriggered(tr) // not while paused: resume releases it then
	}})
}

// taskContext is what the engine knows about a task run: its sequence run, delivery, definition in the
// shipyard, and what runs it.
type taskContext struct {
	run    *store.SequenceRun
	d      *store.Delivery
	def    config.Task
	runner runner
}

func (t *txn) loadTask(tr *store.TaskRun) (taskContext, error) {
	run, err := t.GetSequenceRun(t.ctx, tr.SequenceRunID)
	if err != nil {
		return taskContext{}, err
	}
	d, err := t.GetDelivery(t.ctx, tr.DeliveryID)
	if err != nil {
		return taskContext{}, err
	}
	p, seq, err := t.sequenceDef(d, run.Stage, run.Sequence)
	if err != nil {
		return taskContext{}, err
	}
	def := seq.Tasks[tr.Position]
	r, err := t.e.resolve(p, run.Stage, def.Name)
	if err != nil {
		return taskContext{}, err
	}
	return taskContext{run: run, d: d, def: def, runner: r}, nil
}

// beginTriggered loads what begin needs for a task run that was triggered (or scheduled) in an earlier
// transition, and begins it unless its sequence is paused (resume begins it then).
func (t *txn) beginTriggered(tr *store.TaskRun) error {
	tc, err := t.loadTask(tr)
	if err != nil || tc.run.State != store.StateStarted {
		return err
	}
	trig, err := t.GetEvent(t.ctx, tr.TriggeredEventID)
	if err != nil {
		return err
	}
	return t.begin(tc.d, tc.run, tr, tc.def, decodeData(trig.Data), tc.runner)
}

// begin starts a triggered task in the transition that triggered it (or that released it): built-in
// tasks are carried out right here; for the others the task is marked started, with its deadline, and
// handed to its executor once the transition has committed. Committing "started" first means a crash can
// never run a task without the store knowing; recover decides what to do with a task it finds started.
func (t *txn) begin(d *store.Delivery, run *store.SequenceRun, tr *store.TaskRun, def config.Task, data map[string]any, r runner) error {
	switch r.builtin {
	case "approval":
		return t.startApproval(d, run, tr, def, data)
	case "evaluation":
		res := noProviderResult(d.Project)
		if _, err := t.markStarted(d, run, tr, res.Message); err != nil {
			return err
		}
		return t.finishTask(tr.ID, tr.Attempt, res)
	}
	started, err := t.markStarted(d, run, tr, "")
	if err != nil {
		return err
	}
	r.timeout = taskTimeout(def, r, t.e.timeout)
	deadline := started.StartedAt.Add(r.timeout)
	t.deadlineTimer(started, deadline, r.timeout)
	t.fx.run = append(t.fx.run, job{runner: r, task: Task{
		RunID: tr.ID, Attempt: tr.Attempt, DeliveryID: d.ID, KeptnContext: d.KeptnContext,
		Project: d.Project, Stage: run.Stage, Service: d.Service, Sequence: run.Sequence, DeliverySequence: d.Sequence, Name: def.Name,
		Image: d.Image, Labels: d.Labels, Data: data, Properties: copyData(def.Properties), Config: copyData(r.config),
		TriggeredEventID: tr.TriggeredEventID, Deadline: deadline, ProjectConfig: t.e.projects[d.Project],
	}})
	return nil
}

// taskTimeout is the task's `timeout` property, else executors.yaml's, else the engine default.
func taskTimeout(def config.Task, r runner, fallback time.Duration) time.Duration {
	if s, ok := def.Properties["timeout"].(string); ok {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return d
		}
	}
	if r.timeout > 0 {
		return r.timeout
	}
	return fallback
}

// markStarted records that a task started and emits its .started event.
func (t *txn) markStarted(d *store.Delivery, run *store.SequenceRun, tr *store.TaskRun, message string) (*store.TaskRun, error) {
	started, err := t.UpdateTaskRun(t.ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskStarted)})
	if err != nil {
		return nil, err
	}
	data := scopeData(d.Project, run.Stage, d.Service, d.Labels)
	data["status"], data["message"] = string(store.StatusSucceeded), message
	_, err = t.emit(d, Event{Type: taskEventType(tr.Name, kindStarted), Stage: run.Stage, Sequence: run.Sequence, Task: tr.Name,
		TaskRunID: tr.ID, Status: store.StatusSucceeded, Message: message, Data: data}, tr.TriggeredEventID)
	return started, err
}

// deadlineTimer fails a started task that has not finished in time. Unlike Keptn (#7407), the limit
// holds after the task started too: a task never hangs a delivery for ever.
func (t *txn) deadlineTimer(tr *store.TaskRun, at time.Time, timeout time.Duration) {
	attempt := tr.Attempt
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("deadline/%d", tr.ID), at: at, fn: func(_ context.Context, t *txn) error {
		if t.e.hasOwedResult(tr.ID, attempt) {
			return nil // the executor answered in time; its result waits for the database
		}
		return t.timeoutTask(tr.ID, attempt, timeout)
	}})
}

// timeoutTask ends a task that ran out of time: Keptn's timeout rules (errored, fail, sequence timedOut,
// no follow-ups). Both the deadline timer and an executor returning at its deadline lead here; whichever
// comes second finds the task already ended and does nothing.
func (t *txn) timeoutTask(id int64, attempt int, timeout time.Duration) error {
	cur, err := t.GetTaskRun(t.ctx, id)
	if err != nil || cur.State != store.TaskStarted || cur.Attempt != attempt {
		return err
	}
	t.fx.cancel = append(t.fx.cancel, id)
	msg := fmt.Sprintf("task %s timed out after %s", cur.Name, timeout)
	return t.endTask(cur, store.TaskTimedOut, Result{Result: store.ResultFail, Status: store.StatusErrored, Message: msg})
}

// finishTask records an executor's result for the attempt that produced it and moves the sequence on.
// A result for a task that is no longer started (aborted, timed out, retried) is ignored.
func (t *txn) finishTask(id int64, attempt int, res Result) error {
	tr, err := t.GetTaskRun(t.ctx, id)
	if err != nil {
		return err
	}
	if tr.State != store.TaskStarted || tr.Attempt != attempt {
		return nil
	}
	return t.endTask(tr, store.TaskFinished, res.normalize())
}

// endTask ends a started task in state (finished or timedOut) with res, emits <task>.finished, and
// moves its sequence on.
func (t *txn) endTask(tr *store.TaskRun, state store.TaskState, res Result) error {
	run, err := t.GetSequenceRun(t.ctx, tr.SequenceRunID)
	if err != nil {
		return err
	}
	d, err := t.GetDelivery(t.ctx, tr.DeliveryID)
	if err != nil {
		return err
	}
	data := deepMerge(scopeData(d.Project, run.Stage, d.Service, d.Labels), res.Data)
	data["result"], data["status"], data["message"] = string(res.Result), string(res.Status), res.Message
	raw, err := encodeData(res.Data)
	if err != nil {
		return fmt.Errorf("encode result of task %s: %w", tr.Name, err)
	}
	if _, err := t.UpdateTaskRun(t.ctx, tr.ID, store.TaskRunUpdate{State: &state, Result: &res.Result, Status: &res.Status, Message: &res.Message, Data: raw}); err != nil {
		return err
	}
	if _, err := t.emit(d, Event{Type: taskEventType(tr.Name, kindFinished), Stage: run.Stage, Sequence: run.Sequence, Task: tr.Name, TaskRunID: tr.ID,
		Result: res.Result, Status: res.Status, Message: res.Message, Data: data, Evaluation: res.Evaluation}, tr.TriggeredEventID); err != nil {
		return err
	}
	if worse(res.Result, d.WorstResult) {
		if _, err := t.UpdateDelivery(t.ctx, d.ID, store.DeliveryUpdate{WorstResult: &res.Result}); err != nil {
			return err
		}
	}
	if state == store.TaskTimedOut {
		return t.finishSequence(d, run, store.StateTimedOut, res, false)
	}
	return t.advance(d, run)
}

// worse reports whether a is a worse result than b (fail < warning < pass < none).
func worse(a, b store.Result) bool {
	rank := map[store.Result]int{store.ResultFail: 0, store.ResultWarning: 1, store.ResultPass: 2, store.ResultNone: 3}
	return rank[a] < rank[b]
}

// advance moves a sequence on after its current task ended: stop on fail or errored, else trigger the
// next task, else finish. A paused sequence stays where it is until resumed.
func (t *txn) advance(d *store.Delivery, run *store.SequenceRun) error {
	if run.State == store.StatePaused || run.State.Terminal() {
		return nil
	}
	_, seq, err := t.sequenceDef(d, run.Stage, run.Sequence)
	if err != nil {
		return err
	}
	payload, last, err := t.sequencePayload(run)
	if err != nil {
		return err
	}
	res := Result{Result: last.Result, Status: last.Status, Message: last.Message}
	if last.Result == store.ResultFail || last.Status == store.StatusErrored || last.Position+1 >= len(seq.Tasks) {
		return t.finishSequence(d, run, store.StateFinished, res, true)
	}
	resumed := run.State != store.StateStarted // out of waitingForApproval: the delivery's state changes
	if resumed {
		if run, err = t.UpdateSequenceRun(t.ctx, run.ID, store.SequenceRunUpdate{State: new(store.StateStarted)}); err != nil {
			return err
		}
	}
	if err := t.triggerTask(d, run, last.Position+1, payload); err != nil {
		return err
	}
	if resumed {
		return t.refreshDelivery(d.ID)
	}
	return nil
}

// finishSequence ends a sequence run with the result of the task that completed last (Keptn's rule, not
// the worst result), emits <stage>.<sequence>.finished, starts the sequences it triggers when followUps
// is set, and lets the next queued sequence of the same place start.
func (t *txn) finishSequence(d *store.Delivery, run *store.SequenceRun, state store.SequenceState, res Result, followUps bool) error {
	run, err := t.UpdateSequenceRun(t.ctx, run.ID, store.SequenceRunUpdate{State: &state, Result: &res.Result, Status: &res.Status, Message: &res.Message})
	if err != nil {
		return err
	}
	data := scopeData(d.Project, run.Stage, d.Service, d.Labels)
	data["result"], data["status"], data["message"] = string(res.Result), string(res.Status), res.Message
	if _, err := t.emit(d, Event{Type: sequenceEventType(run.Stage, run.Sequence, kindFinished), Stage: run.Stage, Sequence: run.Sequence,
		Result: res.Result, Status: res.Status, Message: res.Message, Data: data}, run.TriggeredEventID); err != nil {
		return err
	}
	if run.Sequence == d.Sequence && state != store.StateAborted {
		if _, err := t.UpdateDelivery(t.ctx, d.ID, store.DeliveryUpdate{Result: &res.Result, Message: &res.Message}); err != nil {
			return err
		}
	}
	if followUps {
		if err := t.triggerFollowUps(d, run, res); err != nil {
			return err
		}
	}
	if err := t.startQueued(d.Project, run.Stage, d.Service); err != nil {
		return err
	}
	return t.refreshDelivery(d.ID)
}

// triggerFollowUps starts every sequence, in any stage, whose triggeredOn matches the finished one
// (Keptn's GetTaskSequencesByTrigger): without a selector on pass or warning; with one when result or
// <lastTask>.result equals the result. They get the finished sequence's payload with the stage replaced.
func (t *txn) triggerFollowUps(d *store.Delivery, run *store.SequenceRun, res Result) error {
	p, err := t.e.project(d.Project)
	if err != nil {
		return err
	}
	payload, last, err := t.sequencePayload(run)
	if err != nil {
		return err
	}
	lastTask := ""
	if last != nil {
		lastTask = last.Name
	}
	event := run.Stage + "." + run.Sequence + ".finished"
	for _, st := range p.Shipyard.Spec.Stages {
		for _, seq := range st.Sequences {
			for _, tr := range seq.TriggeredOn {
				if tr.Event != event || !selectorMatches(tr.Selector.Match, res.Result, lastTask) {
					continue
				}
				if err := t.triggerSequence(d, st.Name, seq.Name, copyData(payload)); err != nil {
					return err
				}
				break // one trigger entry is enough to start this sequence once
			}
		}
	}
	return nil
}

func selectorMatches(match map[string]string, result store.Result, lastTask string) bool {
	if len(match) == 0 {
		return result == store.ResultPass || result == store.ResultWarning
	}
	if v, ok := match["result"]; ok && v == string(result) {
		return true
	}
	if v, ok := match[lastTask+".result"]; ok && lastTask != "" && v == string(result) {
		return true
	}
	return false
}

// refreshDelivery derives the delivery's state from its sequence runs: the most pressing state of a
// live one (waiting for approval, running, paused, queued), or, once none is live, finished, or aborted
// or timedOut when that is how the last one ended.
func (t *txn) refreshDelivery(id int64) error {
	runs, err := t.ListSequenceRuns(t.ctx, store.SequenceRunQuery{DeliveryID: id})
	if err != nil {
		return err
	}
	order := store.SequenceStatesByUrgency()
	state := store.StateFinished
	best := len(order)
	var lastEnd *store.SequenceRun
	for _, r := range runs {
		for i, s := range order {
			if r.State == s && i < best {
				best, state = i, s
			}
		}
		if r.FinishedAt != nil && (lastEnd == nil || !r.FinishedAt.Before(*lastEnd.FinishedAt)) {
			lastEnd = r
		}
	}
	if best == len(order) && lastEnd != nil && lastEnd.State != store.StateFinished {
		state = lastEnd.State
	}
	d, err := t.GetDelivery(t.ctx, id)
	if err != nil || d.State == state {
		return err
	}
	if _, err := t.UpdateDelivery(t.ctx, id, store.DeliveryUpdate{State: &state}); err != nil {
		return err
	}
	if state.Terminal() {
		t.publish(d, Event{Type: EventDeliveryFinished, Result: d.Result, Message: d.Message})
	}
	return nil
}
