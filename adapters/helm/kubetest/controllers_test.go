package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// awaitTimeout bounds how long a test waits for the controller-manager and the node to act; they act
// within a second or two when the machine is idle.
const awaitTimeout = 90 * time.Second

// await polls cond until it reports true or an error, or awaitTimeout passes. The controllers run in
// another process, so asking the API is the only way to see what they did.
func await(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(awaitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, awaitTimeout)
		}
		<-tick.C
	}
}

// namespace creates a namespace of its own for the test.
func namespace(t *testing.T, s *Server) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "kcm-" + hex.EncodeToString(b)
	body, _ := json.Marshal(corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if _, err := s.Send(context.Background(), http.MethodPost, "/api/v1/namespaces", "application/json", body); err != nil {
		t.Fatal(err)
	}
	return ns
}

// byArgs is the node's run function for these tests: a container's args are its exit code and log.
func byArgs(pod *corev1.Pod) Outcome {
	var out Outcome
	args := pod.Spec.Containers[0].Args
	if len(args) > 0 {
		fmt.Sscan(args[0], &out.ExitCode)
	}
	if len(args) > 1 {
		out.Log = args[1]
	}
	return out
}

func createJob(t *testing.T, s *Server, ns, name string, args ...string) *batchv1.Job {
	t.Helper()
	backoff := int32(0)
	job := batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox:1.36", Args: args}},
			}},
		},
	}
	body, _ := json.Marshal(job)
	out, err := s.Send(context.Background(), http.MethodPost, "/apis/batch/v1/namespaces/"+ns+"/jobs", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	var created batchv1.Job
	if err := json.Unmarshal(out, &created); err != nil {
		t.Fatal(err)
	}
	return &created
}

// awaitJobCondition waits until the Job has condition typ (Complete or Failed) and returns the Job.
func awaitJobCondition(t *testing.T, s *Server, ns, name string, typ batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	await(t, fmt.Sprintf("job %s %s", name, typ), func() (bool, error) {
		body, err := s.Do(context.Background(), http.MethodGet, "/apis/batch/v1/namespaces/"+ns+"/jobs/"+name)
		if err != nil {
			return false, err
		}
		job = batchv1.Job{}
		if err := json.Unmarshal(body, &job); err != nil {
			return false, err
		}
		for _, c := range job.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			if c.Type == typ {
				return true, nil
			}
			if c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed {
				return false, fmt.Errorf("job ended %s (%s), want %s", c.Type, c.Message, typ)
			}
		}
		return false, nil
	})
	return &job
}

func jobPods(t *testing.T, s *Server, ns, job string) []corev1.Pod {
	t.Helper()
	body, err := s.Do(context.Background(), http.MethodGet, "/api/v1/namespaces/"+ns+"/pods?labelSelector=job-name%3D"+job)
	if err != nil {
		t.Fatal(err)
	}
	var list corev1.PodList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// The job controller makes the Job's Pod, the node binds and runs it to Succeeded, the Job completes,
// and the API server serves the Pod's log from the node.
func TestJobRunsToComplete(t *testing.T) {
	s := SharedWithControllers(t)
	ns := namespace(t, s)
	node := s.StartNode(t, ns, byArgs)
	createJob(t, s, ns, "ok", "0", "hello from the job\n")
	job := awaitJobCondition(t, s, ns, "ok", batchv1.JobComplete)
	if job.Status.Succeeded != 1 || job.Status.Failed != 0 {
		t.Errorf("job status succeeded=%d failed=%d, want 1 and 0", job.Status.Succeeded, job.Status.Failed)
	}
	pods := jobPods(t, s, ns, "ok")
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	pod := pods[0]
	if pod.Spec.NodeName != node.Name || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("pod on %q in phase %s, want on %q and Succeeded", pod.Spec.NodeName, pod.Status.Phase, node.Name)
	}
	if cs := pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 0 {
		t.Errorf("container statuses %+v, want main terminated with exit code 0", cs)
	}
	log, err := s.Do(context.Background(), http.MethodGet, "/api/v1/namespaces/"+ns+"/pods/"+pod.Name+"/log?container=main")
	if err != nil {
		t.Fatal(err)
	}
	if string(log) != "hello from the job\n" {
		t.Errorf("log %q, want the node's", log)
	}
}

// A container that exits non-zero fails its Pod and, with no retries left, the Job; the exit code is in
// the Pod's container status.
func TestJobFailsWithExitCode(t *testing.T) {
	s := SharedWithControllers(t)
	ns := namespace(t, s)
	s.StartNode(t, ns, byArgs)
	createJob(t, s, ns, "bad", "3", "boom\n")
	job := awaitJobCondition(t, s, ns, "bad", batchv1.JobFailed)
	if job.Status.Failed != 1 {
		t.Errorf("job status failed=%d, want 1", job.Status.Failed)
	}
	pods := jobPods(t, s, ns, "bad")
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	if pods[0].Status.Phase != corev1.PodFailed {
		t.Errorf("pod phase %s, want Failed", pods[0].Status.Phase)
	}
	if cs := pods[0].Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 3 {
		t.Errorf("container statuses %+v, want main terminated with exit code 3", cs)
	}
}

// Deleting a Job with background propagation has the garbage collector delete its Pods and a ConfigMap
// it owns, while a ConfigMap it does not own stays.
func TestJobDeletionCollectsOwned(t *testing.T) {
	s := SharedWithControllers(t)
	ctx := context.Background()
	ns := namespace(t, s)
	s.StartNode(t, ns, byArgs)
	job := createJob(t, s, ns, "gc", "0")
	awaitJobCondition(t, s, ns, "gc", batchv1.JobComplete)
	if n := len(jobPods(t, s, ns, "gc")); n != 1 {
		t.Fatalf("%d pods, want 1", n)
	}
	controller := true
	for _, cm := range []corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "owned", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &controller,
		}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "unowned"}},
	} {
		cm.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
		cm.Data = map[string]string{"k": "v"}
		body, _ := json.Marshal(cm)
		if _, err := s.Send(ctx, http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps", "application/json", body); err != nil {
			t.Fatal(err)
		}
	}
	background := metav1.DeletePropagationBackground
	opts, _ := json.Marshal(metav1.DeleteOptions{PropagationPolicy: &background})
	if _, err := s.Send(ctx, http.MethodDelete, "/apis/batch/v1/namespaces/"+ns+"/jobs/gc", "application/json", opts); err != nil {
		t.Fatal(err)
	}
	await(t, "the job's pods and configmap collected", func() (bool, error) {
		if len(jobPods(t, s, ns, "gc")) != 0 {
			return false, nil
		}
		_, err := s.Do(ctx, http.MethodGet, "/api/v1/namespaces/"+ns+"/configmaps/owned")
		if IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if _, err := s.Do(ctx, http.MethodGet, "/api/v1/namespaces/"+ns+"/configmaps/unowned"); err != nil {
		t.Errorf("the configmap the job did not own: %v", err)
	}
}

// A node needs a namespace and a run function.
func TestStartNodeRefusesBadInput(t *testing.T) {
	s := &Server{}
	ft := &fatalT{TB: t}
	func() {
		defer func() { _ = recover() }()
		s.StartNode(ft, "", byArgs)
	}()
	if !ft.fataled {
		t.Error("StartNode accepted an empty namespace")
	}
}

// fatalT records Fatal instead of ending the test, and stops the caller with a panic as Goexit would.
type fatalT struct {
	testing.TB
	fataled bool
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatal(args ...any) {
	f.fataled = true
	panic("fatal")
}
