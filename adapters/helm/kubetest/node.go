package kubetest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Outcome is what the simulated containers of a Pod do: every container of the Pod exits with ExitCode
// after printing Log, which the node serves as each container's log.
type Outcome struct {
	ExitCode int32
	Log      string
}

// Node stands in for a kubelet on a simulated node: no container runtime can run here, so it does the
// kubelet's part through the API alone. It registers a Ready Node, binds the namespace's unscheduled Pods
// to itself (no scheduler runs), reports each bound Pod Running and then terminated with the Outcome its
// run function chose, finishes Pods being deleted as a kubelet does, and serves the containers' logs at
// the kubelet's log endpoint, which the API server proxies `pods/log` to. Every Pod runs to completion,
// whatever its restart policy, and init containers are not reported: it simulates what Jobs need.
type Node struct {
	// Name is the Node's name, "kubetest-" and the namespace.
	Name string

	s         *Server
	namespace string
	run       func(*corev1.Pod) Outcome
	srv       *httptest.Server

	mu      sync.Mutex
	started map[string]bool   // Pod UIDs already run, so a Pod runs once however often it is seen
	logs    map[string]string // "namespace/pod" → log of each of its containers
	errs    []error
}

// StartNode runs a simulated node for the Pods of namespace until t ends. run decides each Pod's outcome,
// from its containers' args or annotations for instance; it runs on the node's goroutine. Errors the
// node meets (an API call that failed) fail t when it ends.
func (s *Server) StartNode(t testing.TB, namespace string, run func(pod *corev1.Pod) Outcome) *Node {
	t.Helper()
	if namespace == "" || run == nil {
		t.Fatal("kubetest.StartNode: a namespace and a run function are required")
	}
	n := &Node{
		Name: "kubetest-" + namespace, s: s, namespace: namespace, run: run,
		started: map[string]bool{}, logs: map[string]string{},
	}
	// The API server reaches a kubelet over TLS and, without --kubelet-certificate-authority, does not
	// verify its certificate, so httptest's self-signed one does.
	n.srv = httptest.NewTLSServer(http.HandlerFunc(n.serveLog))
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.register(ctx); err != nil {
		cancel()
		n.srv.Close()
		t.Fatalf("registering node %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.loop(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		n.srv.Close()
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		if _, err := s.Do(dctx, http.MethodDelete, "/api/v1/nodes/"+n.Name); err != nil && !IsNotFound(err) {
			t.Errorf("deleting node %s: %v", n.Name, err)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, err := range n.errs {
			t.Errorf("node %s: %v", n.Name, err)
		}
	})
	return n
}

// register creates the Node and reports it Ready, with the address and port of its log endpoint.
func (n *Node) register(ctx context.Context) error {
	host, portStr, err := net.SplitHostPort(n.srv.Listener.Addr().String())
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	node := corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name, "type": "kubetest"}},
	}
	body, _ := json.Marshal(node)
	if _, err := n.s.Send(ctx, http.MethodPost, "/api/v1/nodes", "application/json", body); err != nil {
		return err
	}
	now := metav1.Now()
	status := map[string]any{"status": corev1.NodeStatus{
		Phase: corev1.NodeRunning,
		// Only an IP: the API server prefers a Hostname address when it reaches the kubelet, and the
		// node's name resolves nowhere.
		Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubetest simulated node", LastHeartbeatTime: now, LastTransitionTime: now}},
		Capacity:    corev1.ResourceList{},
		Allocatable: corev1.ResourceList{},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)},
		},
		NodeInfo: corev1.NodeSystemInfo{KubeletVersion: Version, OperatingSystem: "linux", Architecture: "amd64"},
	}}
	body, _ = json.Marshal(status)
	_, err = n.s.Send(ctx, http.MethodPatch, "/api/v1/nodes/"+n.Name+"/status", "application/merge-patch+json", body)
	return err
}

// loop lists the namespace's Pods and then watches them, handling each; a watch the API server ends (it
// closes them after a few minutes) is started again from a new list.
func (n *Node) loop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := n.listAndWatch(ctx); err != nil && ctx.Err() == nil {
			n.fail(err)
			// The API server itself is failing; wait a little instead of spinning against it.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (n *Node) listAndWatch(ctx context.Context) error {
	path := "/api/v1/namespaces/" + url.PathEscape(n.namespace) + "/pods"
	body, err := n.s.Do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	var list corev1.PodList
	if err := json.Unmarshal(body, &list); err != nil {
		return err
	}
	for i := range list.Items {
		n.handle(ctx, &list.Items[i])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		n.s.URL+path+"?watch=1&allowWatchBookmarks=false&resourceVersion="+url.QueryEscape(list.ResourceVersion), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.s.Token)
	req.Header.Set("Accept", "application/json")
	// No client timeout: a watch lasts until the API server or ctx ends it.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("watching pods: %s", resp.Status)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			// ctx ended, or the API server closed the watch (its timeout) or the connection broke: the
			// loop lists again unless ctx ended.
			return nil
		}
		switch ev.Type {
		case "ADDED", "MODIFIED":
			var pod corev1.Pod
			if err := json.Unmarshal(ev.Object, &pod); err != nil {
				return err
			}
			n.handle(ctx, &pod)
		case "ERROR":
			// Typically 410 Gone: the resource version is too old; a new list starts over.
			return nil
		}
	}
}

// handle does the kubelet's (and the scheduler's) next step for a Pod.
func (n *Node) handle(ctx context.Context, pod *corev1.Pod) {
	podPath := "/api/v1/namespaces/" + url.PathEscape(pod.Namespace) + "/pods/" + url.PathEscape(pod.Name)
	switch {
	case pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil:
		binding := corev1.Binding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Binding"},
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: n.Name},
		}
		body, _ := json.Marshal(binding)
		if _, err := n.s.Send(ctx, http.MethodPost, podPath+"/binding", "application/json", body); err != nil && !isGoneOrConflict(err) {
			n.fail(fmt.Errorf("binding pod %s: %w", pod.Name, err))
		}
	case pod.Spec.NodeName != n.Name:
	case pod.DeletionTimestamp != nil:
		// A kubelet confirms a graceful deletion once the containers stopped, by deleting with grace 0.
		opts, _ := json.Marshal(metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if _, err := n.s.Send(ctx, http.MethodDelete, podPath, "application/json", opts); err != nil && !isGoneOrConflict(err) {
			n.fail(fmt.Errorf("deleting pod %s: %w", pod.Name, err))
		}
	case pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "":
		n.mu.Lock()
		seen := n.started[string(pod.UID)]
		n.started[string(pod.UID)] = true
		n.mu.Unlock()
		if !seen {
			n.runPod(ctx, pod, podPath)
		}
	}
}

// runPod reports the Pod Running and then terminated with its Outcome, as two status updates, so that a
// watcher can see both phases.
func (n *Node) runPod(ctx context.Context, pod *corev1.Pod, podPath string) {
	out := n.run(pod)
	n.mu.Lock()
	n.logs[pod.Namespace+"/"+pod.Name] = out.Log
	n.mu.Unlock()

	start := metav1.Now()
	running := make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		started := true
		running[i] = corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "kubetest://" + string(pod.UID) + "/" + c.Name,
			Ready: true, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		}
	}
	hostIP := n.srv.Listener.Addr().(*net.TCPAddr).IP.String()
	if !n.patchStatus(ctx, pod, podPath, corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: hostIP, PodIP: hostIP, StartTime: &start,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start},
		},
		ContainerStatuses: running,
	}) {
		return
	}

	end := metav1.Now()
	phase, reason := corev1.PodSucceeded, "Completed"
	if out.ExitCode != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	terminated := make([]corev1.ContainerStatus, len(running))
	for i, cs := range running {
		started := false
		cs.Ready, cs.Started = false, &started
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: out.ExitCode, Reason: reason, StartedAt: start, FinishedAt: end, ContainerID: cs.ContainerID,
		}}
		terminated[i] = cs
	}
	n.patchStatus(ctx, pod, podPath, corev1.PodStatus{
		Phase: phase, HostIP: hostIP, PodIP: hostIP, StartTime: &start,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: end},
		},
		ContainerStatuses: terminated,
	})
}

// patchStatus replaces the Pod's status with a merge patch, which needs no resource version: the job
// controller updates the same Pod (its finalizer) at the same time.
func (n *Node) patchStatus(ctx context.Context, pod *corev1.Pod, podPath string, status corev1.PodStatus) bool {
	body, _ := json.Marshal(map[string]any{"status": status})
	if _, err := n.s.Send(ctx, http.MethodPatch, podPath+"/status", "application/merge-patch+json", body); err != nil {
		if !IsNotFound(err) && ctx.Err() == nil {
			n.fail(fmt.Errorf("reporting pod %s %s: %w", pod.Name, status.Phase, err))
		}
		return false
	}
	return true
}

// serveLog answers the kubelet's container log endpoint, GET /containerLogs/{namespace}/{pod}/{container},
// which the API server proxies `GET pods/{pod}/log` to.
func (n *Node) serveLog(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	n.mu.Lock()
	log, ok := n.logs[parts[0]+"/"+parts[1]]
	n.mu.Unlock()
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s has not run on node %s", parts[0], parts[1], n.Name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(log))
}

func (n *Node) fail(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.errs = append(n.errs, err)
}

// isGoneOrConflict reports whether err says another actor got there first: the Pod is gone, already
// bound, or already deleted.
func isGoneOrConflict(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusConflict)
}
