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
	"github.com/shipgate/shipgate/store/storetest"
)

// withShortBusyTimeout restarts the fixture's engine on a store that gives up on a held lock after 10 ms
// (instead of 5 s of real time per try), with the retry bounds given.
func (f *fixture) withShortBusyTimeout(retry time.Duration) {
	f.stop()
	f.storeOpts = []store.Option{store.WithBusyTimeout(10 * time.Millisecond)}
	f.opts.RetryInterval = retry
	f.start()
}

// A write lock held elsewhere for 30 s while 20 deliveries' tasks finish: every result is kept, the
// deliveries wait (none is timed out, though the fault outlasts their deadline), readiness says the
// database is unwritable, and once the lock is released all 20 finish with their own results, without a
// restart.
func TestResultsRefusedByTheDatabaseAreRecordedOnceItTakesWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var services []string
		for i := range 20 {
			services = append(services, fmt.Sprintf("svc%02d", i))
		}
		f := newFixture(t, oneStage, "", services...)
		f.opts.DefaultTaskTimeout = 10 * time.Second
		f.withShortBusyTimeout(DefaultRetryInterval)
		g := newGate()
		f.fake.on("deployment", g.run)
		var ids []int64
		for _, svc := range services {
			ids = append(ids, f.trigger(svc, image))
		}
		synctest.Wait()
		if len(g.started) != 20 {
			t.Fatalf("%d deployments started, want 20", len(g.started))
		}

		release := storetest.HoldWriteLock(t, f.dbPath)
		close(g.release)        // every deployment passes now, while nothing can be written
		time.Sleep(time.Second) // each try waits out the store's 10 ms busy timeout
		synctest.Wait()
		if got := f.e.Unrecorded(); got != 20 {
			t.Errorf("Unrecorded = %d, want the 20 results", got)
		}
		if err := f.st.CheckWritable(context.Background()); !errors.Is(err, store.ErrUnwritable) {
			t.Errorf("CheckWritable during the fault: got %v, want ErrUnwritable", err)
		}
		time.Sleep(30 * time.Second) // the fault lasts 30 s; the deadline (10 s) passes meanwhile
		synctest.Wait()
		for _, id := range ids {
			equal(t, fmt.Sprintf("delivery %d during the fault", id), f.tasks(id), []string{"qa.deployment=started/"})
		}

		release()
		time.Sleep(DefaultRetryInterval)
		synctest.Wait()
		if got := f.e.Unrecorded(); got != 0 {
			t.Errorf("Unrecorded = %d after the fault, want 0", got)
		}
		for _, id := range ids {
			equal(t, fmt.Sprintf("delivery %d", id), f.tasks(id), []string{"qa.deployment=finished/pass", "qa.test=finished/pass"})
			if d := f.delivery(id); d.State != store.StateFinished {
				t.Errorf("delivery %d is %s, want finished", id, d.State)
			}
		}
		if err := f.st.CheckWritable(context.Background()); err != nil {
			t.Errorf("CheckWritable after the fault: %v", err)
		}
	})
}

// Retries back off from 100 ms to the configured bound, and keep their order: the first result owed
// is the first recorded.
func TestRetriesBackOffAndKeepTheirOrder(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {7, 5 * time.Second}, {60, 5 * time.Second}} {
		if got := retryDelay(tt.n, 5*time.Second); got != tt.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}

	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		f.withShortBusyTimeout(time.Second)
		release := storetest.HoldWriteLock(t, f.dbPath)
		// Triggers are refused while the lock is held; they are the caller's to retry.
		if _, err := f.e.Trigger(context.Background(), Request{Project: "shop", Service: "carts", Image: image, Actor: "U-dev", Source: "api"}); !store.IsTransient(err) {
			t.Fatalf("Trigger with the write lock held: got %v, want a transient store error", err)
		}
		release()
		gc, gp := newGate(), newGate()
		f.fake.on("carts/deployment", gc.run)
		f.fake.on("orders/deployment", gp.run)
		carts, orders := f.trigger("carts", image), f.trigger("orders", image)
		synctest.Wait()

		release = storetest.HoldWriteLock(t, f.dbPath)
		close(gc.release) // carts' result is owed first
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		close(gp.release) // then orders'
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := f.e.Unrecorded(); got != 2 {
			t.Fatalf("Unrecorded = %d, want 2", got)
		}
		release()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := f.e.Unrecorded(); got != 0 {
			t.Fatalf("Unrecorded = %d after the fault, want 0", got)
		}
		var finished []int64
		for _, ev := range f.published() {
			if ev.Type == taskEventType("deployment", kindFinished) {
				finished = append(finished, ev.DeliveryID)
			}
		}
		if want := []int64{carts, orders}; !slices.Equal(finished, want) {
			t.Errorf("deployment.finished published for deliveries %v, want %v: the order the executors returned in", finished, want)
		}
	})
}

// A result the store refuses for a reason retrying cannot cure (here: data that cannot be encoded) must
// still end the task: it is recorded as errored, saying why, and the delivery ends.
func TestAResultThatCannotBeRecordedFailsItsTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		f.fake.on("deployment", func(context.Context, Task) (Result, error) {
			return Result{Result: store.ResultPass, Data: map[string]any{"broken": func() {}}}, nil
		})
		id := f.trigger("carts", image)
		synctest.Wait()
		time.Sleep(DefaultRetryInterval)
		synctest.Wait()
		equal(t, "tasks", f.tasks(id), []string{"qa.deployment=finished/fail", "qa.rollback=finished/pass"})
		trs, err := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
		if err != nil {
			t.Fatal(err)
		}
		if msg := trs[0].Message; !strings.Contains(msg, "could not record this task's result") || !strings.Contains(msg, "encode result") {
			t.Errorf("message %q, want it to say the result could not be recorded and why", msg)
		}
		if got := f.e.Unrecorded(); got != 0 {
			t.Errorf("Unrecorded = %d, want 0", got)
		}
	})
}

// The reconciler's backstop: a started task past its deadline with no executor running it and no result
// owed (its timer lost) is timed out at the next sweep.
func TestReconcilerTimesOutATaskWhoseTimerWasLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, oneStage, "")
		f.stop()
		f.opts.DefaultTaskTimeout = 2 * time.Minute
		f.opts.ReconcileInterval = time.Minute
		f.start()
		g := newGate()
		f.fake.on("deployment", func(ctx context.Context, tk Task) (Result, error) {
			g.started <- tk.Service
			<-g.release // ignores ctx, as a stuck executor would
			return Result{Result: store.ResultPass}, nil
		})
		id := f.trigger("carts", image)
		synctest.Wait()
		<-g.started

		// Lose the deadline timer and forget the executor, as a bug might.
		f.e.stateMu.Lock()
		for key, tm := range f.e.timers {
			if strings.HasPrefix(key, "deadline/") {
				tm.Stop()
				delete(f.e.timers, key)
			}
		}
		for id := range f.e.running {
			delete(f.e.running, id)
		}
		f.e.stateMu.Unlock()

		time.Sleep(90 * time.Second) // a sweep at 1 min: before the deadline
		synctest.Wait()
		equal(t, "before the deadline", f.tasks(id), []string{"qa.deployment=started/"})
		time.Sleep(time.Minute) // the sweep at 2 min: the deadline has come
		synctest.Wait()
		equal(t, "after the sweep", f.tasks(id), []string{"qa.deployment=timedOut/fail"})
		close(g.release)
		synctest.Wait()
		equal(t, "after the executor returned late", f.tasks(id), []string{"qa.deployment=timedOut/fail"})
	})
}
