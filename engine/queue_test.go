package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

const oneStage = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: test}]
        - name: rollback
          triggeredOn: [{event: qa.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: rollback}]
`

// gate makes an executor behaviour wait until the test releases each call, reporting which call started.
type gate struct {
	started chan string
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 100), release: make(chan struct{})} }

func (g *gate) run(ctx context.Context, tk Task) (Result, error) {
	g.started <- fmt.Sprintf("%s:%s", tk.Service, tk.Labels["n"])
	select {
	case <-g.release:
		return Result{Result: store.ResultPass}, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Integration test test_sequencequeue.go: 10 deliveries of one service start strictly in order, one at a
// time, while another service's delivery runs alongside.
func TestQueueOneServiceInOrderOthersInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		g := newGate()
		f.fake.on("deployment", g.run)
		var ids []int64
		for i := range 10 {
			ids = append(ids, f.trigger("carts", image, fmt.Sprintf("n=%d", i)))
		}
		other := f.trigger("orders", image, "n=x")
		synctest.Wait()
		got := []string{<-g.started, <-g.started}
		slices.Sort(got)
		equal(t, "running at once", got, []string{"carts:0", "orders:x"})
		for i := range 10 {
			if i > 0 {
				if s := <-g.started; s != fmt.Sprintf("carts:%d", i) {
					t.Fatalf("started %s, want carts:%d", s, i)
				}
			}
			synctest.Wait()
			if len(g.started) != 0 {
				t.Fatalf("more than one carts delivery running after %d", i)
			}
			for j, id := range ids {
				want := store.StateTriggered
				switch {
				case j < i:
					want = store.StateFinished
				case j == i:
					want = store.StateStarted
				}
				if d := f.delivery(id); d.State != want {
					t.Fatalf("after %d: delivery %d is %s, want %s", i, j, d.State, want)
				}
			}
			g.release <- struct{}{} // one of the waiting calls: carts:i or, the first time, orders
			if i == 0 {
				g.release <- struct{}{}
			}
			synctest.Wait()
		}
		if d := f.delivery(other); d.State != store.StateFinished {
			t.Errorf("orders delivery %s", d.State)
		}
	})
}

func TestAbortRunningAndQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		g := newGate()
		f.fake.on("deployment", g.run)
		running := f.trigger("carts", image, "n=1")
		queued := f.trigger("carts", image, "n=2")
		third := f.trigger("carts", image, "n=3")
		synctest.Wait()
		<-g.started

		// A queued sequence can be aborted (#5472).
		if err := f.e.Abort(context.Background(), Control{DeliveryID: queued, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "queued after abort", f.sequences(queued), []string{"qa.delivery=aborted/pass/aborted"})
		if len(f.fake.called()) != 1 {
			t.Errorf("aborting a queued delivery ran something: %v", f.fake.called())
		}

		// Aborting the running one cancels its executor; no follow-up (rollback) runs; the queue moves on.
		if err := f.e.Abort(context.Background(), Control{DeliveryID: running, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "running after abort", f.sequences(running), []string{"qa.delivery=aborted/pass/aborted"})
		equal(t, "its tasks", f.tasks(running), []string{"qa.deployment=aborted/pass"})
		if d := f.delivery(running); d.State != store.StateAborted || d.Message != "" && !strings.Contains(d.Message, "") {
			t.Errorf("delivery %s", d.State)
		}
		if s := <-g.started; s != "carts:3" {
			t.Errorf("next started %s, want carts:3", s)
		}
		close(g.release)
		synctest.Wait()
		if d := f.delivery(third); d.State != store.StateFinished {
			t.Errorf("third delivery %s", d.State)
		}
		if err := f.e.Abort(context.Background(), Control{DeliveryID: running}); !errors.Is(err, ErrRefused) {
			t.Errorf("abort of an aborted delivery: %v, want ErrRefused", err)
		}
		if err := f.e.Abort(context.Background(), Control{DeliveryID: 999}); !errors.Is(err, ErrNotFound) {
			t.Errorf("abort of a missing delivery: %v", err)
		}
	})
}

func TestPauseAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		g := newGate()
		f.fake.on("deployment", g.run)
		id := f.trigger("carts", image, "n=1")
		next := f.trigger("carts", image, "n=2")
		synctest.Wait()
		<-g.started
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		// The running task finishes and is recorded, but the next one waits; a paused sequence holds the
		// queue, unlike Keptn (#5259).
		g.release <- struct{}{}
		synctest.Wait()
		equal(t, "paused", f.tasks(id), []string{"qa.deployment=finished/pass"})
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=paused//"})
		if d := f.delivery(next); d.State != store.StateTriggered {
			t.Errorf("the next delivery is %s, want still queued", d.State)
		}
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id}); !errors.Is(err, ErrRefused) {
			t.Errorf("second pause: %v", err)
		}
		if err := f.e.Resume(context.Background(), Control{DeliveryID: id, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "resumed", f.tasks(id), []string{"qa.deployment=finished/pass", "qa.test=finished/pass"})
		<-g.started
		close(g.release)
		synctest.Wait()
		if d := f.delivery(next); d.State != store.StateFinished {
			t.Errorf("next delivery %s", d.State)
		}
	})
}

func TestTaskTimeout(t *testing.T) {
	for _, tt := range []struct {
		name     string
		ignore   bool // the executor ignores its context and never returns
		executor string
	}{
		{name: "executor stops at its deadline"},
		{name: "executor hangs", ignore: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				shipyard := strings.Replace(oneStage, "{name: deployment}", "{name: deployment, properties: {timeout: 5m}}", 1)
				f := newFixture(t, shipyard, "")
				hang := make(chan struct{})
				defer close(hang)
				f.fake.on("deployment", func(ctx context.Context, _ Task) (Result, error) {
					if tt.ignore {
						<-hang
						return Result{Result: store.ResultPass}, nil
					}
					<-ctx.Done()
					return Result{}, ctx.Err()
				})
				id := f.trigger("carts", image)
				synctest.Wait()
				time.Sleep(5*time.Minute - time.Second)
				synctest.Wait()
				equal(t, "before the deadline", f.sequences(id), []string{"qa.delivery=started//"})
				time.Sleep(time.Second)
				synctest.Wait()
				// Keptn: errored, fail, state timedOut, and no follow-up sequence (not even the rollback).
				equal(t, "after", f.sequences(id), []string{"qa.delivery=timedOut/fail/errored"})
				equal(t, "tasks", f.tasks(id), []string{"qa.deployment=timedOut/fail"})
				if d := f.delivery(id); d.State != store.StateTimedOut || d.Message != "task deployment timed out after 5m0s" {
					t.Errorf("delivery %s %q", d.State, d.Message)
				}
			})
		})
	}
}

// The default task timeout applies when neither the task nor executors.yaml sets one.
func TestDefaultTaskTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, strings.Replace(defaultExecutors, "deployment: {type: fake}", "deployment: {type: fake, timeout: 2m}", 1))
		f.fake.on("deployment", func(ctx context.Context, _ Task) (Result, error) { <-ctx.Done(); return Result{}, ctx.Err() })
		f.fake.on("test", func(ctx context.Context, tk Task) (Result, error) {
			<-ctx.Done()
			return Result{}, ctx.Err()
		})
		id := f.trigger("carts", image)
		synctest.Wait()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		equal(t, "after executors.yaml's 2m", f.sequences(id), []string{"qa.delivery=timedOut/fail/errored"})
	})
}

func TestSupersedeWaitingApproval(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, approvalShipyard("{pass: manual}"), "")
				if keep {
					f.stop()
					f.opts.KeepWaitingApprovals = true
					f.start()
				}
				old := f.trigger("carts", image, "n=1")
				synctest.Wait()
				a := f.pendingApproval(old)
				newer := f.trigger("carts", "ghcr.io/podtato-head/podtatoserver:v0.1.2", "n=2")
				synctest.Wait()
				if keep {
					equal(t, "old", f.sequences(old)[1:], []string{"production.delivery=waitingForApproval//"})
					equal(t, "newer queued behind it", f.sequences(newer)[1:], []string{"production.delivery=triggered//"})
					return
				}
				equal(t, "old", f.sequences(old)[1:], []string{"production.delivery=aborted/pass/aborted"})
				equal(t, "newer", f.sequences(newer)[1:], []string{"production.delivery=waitingForApproval//"})
				got, _ := f.st.GetApproval(context.Background(), a.ID)
				if got.State != store.ApprovalSuperseded || got.Reason != fmt.Sprintf("superseded by delivery %d", newer) {
					t.Errorf("old approval %s %q", got.State, got.Reason)
				}
				if out := f.vote(a.ID, "U-ann", store.DecisionApprove); out.Counted {
					t.Error("a superseded approval accepted a vote")
				}
			})
		})
	}
}

// Control can be limited to one stage: only that stage's live sequences are touched.
func TestControlPerStage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		err := f.e.Abort(context.Background(), Control{DeliveryID: id, Stage: "qa", Actor: "U-ops"})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "has nothing to abort in stage qa (it is waitingForApproval)") {
			t.Errorf("abort in qa: %v", err)
		}
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id, Stage: "production", Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		equal(t, "paused", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=paused//"})
		if err := f.e.Resume(context.Background(), Control{DeliveryID: id, Stage: "production"}); err != nil {
			t.Fatal(err)
		}
		equal(t, "resumed", f.sequences(id)[1:], []string{"production.delivery=waitingForApproval//"})
		if err := f.e.Abort(context.Background(), Control{DeliveryID: id, Stage: "production", Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "aborted", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=aborted/pass/aborted"})
		as, _ := f.st.ListApprovals(context.Background(), store.ApprovalQuery{DeliveryID: id})
		if len(as) != 1 || as[0].State != store.ApprovalAborted || as[0].Reason != "aborted by U-ops" {
			t.Errorf("approval after abort: %+v", as[0])
		}
		audit, _ := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("delivery:%d", id)})
		var actions []string
		for _, a := range audit {
			actions = append(actions, a.Action)
		}
		equal(t, "audit, newest first", actions, []string{"delivery.abort", "delivery.resume", "delivery.pause", "delivery.trigger"})
	})
}

// An approval decided while its sequence is paused finishes the approval task; resuming must move the
// sequence on, not put it back to waiting for an approval that no longer exists.
func TestApprovalDecidedWhilePausedMovesOnAtResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id, Stage: "production", Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		if out := f.vote(a.ID, "U-lead", store.DecisionApprove); !out.Counted {
			t.Fatalf("vote while paused: %+v", out)
		}
		synctest.Wait()
		equal(t, "paused after the approval", f.sequences(id)[1:], []string{"production.delivery=paused//"})
		if err := f.e.Resume(context.Background(), Control{DeliveryID: id, Stage: "production", Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "resumed", f.sequences(id)[1:], []string{"production.delivery=finished/pass/succeeded"})
		if d := f.delivery(id); d.State != store.StateFinished {
			t.Errorf("delivery is %s, want finished", d.State)
		}
	})
}
