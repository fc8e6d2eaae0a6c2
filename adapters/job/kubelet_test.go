package job

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kubeletStub serves the one kubelet endpoint the API server proxies pods/log to:
// GET /containerLogs/{namespace}/{pod}/{container}?tailLines=N (the kubelet's server.go registers it
// under /containerLogs; the API server builds the URL in pkg/registry/core/pod LogLocation). It answers
// from logs, as the kubelet answers from the container runtime's log files.
type kubeletStub struct {
	logs *fakeLogs
	mu   sync.Mutex
	urls []string
}

func (k *kubeletStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.urls = append(k.urls, r.URL.RequestURI())
	k.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	tailLines := int64(-1)
	if v := r.URL.Query().Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "tailLines: "+err.Error(), http.StatusBadRequest)
			return
		}
		tailLines = n
	}
	if tailLines < 0 {
		tailLines = 1 << 30
	}
	rc, err := k.logs.Logs(r.Context(), parts[0], parts[1], parts[2], tailLines)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, rc)
}

// kubeletNode registers a Node whose kubelet is a stub on loopback, so that the API server's pods/log
// reaches it. The API server does not verify a kubelet's certificate unless given
// --kubelet-certificate-authority, which the test server is not.
func kubeletNode(t *testing.T, client kubernetes.Interface, name string, stub *kubeletStub) {
	t.Helper()
	srv := httptest.NewTLSServer(stub)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	node, err := client.CoreV1().Nodes().Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(p)
	if _, err := client.CoreV1().Nodes().UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The default LogSource reads through the API server, which proxies to the (stub) kubelet.
func TestRunReadsLogsThroughAPIServer(t *testing.T) {
	client, ns := cluster(t)
	s := simulateOn(t, client, ns, "kubelet-stub-node", func(*batchv1.Job) ending { return ending{exit: 1, log: "one\ntwo\nboom\n"} })
	stub := &kubeletStub{logs: s.logs}
	kubeletNode(t, client, "kubelet-stub-node", stub)
	r := &Runner{Client: client}

	res, err := r.Run(t.Context(), spec(ns))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Failed || res.Logs != "one\ntwo\nboom\n" {
		t.Errorf("result = %+v, want failed with the pod's log", res)
	}
	stub.mu.Lock()
	defer stub.mu.Unlock()
	want := "/containerLogs/" + ns + "/locust-7-1-abcde/task?tailLines=" + strconv.Itoa(LogTailLines)
	if len(stub.urls) != 1 || stub.urls[0] != want {
		t.Errorf("kubelet asked for %q, want [%q]", stub.urls, want)
	}
}
