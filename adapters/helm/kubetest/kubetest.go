// Package kubetest runs a real Kubernetes API server, etcd and kube-apiserver on loopback, for tests of
// anything that talks to a cluster (the Helm executor). Shared runs no kubelet or controller-manager, so
// objects are stored and served but nothing runs: tests deploy without waiting for readiness and check
// objects and Helm's release records through the API. SharedWithControllers adds a kube-controller-manager
// (Jobs become Pods, deleted owners' objects are collected) and StartNode a simulated node that runs Pods.
//
// etcd is Debian's etcd-server package; kube-apiserver and kube-controller-manager are built from the Go
// module proxy by hack/kube-apiserver.sh into .cache/kube (`make kube-apiserver kube-controller-manager`;
// `make test` does all). A test that needs them fails when one is missing, unless SHIPGATE_SKIP_KUBE=1
// says to skip.
//
// One server serves a whole test binary: start it with Shared, and stop it from TestMain with Run, since
// it takes seconds to start and tests isolate themselves by namespace.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/modroot"
)

// SkipEnv names the environment variable that, set to 1, skips tests needing a Kubernetes API server
// when etcd or kube-apiserver is missing, instead of failing them.
const SkipEnv = "SHIPGATE_SKIP_KUBE"

// BinaryEnv names the environment variable that points at a kube-apiserver binary, overriding the one
// hack/kube-apiserver.sh builds into .cache/kube.
const BinaryEnv = "SHIPGATE_KUBE_APISERVER"

// Version is the kube-apiserver release hack/kube-apiserver.sh builds by default.
const Version = "v1.31.4"

// readyTimeout bounds the API server's start; /readyz answers within ~20 s on an idle 2-core machine,
// but `go test ./...` runs packages side by side.
const readyTimeout = 90 * time.Second

// Server is an etcd and a kube-apiserver, with an admin token.
type Server struct {
	// URL is the API server's https base URL on 127.0.0.1.
	URL string
	// Token is a bearer token of a member of system:masters.
	Token string
	// Kubeconfig is the path of a kubeconfig file for the server (context "kubetest"), which skips TLS
	// verification of the server's self-signed certificate.
	Kubeconfig string

	dir   string
	procs []*proc
}

type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the test binary's API server, starting it on first use. It skips or fails t when the
// binaries are missing. Run stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	etcd, apiserver := binaries(t)
	sharedOnce.Do(func() {
		shared, sharedErr = start(etcd, apiserver)
	})
	if sharedErr != nil {
		t.Fatalf("starting the Kubernetes API server: %v", sharedErr)
	}
	return shared
}

// Run runs the tests and then stops the shared server, if any test started it. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// binaries finds etcd and kube-apiserver, or skips or fails the test when either is missing.
func binaries(t testing.TB) (etcd, apiserver string) {
	t.Helper()
	var missing []string
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/etcd"); serr == nil {
			etcd = "/usr/bin/etcd"
		} else {
			missing = append(missing, "etcd (apt-get install etcd-server)")
		}
	}
	apiserver = os.Getenv(BinaryEnv)
	if apiserver == "" {
		if root, err := modroot.Dir(); err == nil {
			apiserver = filepath.Join(root, ".cache", "kube", "kube-apiserver-"+Version)
		}
	}
	if apiserver == "" {
		missing = append(missing, "kube-apiserver (no go.mod above the working directory to find .cache/kube)")
	} else if _, err := os.Stat(apiserver); err != nil {
		missing = append(missing, fmt.Sprintf("kube-apiserver at %s (hack/kube-apiserver.sh builds it)", apiserver))
	}
	if len(missing) == 0 {
		return etcd, apiserver
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s missing and %s=1: skipping the test against a real Kubernetes API server", strings.Join(missing, " and "), SkipEnv)
	}
	t.Fatalf("%s missing: run `make deps`, or set %s=1 to skip tests that need a Kubernetes API server", strings.Join(missing, " and "), SkipEnv)
	return "", ""
}

// start runs etcd and kube-apiserver in a new temporary folder and waits until the API server is ready.
// Another process may take a free port between our probe and the server's bind, so each gets a few tries.
func start(etcdBin, apiserverBin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "shipgate-kubetest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, Token: randomToken()}
	fail := func(err error) (*Server, error) {
		s.Stop()
		return nil, err
	}
	var etcdURL string
	for attempt := range 3 {
		etcdURL, err = s.startEtcd(etcdBin, attempt)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := s.writeSecrets(); err != nil {
		return fail(err)
	}
	for attempt := range 3 {
		err = s.startAPIServer(apiserverBin, etcdURL, attempt)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := s.writeKubeconfig(); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *Server) startEtcd(bin string, attempt int) (string, error) {
	client, peer := freePort(), freePort()
	clientURL, peerURL := fmt.Sprintf("http://127.0.0.1:%d", client), fmt.Sprintf("http://127.0.0.1:%d", peer)
	p, err := s.launch(fmt.Sprintf("etcd%d", attempt), bin,
		"--name=kubetest",
		"--data-dir="+filepath.Join(s.dir, fmt.Sprintf("etcd%d", attempt)),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--log-level=warn", "--logger=zap",
	)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err = waitReady(ctx, p, func() bool {
		resp, err := http.Get(clientURL + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return clientURL, err
}

func (s *Server) writeSecrets() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(s.dir, "sa.key"), keyPEM, 0o600); err != nil {
		return err
	}
	// token,user,uid,"group1,group2": system:masters may do anything under RBAC.
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", s.Token)
	return os.WriteFile(filepath.Join(s.dir, "tokens.csv"), []byte(tokens), 0o600)
}

func (s *Server) startAPIServer(bin, etcdURL string, attempt int) error {
	port := freePort()
	s.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	p, err := s.launch(fmt.Sprintf("kube-apiserver%d", attempt), bin,
		"--etcd-servers="+etcdURL,
		"--cert-dir="+filepath.Join(s.dir, "certs"),
		fmt.Sprintf("--secure-port=%d", port),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(s.dir, "sa.key"),
		"--service-account-signing-key-file="+filepath.Join(s.dir, "sa.key"),
		"--token-auth-file="+filepath.Join(s.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		// Nothing creates service accounts without a controller-manager, and no pod ever runs.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--v=0",
	)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return waitReady(ctx, p, func() bool {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (s *Server) writeKubeconfig() error {
	s.Kubeconfig = filepath.Join(s.dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
current-context: kubetest
`, s.URL, s.Token)
	return os.WriteFile(s.Kubeconfig, []byte(cfg), 0o600)
}

// launch starts a process whose output goes to a log file in the server's folder, and which the kernel
// kills if the test binary dies without stopping it.
func (s *Server) launch(name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(s.dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	s.procs = append(s.procs, p)
	return p, nil
}

// waitReady polls ready until it answers true, the process exits (its log says why), or ctx ends. There
// is no event to wait for: readiness is only visible by asking.
func waitReady(ctx context.Context, p *proc, ready func() bool) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %s", p.name, tail(p.log))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %s", p.name, readyTimeout, tail(p.log))
		case <-tick.C:
		}
	}
}

// Stop kills the processes and removes the server's folder.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	s.procs = nil
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Do sends an authenticated request to the API server and returns the response body; a status other
// than 2xx is an error with the body.
func (s *Server) Do(ctx context.Context, method, path string) ([]byte, error) {
	return s.Send(ctx, method, path, "", nil)
}

// Send is Do with a request body of the given content type (application/json, or
// application/merge-patch+json for a PATCH).
func (s *Server) Send(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &StatusError{Code: resp.StatusCode, Body: string(out)}
	}
	return out, nil
}

// StatusError is an API answer other than 2xx.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("kubernetes API: %d: %s", e.Code, e.Body) }

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tail is the end of a log file, for errors about a process that would not start.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
