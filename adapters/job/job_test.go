package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/store"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }

// cluster connects to the shared test API server and makes a namespace for the test.
func cluster(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	kube := kubetest.Shared(t)
	client, err := NewClient(kube.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	ns := "job-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(ns) > 63 {
		ns = ns[:63]
	}
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return client, ns
}

// spec is the tutorial's locust task of delivery 7, attempt 1, in stage qa.
func spec(ns string) Spec {
	return Spec{
		Namespace: ns, Name: "locust-7-1", Labels: Labels(7, "qa", "test", 1),
		Image: "locustio/locust", Command: []string{"locust"}, Args: []string{"--config", "/keptn/locust/locust.conf"},
		Env: []EnvVar{
			{Name: "HOST", Value: "http://helloservice.podtato-qa"},
			{Name: "TOKEN", SecretName: "locust", SecretKey: "token"},
		},
		Files: map[string][]byte{
			"/keptn/locust/basic.py":    []byte("from locust import HttpUser\n"),
			"/keptn/locust/locust.conf": []byte("headless = true\n"),
		},
		WorkingDir: "/keptn", ServiceAccount: "job-runner", ImagePullPolicy: "IfNotPresent",
	}
}

func jobsIn(t *testing.T, client kubernetes.Interface, ns string) []batchv1.Job {
	t.Helper()
	list, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func TestRunSucceeds(t *testing.T) {
	client, ns := cluster(t)
	s := simulate(t, client, ns, func(*batchv1.Job) ending { return ending{log: "spawning users\nall 20 requests passed\n"} })
	r := &Runner{Client: client, Logs: s.logs}

	res, err := r.Run(t.Context(), spec(ns))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Succeeded || res.Reattached || res.ExitCode == nil || *res.ExitCode != 0 {
		t.Fatalf("result = %+v, want succeeded with exit code 0, not re-attached", res)
	}
	if !strings.Contains(res.Logs, "all 20 requests passed") {
		t.Errorf("logs = %q, want the pod's log", res.Logs)
	}
	if want := fmt.Sprintf("%s/locust-7-1-abcde/task %d", ns, LogTailLines); len(s.logs.asks) != 1 || s.logs.asks[0] != want {
		t.Errorf("log requests = %q, want [%q]", s.logs.asks, want)
	}
	er := res.Engine()
	if er.Result != store.ResultPass || er.Status != store.StatusSucceeded {
		t.Errorf("engine result = %+v, want pass", er)
	}
	if got := er.Data["job"].(map[string]any)["logs"]; !strings.Contains(got.(string), "all 20 requests passed") {
		t.Errorf("engine data logs = %q", got)
	}

	job, err := client.BatchV1().Jobs(ns).Get(t.Context(), "locust-7-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.BackoffLimit != 0 || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("backoffLimit %d, restartPolicy %s; want 0 and Never", *job.Spec.BackoffLimit, job.Spec.Template.Spec.RestartPolicy)
	}
	for k, v := range Labels(7, "qa", "test", 1) {
		if job.Labels[k] != v || job.Spec.Template.Labels[k] != v {
			t.Errorf("label %s: job %q, pod template %q; want %q", k, job.Labels[k], job.Spec.Template.Labels[k], v)
		}
	}
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != "locustio/locust" || c.WorkingDir != "/keptn" || c.ImagePullPolicy != corev1.PullIfNotPresent ||
		job.Spec.Template.Spec.ServiceAccountName != "job-runner" || strings.Join(c.Args, " ") != "--config /keptn/locust/locust.conf" {
		t.Errorf("container = %+v", c)
	}
	if len(c.Env) != 2 || c.Env[0].Value != "http://helloservice.podtato-qa" ||
		c.Env[1].ValueFrom == nil || c.Env[1].ValueFrom.SecretKeyRef.Name != "locust" || c.Env[1].ValueFrom.SecretKeyRef.Key != "token" {
		t.Errorf("env = %+v", c.Env)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/keptn" {
		t.Errorf("mounts = %+v, want the files' volume at /keptn", c.VolumeMounts)
	}
	vol := job.Spec.Template.Spec.Volumes[0].ConfigMap
	items := map[string]string{}
	for _, it := range vol.Items {
		items[it.Key] = it.Path
	}
	if vol.Name != "locust-7-1" || items["locust_basic.py"] != "locust/basic.py" || items["locust_locust.conf"] != "locust/locust.conf" {
		t.Errorf("volume = %+v", vol)
	}

	cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "locust-7-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(cm.BinaryData["locust_locust.conf"]) != "headless = true\n" {
		t.Errorf("configmap data = %q", cm.BinaryData)
	}
	if len(cm.OwnerReferences) != 1 {
		t.Fatalf("configmap owners = %+v, want the job", cm.OwnerReferences)
	}
	own := cm.OwnerReferences[0]
	if own.APIVersion != "batch/v1" || own.Kind != "Job" || own.Name != job.Name || own.UID != job.UID {
		t.Errorf("configmap owner = %+v, want job %s (%s)", own, job.Name, job.UID)
	}
}

func TestRunFails(t *testing.T) {
	client, ns := cluster(t)
	var log strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&log, "request %d failed\n", i)
	}
	s := simulate(t, client, ns, func(*batchv1.Job) ending { return ending{exit: 3, log: log.String()} })
	r := &Runner{Client: client, Logs: s.logs}

	res, err := r.Run(t.Context(), spec(ns))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Failed || res.ExitCode == nil || *res.ExitCode != 3 || res.Reason != "BackoffLimitExceeded" {
		t.Fatalf("result = %+v, want failed with exit code 3", res)
	}
	if lines := strings.Count(res.Logs, "\n"); lines != LogTailLines || !strings.HasPrefix(res.Logs, "request 51 failed\n") {
		t.Errorf("logs have %d lines starting %q, want the last %d", lines, res.Logs[:20], LogTailLines)
	}
	er := res.Engine()
	if er.Result != store.ResultFail || er.Status != store.StatusSucceeded {
		t.Errorf("engine result %s/%s, want fail/succeeded", er.Result, er.Status)
	}
	if !strings.Contains(er.Message, "exit code 3") || !strings.HasSuffix(er.Message, "request 141 failed\nrequest 142 failed\nrequest 143 failed\nrequest 144 failed\nrequest 145 failed\nrequest 146 failed\nrequest 147 failed\nrequest 148 failed\nrequest 149 failed\nrequest 150 failed") {
		t.Errorf("message = %q, want the exit code and the last %d lines", er.Message, messageLogLines)
	}
}

// gone checks that the Job was deleted with background propagation: with no garbage collector running,
// orphan (batch/v1's default) or foreground deletion would leave it in place with a finalizer.
func gone(t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	j, err := client.BatchV1().Jobs(ns).Get(t.Context(), name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("job %s: %v, finalizers %v; want it deleted at once (background propagation)", name, err, j.Finalizers)
	}
}

func TestRunTimesOut(t *testing.T) {
	client, ns := cluster(t)
	s := simulate(t, client, ns, func(*batchv1.Job) ending { return ending{hang: true, log: "still running\n"} })
	deadline := make(chan time.Time)
	var asked time.Duration
	r := &Runner{Client: client, Logs: s.logs, after: func(d time.Duration) <-chan time.Time { asked = d; return deadline }}
	go func() {
		select {
		case <-s.running:
			close(deadline)
		case <-t.Context().Done():
		}
	}()

	sp := spec(ns)
	sp.MaxPollDuration = 90 * time.Second
	res, err := r.Run(t.Context(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if asked != 90*time.Second {
		t.Errorf("timer set for %s, want maxPollDuration 90s", asked)
	}
	if res.Outcome != TimedOut || !strings.Contains(res.Message, "maxPollDuration 1m30s") || res.Logs != "still running\n" {
		t.Errorf("result = %+v, want timed out", res)
	}
	if er := res.Engine(); er.Status != store.StatusErrored || er.Result != store.ResultFail {
		t.Errorf("engine result %s/%s, want fail/errored", er.Result, er.Status)
	}
	gone(t, client, ns, sp.Name)
}

func TestRunAborted(t *testing.T) {
	client, ns := cluster(t)
	s := simulate(t, client, ns, func(*batchv1.Job) ending { return ending{hang: true} })
	r := &Runner{Client: client, Logs: s.logs}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-s.running:
			cancel()
		case <-t.Context().Done():
		}
	}()

	_, err := r.Run(ctx, spec(ns))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	gone(t, client, ns, "locust-7-1")
}

func TestRunReattaches(t *testing.T) {
	client, ns := cluster(t)
	// A Job an earlier process created before it restarted (without the ConfigMap it would have
	// created next), under another name.
	earlier := spec(ns)
	earlier.Name = "locust-7-1-before"
	m, err := build(earlier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs(ns).Create(t.Context(), m.job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another attempt's Job must not be taken for this one.
	other := spec(ns)
	other.Name, other.Labels = "locust-7-2", Labels(7, "qa", "test", 2)
	if m, err = build(other); err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs(ns).Create(t.Context(), m.job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := simulate(t, client, ns, func(j *batchv1.Job) ending {
		if j.Name == "locust-7-2" {
			return ending{hang: true}
		}
		return ending{log: "done\n"}
	})
	r := &Runner{Client: client, Logs: s.logs}

	res, err := r.Run(t.Context(), spec(ns))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reattached || res.Job != "locust-7-1-before" || res.Outcome != Succeeded || !strings.Contains(res.Logs, "done") {
		t.Errorf("result = %+v, want the earlier job's success, re-attached", res)
	}
	sel := labels.SelectorFromSet(Labels(7, "qa", "test", 1)).String()
	list, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || s.jobs() != 2 {
		t.Errorf("%d jobs for attempt 1, %d in all; want the earlier one only", len(list.Items), s.jobs())
	}
	cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "locust-7-1-before", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the missing configmap was not created for the re-attached job: %v", err)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != list.Items[0].UID {
		t.Errorf("configmap owners = %+v", cm.OwnerReferences)
	}
}

func TestRunRefusesTooManyFiles(t *testing.T) {
	client, ns := cluster(t)
	r := &Runner{Client: client}
	sp := spec(ns)
	sp.Files = map[string][]byte{"/keptn/a.bin": make([]byte, MaxFilesSize/2), "/keptn/b.bin": make([]byte, MaxFilesSize/2)}

	_, err := r.Run(t.Context(), sp)
	if err == nil || !strings.Contains(err.Error(), "more than a ConfigMap holds") || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("err = %v, want the files' size refused", err)
	}
	if jobs := jobsIn(t, client, ns); len(jobs) != 0 {
		t.Errorf("%d jobs created", len(jobs))
	}
	cms, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + managedBy})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != 0 {
		t.Errorf("%d configmaps created", len(cms.Items))
	}
}
