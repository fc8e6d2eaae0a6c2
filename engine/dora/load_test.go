package dora

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// storeHistory writes deliveries into a real store, each step at the time it is given.
type storeHistory struct {
	t   *testing.T
	st  *store.Store
	now time.Time
}

func newStoreHistory(t *testing.T) *storeHistory {
	h := &storeHistory{t: t}
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"), store.WithClock(func() time.Time { return h.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	return h
}

// at runs fn in one transaction at time when.
func (h *storeHistory) at(when time.Time, fn func(ctx context.Context, tx *store.Tx) error) {
	h.t.Helper()
	h.now = when
	if err := h.st.Update(h.t.Context(), func(tx *store.Tx) error { return fn(h.t.Context(), tx) }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *storeHistory) deliver(service, sequence string, when time.Time) *store.Delivery {
	d := &store.Delivery{Project: "fulltour", Service: service, Stage: "qa", Sequence: sequence}
	h.at(when, func(ctx context.Context, tx *store.Tx) error { return tx.CreateDelivery(ctx, d) })
	return d
}

// start triggers and starts a sequence run of d.
func (h *storeHistory) start(d *store.Delivery, stage, sequence string, when time.Time) *store.SequenceRun {
	r := &store.SequenceRun{DeliveryID: d.ID, Stage: stage, Sequence: sequence}
	h.at(when, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateSequenceRun(ctx, r); err != nil {
			return err
		}
		_, err := tx.UpdateSequenceRun(ctx, r.ID, store.SequenceRunUpdate{State: new(store.StateStarted)})
		return err
	})
	return r
}

// task runs a task of r at position pos from start to end with result.
func (h *storeHistory) task(r *store.SequenceRun, pos int, name string, result store.Result, start, end time.Time) {
	tr := &store.TaskRun{SequenceRunID: r.ID, Position: pos, Name: name}
	h.at(start, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateTaskRun(ctx, tr); err != nil {
			return err
		}
		_, err := tx.UpdateTaskRun(ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskStarted)})
		return err
	})
	h.at(end, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.UpdateTaskRun(ctx, tr.ID, store.TaskRunUpdate{State: new(store.TaskFinished), Result: &result})
		return err
	})
}

func (h *storeHistory) finish(r *store.SequenceRun, result store.Result, when time.Time) {
	h.at(when, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.UpdateSequenceRun(ctx, r.ID, store.SequenceRunUpdate{State: new(store.StateFinished), Result: &result})
		return err
	})
}

// A month in a real store: Load reads the stage's deliveries with their runs and tasks, and Measure gives
// the figures Compute gives for them.
func TestLoad(t *testing.T) {
	h := newStoreHistory(t)
	// Before the window.
	old := h.deliver("helloservice", "delivery", at(-3, "10:00"))
	h.finish(h.start(old, "production", "delivery", at(-2, "10:00")), store.ResultPass, at(-2, "11:00"))

	// Through qa, then an approval and a deployment in production: lead time 4h.
	d1 := h.deliver("helloservice", "delivery", at(0, "10:00"))
	h.finish(h.start(d1, "qa", "delivery", at(0, "10:00")), store.ResultPass, at(0, "11:00"))
	p1 := h.start(d1, "production", "delivery", at(0, "12:00"))
	h.task(p1, 0, "approval", store.ResultPass, at(0, "12:00"), at(0, "13:00"))
	h.task(p1, 1, "deployment", store.ResultPass, at(0, "13:00"), at(0, "14:00"))
	h.finish(p1, store.ResultPass, at(0, "14:00"))

	// Fails; its rollback restores it in 30m.
	d2 := h.deliver("helloservice", "delivery", at(1, "09:00"))
	p2 := h.start(d2, "production", "delivery", at(1, "10:00"))
	h.task(p2, 0, "deployment", store.ResultFail, at(1, "10:00"), at(1, "11:00"))
	h.finish(p2, store.ResultFail, at(1, "11:00"))
	r2 := h.start(d2, "production", "rollback", at(1, "11:00"))
	h.task(r2, 0, "rollback", store.ResultPass, at(1, "11:00"), at(1, "11:30"))
	h.finish(r2, store.ResultPass, at(1, "11:30"))

	// Another service, still deploying.
	d3 := h.deliver("orders", "delivery", at(2, "09:00"))
	h.start(d3, "production", "delivery", at(2, "09:00"))

	records, err := Load(t.Context(), h.st, Query{Project: "fulltour", Stage: "production", Window: month})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{DeliveryID: d1.ID, Project: "fulltour", Service: "helloservice", CreatedAt: at(0, "10:00"), Runs: []Run{
			{Sequence: "delivery", State: store.StateFinished, Result: store.ResultPass, TriggeredAt: at(0, "12:00"), StartedAt: at(0, "12:00"), FinishedAt: at(0, "14:00"),
				Tasks: []Task{
					{Name: "approval", Result: store.ResultPass, StartedAt: at(0, "12:00"), FinishedAt: at(0, "13:00")},
					{Name: "deployment", Result: store.ResultPass, StartedAt: at(0, "13:00"), FinishedAt: at(0, "14:00")},
				}},
		}},
		{DeliveryID: d2.ID, Project: "fulltour", Service: "helloservice", CreatedAt: at(1, "09:00"), Runs: []Run{
			{Sequence: "delivery", State: store.StateFinished, Result: store.ResultFail, TriggeredAt: at(1, "10:00"), StartedAt: at(1, "10:00"), FinishedAt: at(1, "11:00"),
				Tasks: []Task{{Name: "deployment", Result: store.ResultFail, StartedAt: at(1, "10:00"), FinishedAt: at(1, "11:00")}}},
			{Sequence: "rollback", State: store.StateFinished, Result: store.ResultPass, TriggeredAt: at(1, "11:00"), StartedAt: at(1, "11:00"), FinishedAt: at(1, "11:30"),
				Tasks: []Task{{Name: "rollback", Result: store.ResultPass, StartedAt: at(1, "11:00"), FinishedAt: at(1, "11:30")}}},
		}},
		{DeliveryID: d3.ID, Project: "fulltour", Service: "orders", CreatedAt: at(2, "09:00"), Runs: []Run{
			{Sequence: "delivery", State: store.StateStarted, TriggeredAt: at(2, "09:00"), StartedAt: at(2, "09:00")},
		}},
	}
	if !reflect.DeepEqual(records, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", records, want)
	}

	tests := []struct {
		name string
		q    Query
		want Figures
	}{
		{"project", Query{Project: "fulltour", Stage: "production", Window: month},
			Figures{Stage: "production", Window: month, Deployments: 1, DeploymentsPerDay: 1.0 / 30, LeadTime: Quantiles{Median: 4 * time.Hour, P90: 4 * time.Hour},
				Changes: 2, Failures: 1, ChangeFailureRate: 0.5, Restored: 1, TimeToRestore: Quantiles{Median: 30 * time.Minute, P90: 30 * time.Minute}}},
		{"service still deploying", Query{Project: "fulltour", Service: "orders", Stage: "production", Window: month},
			Figures{Stage: "production", Window: month, Empty: true}},
		{"qa", Query{Project: "fulltour", Stage: "qa", Window: month},
			Figures{Stage: "qa", Window: month, Empty: true}}, // qa ran no task: not a change
		{"other project", Query{Project: "elsewhere", Stage: "production", Window: month},
			Figures{Stage: "production", Window: month, Empty: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Measure(t.Context(), h.st, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !figuresEqual(got, tt.want) {
				t.Errorf("Measure:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadNeedsAStage(t *testing.T) {
	h := newStoreHistory(t)
	if _, err := Load(t.Context(), h.st, Query{Project: "fulltour", Window: month}); err == nil {
		t.Error("Load without a stage succeeded")
	}
}

func TestByService(t *testing.T) {
	got := ByService(history())
	if len(got) != 2 || len(got["carts"]) != 13 || len(got["orders"]) != 2 {
		t.Errorf("ByService: carts %d, orders %d, %d services", len(got["carts"]), len(got["orders"]), len(got))
	}
}

func TestProductionStage(t *testing.T) {
	project := func(stages ...string) *config.Project {
		p := &config.Project{Name: "fulltour", Shipyard: &config.Shipyard{}}
		for _, s := range stages {
			p.Shipyard.Spec.Stages = append(p.Shipyard.Spec.Stages, config.Stage{Name: s})
		}
		return p
	}
	tests := []struct {
		stages []string
		want   string
	}{
		{[]string{"dev", "hardening", "production"}, "production"},
		{[]string{"qa"}, "qa"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := ProductionStage(project(tt.stages...)); got != tt.want {
			t.Errorf("ProductionStage(%v) = %q, want %q", tt.stages, got, tt.want)
		}
	}
}
