package main

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoServices lists the running `demo-service run` processes whose port file is in dir, zombies aside.
func demoServices(dir string) []int {
	return liveProcesses(func(proc string) bool {
		cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		return err == nil && len(args) > 3 && args[1] == "demo-service" && args[2] == "run" &&
			strings.Contains(string(cmdline), "\x00"+dir+string(filepath.Separator))
	})
}

// A deployment or rollback stopped half-way, after it started the new service but before it recorded
// it, kills that service: nothing else knows of it. This is what a SIGINT about 0.1 s after "rollback
// started" did to the demo: its shutdown stopped the rollback task with SIGTERM while it waited for
// the new service, and the service, in a session of its own, stayed.
func TestDemoDeployStoppedHalfway(t *testing.T) {
	bin := shipgateBinary(t)
	data := t.TempDir()
	stage := filepath.Join(data, "services", "qa")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"version": "v0.1.2", "previous": "v0.1.1"} {
		if err := os.WriteFile(filepath.Join(stage, name), []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The new service writes its address to addr.tmp once it listens: a FIFO there holds it before that,
	// in the window the rollback is stopped in, for as long as the test needs.
	fifo := filepath.Join(stage, "addr.tmp")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range demoServices(data) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	rollback := exec.Command(bin, "demo-service", "rollback")
	rollback.Env = append(os.Environ(), envDemoDir+"="+data, "SHIPGATE_STAGE=qa")
	rollback.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as the exec executor runs it
	var out lockedBuffer
	rollback.Stdout, rollback.Stderr = &out, &out
	if err := rollback.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- rollback.Wait() }()
	t.Cleanup(func() { _ = rollback.Process.Kill() })
	var service []int
	for deadline := time.Now().Add(30 * time.Second); len(service) == 0; service = demoServices(data) {
		select {
		case err := <-exited:
			t.Fatalf("the rollback ended before it started the service: %v\n%s", err, &out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollback started no service within 30s:\n%s", &out)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The demo's shutdown: the exec executor stops the task's process group.
	if err := syscall.Kill(-rollback.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		// It ends on its own terms, saying why, rather than dying of the signal half-way.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() <= 0 || !strings.Contains(out.String(), "did not start listening: stopped") {
			t.Errorf("rollback stopped: %v, want an exit status and the reason\n%s", err, &out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the rollback did not stop within 30s of SIGTERM:\n%s", &out)
	}
	if left := demoServices(data); len(left) > 0 {
		t.Errorf("service %v (started as %v) still runs after the rollback was stopped:\n%s", left, service, &out)
	}
}

// A demo service stops when the process it was started for (--owner) ends.
func TestDemoServiceStopsWithItsOwner(t *testing.T) {
	bin := shipgateBinary(t)
	owner := exec.Command("sleep", "300")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Process.Kill() })
	portFile := filepath.Join(t.TempDir(), "addr")
	service := exec.Command(bin, "demo-service", "run", "--version", "v0.1.1", "--port-file", portFile, "--owner", strconv.Itoa(owner.Process.Pid))
	if err := service.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = service.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- service.Wait() }()
	addr, err := waitForFile(t.Context(), portFile, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, "http://"+addr+"/"); code != http.StatusOK || body != "helloservice v0.1.1\n" {
		t.Fatalf("GET / = %d %q", code, body)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("service after its owner ended: %v, want exit status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the service still runs 30s after its owner ended")
	}

	// An owner that is not running is refused at once.
	if out, err := exec.Command(bin, "demo-service", "run", "--version", "v0.1.1", "--owner", strconv.Itoa(1<<22)).CombinedOutput(); err == nil {
		t.Errorf("a service for an owner that does not run started:\n%s", out)
	}
}

// kill -9 of shipgate demo leaves none of its services running.
func TestDemoServicesDieWithTheDemo(t *testing.T) {
	d := startDemo(t)
	if code, out := d.post("/web/command", map[string]any{"channel": "demo", "user": "dana", "text": "/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"}); code != http.StatusOK {
		t.Fatalf("/deliver = %d %v", code, out)
	}
	var pid int
	for deadline := time.Now().Add(60 * time.Second); pid == 0; pid = d.servicePIDs()["qa"] {
		if time.Now().After(deadline) {
			t.Fatalf("no demo service started:\n%s", d.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d.done <- nil // for stop, in the cleanup
	for deadline := time.Now().Add(30 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("demo service %d still runs 30s after kill -9 of the demo", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if left := demoServices(d.data); len(left) > 0 {
		t.Errorf("demo services %v still run after kill -9 of the demo", left)
	}
}
