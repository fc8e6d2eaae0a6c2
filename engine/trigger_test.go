package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

func TestTriggerValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		tests := []struct {
			req  Request
			want string
		}{
			{Request{Project: "shoe", Service: "carts", Image: image}, `unknown project "shoe"; projects: shop`},
			{Request{Project: "shop", Service: "cart", Image: image}, `project shop has no service "cart"; services: carts, orders`},
			{Request{Project: "shop", Service: "carts", Stage: "prod", Image: image}, `project shop has no stage "prod"; stages: qa, production`},
			{Request{Project: "shop", Service: "carts", Sequence: "deliver", Image: image}, `stage qa has no sequence "deliver"; sequences: delivery, rollback`},
			{Request{Project: "shop", Service: "carts"}, "an image is required"},
			{Request{Project: "shop", Service: "carts", Image: "Not An Image"}, `image "Not An Image" is not a valid image reference`},
			{Request{Project: "shop", Service: "carts", Image: image, Labels: map[string]string{" ": "x"}}, "a label has an empty name"},
		}
		for _, tt := range tests {
			_, err := f.e.Trigger(context.Background(), tt.req)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%+v: %v, want ErrInvalid with %q", tt.req, err, tt.want)
			}
		}
		if ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); len(ds) != 0 {
			t.Errorf("invalid requests created %d deliveries", len(ds))
		}
	})
}

func TestTriggerIdempotencyKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		req := Request{Project: "shop", Service: "carts", Image: image, IdempotencyKey: "ci-run-42"}
		first, err := f.e.Trigger(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		f.restart()
		second, err := f.e.Trigger(context.Background(), req)
		if err != nil || second != first {
			t.Fatalf("repeat returned %d, %v; want %d", second, err, first)
		}
		synctest.Wait()
		ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
		if len(ds) != 1 {
			t.Errorf("%d deliveries, want 1", len(ds))
		}
		if d := f.delivery(first); d.Stage != "qa" || d.Sequence != "delivery" || d.Actor != "" || d.Image != image {
			t.Errorf("delivery %+v", d)
		}
	})
}

func TestNewRefusesTasksWithoutExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		p := f.project
		withoutRelease, diags := config.ParseExecutors("executors.yaml", []byte("tasks:\n  deployment: {type: fake}\n  test: {type: fake}\n  rollback: {type: helm}\n"))
		if diags.HasErrors() {
			t.Fatal(diags.Err())
		}
		p.Executors = withoutRelease
		_, err := New(Options{Store: f.st, Projects: []*config.Project{p}, Executors: f.opts.Executors})
		if err == nil {
			t.Fatal("New accepted tasks without executors")
		}
		for _, want := range []string{
			`stage "production": task "release" has no executor; map it in executors.yaml`,
			`stage "qa": task "rollback": executor type "helm" is not available`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}

func TestEvaluationWithoutEvaluatorPassesLikeKeptn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, strings.Replace(defaultExecutors, "  evaluation: {type: fake}\n", "", 1))
		id := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		if got := f.taskMessage(id, "evaluation"); got != "no evaluation performed by lighthouse because no SLI-provider configured for project shop" {
			t.Errorf("evaluation message %q", got)
		}
	})
}

func TestSubscribersSeeEveryTransitionInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual, approvers: [release-managers]}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		f.vote(a.ID, "U-ann", store.DecisionApprove, "release-managers")
		synctest.Wait()
		var got []string
		var waiting *Event
		for _, ev := range f.published() {
			if ev.DeliveryID != id {
				t.Errorf("event for delivery %d", ev.DeliveryID)
			}
			got = append(got, strings.TrimPrefix(strings.TrimPrefix(ev.Type, "sh.keptn.event."), "sh.shipgate."))
			if ev.Type == EventApprovalWaiting {
				waiting = &ev
			}
		}
		equal(t, "published", got, []string{"delivery.triggered", "qa.delivery.triggered", "qa.delivery.started",
			"test.triggered", "test.started", "test.finished", "qa.delivery.finished",
			"production.delivery.triggered", "production.delivery.started", "approval.triggered", "approval.started", "approval.waiting", "approval.changes",
			"approval.voted", "approval.finished", "release.triggered", "release.started", "release.finished", "production.delivery.finished",
			"delivery.finished"})
		if waiting == nil || waiting.Approval == nil || waiting.Approval.ID != a.ID || waiting.Approval.Roles[0] != "release-managers" || waiting.Approval.Requester != "U-dev" || waiting.Stage != "production" {
			t.Errorf("approval.waiting event: %+v", waiting)
		}
	})
}
