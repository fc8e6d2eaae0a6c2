package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// guardToken is the API token of the guard tests' shipgate.
const guardToken = "guard-test-token-0123456789"

// guardTask is the exec task of the guard tests. Its first attempt records its group, its own pid and
// its child's in $MARK/first, then waits for the child, a sleep: a command with a grandchild, which only
// the guard stops with shipgate. A later attempt notes in $MARK/overlap every process of the first that
// still runs (zombies, which run nothing, aside) and passes. Every attempt appends a line to $MARK/runs.
const guardTask = `read -r _ _ _ _ pgid _ < /proc/$$/stat
echo "$SHIPGATE_TASK_RUN $$" >> "$MARK/runs"
case "$SHIPGATE_TASK_RUN" in
*/1)
  sleep 300 &
  echo "$pgid $$ $!" > "$MARK/first.tmp" && mv "$MARK/first.tmp" "$MARK/first"
  wait
  echo done ;;
*)
  for p in $(cat "$MARK/first"); do
    if [ -r "/proc/$p/stat" ]; then read -r _ _ s _ < "/proc/$p/stat"; [ "$s" = Z ] || echo "$p" >> "$MARK/overlap"; fi
  done ;;
esac
`

// shipgateProcess is `shipgate serve` running from the built binary.
type shipgateProcess struct {
	cmd    *exec.Cmd
	base   string
	log    *lockedBuffer
	exited chan struct{} // closed once the process ended and err is set
	err    error
}

// wait waits for the process to end and returns how it did.
func (p *shipgateProcess) wait() error {
	<-p.exited
	return p.err
}

// startShipgateBinary runs the built shipgate binary's serve with the config at path and waits until it
// listens.
func startShipgateBinary(t *testing.T, path string) *shipgateProcess {
	t.Helper()
	p := &shipgateProcess{cmd: exec.Command(shipgateBinary(t), "serve", "--config", path), log: &lockedBuffer{}, exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.log.Write([]byte(sc.Text() + "\n"))
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-p.exited:
		t.Fatalf("shipgate exited: %v\n%s", p.err, p.log)
	case <-time.After(30 * time.Second):
		t.Fatalf("shipgate did not listen within 30s:\n%s", p.log)
	}
	return p
}

// api calls the delivery API with the test's token.
func (p *shipgateProcess) api(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	var in io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		in = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, p.base+path, in)
	req.Header.Set("Authorization", "Bearer "+guardToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	return out
}

// markedProcesses lists the processes, zombies aside, whose environment holds MARK=mark: every process
// of the test's task, the guard included.
func markedProcesses(mark string) []int {
	return liveProcesses(func(proc string) bool {
		env, err := os.ReadFile(filepath.Join(proc, "environ"))
		return err == nil && slices.Contains(strings.Split(string(env), "\x00"), "MARK="+mark)
	})
}

// liveProcesses lists the processes, zombies aside, for whose /proc/PID directory match is true.
func liveProcesses(match func(proc string) bool) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if match(filepath.Join("/proc", e.Name())) && processAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// eventually polls cond for a bounded time: shipgate is another process, with no event to wait for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// After kill -9 of shipgate, no process of a running exec task survives, its command's children
// included: the guard kills the group when shipgate dies, and if the guard died with shipgate, recovery
// kills what is left before it runs the task again (idempotent) or fails it. Either way the task runs
// once at a time.
func TestExecTaskDiesWithShipgate(t *testing.T) {
	for _, tt := range []struct {
		name       string
		idempotent bool
		guardDies  bool // the guard goes with shipgate (stopped, then killed), so only recovery can help
	}{
		{"idempotent, the guard stops the command", true, false},
		{"not idempotent, the guard stops the command", false, false},
		{"idempotent, recovery stops the command", true, true},
		{"not idempotent, recovery stops the command", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mark := filepath.Join(dir, "mark")
			if err := os.Mkdir(mark, 0o755); err != nil {
				t.Fatal(err)
			}
			task, _ := json.Marshal(guardTask)
			configtest.WriteFiles(t, dir, map[string]string{
				"projects/shop/shipyard.yaml": `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata: {name: shop}
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: test}]
`,
				"projects/shop/executors.yaml": fmt.Sprintf("tasks:\n  test: {type: exec, idempotent: %v, with: {shell: %s, env: {MARK: %q}}}\n",
					tt.idempotent, task, mark),
				"projects/shop/web/README.md": "web\n",
				"shipgate.yaml": `listen: 127.0.0.1:0
database: shipgate.db
projects_dir: projects
api:
  tokens:
    - {name: ci, token: ` + guardToken + `, projects: [shop]}
`,
			})
			cfg := filepath.Join(dir, "shipgate.yaml")
			sg := startShipgateBinary(t, cfg)
			t.Cleanup(func() {
				for _, pid := range markedProcesses(mark) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			sg.api(t, http.MethodPost, "/api/v1/deliveries", map[string]any{"project": "shop", "service": "web", "image": "registry.example/web:v1"})
			firstFile := filepath.Join(mark, "first")
			eventually(t, "the task's command started", func() bool { _, err := os.Stat(firstFile); return err == nil })
			data, _ := os.ReadFile(firstFile)
			var guard, command, sleep int
			if _, err := fmt.Sscan(string(data), &guard, &command, &sleep); err != nil {
				t.Fatalf("%s: %q: %v", firstFile, data, err)
			}
			if running := markedProcesses(mark); len(running) != 3 || !slices.Contains(running, guard) || !slices.Contains(running, sleep) {
				t.Fatalf("task processes %v, want the guard %d, the command %d and its child %d", running, guard, command, sleep)
			}

			if tt.guardDies {
				// Stopped, the guard cannot act on shipgate's death; then it dies too, as if the machine's
				// OOM killer had taken both.
				if err := syscall.Kill(guard, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
			}
			if err := sg.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = sg.wait()
			if tt.guardDies {
				if err := syscall.Kill(guard, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the guard died", func() bool { return !processAlive(guard) })
				if running := markedProcesses(mark); !slices.Contains(running, command) || !slices.Contains(running, sleep) {
					t.Fatalf("task processes %v; want the command %d and its child %d left for recovery", running, command, sleep)
				}
			} else {
				eventually(t, "the task's processes died with shipgate", func() bool { return len(markedProcesses(mark)) == 0 })
			}

			sg = startShipgateBinary(t, cfg)
			eventually(t, "the delivery finished after the restart", func() bool {
				return sg.api(t, http.MethodGet, "/api/v1/deliveries/1", nil)["state"] == string(store.StateFinished)
			})
			if running := markedProcesses(mark); len(running) > 0 {
				t.Errorf("task processes %v still run after the restart", running)
			}
			if err := sg.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := sg.wait(); err != nil {
				t.Fatalf("shipgate after SIGTERM: %v\n%s", err, sg.log)
			}

			runs, _ := os.ReadFile(filepath.Join(mark, "runs"))
			wantRuns := 1
			if tt.idempotent {
				wantRuns = 2
			}
			if n := strings.Count(string(runs), "\n"); n != wantRuns {
				t.Errorf("the command ran %d times, want %d:\n%s", n, wantRuns, runs)
			}
			if overlap, err := os.ReadFile(filepath.Join(mark, "overlap")); err == nil {
				t.Errorf("the second attempt ran beside processes %q of the first", overlap)
			}
			st, err := store.Open(context.Background(), filepath.Join(dir, "shipgate.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			trs, err := st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: 1})
			if err != nil || len(trs) != 1 {
				t.Fatalf("task runs %v, %v", trs, err)
			}
			tr := trs[0]
			switch {
			case tr.State != store.TaskFinished || tr.ProcessGroup != 0:
				t.Errorf("task %s with process group %d, want finished with none", tr.State, tr.ProcessGroup)
			case tt.idempotent && (tr.Attempt != 2 || tr.Result != store.ResultPass):
				t.Errorf("attempt %d %s %q, want a second attempt that passed", tr.Attempt, tr.Result, tr.Message)
			case !tt.idempotent && (tr.Attempt != 1 || tr.Status != store.StatusErrored || !strings.HasPrefix(tr.Message, "interrupted by restart")):
				t.Errorf("attempt %d %s/%s %q, want the first attempt errored by the restart", tr.Attempt, tr.Result, tr.Status, tr.Message)
			}
			if tt.guardDies && !strings.Contains(sg.log.String(), "killing processes an interrupted task left running") {
				t.Errorf("recovery did not log the kill:\n%s", sg.log)
			}
		})
	}
}
