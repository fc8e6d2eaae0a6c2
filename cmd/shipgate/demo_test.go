package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// shipgateBinary builds the shipgate binary once per test run: the demo's tasks run the binary's own
// demo-service subcommand, which a test binary does not have.
func shipgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shipgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "shipgate")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// demoProcess is `shipgate demo` running as its own process.
type demoProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	data string
	done chan error
	out  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var demoURLRE = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)`)

// startDemo runs `shipgate demo` on a free port with its data in a temporary folder, and waits until it
// prints where it serves.
func startDemo(t *testing.T) *demoProcess {
	t.Helper()
	d := &demoProcess{t: t, data: t.TempDir(), done: make(chan error, 1), out: &lockedBuffer{}}
	d.cmd = exec.Command(shipgateBinary(t), "demo", "--listen", "127.0.0.1:0", "--data", d.data)
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.out.Write([]byte(sc.Text() + "\n"))
			if m := demoURLRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		d.done <- d.cmd.Wait()
	}()
	t.Cleanup(func() { d.stop() })
	select {
	case d.url = <-found:
	case err := <-d.done:
		t.Fatalf("shipgate demo exited: %v\n%s", err, d.out)
	case <-time.After(60 * time.Second):
		t.Fatalf("shipgate demo did not start:\n%s", d.out)
	}
	return d
}

// stop sends SIGTERM and returns how the demo exited.
func (d *demoProcess) stop() error {
	if d.cmd.ProcessState != nil || d.cmd.Process == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err // for a second stop
		return err
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		return errors.New("demo did not stop within 30 s of SIGTERM")
	}
}

// post sends a JSON request to the console as one of the demo's people.
func (d *demoProcess) post(path string, body any) (int, map[string]any) {
	d.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, d.url+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// servicePIDs are the demo services running now, by stage.
func (d *demoProcess) servicePIDs() map[string]int {
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(d.data, "services", "*", "pid"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			out[filepath.Base(filepath.Dir(f))] = pid
		}
	}
	return out
}

// shipgate demo deploys its service for a delivery, and on SIGTERM exits 0 and leaves no demo service
// running.
func TestDemoStopsCleanly(t *testing.T) {
	d := startDemo(t)
	if code, out := d.post("/web/command", map[string]any{"channel": "demo", "user": "dana", "text": "/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"}); code != http.StatusOK {
		t.Fatalf("/deliver = %d %v", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pid int
	for pid == 0 { // the deployment task starts the service in another process; its pid file is the sign
		select {
		case <-ctx.Done():
			t.Fatalf("no demo service started:\n%s", d.out)
		case <-time.After(50 * time.Millisecond):
		}
		pid = d.servicePIDs()["qa"]
	}
	if !processAlive(pid) {
		t.Fatalf("demo service %d is not running", pid)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("shipgate demo after SIGTERM: %v\n%s", err, d.out)
	}
	if processAlive(pid) {
		t.Errorf("demo service %d still runs after the demo stopped", pid)
	}
}
