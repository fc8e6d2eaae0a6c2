package engine

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// Restarts in the middle of each state, on the same SQLite file: nothing is lost, nothing runs twice
// without the executor knowing.

func TestRestartWhileWaitingForApproval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		f.restart()
		synctest.Wait()
		equal(t, "still waiting", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=waitingForApproval//"})
		if out := f.vote(a.ID, "U-ann", store.DecisionApprove); !out.Counted {
			t.Fatalf("vote after restart: %s", out.Reason())
		}
		synctest.Wait()
		equal(t, "approved", f.sequences(id)[1:], []string{"production.delivery=finished/pass/succeeded"})
		equal(t, "calls", f.fake.called(), []string{"carts/qa/test#1", "carts/production/release#1"})
	})
}

func TestRestartWhileTaskRuns(t *testing.T) {
	for _, tt := range []struct {
		name      string
		executors string
		want      []string
	}{
		{"not idempotent: failed", defaultExecutors,
			[]string{"qa.deployment=finished/fail", "qa.rollback=finished/pass"}},
		{"idempotent: run again", strings.Replace(defaultExecutors, "deployment: {type: fake}", "deployment: {type: fake, idempotent: true}", 1),
			[]string{"qa.deployment=finished/pass", "qa.test=finished/pass"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, oneStage, tt.executors)
				g := newGate()
				f.fake.on("deployment", g.run)
				id := f.trigger("carts", image, "n=1")
				synctest.Wait()
				<-g.started
				first, _ := f.fake.lastCall("deployment")
				f.restart() // cancels the running executor; nothing is recorded for it
				synctest.Wait()
				if strings.HasPrefix(tt.name, "idempotent") {
					<-g.started
					again, _ := f.fake.lastCall("deployment")
					if again.RunID != first.RunID || again.Attempt != 2 || again.TriggeredEventID == first.TriggeredEventID {
						t.Errorf("re-run: run %d attempt %d event %s; want run %d, attempt 2, a new event", again.RunID, again.Attempt, again.TriggeredEventID, first.RunID)
					}
					close(g.release)
					synctest.Wait()
				}
				equal(t, "tasks", f.tasks(id), tt.want)
				if !strings.HasPrefix(tt.name, "idempotent") {
					trs, _ := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
					if trs[0].Message != interruptedMessage || trs[0].Status != store.StatusErrored {
						t.Errorf("interrupted task: %s %q", trs[0].Status, trs[0].Message)
					}
				}
			})
		})
	}
}

func TestRestartWithQueuedDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, strings.Replace(defaultExecutors, "deployment: {type: fake}", "deployment: {type: fake-idempotent}", 1))
		g := newGate()
		f.fakeIdem.on("deployment", g.run)
		first := f.trigger("carts", image, "n=1")
		second := f.trigger("carts", image, "n=2")
		synctest.Wait()
		<-g.started
		f.restart()
		synctest.Wait()
		if s := <-g.started; s != "carts:1" {
			t.Fatalf("after restart %s ran first", s)
		}
		g.release <- struct{}{}
		synctest.Wait()
		if s := <-g.started; s != "carts:2" {
			t.Fatalf("then %s", s)
		}
		close(g.release)
		synctest.Wait()
		for _, id := range []int64{first, second} {
			if d := f.delivery(id); d.State != store.StateFinished || d.Result != store.ResultPass {
				t.Errorf("delivery %d: %s/%s", id, d.State, d.Result)
			}
		}
		// Each delivery's log holds every transition exactly once, plus the retry's new .triggered.
		equal(t, "first delivery's log", f.eventTypes(first), []string{"qa.delivery.triggered", "qa.delivery.started",
			"deployment.triggered", "deployment.started", "deployment.triggered", "deployment.started", "deployment.finished",
			"test.triggered", "test.started", "test.finished", "qa.delivery.finished"})
		equal(t, "second delivery's log", f.eventTypes(second), []string{"qa.delivery.triggered", "qa.delivery.started",
			"deployment.triggered", "deployment.started", "deployment.finished",
			"test.triggered", "test.started", "test.finished", "qa.delivery.finished"})
	})
}

// A task triggered but not yet handed to its executor when the process stopped is dispatched on start.
func TestRestartBeforeDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		// Pause holds the triggered task (startTask leaves tasks of paused sequences alone); closing the
		// engine then leaves it triggered in the store, as a crash between commit and dispatch would.
		g := newGate()
		f.fake.on("deployment", g.run)
		id := f.trigger("carts", image)
		synctest.Wait()
		<-g.started
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id}); err != nil {
			t.Fatal(err)
		}
		close(g.release)
		synctest.Wait()
		f.restart()
		if err := f.e.Resume(context.Background(), Control{DeliveryID: id}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "tasks", f.tasks(id), []string{"qa.deployment=finished/pass", "qa.test=finished/pass"})
		equal(t, "calls", f.fake.called(), []string{"carts/qa/deployment#1", "carts/qa/test#1"})
	})
}
