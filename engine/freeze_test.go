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

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// freezeShipyard runs qa's test, then production's release.
const freezeShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: test}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: release}]
`

// newFreezeFixture is newFixture with the freezes section of a shipgate.yaml. The synctest clock
// starts at 2000-01-01T00:00:00Z, a Saturday.
func newFreezeFixture(t *testing.T, freezes string) *fixture {
	t.Helper()
	cfg, diags := config.Parse("shipgate.yaml", []byte(freezes), func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatalf("freezes: %v", diags)
	}
	f := newFixture(t, freezeShipyard, "")
	f.stop()
	f.opts.Freezes = cfg.Freezes
	f.start()
	return f
}

const sixHourFreeze = `freezes:
  - name: maintenance
    stages: [production]
    from: 2000-01-01T00:00:00Z
    to: 2000-01-01T06:00:00Z
    message: "Database maintenance."
`

func (f *fixture) run(id int64, stage string) *store.SequenceRun {
	f.t.Helper()
	runs, err := f.st.ListSequenceRuns(context.Background(), store.SequenceRunQuery{DeliveryID: id, Stage: stage})
	if err != nil || len(runs) == 0 {
		f.t.Fatalf("runs of delivery %d in %s: %v, %v", id, stage, runs, err)
	}
	return runs[0]
}

// audits lists a delivery's audit entries, oldest first, as "action by actor: reason".
func (f *fixture) audits(id int64) []string {
	f.t.Helper()
	entries, err := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("delivery:%d", id), OldestFirst: true})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s by %s: %s", e.Action, e.Actor, e.Reason))
	}
	return out
}

func (f *fixture) publishedTypes(id int64, types ...string) []string {
	var out []string
	for _, ev := range f.published() {
		if ev.DeliveryID == id && slices.Contains(types, ev.Type) {
			out = append(out, strings.TrimPrefix(ev.Type, "sh.shipgate.sequence.")+" "+ev.Stage)
		}
	}
	return out
}

func TestFrozenStageWaitsForTheWindowToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		// qa is not frozen; production would start, and waits instead.
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=frozen//"})
		r := f.run(id, "production")
		if r.FreezeName != "maintenance" || r.FreezeMessage != "Database maintenance." || r.FrozenUntil == nil ||
			!r.FrozenUntil.Equal(time.Date(2000, 1, 1, 6, 0, 0, 0, time.UTC)) {
			t.Errorf("frozen run: %+v", r)
		}
		if d := f.delivery(id); d.State != store.StateFrozen {
			t.Errorf("delivery state %s, want frozen", d.State)
		}
		if _, ok := f.fake.lastCall("release"); ok {
			t.Error("release ran while frozen")
		}
		timeSleep(6*3600 - 1)
		synctest.Wait()
		equal(t, "a second before the end", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=frozen//"})
		timeSleep(1)
		synctest.Wait()
		equal(t, "after the window", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		equal(t, "audit", f.audits(id), []string{
			"delivery.trigger by U-dev: ",
			"delivery.frozen by shipgate: freeze window maintenance holds stage production until 2000-01-01T06:00:00Z",
			"delivery.thawed by shipgate: freeze window maintenance ended",
		})
		equal(t, "events", f.publishedTypes(id, EventSequenceFrozen, EventSequenceThawed), []string{"frozen production", "thawed production"})
	})
}

// TestWeekendFreeze is the weekend window of the README: Friday 18:00 to Monday 08:00 in Berlin. The
// clock starts on Saturday 1 January 2000, in the window; it ends on Monday at 07:00 UTC (CET).
func TestWeekendFreeze(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, `freezes:
  - name: weekend
    projects: [shop]
    stages: [production]
    start: "0 18 * * 5"
    end: "0 8 * * 1"
    time_zone: Europe/Berlin
    message: "No production deliveries over the weekend."
`)
		id := f.trigger("carts", image)
		synctest.Wait()
		r := f.run(id, "production")
		if want := time.Date(2000, 1, 3, 7, 0, 0, 0, time.UTC); r.State != store.StateFrozen || r.FrozenUntil == nil || !r.FrozenUntil.Equal(want) {
			t.Fatalf("run %s until %v, want frozen until %s", r.State, r.FrozenUntil, want)
		}
		timeSleep((24+24+7)*3600 - 1)
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFrozen {
			t.Errorf("Monday 07:59 in Berlin: %s, want frozen", r.State)
		}
		timeSleep(1)
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("Monday 08:00 in Berlin: %s, want finished", r.State)
		}
	})
}

func TestThawTimerSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		// Down and up again inside the window: the timer comes back from the stored end.
		f.restart()
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFrozen {
			t.Fatalf("after a restart in the window: %s", r.State)
		}
		timeSleep(6 * 3600)
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("at the window's end after a restart: %s, want finished", r.State)
		}

		// Down when the window ends: it thaws as the engine starts.
		id2 := f.trigger("orders", image)
		synctest.Wait()
		if r := f.run(id2, "production"); r.State != store.StateFinished {
			t.Fatalf("after the window: %s, want finished", r.State)
		}
	})
}

func TestThawAfterDowntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		f.stop()
		timeSleep(7 * 3600)
		f.start()
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("window ended while down: %s, want finished", r.State)
		}
		equal(t, "audit", f.audits(id)[2:], []string{"delivery.thawed by shipgate: freeze window maintenance ended"})
	})
}

// TestThawWhenTheWindowIsRemoved: shipgate restarts without the window that held a run; it starts at once.
func TestThawWhenTheWindowIsRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		f.stop()
		f.opts.Freezes = nil
		f.start()
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("after a restart without its window: %s, want finished", r.State)
		}
	})
}

// TestThawIntoAnotherWindow: at the end of one window another holds the stage; the run stays frozen
// until that one ends.
func TestThawIntoAnotherWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze+`  - name: release-train
    projects: [shop]
    from: 2000-01-01T05:00:00Z
    to: 2000-01-01T10:00:00Z
    message: "Release train."
`)
		id := f.trigger("carts", image)
		synctest.Wait()
		timeSleep(6 * 3600)
		synctest.Wait()
		r := f.run(id, "production")
		if r.State != store.StateFrozen || r.FreezeName != "release-train" || !r.FrozenUntil.Equal(time.Date(2000, 1, 1, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("at 06:00: %s %s until %v, want frozen by release-train until 10:00", r.State, r.FreezeName, r.FrozenUntil)
		}
		timeSleep(4 * 3600)
		synctest.Wait()
		equal(t, "audit", f.audits(id)[1:], []string{
			"delivery.frozen by shipgate: freeze window maintenance holds stage production until 2000-01-01T06:00:00Z",
			"delivery.frozen by shipgate: freeze window release-train holds stage production until 2000-01-01T10:00:00Z",
			"delivery.thawed by shipgate: freeze window release-train ended",
		})
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("at 10:00: %s, want finished", r.State)
		}
	})
}

func TestAbortFrozen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		if err := f.e.Abort(context.Background(), Control{DeliveryID: id, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "aborted", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=aborted/pass/aborted"})
		timeSleep(6 * 3600)
		synctest.Wait()
		equal(t, "after the window", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=aborted/pass/aborted"})
		if _, ok := f.fake.lastCall("release"); ok {
			t.Error("an aborted frozen sequence ran at the window's end")
		}
	})
}

func TestPauseAndResumeFrozen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		if err := f.e.Pause(context.Background(), Control{DeliveryID: id, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		timeSleep(7 * 3600) // the window ends during the pause: nothing starts
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StatePaused {
			t.Fatalf("paused through the window's end: %s", r.State)
		}
		if err := f.e.Resume(context.Background(), Control{DeliveryID: id, Actor: "U-ops"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFinished {
			t.Errorf("resumed after the window: %s, want finished", r.State)
		}
	})
}

// TestFrozenHoldsTheQueue: the next delivery of the service waits behind the frozen one, and both
// count in the queue's depth.
func TestFrozenHoldsTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		first := f.trigger("carts", image)
		synctest.Wait()
		second := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "second", f.sequences(second), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=triggered//"})
		depths, err := f.st.QueueDepths(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(depths) != 1 || depths[0].Stage != "production" || depths[0].Runs != 2 {
			t.Errorf("queue depths %+v, want 2 waiting in production", depths)
		}
		timeSleep(6 * 3600)
		synctest.Wait()
		for _, id := range []int64{first, second} {
			if r := f.run(id, "production"); r.State != store.StateFinished {
				t.Errorf("delivery %d after the window: %s", id, r.State)
			}
		}
	})
}

func TestUnfreeze(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t, sixHourFreeze)
		id := f.trigger("carts", image)
		synctest.Wait()
		here := &Where{Projects: []string{"shop"}}
		c := Control{DeliveryID: id, Actor: "U-dep", Platform: "slack", Channel: "C1", Where: here, Reason: "hotfix for INC-42"}

		// A deployer is not exempt.
		c.Roles = []string{DeployerRole}
		var r *Refusal
		if err := f.e.Unfreeze(context.Background(), c); !errors.As(err, &r) || r.Code != RefusedNoRole ||
			r.Reason != "you need the role freeze-exempt to unfreeze delivery #1" {
			t.Errorf("deployer: %v", err)
		}
		// From a channel that does not serve the project.
		c.Roles, c.Where = []string{FreezeExemptRole}, &Where{Projects: []string{"other"}}
		if err := f.e.Unfreeze(context.Background(), c); !errors.As(err, &r) || r.Code != RefusedNotHere {
			t.Errorf("elsewhere: %v", err)
		}
		// Without a reason.
		c.Where, c.Reason = here, "  "
		if err := f.e.Unfreeze(context.Background(), c); !errors.Is(err, ErrInvalid) {
			t.Errorf("no reason: %v", err)
		}
		synctest.Wait()
		if r := f.run(id, "production"); r.State != store.StateFrozen {
			t.Fatalf("refused unfreezes changed the run: %s", r.State)
		}

		c.Reason = "hotfix for INC-42"
		if err := f.e.Unfreeze(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		equal(t, "unfrozen", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		audit := f.audits(id)
		if got := audit[len(audit)-1]; got != "delivery.unfreeze by U-dep: hotfix for INC-42" {
			t.Errorf("last audit entry %q", got)
		}
		// Nothing left to unfreeze; and the window's end changes nothing.
		if err := f.e.Unfreeze(context.Background(), c); !errors.Is(err, ErrRefused) {
			t.Errorf("second unfreeze: %v", err)
		}
		timeSleep(6 * 3600)
		synctest.Wait()
		if n := len(f.fake.snapshot()); n != 2 {
			t.Errorf("%d executor calls, want 2 (test, release)", n)
		}
		equal(t, "events", f.publishedTypes(id, EventSequenceFrozen, EventSequenceThawed, EventSequenceUnfrozen), []string{"frozen production", "unfrozen production"})
	})
}
