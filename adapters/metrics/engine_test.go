package metrics

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// next reads events until one of type typ arrives. In the synctest bubble, waiting for an event that
// never comes is a deadlock the bubble reports, not a hang.
func next(t *testing.T, events <-chan engine.Event, typ string) engine.Event {
	t.Helper()
	for ev := range events {
		if ev.Type == typ {
			return ev
		}
	}
	t.Fatalf("events ended before %s", typ)
	return engine.Event{}
}

// Two deliveries through a real engine: the first is approved 90s after production asks and passes;
// the second is aborted while its approval has waited 30s. The metrics tell both stories.
func TestMetricsFromDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		p := writeProject(t)
		c := &clock{now: t0}
		st := openStore(t, c)
		reg := prometheus.NewRegistry()
		m := New(reg, st, []*config.Project{p}, c.Now)
		e, err := engine.New(engine.Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]engine.Executor{"noop": engine.Noop{}}})
		if err != nil {
			t.Fatal(err)
		}
		// Subscribers are called in the order they subscribed: an event has reached m.Observe before it
		// reaches the test.
		e.Subscribe(m.Observe)
		events := make(chan engine.Event, 256)
		e.Subscribe(func(ev engine.Event) { events <- ev })
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		deliver := func() int64 {
			id, err := e.Trigger(ctx, engine.Request{Project: "fulltour", Service: "helloservice", Image: image, Actor: "U-dev", Source: "api"})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}

		first := deliver()
		waiting := next(t, events, engine.EventApprovalWaiting)
		c.Advance(90 * time.Second)
		out, err := e.Decide(ctx, engine.Vote{ApprovalID: waiting.Approval.ID, Actor: "U-lead", Roles: []string{engine.DefaultApproverRole},
			Decision: store.DecisionApprove, Platform: engine.PlatformSlack, Channel: "C1"})
		if err != nil || !out.Counted {
			t.Fatalf("Decide: %+v, %v", out, err)
		}
		if done := next(t, events, engine.EventDeliveryFinished); done.DeliveryID != first || done.Result != store.ResultPass {
			t.Fatalf("delivery %d finished %s, want %d pass", done.DeliveryID, done.Result, first)
		}

		second := deliver()
		next(t, events, engine.EventApprovalWaiting)
		c.Advance(30 * time.Second)
		if err := e.Abort(ctx, engine.Control{DeliveryID: second, Actor: "U-lead"}); err != nil {
			t.Fatal(err)
		}
		if done := next(t, events, engine.EventDeliveryFinished); done.DeliveryID != second {
			t.Fatalf("delivery %d finished, want %d", done.DeliveryID, second)
		}

		mfs := families(t, reg)
		equal(t, "deliveries started", series(mfs, "shipgate_deliveries_started_total"), []string{
			"project=fulltour,service=helloservice 2",
			"project=fulltour,service=orders 0",
		})
		equal(t, "deliveries finished", series(mfs, "shipgate_deliveries_finished_total"), []string{
			"project=fulltour,result=aborted,service=helloservice 1",
			"project=fulltour,result=pass,service=helloservice 1",
		})
		equal(t, "sequences finished", series(mfs, "shipgate_sequences_finished_total"), []string{
			"project=fulltour,result=aborted,sequence=delivery,service=helloservice,stage=production 1",
			"project=fulltour,result=pass,sequence=delivery,service=helloservice,stage=production 1",
			"project=fulltour,result=pass,sequence=delivery,service=helloservice,stage=qa 2",
		})
		// The approval task ran from approval.started to the vote; the aborted one never finished.
		equal(t, "task durations (count/sum)", series(mfs, "shipgate_task_duration_seconds"), []string{
			"project=fulltour,result=pass,stage=production,task=approval 1/90",
			"project=fulltour,result=pass,stage=production,task=deployment 1/0",
			"project=fulltour,result=pass,stage=production,task=evaluation 1/0",
			"project=fulltour,result=pass,stage=qa,task=deployment 2/0",
			"project=fulltour,result=pass,stage=qa,task=evaluation 2/0",
		})
		equal(t, "approval waits (count/sum)", series(mfs, "shipgate_approval_wait_seconds"), []string{
			"outcome=aborted,project=fulltour,stage=production 1/30",
			"outcome=approved,project=fulltour,stage=production 1/90",
		})
		// Without an SLI provider an evaluation passes with score 0, as in Keptn.
		equal(t, "evaluation scores", series(mfs, "shipgate_evaluation_score"), []string{
			"project=fulltour,service=helloservice,stage=production 0",
			"project=fulltour,service=helloservice,stage=qa 0",
		})
		equal(t, "evaluations", series(mfs, "shipgate_evaluations_total"), []string{
			"project=fulltour,result=pass,service=helloservice,stage=production 1",
			"project=fulltour,result=pass,service=helloservice,stage=qa 2",
		})
		equal(t, "queue depth", series(mfs, "shipgate_queue_depth"), []string{
			"project=fulltour,service=helloservice,stage=production 0",
			"project=fulltour,service=helloservice,stage=qa 0",
			"project=fulltour,service=orders,stage=production 0",
			"project=fulltour,service=orders,stage=qa 0",
		})
		// One production deployment in 30 days, 90s after its trigger; the aborted one is no change.
		equal(t, "deployments per day", series(mfs, "shipgate_dora_deployments_per_day"), []string{
			"project=fulltour,service=helloservice,stage=production 0.03333333333333333",
			"project=fulltour,service=orders,stage=production 0",
		})
		equal(t, "lead time", series(mfs, "shipgate_dora_lead_time_seconds"), []string{
			"project=fulltour,quantile=0.5,service=helloservice,stage=production 90",
			"project=fulltour,quantile=0.9,service=helloservice,stage=production 90",
		})
		equal(t, "change failure ratio", series(mfs, "shipgate_dora_change_failure_ratio"), []string{
			"project=fulltour,service=helloservice,stage=production 0",
		})
		equal(t, "time to restore", series(mfs, "shipgate_dora_time_to_restore_seconds"), nil)
		equal(t, "collector errors", series(mfs, "shipgate_metrics_errors_total"), []string{"collector=dora 0", "collector=queue 0"})
		m.mu.Lock()
		n := m.taskStarts.len() + m.waiting.len()
		m.mu.Unlock()
		if n != 1 {
			t.Errorf("%d tasks and approvals still pending, want the aborted delivery's approval task", n)
		}
	})
}
