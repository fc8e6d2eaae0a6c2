package tutorialtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/adapters/job"
)

// namespace makes a namespace for one case.
func namespace(t *testing.T, client kubernetes.Interface, name string) string {
	t.Helper()
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func spec(ns string) job.Spec {
	labels := job.Labels(42, "qa", "test", 1)
	return job.Spec{Namespace: ns, Name: "test-42-1", Labels: labels, Image: "locustio/locust:2.8.6",
		Command: []string{"locust"}, Files: map[string][]byte{"/keptn/locust/locust.conf": []byte("users = 1\n")}}
}

// eventually waits, bounded, for what another process (the controllers) does.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// podsAndConfigMapsGone says the garbage collector removed what the Job owned.
func ownedGone(t *testing.T, client kubernetes.Interface, ns string) func() bool {
	return func() bool {
		pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.CoreV1().ConfigMaps(ns).Get(t.Context(), "test-42-1", metav1.GetOptions{})
		return len(pods.Items) == 0 && apierrors.IsNotFound(err)
	}
}

// With kube-controller-manager's job and garbage collectors and the simulated node: a failed container
// fails the task with its exit code and last log lines; a Job that never ends is deleted at
// maxPollDuration, and an aborted one at once, each with what it owned; a second run of the same attempt
// (shipgate restarted) waits for the Job the first made instead of making another.
func TestJobOutcomesWithTheJobController(t *testing.T) {
	kube := kubetest.SharedWithControllers(t)
	client, err := job.NewClient(kube.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &job.Runner{Client: client}

	t.Run("failure", func(t *testing.T) {
		ns := namespace(t, client, "outcome-failure")
		kube.StartNode(t, ns, func(*corev1.Pod) kubetest.Outcome {
			return kubetest.Outcome{ExitCode: 3, Log: "starting\n2 of 40 requests failed\n"}
		})
		res, err := r.Run(t.Context(), spec(ns))
		if err != nil {
			t.Fatal(err)
		}
		er := res.Engine()
		if res.Outcome != job.Failed || res.ExitCode == nil || *res.ExitCode != 3 ||
			!strings.Contains(er.Message, "exit code 3") || !strings.Contains(er.Message, "2 of 40 requests failed") {
			t.Errorf("result %+v, message %q", res, er.Message)
		}
	})

	t.Run("maxPollDuration", func(t *testing.T) {
		ns := namespace(t, client, "outcome-timeout") // no node: the pod never runs
		s := spec(ns)
		s.MaxPollDuration = 2 * time.Second
		res, err := r.Run(t.Context(), s)
		if err != nil || res.Outcome != job.TimedOut {
			t.Fatalf("result %+v %v, want timed out", res, err)
		}
		eventually(t, "the timed-out Job's pod and ConfigMap to be collected", ownedGone(t, client, ns))
	})

	t.Run("abort", func(t *testing.T) {
		ns := namespace(t, client, "outcome-abort")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { _, err := r.Run(ctx, spec(ns)); done <- err }()
		eventually(t, "the Job's pod", func() bool {
			pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			return err == nil && len(pods.Items) == 1
		})
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("aborted run: %v", err)
		}
		if _, err := client.BatchV1().Jobs(ns).Get(t.Context(), "test-42-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the aborted Job is still there: %v", err)
		}
		eventually(t, "the aborted Job's pod and ConfigMap to be collected", ownedGone(t, client, ns))
	})

	t.Run("re-attach", func(t *testing.T) {
		ns := namespace(t, client, "outcome-reattach")
		first := make(chan job.Result, 1)
		go func() { res, _ := r.Run(t.Context(), spec(ns)); first <- res }()
		eventually(t, "the first run's pod", func() bool {
			pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			return err == nil && len(pods.Items) == 1
		})
		second := make(chan job.Result, 1)
		s := spec(ns)
		s.Name = "test-42-1-again" // what a restarted shipgate would not find by name, only by labels
		go func() { res, _ := r.Run(t.Context(), s); second <- res }()
		// The pod runs only now that both wait for it.
		kube.StartNode(t, ns, func(*corev1.Pod) kubetest.Outcome { return kubetest.Outcome{Log: "ok\n"} })
		a, b := <-first, <-second
		if a.Outcome != job.Succeeded || b.Outcome != job.Succeeded || !b.Reattached || b.Job != "test-42-1" {
			t.Errorf("first %+v, second %+v: want both succeeded, the second re-attached to test-42-1", a, b)
		}
		jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil || len(jobs.Items) != 1 {
			t.Errorf("%d Jobs, want 1 (%v)", len(jobs.Items), err)
		}
	})
}
