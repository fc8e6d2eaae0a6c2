package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// behaviour is what the fake executor does for one call.
type behaviour func(ctx context.Context, t Task) (Result, error)

func pass(context.Context, Task) (Result, error) {
	return Result{Result: store.ResultPass}, nil
}

func returns(r store.Result) behaviour {
	return func(context.Context, Task) (Result, error) {
		return Result{Result: r, Message: "result " + string(r)}, nil
	}
}

// fakeExec is the executor behind `type: fake` (and `type: fake-idempotent`). Each task name can get a
// behaviour; the default passes. Calls are recorded.
type fakeExec struct {
	mu         sync.Mutex
	behaviours map[string]behaviour // by task name, or "service/task"
	calls      []Task
	idempotent bool
}

func (f *fakeExec) Execute(ctx context.Context, t Task) (Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, t)
	b := f.behaviours[t.Service+"/"+t.Name]
	if b == nil {
		b = f.behaviours[t.Name]
	}
	f.mu.Unlock()
	if b == nil {
		b = pass
	}
	return b(ctx, t)
}

func (f *fakeExec) Idempotent(string, map[string]any) bool { return f.idempotent }

func (f *fakeExec) on(task string, b behaviour) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behaviours[task] = b
}

// called lists "service/task#attempt" for every call, in order.
func (f *fakeExec) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, fmt.Sprintf("%s/%s/%s#%d", c.Service, c.Stage, c.Name, c.Attempt))
	}
	return out
}

func (f *fakeExec) lastCall(task string) (Task, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].Name == task {
			return f.calls[i], true
		}
	}
	return Task{}, false
}

// fixture is an engine on a real SQLite file with a project written from a shipyard.
type fixture struct {
	t        *testing.T
	dbPath   string
	project  *config.Project
	fake     *fakeExec
	fakeIdem *fakeExec
	differ   *fakeDiffer // the executor behind `type: fake-diff`, which can also diff
	opts     Options
	// evaluator, when set, runs evaluation tasks on the fixture's store.
	evaluator *Evaluator
	storeOpts []store.Option
	st        *store.Store
	e         *Engine

	mu     sync.Mutex
	events []Event
}

const defaultExecutors = `tasks:
  deployment: {type: fake}
  test: {type: fake}
  release: {type: fake}
  rollback: {type: fake}
  evaluation: {type: fake}
  get-action: {type: fake}
  action: {type: fake}
`

// newFixture writes a project "shop" with services carts and orders (plus extra ones), loads it and
// starts an engine. Call it inside a synctest bubble.
func newFixture(t *testing.T, shipyard, executors string, services ...string) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if executors == "" {
		executors = defaultExecutors
	}
	files := map[string]string{"shipyard.yaml": shipyard, "executors.yaml": executors}
	for _, svc := range append([]string{"carts", "orders"}, services...) {
		files[svc+"/README.md"] = svc + "\n"
	}
	p := configtest.WriteProject(t, dir, files)
	f := &fixture{t: t, dbPath: filepath.Join(t.TempDir(), "shipgate.db"), project: p,
		fake: &fakeExec{behaviours: map[string]behaviour{}}, fakeIdem: &fakeExec{behaviours: map[string]behaviour{}, idempotent: true}}
	f.differ = &fakeDiffer{fakeExec: fakeExec{behaviours: map[string]behaviour{}}}
	f.opts = Options{Projects: []*config.Project{p}, Executors: map[string]Executor{"fake": f.fake, "fake-idempotent": f.fakeIdem, "noop": Noop{}, "fake-diff": f.differ}}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	st, err := store.Open(context.Background(), f.dbPath, f.storeOpts...)
	if err != nil {
		f.t.Fatal(err)
	}
	opts := f.opts
	opts.Store = st
	if f.evaluator != nil {
		f.evaluator.Store = st
		opts.Evaluator = f.evaluator
	}
	e, err := New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	e.Subscribe(func(ev Event) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, ev)
	})
	if err := e.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.st, f.e = st, e
}

func (f *fixture) stop() {
	if f.e == nil {
		return
	}
	f.e.Close()
	f.st.Close()
	f.e, f.st = nil, nil
}

// restart stops the engine as a crash would leave it (running executors are cancelled and nothing more is
// recorded), then opens the same database with a new engine.
func (f *fixture) restart() {
	f.t.Helper()
	f.stop()
	f.start()
}

func (f *fixture) trigger(service, image string, labels ...string) int64 {
	f.t.Helper()
	req := Request{Project: "shop", Service: service, Image: image, Actor: "U-dev", Source: "api"}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[k] = v
	}
	id, err := f.e.Trigger(context.Background(), req)
	if err != nil {
		f.t.Fatalf("Trigger: %v", err)
	}
	return id
}

func (f *fixture) delivery(id int64) *store.Delivery {
	f.t.Helper()
	d, err := f.st.GetDelivery(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// sequences describes a delivery's sequence runs as "stage.sequence=state/result/status", in trigger order.
func (f *fixture) sequences(id int64) []string {
	f.t.Helper()
	runs, err := f.st.ListSequenceRuns(context.Background(), store.SequenceRunQuery{DeliveryID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range runs {
		out = append(out, fmt.Sprintf("%s.%s=%s/%s/%s", r.Stage, r.Sequence, r.State, r.Result, r.Status))
	}
	return out
}

// tasks describes a delivery's task runs as "stage.task=state/result", in order.
func (f *fixture) tasks(id int64) []string {
	f.t.Helper()
	trs, err := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	runs := map[int64]string{}
	var out []string
	for _, tr := range trs {
		stage, ok := runs[tr.SequenceRunID]
		if !ok {
			r, err := f.st.GetSequenceRun(context.Background(), tr.SequenceRunID)
			if err != nil {
				f.t.Fatal(err)
			}
			stage, runs[tr.SequenceRunID] = r.Stage, r.Stage
		}
		out = append(out, fmt.Sprintf("%s.%s=%s/%s", stage, tr.Name, tr.State, tr.Result))
	}
	return out
}

// eventTypes lists the Keptn event log of a delivery.
func (f *fixture) eventTypes(id int64) []string {
	f.t.Helper()
	evs, err := f.st.ListEvents(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, strings.TrimPrefix(ev.Type, "sh.keptn.event."))
	}
	return out
}

func (f *fixture) pendingApproval(id int64) *store.Approval {
	f.t.Helper()
	as, err := f.st.ListApprovals(context.Background(), store.ApprovalQuery{DeliveryID: id, State: store.ApprovalPending})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(as) != 1 {
		f.t.Fatalf("delivery %d has %d pending approvals, want 1; sequences %v", id, len(as), f.sequences(id))
	}
	return as[0]
}

func (f *fixture) vote(approvalID int64, actor string, d store.Decision, roles ...string) VoteOutcome {
	f.t.Helper()
	if roles == nil {
		roles = []string{DefaultApproverRole}
	}
	out, err := f.e.Decide(context.Background(), Vote{ApprovalID: approvalID, Actor: actor, Roles: roles, Decision: d, Platform: PlatformSlack, Channel: "C1"})
	if err != nil {
		f.t.Fatalf("Decide: %v", err)
	}
	return out
}

func (f *fixture) published() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func (f *fakeExec) snapshot() []Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
