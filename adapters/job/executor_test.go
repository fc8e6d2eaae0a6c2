package job

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func TestExecutorRunsStepsInOrderUntilOneFails(t *testing.T) {
	client, ns := cluster(t)
	s := simulate(t, client, ns, func(j *batchv1.Job) ending {
		switch j.Labels[LabelStep] {
		case "1":
			return ending{log: "deployed\n"}
		default:
			return ending{exit: 2, log: "locust: 3 failures\n"}
		}
	})
	step := func(image string) Spec { return Spec{Namespace: ns, Image: image} }
	x := &Executor{Client: client, Logs: s.logs, Resolve: func(context.Context, engine.Task) (Plan, error) {
		return Plan{Jobs: []Spec{step("helm"), step("locust"), step("kubectl")}}, nil
	}}
	task := engine.Task{DeliveryID: 9, Attempt: 1, Stage: "qa", Name: "test"}

	res, err := x.Execute(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != store.ResultFail || res.Status != store.StatusSucceeded {
		t.Errorf("result %s/%s, want fail/succeeded", res.Result, res.Status)
	}
	if want := "job test-9-1-1 succeeded\njob test-9-1-2 failed with exit code 2 (BackoffLimitExceeded); last lines:\nlocust: 3 failures"; res.Message != want {
		t.Errorf("message = %q, want %q", res.Message, want)
	}
	if jobs := res.Data["jobs"].([]any); len(jobs) != 2 {
		t.Errorf("data jobs = %v, want the two that ran", jobs)
	}
	list, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Errorf("%d jobs created, want 2: the step after a failure does not run", len(list.Items))
	}
	for _, j := range list.Items {
		if j.Labels[LabelDelivery] != "9" || j.Labels[LabelStage] != "qa" || j.Labels[LabelTask] != "test" || j.Labels[LabelAttempt] != "1" {
			t.Errorf("job %s labels = %v", j.Name, j.Labels)
		}
	}
}

func TestExecutorRefusesUnresolvableTask(t *testing.T) {
	x := &Executor{Resolve: func(context.Context, engine.Task) (Plan, error) { return Plan{}, nil }}
	res, err := x.Execute(t.Context(), engine.Task{Name: "test"})
	if err != nil || res.Status != store.StatusErrored || !strings.Contains(res.Message, "no jobs") {
		t.Errorf("Execute = %+v, %v; want errored, no jobs", res, err)
	}
}

// A Plan naming a cluster gets a client for that kubeconfig and context, made once.
func TestExecutorConnectsPerCluster(t *testing.T) {
	kube := kubetest.Shared(t)
	x := &Executor{Kubeconfig: kube.Kubeconfig}
	a, err := x.connect(Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := x.connect(Plan{Kubeconfig: kube.Kubeconfig}); err != nil || b != a {
		t.Errorf("same cluster: runner %p, %v; want %p", b, err, a)
	}
	if _, err := x.connect(Plan{Context: "production"}); err == nil || !strings.Contains(err.Error(), "production") {
		t.Errorf("unknown context: err = %v, want one naming it", err)
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("performance_Test.", 6)
	for _, tc := range []struct {
		task engine.Task
		step int
		want string
	}{
		{engine.Task{Name: "test", DeliveryID: 12, Attempt: 2}, 3, "test-12-2-3"},
		{engine.Task{Name: "Load_Test", DeliveryID: 1, Attempt: 1}, 1, "load-test-1-1-1"},
		{engine.Task{Name: "__", DeliveryID: 1, Attempt: 1}, 1, "task-1-1-1"},
	} {
		if got := Name(tc.task, tc.step); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.task.Name, got, tc.want)
		}
	}
	a, b := Name(engine.Task{Name: long + "a"}, 1), Name(engine.Task{Name: long + "b"}, 1)
	if a == b || len(a) > 63 {
		t.Errorf("long names %q and %q: want distinct, at most 63 characters", a, b)
	}
	if errs := validation.IsDNS1123Label(a); len(errs) > 0 {
		t.Errorf("%q: %v", a, errs)
	}
}

func TestCheckConfig(t *testing.T) {
	x := &Executor{}
	for _, tt := range []struct {
		with map[string]any
		want string // "" when accepted
	}{
		{nil, ""},
		{map[string]any{"namespace": "fulltour-qa", "context": "prod", "kubeconfig": "/etc/kube/config"}, ""},
		{map[string]any{"image": "x"}, `not "image"`},
		{map[string]any{"namespace": 3}, "must be a string"},
		{map[string]any{"namespace": "Full_Tour"}, `namespace "Full_Tour"`},
	} {
		err := x.CheckConfig("test", tt.with)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckConfig(%v) = %v, want %q", tt.with, err, tt.want)
		}
	}
}
