package job

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// The test API server has no controller-manager and no kubelet, so sim plays both for the Jobs of one
// namespace, through the API as they would: the job controller creates a Pod with the Job's template
// labels (job-name, controller-uid) and an owner reference, the kubelet reports the Pod Running and then
// terminated with an exit code (pods/status), and the job controller sets the Job's final condition
// (jobs/status).

// ending is what sim makes of a Job: its container's exit code and log, or, with hang, a Pod that keeps
// running.
type ending struct {
	exit int32
	log  string
	hang bool
}

type sim struct {
	t      *testing.T
	client kubernetes.Interface
	ns     string
	end    func(*batchv1.Job) ending
	logs   *fakeLogs
	// node is the Node pods are bound to; "" is node-1, which need not exist unless logs are read
	// through the API server.
	node string

	// running receives each Job once its Pod runs.
	running chan *batchv1.Job
	mu      sync.Mutex
	seen    map[string]bool // Job uids handled
}

// simulate starts sim on ns until the test ends.
func simulate(t *testing.T, client kubernetes.Interface, ns string, end func(*batchv1.Job) ending) *sim {
	return simulateOn(t, client, ns, "", end)
}

// simulateOn is simulate with the pods bound to node.
func simulateOn(t *testing.T, client kubernetes.Interface, ns, node string, end func(*batchv1.Job) ending) *sim {
	s := &sim{t: t, client: client, ns: ns, node: node, end: end, logs: &fakeLogs{logs: map[string]string{}},
		running: make(chan *batchv1.Job, 8), seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	list, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("sim: listing jobs: %v", err)
	}
	w, err := client.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("sim: watching jobs: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	go func() {
		defer close(done)
		for i := range list.Items {
			s.handle(ctx, &list.Items[i])
		}
		for ev := range w.ResultChan() {
			if j, ok := ev.Object.(*batchv1.Job); ok && ev.Type == watch.Added {
				s.handle(ctx, j)
			}
		}
	}()
	return s
}

// jobs is how many Jobs sim has seen.
func (s *sim) jobs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *sim) handle(ctx context.Context, job *batchv1.Job) {
	s.mu.Lock()
	s.seen[string(job.UID)] = true
	s.mu.Unlock()
	end := s.end(job)
	pods := s.client.CoreV1().Pods(s.ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-abcde", Namespace: s.ns, Labels: job.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: new(true)}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = s.node
	if s.node == "" {
		pod.Spec.NodeName = "node-1"
	}
	pod, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		s.fail(ctx, "creating the pod: %v", err)
		return
	}
	started := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started, ContainerStatuses: []corev1.ContainerStatus{{
		Name: ContainerName, Image: pod.Spec.Containers[0].Image, ImageID: "sha256:0", Ready: true, Started: new(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
	}}}
	if pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		s.fail(ctx, "reporting the pod running: %v", err)
		return
	}
	s.logs.set(s.ns, pod.Name, end.log)
	select {
	case s.running <- job:
	case <-ctx.Done():
		return
	}
	if end.hang {
		return
	}
	finishedAt := metav1.Now()
	phase, reason := corev1.PodSucceeded, "Completed"
	if end.exit != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	pod.Status.Phase = phase
	pod.Status.ContainerStatuses[0].Ready = false
	pod.Status.ContainerStatuses[0].Started = new(false)
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: end.exit, Reason: reason, StartedAt: started, FinishedAt: finishedAt,
	}}
	if _, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		s.fail(ctx, "reporting the pod terminated: %v", err)
		return
	}
	job, err = s.client.BatchV1().Jobs(s.ns).Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		s.fail(ctx, "reading the job: %v", err)
		return
	}
	now := metav1.Now()
	job.Status.StartTime = &started
	job.Status.Ready = new(int32(0))
	job.Status.Terminating = new(int32(0))
	job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	cond := func(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, LastProbeTime: now, LastTransitionTime: now}
	}
	if end.exit == 0 {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = append(job.Status.Conditions, cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached"), cond(batchv1.JobComplete, "CompletionsReached"))
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = append(job.Status.Conditions, cond(batchv1.JobFailureTarget, "BackoffLimitExceeded"), cond(batchv1.JobFailed, "BackoffLimitExceeded"))
	}
	if _, err = s.client.BatchV1().Jobs(s.ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		s.fail(ctx, "setting the job's condition: %v", err)
	}
}

// fail reports a simulation error unless the test is over (its ctx was cancelled).
func (s *sim) fail(ctx context.Context, format string, args ...any) {
	if ctx.Err() == nil {
		s.t.Errorf("sim: "+format, args...)
	}
}

// fakeLogs serves the log sim gave each pod, tailed as the kubelet's containerLogs endpoint does.
type fakeLogs struct {
	mu   sync.Mutex
	logs map[string]string
	asks []string // "namespace/pod/container tailLines"
}

func (f *fakeLogs) set(ns, pod, log string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs[ns+"/"+pod] = log
}

func (f *fakeLogs) Logs(_ context.Context, namespace, pod, container string, tailLines int64) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asks = append(f.asks, fmt.Sprintf("%s/%s/%s %d", namespace, pod, container, tailLines))
	log, ok := f.logs[namespace+"/"+pod]
	if !ok {
		return nil, fmt.Errorf("pods %q not found", pod)
	}
	lines := strings.SplitAfter(log, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if int64(len(lines)) > tailLines {
		lines = lines[int64(len(lines))-tailLines:]
	}
	return io.NopCloser(bytes.NewBufferString(strings.Join(lines, ""))), nil
}
