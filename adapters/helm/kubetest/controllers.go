package kubetest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/modroot"
)

// ControllerManagerEnv names the environment variable that points at a kube-controller-manager binary,
// overriding the one `make kube-controller-manager` builds into .cache/kube.
const ControllerManagerEnv = "SHIPGATE_KUBE_CONTROLLER_MANAGER"

// Controllers are the kube-controller-manager controllers SharedWithControllers runs: the job controller
// turns Jobs into Pods and finishes them, and the garbage collector deletes what a deleted object owned
// (a Job's Pods and ConfigMaps). The rest (service accounts, nodes' lifecycle, replica sets) stay off so
// that tests see only what these do.
var Controllers = []string{"job", "garbagecollector"}

var (
	controllersOnce sync.Once
	controllersErr  error
	controllersLog  string
)

// SharedWithControllers returns the shared API server (see Shared) with a kube-controller-manager running
// Controllers against it, starting both on first use. Nothing runs a Pod's containers: pair it with
// StartNode. It skips or fails t when a binary is missing, as Shared does, and when t fails it logs the
// end of the controller-manager's log.
func SharedWithControllers(t testing.TB) *Server {
	t.Helper()
	kcm := controllerManagerBinary(t)
	s := Shared(t)
	controllersOnce.Do(func() {
		var p *proc
		for attempt := range 3 {
			p, controllersErr = s.startControllerManager(kcm, attempt)
			if controllersErr == nil || !strings.Contains(controllersErr.Error(), "address already in use") {
				break
			}
		}
		if p != nil {
			controllersLog = p.log
		}
	})
	if controllersErr != nil {
		t.Fatalf("starting kube-controller-manager: %v", controllersErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-controller-manager log (end): %s", tail(controllersLog))
		}
	})
	return s
}

// controllerManagerBinary finds kube-controller-manager, or skips or fails the test when it is missing.
func controllerManagerBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(ControllerManagerEnv)
	if bin == "" {
		if root, err := modroot.Dir(); err == nil {
			bin = filepath.Join(root, ".cache", "kube", "kube-controller-manager-"+Version)
		}
	}
	var missing string
	if bin == "" {
		missing = "kube-controller-manager (no go.mod above the working directory to find .cache/kube)"
	} else if _, err := os.Stat(bin); err != nil {
		missing = fmt.Sprintf("kube-controller-manager at %s", bin)
	}
	if missing == "" {
		return bin
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s missing (`make deps` builds it) and %s=1: skipping the test against a Kubernetes controller-manager", missing, SkipEnv)
	}
	t.Fatalf("%s missing: `make deps` (or `make kube-controller-manager`) builds it, or set %s=1 to skip tests that need it", missing, SkipEnv)
	return ""
}

// startControllerManager runs kube-controller-manager with the admin kubeconfig (a member of
// system:masters, so it needs no RBAC bootstrap of its own) and waits for its /healthz.
func (s *Server) startControllerManager(bin string, attempt int) (*proc, error) {
	port := freePort()
	p, err := s.launch(fmt.Sprintf("kube-controller-manager%d", attempt), bin,
		"--kubeconfig="+s.Kubeconfig,
		// Its own HTTPS server delegates authentication and authorization to the API server; /healthz is
		// always allowed, which is all we ask of it.
		"--authentication-kubeconfig="+s.Kubeconfig,
		"--authorization-kubeconfig="+s.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+filepath.Join(s.dir, fmt.Sprintf("kcm-certs%d", attempt)),
		"--controllers="+strings.Join(Controllers, ","),
		// One controller-manager per API server: nothing to elect, and electing costs seconds.
		"--leader-elect=false",
		// Controllers act with the admin token instead of per-controller service accounts, whose tokens
		// would need the service-account token controller.
		"--use-service-account-credentials=false",
		"--v=1",
	)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err = waitReady(ctx, p, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p, err
}
