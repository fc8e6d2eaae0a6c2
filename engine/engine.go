// Package engine runs deliveries through Keptn-format shipyards: it triggers sequences, runs their tasks
// through executors, gates them on approvals, queues one active sequence per project, stage and service,
// and records every transition in the store before any side effect, so a restart loses and repeats
// nothing. It knows nothing of chat; it publishes Events that the bot turns into messages.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// DefaultTaskTimeout bounds a task that neither its properties nor executors.yaml give a timeout.
// Keptn waited 10 minutes for a task to start and then for ever (#7407); shipgate bounds the whole run.
const DefaultTaskTimeout = time.Hour

// Options configure an Engine.
type Options struct {
	Store    *store.Store
	Projects []*config.Project
	// Executors by type, the name executors.yaml gives them (noop, helm, exec, webhook).
	Executors map[string]Executor
	// Evaluator runs evaluation tasks that executors.yaml does not map elsewhere. Without one, an
	// evaluation passes with Keptn's "no evaluation performed" message.
	Evaluator Executor
	// DefaultTaskTimeout applies to tasks without a timeout of their own; 0 means DefaultTaskTimeout.
	DefaultTaskTimeout time.Duration
	// KeepWaitingApprovals keeps an older delivery waiting for approval when a newer one of the same
	// service is triggered in the same stage. By default the older one is superseded.
	KeepWaitingApprovals bool
	// RetryInterval bounds the wait between tries of a transition the database refused (a task's result
	// while the disk is full or another process holds the write lock); 0 means DefaultRetryInterval.
	RetryInterval time.Duration
	// ReconcileInterval is how often started tasks past their deadline with nothing running them are
	// timed out; 0 means DefaultReconcileInterval.
	ReconcileInterval time.Duration
	// Freezes are the windows in which sequences do not start in the stages they cover; such a sequence
	// is frozen and starts when the window ends.
	Freezes config.Freezes
	Logger  *slog.Logger
}

// Engine runs deliveries. Create it with New, recover and start it with Start, stop it with Close.
type Engine struct {
	store     *store.Store
	projects  map[string]*config.Project
	executors map[string]Executor
	evaluator Executor
	timeout   time.Duration
	supersede bool
	freezes   config.Freezes
	log       *slog.Logger

	// turn serialises transitions, so that events are published in the order they were committed. It is
	// a channel of one rather than a mutex so that transitions queued behind one that waits on the
	// database (a lock held elsewhere) count as blocked in testing/synctest, whose clock then moves on.
	turn chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stateMu sync.Mutex // guards the fields below
	running map[int64]context.CancelFunc
	timers  map[string]*time.Timer
	closed  bool
	owed    map[string]*owed // transitions the database refused, by key; see reconcile
	owedSeq uint64

	retryInterval     time.Duration
	reconcileInterval time.Duration
	reconcileWake     chan struct{}

	pub *publisher
}

// Errors callers branch on. Messages wrapping them are safe to show the person who asked.
var (
	// ErrInvalid: the request names something that does not exist or is malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: no such delivery or approval.
	ErrNotFound = errors.New("not found")
	// ErrRefused: the request is well-formed but not possible in the current state.
	ErrRefused = errors.New("refused")
)

// New checks that every task of every project can be run — a task with no executor is refused here,
// naming the task and stage, instead of timing out in the middle of a delivery — and returns an engine
// that is not yet running.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("engine: no store")
	}
	e := &Engine{
		store:     opts.Store,
		projects:  map[string]*config.Project{},
		executors: opts.Executors,
		evaluator: opts.Evaluator,
		timeout:   opts.DefaultTaskTimeout,
		supersede: !opts.KeepWaitingApprovals,
		freezes:   opts.Freezes,
		log:       opts.Logger,
		running:   map[int64]context.CancelFunc{},
		timers:    map[string]*time.Timer{},
		owed:      map[string]*owed{},
		turn:      make(chan struct{}, 1),

		retryInterval:     cmp.Or(opts.RetryInterval, DefaultRetryInterval),
		reconcileInterval: cmp.Or(opts.ReconcileInterval, DefaultReconcileInterval),
		reconcileWake:     make(chan struct{}, 1),
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTaskTimeout
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var problems []string
	for _, p := range opts.Projects {
		e.projects[p.Name] = p
		for _, st := range p.Shipyard.Spec.Stages {
			for _, seq := range st.Sequences {
				for _, t := range seq.Tasks {
					r, err := e.resolve(p, st.Name, t.Name)
					if err != nil {
						problems = append(problems, fmt.Sprintf("%s: %v", p.Shipyard.File, err))
						continue
					}
					if err := checkConfig(r, t.Name); err != nil {
						problems = append(problems, fmt.Sprintf("%s: stage %q: task %q: %v", p.Executors.File, st.Name, t.Name, err))
					}
					if t.Name == "evaluation" {
						if _, err := sliProviderOf(t.Properties); err != nil {
							problems = append(problems, fmt.Sprintf("%s: stage %q: task %q: %v", p.Shipyard.File, st.Name, t.Name, err))
						}
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, errors.New(strings.Join(slices.Compact(problems), "\n"))
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.pub = newPublisher()
	return e, nil
}

// Start recovers what a previous process left (see recover), starts timers and the reconciler, which
// records what the database refused until it takes it. Deliveries keep moving until Close.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.recover(ctx); err != nil {
		return fmt.Errorf("engine: recover: %w", err)
	}
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if !e.closed {
		e.wg.Go(e.reconcile)
	}
	return nil
}

// Close stops timers and cancels running executors, then waits for them. Their tasks stay started in
// the store, and the next Start re-runs or fails them; Close records nothing as failed.
func (e *Engine) Close() error {
	e.stateMu.Lock()
	e.closed = true
	for _, t := range e.timers {
		t.Stop()
	}
	e.stateMu.Unlock()
	e.cancel()
	e.wg.Wait()
	e.logUnrecorded()
	e.pub.close()
	return nil
}

// Subscribe calls fn with every event, in commit order, from one goroutine; fn should return quickly.
// The returned function ends the subscription.
func (e *Engine) Subscribe(fn func(Event)) (unsubscribe func()) {
	return e.pub.subscribe(fn)
}

// project returns the named project or an ErrInvalid naming the ones that exist.
func (e *Engine) project(name string) (*config.Project, error) {
	if p, ok := e.projects[name]; ok {
		return p, nil
	}
	names := make([]string, 0, len(e.projects))
	for n := range e.projects {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, invalidf("unknown project %q; projects: %s", name, strings.Join(names, ", "))
}

// runner is how a task is carried out: by an executor, or by the engine itself (approval).
type runner struct {
	name       string // the executor type from executors.yaml, or the built-in's name
	executor   Executor
	config     map[string]any
	timeout    time.Duration // from executors.yaml (0: the engine default); once started, the one in force
	idempotent bool          // executors.yaml says so, or the runner always is (the evaluator)
	builtin    string        // "approval", or "evaluation" without an evaluator
}

// mayRunAgain reports whether task may run again after a restart interrupted it: executors.yaml says
// so, or its executor declares it (asked only here, in recovery, not on every transition).
func (r runner) mayRunAgain(task string) bool {
	if r.idempotent {
		return true
	}
	id, ok := r.executor.(Idempotent)
	return ok && id.Idempotent(task, r.config)
}

// JobExecutorType is the executor type that runs the tasks job/config.yaml names, as Kubernetes Jobs.
const JobExecutorType = "job"

// resolve finds what runs a task in a stage: approvals are always the engine's own; other tasks go to
// the executor executors.yaml names, else, when every service's job/config.yaml has an action for it,
// to the job executor; an unmapped evaluation goes to the evaluator.
func (e *Engine) resolve(p *config.Project, stage, task string) (runner, error) {
	if task == "approval" {
		return runner{name: "approval", builtin: "approval"}, nil
	}
	if spec, ok := p.ExecutorFor(stage, task); ok {
		ex, ok := e.executors[spec.Type]
		if !ok {
			return runner{}, fmt.Errorf("stage %q: task %q: executor type %q is not available", stage, task, spec.Type)
		}
		return runner{name: spec.Type, executor: ex, config: spec.With, timeout: spec.Timeout, idempotent: spec.Idempotent}, nil
	}
	if p.RunsAsJob(stage, task) {
		// Keptn's job-executor-service configuration (job/config.yaml) names the task: no mapping needed.
		ex, ok := e.executors[JobExecutorType]
		if !ok {
			return runner{}, fmt.Errorf("stage %q: task %q runs as a Kubernetes Job (job/config.yaml), but executor type %q is not available", stage, task, JobExecutorType)
		}
		return runner{name: JobExecutorType, executor: ex}, nil
	}
	if task == "evaluation" {
		if e.evaluator == nil {
			return runner{name: "evaluation", builtin: "evaluation"}, nil
		}
		return runner{name: "evaluator", executor: e.evaluator, idempotent: true}, nil
	}
	return runner{}, fmt.Errorf("stage %q: task %q has no executor; map it in executors.yaml", stage, task)
}

// checkConfig asks the runner's executor, when it validates its settings, whether they are valid.
func checkConfig(r runner, task string) error {
	if c, ok := r.executor.(ConfigChecker); ok && r.builtin == "" {
		return c.CheckConfig(task, r.config)
	}
	return nil
}

// transition runs fn in one store transaction and, once it has committed, applies its effects: starting
// executors, setting timers, cancelling executors and publishing events. Nothing outside the database
// happens before the state that explains it is committed.
func (e *Engine) transition(ctx context.Context, fn func(t *txn) error) error {
	e.turn <- struct{}{}
	defer func() { <-e.turn }()
	var t *txn
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		t = &txn{Tx: tx, e: e, ctx: ctx}
		return fn(t)
	})
	if err != nil {
		return err
	}
	e.apply(t.fx)
	return nil
}

// effects are what a committed transaction asks for outside the database.
type effects struct {
	run    []job   // tasks to hand to their executors
	cancel []int64 // task runs whose executors to stop
	timers []timer
	events []Event
	// later are transitions that follow this one at once, each in its own transaction, so that a
	// request's transaction records what was asked and answers, and the work it sets off comes after
	// (a decided approval's task finishing and the sequence moving on; a queued sequence starting). If
	// the process stops first, recover does them.
	later []*owed
	// changes are approvals' changes to compute (a dry run, which may take seconds) and then record.
	changes []changesJob
}

type timer struct {
	key string
	at  time.Time
	fn  func(ctx context.Context, t *txn) error
}

func (e *Engine) apply(fx effects) {
	for _, ev := range fx.events {
		e.pub.publish(ev)
	}
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if e.closed {
		return
	}
	for _, id := range fx.cancel {
		if cancel, ok := e.running[id]; ok {
			cancel()
		}
	}
	for _, tm := range fx.timers {
		e.setTimerLocked(tm)
	}
	for _, j := range fx.run {
		e.wg.Go(func() { e.runTask(j) })
	}
	for _, o := range fx.later {
		e.wg.Go(func() { e.settle(o) })
	}
	for _, j := range fx.changes {
		e.wg.Go(func() { e.computeChanges(j) })
	}
}

// setTimerLocked arranges for tm.fn to run as a transition at tm.at (at once if that has passed).
// Timers live in memory; their times live in the store, and recover sets them again after a restart.
func (e *Engine) setTimerLocked(tm timer) {
	if old, ok := e.timers[tm.key]; ok {
		old.Stop()
	}
	e.timers[tm.key] = time.AfterFunc(time.Until(tm.at), func() {
		e.stateMu.Lock()
		if e.closed {
			e.stateMu.Unlock()
			return
		}
		delete(e.timers, tm.key)
		e.wg.Add(1)
		e.stateMu.Unlock()
		defer e.wg.Done()
		e.settle(&owed{key: "timer/" + tm.key, what: "timer " + tm.key, fn: func(t *txn) error { return tm.fn(e.ctx, t) }})
	})
}

// job is a started task for its executor.
type job struct {
	task   Task
	runner runner
}

// runTask calls a started task's executor and records its result. If the engine is closing, it records
// nothing: the task stays started and the next Start deals with it.
func (e *Engine) runTask(j job) {
	id := j.task.RunID
	ctx, cancel := context.WithDeadline(e.ctx, j.task.Deadline)
	defer cancel()
	e.stateMu.Lock()
	e.running[id] = cancel
	e.stateMu.Unlock()

	j.task.ProcessStarted = e.processRecorder(j.task)
	res, err := execute(ctx, j.runner.executor, j.task)

	e.stateMu.Lock()
	delete(e.running, id)
	e.stateMu.Unlock()
	if e.ctx.Err() != nil {
		return
	}
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err != nil {
		res = Result{Result: store.ResultFail, Status: store.StatusErrored, Message: err.Error()}
	}
	attempt := j.task.Attempt
	// The result exists only here until it is committed: settle keeps it for the reconciler when the
	// database refuses it, so that a full disk or a held write lock delays the delivery, never strands it.
	e.settle(&owed{key: resultKey(id, attempt), what: fmt.Sprintf("result of task run %d", id),
		fn: func(t *txn) error {
			if timedOut {
				return t.timeoutTask(id, attempt, j.runner.timeout)
			}
			return t.finishTask(id, attempt, res)
		},
		fallback: recordResultFallback(id, attempt),
	})
}
