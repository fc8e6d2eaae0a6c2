package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// history writes deliveries into the store at the clock's time.
type history struct {
	t  *testing.T
	st *store.Store
}

func (h history) update(fn func(ctx context.Context, tx *store.Tx) error) {
	h.t.Helper()
	if err := h.st.Update(h.t.Context(), func(tx *store.Tx) error { return fn(h.t.Context(), tx) }); err != nil {
		h.t.Fatal(err)
	}
}

// queued creates a delivery of service in project with a sequence run queued in stage.
func (h history) queued(project, service, stage string) {
	h.update(func(ctx context.Context, tx *store.Tx) error {
		d := &store.Delivery{Project: project, Service: service, Stage: stage}
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return err
		}
		return tx.CreateSequenceRun(ctx, &store.SequenceRun{DeliveryID: d.ID, Stage: stage, Sequence: "delivery"})
	})
}

// ran creates a delivery of service that ran sequence in production with one task, all at once,
// and finished with result.
func (h history) ran(service, sequence string, result store.Result) {
	h.update(func(ctx context.Context, tx *store.Tx) error {
		d := &store.Delivery{Project: "fulltour", Service: service, Stage: "production", Sequence: sequence}
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return err
		}
		r := &store.SequenceRun{DeliveryID: d.ID, Stage: "production", Sequence: sequence}
		if err := tx.CreateSequenceRun(ctx, r); err != nil {
			return err
		}
		if _, err := tx.UpdateSequenceRun(ctx, r.ID, store.SequenceRunUpdate{State: new(store.StateStarted)}); err != nil {
			return err
		}
		tr := &store.TaskRun{SequenceRunID: r.ID, Name: sequence}
		if err := tx.CreateTaskRun(ctx, tr); err != nil {
			return err
		}
		if _, err := tx.UpdateTaskRun(ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskStarted)}); err != nil {
			return err
		}
		if _, err := tx.UpdateTaskRun(ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskFinished), Result: &result}); err != nil {
			return err
		}
		_, err := tx.UpdateSequenceRun(ctx, r.ID, store.SequenceRunUpdate{State: new(store.StateFinished), Result: &result})
		return err
	})
}

// scrape serves reg as serve.go does and parses what /metrics answers.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// Every metric of the package, as Prometheus reads it from /metrics: its type and its labels.
func TestScrape(t *testing.T) {
	c := &clock{now: t0}
	st := openStore(t, c)
	p := writeProject(t)
	h := history{t: t, st: st}
	h.queued("fulltour", "helloservice", "production")
	h.queued("fulltour", "helloservice", "production")
	h.queued("legacy", "cart", "qa") // a project no longer configured still shows its queue
	c.Advance(time.Hour)
	h.ran("helloservice", "delivery", store.ResultPass)
	h.ran("orders", "delivery", store.ResultFail)
	c.Advance(30 * time.Minute)
	h.ran("orders", "rollback", store.ResultPass) // restores orders 30m after it failed
	c.Advance(time.Hour)

	reg := prometheus.NewRegistry()
	m := New(reg, st, []*config.Project{p}, c.Now)
	chat := NewChatCalls(reg)
	chat.Observe("slack", "chat.postMessage", OutcomeOK)
	for _, e := range []engine.Event{
		ev(engine.EventDeliveryTriggered, 0, nil),
		ev("sh.keptn.event.approval.started", 0, task("approval", 7, "", store.StatusSucceeded)),
		ev(engine.EventApprovalWaiting, 0, task("approval", 7, "", "")),
		ev("sh.keptn.event.approval.finished", time.Minute, task("approval", 7, store.ResultPass, store.StatusSucceeded)),
		ev("sh.keptn.event.evaluation.finished", time.Minute, func(e *engine.Event) {
			task("evaluation", 8, store.ResultPass, store.StatusSucceeded)(e)
			e.Data = map[string]any{"evaluation": map[string]any{"score": 95.0}}
		}),
		ev("sh.keptn.event.production.delivery.finished", time.Minute, func(e *engine.Event) { e.Result = store.ResultPass }),
		ev(engine.EventDeliveryFinished, time.Minute, func(e *engine.Event) { e.Result = store.ResultPass }),
	} {
		m.Observe(e)
	}

	mfs := scrape(t, reg)
	tests := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"shipgate_deliveries_started_total", dto.MetricType_COUNTER, []string{"project", "service"}},
		{"shipgate_deliveries_finished_total", dto.MetricType_COUNTER, []string{"project", "result", "service"}},
		{"shipgate_sequences_finished_total", dto.MetricType_COUNTER, []string{"project", "result", "sequence", "service", "stage"}},
		{"shipgate_task_duration_seconds", dto.MetricType_HISTOGRAM, []string{"project", "result", "stage", "task"}},
		{"shipgate_approval_wait_seconds", dto.MetricType_HISTOGRAM, []string{"outcome", "project", "stage"}},
		{"shipgate_evaluation_score", dto.MetricType_GAUGE, []string{"project", "service", "stage"}},
		{"shipgate_evaluations_total", dto.MetricType_COUNTER, []string{"project", "result", "service", "stage"}},
		{"shipgate_queue_depth", dto.MetricType_GAUGE, []string{"project", "service", "stage"}},
		{"shipgate_dora_deployments_per_day", dto.MetricType_GAUGE, []string{"project", "service", "stage"}},
		{"shipgate_dora_deployments", dto.MetricType_GAUGE, []string{"project", "service", "stage"}},
		{"shipgate_dora_lead_time_seconds", dto.MetricType_GAUGE, []string{"project", "quantile", "service", "stage"}},
		{"shipgate_dora_change_failure_ratio", dto.MetricType_GAUGE, []string{"project", "service", "stage"}},
		{"shipgate_dora_time_to_restore_seconds", dto.MetricType_GAUGE, []string{"project", "quantile", "service", "stage"}},
		{"shipgate_chat_api_calls_total", dto.MetricType_COUNTER, []string{"method", "outcome", "platform"}},
		{"shipgate_metrics_errors_total", dto.MetricType_COUNTER, []string{"collector"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mf, ok := mfs[tt.name]
			if !ok {
				t.Fatalf("%s is not in /metrics", tt.name)
			}
			if mf.GetType() != tt.typ {
				t.Errorf("type %s, want %s", mf.GetType(), tt.typ)
			}
			if mf.GetHelp() == "" {
				t.Error("no help text")
			}
			for _, s := range mf.GetMetric() {
				var names []string
				for _, l := range s.GetLabel() {
					names = append(names, l.GetName())
				}
				if !slices.Equal(names, tt.labels) {
					t.Errorf("labels %q, want %q", names, tt.labels)
				}
			}
		})
	}
	equal(t, "queue depth", series(mfs, "shipgate_queue_depth"), []string{
		"project=fulltour,service=helloservice,stage=production 2",
		"project=fulltour,service=helloservice,stage=qa 0",
		"project=fulltour,service=orders,stage=production 0",
		"project=fulltour,service=orders,stage=qa 0",
		"project=legacy,service=cart,stage=qa 1",
	})
	equal(t, "lead time", series(mfs, "shipgate_dora_lead_time_seconds"), []string{
		"project=fulltour,quantile=0.5,service=helloservice,stage=production 0",
		"project=fulltour,quantile=0.9,service=helloservice,stage=production 0",
	})
	equal(t, "change failure ratio", series(mfs, "shipgate_dora_change_failure_ratio"), []string{
		"project=fulltour,service=helloservice,stage=production 0",
		"project=fulltour,service=orders,stage=production 1",
	})
	equal(t, "time to restore", series(mfs, "shipgate_dora_time_to_restore_seconds"), []string{
		"project=fulltour,quantile=0.5,service=orders,stage=production 1800",
		"project=fulltour,quantile=0.9,service=orders,stage=production 1800",
	})
	equal(t, "approval wait", series(mfs, "shipgate_approval_wait_seconds"), []string{"outcome=approved,project=fulltour,stage=production 1/60"})
}

// DORA figures are computed at most once a minute, and after the first scrape never while a scrape
// waits: the scrape that finds them a minute old gets them as they are and sets off a computation, whose
// figures the next scrapes get. The queue is read at every scrape.
func TestDORAIsCachedForAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &clock{now: t0}
		st := openStore(t, c)
		p := writeProject(t)
		h := history{t: t, st: st}
		reg := prometheus.NewRegistry()
		New(reg, st, []*config.Project{p}, c.Now)
		deployments := func() []string { return series(families(t, reg), "shipgate_dora_deployments") }

		none := []string{
			"project=fulltour,service=helloservice,stage=production 0",
			"project=fulltour,service=orders,stage=production 0",
		}
		equal(t, "at first", deployments(), none)
		h.ran("orders", "delivery", store.ResultPass)
		h.queued("fulltour", "orders", "qa")
		c.Advance(59 * time.Second)
		equal(t, "59s later", deployments(), none)
		synctest.Wait()
		equal(t, "59s later, nothing computed meanwhile", deployments(), none)
		equal(t, "queue 59s later", series(families(t, reg), "shipgate_queue_depth")[3:], []string{"project=fulltour,service=orders,stage=qa 1"})
		c.Advance(time.Second)
		equal(t, "a minute later, while they are computed again", deployments(), none)
		synctest.Wait()
		equal(t, "once computed", deployments(), []string{
			"project=fulltour,service=helloservice,stage=production 0",
			"project=fulltour,service=orders,stage=production 1",
		})
	})
}

// A computation in the background that fails is counted at the next scrape, which still serves the last
// figures; the one after tries again.
func TestDORARefreshFailureIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &clock{now: t0}
		st := openStore(t, c)
		p := writeProject(t)
		reg := prometheus.NewRegistry()
		New(reg, st, []*config.Project{p}, c.Now)
		if _, ok := families(t, reg)["shipgate_dora_deployments"]; !ok {
			t.Fatal("no DORA figures at the first scrape")
		}
		st.Close()
		c.Advance(time.Minute)
		families(t, reg) // sets off the computation, which fails
		synctest.Wait()
		mfs := families(t, reg)
		if _, ok := mfs["shipgate_dora_deployments"]; !ok {
			t.Error("the last figures were not served after a failed computation")
		}
		equal(t, "errors", series(mfs, "shipgate_metrics_errors_total"), []string{"collector=dora 1", "collector=queue 2"})
	})
}

// When the store cannot be read, the store-backed metrics are left out and the failure is counted; the
// rest of /metrics is still served.
func TestStoreFailure(t *testing.T) {
	c := &clock{now: t0}
	st := openStore(t, c)
	p := writeProject(t)
	reg := prometheus.NewRegistry()
	New(reg, st, []*config.Project{p}, c.Now)
	st.Close()

	mfs := scrape(t, reg)
	for _, name := range []string{"shipgate_queue_depth", "shipgate_dora_deployments_per_day"} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s served from a closed store", name)
		}
	}
	equal(t, "errors", series(mfs, "shipgate_metrics_errors_total"), []string{"collector=dora 1", "collector=queue 1"})
	// Failures are not cached: the next scrape tries again, and counts again.
	equal(t, "errors at the next scrape", series(scrape(t, reg), "shipgate_metrics_errors_total"), []string{"collector=dora 2", "collector=queue 2"})
	equal(t, "deliveries started", series(mfs, "shipgate_deliveries_started_total"), []string{
		"project=fulltour,service=helloservice 0",
		"project=fulltour,service=orders 0",
	})
}
