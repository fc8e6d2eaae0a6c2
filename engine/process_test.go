package engine

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// startGroup starts `sh -c 'sleep 300 & wait'` in a process group of its own, with env, and returns the
// group's id. The shell's child, the sleep, is in the group too. Whatever is left of it goes when the
// test ends.
func startGroup(t *testing.T, env ...string) int {
	t.Helper()
	pgid, err := spawnGroup(env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	// Wait for the sleep, so that the group has the grandchild a test asks about.
	waitFor(t, "the shell's child", func() bool { live, _ := groupMembers(pgid, ""); return len(live) == 2 })
	return pgid
}

func spawnGroup(env ...string) (int, error) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 300 & wait")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { _ = cmd.Wait() }() // reaps the shell; the sleep is init's once the shell is gone
	return cmd.Process.Pid, nil
}

// waitFor polls cond, for a bounded time: the processes are not the test's children, so there is no
// event to wait for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func live(t *testing.T, pgid int) []int {
	t.Helper()
	ms, err := groupMembers(pgid, "")
	if err != nil {
		t.Fatal(err)
	}
	return pids(ms)
}

// logBuffer collects log lines across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// A crash leaves a task's command running: on restart, recovery kills its whole group before it runs
// the task again (idempotent) or fails it (not idempotent), so the command never runs twice at once and
// a failed task's command does not run on.
func TestRestartKillsLeftoverProcesses(t *testing.T) {
	for _, tt := range []struct {
		name      string
		executors string
		want      []string
	}{
		{"not idempotent: failed", defaultExecutors,
			[]string{"qa.deployment=finished/fail", "qa.rollback=finished/pass"}},
		{"idempotent: run again", strings.Replace(defaultExecutors, "deployment: {type: fake}", "deployment: {type: fake, idempotent: true}", 1),
			[]string{"qa.deployment=finished/pass", "qa.test=finished/pass"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Real processes, so real time: recovery polls for their end.
			f := newFixture(t, oneStage, tt.executors)
			started := make(chan int, 1)
			failed := make(chan error, 1)
			rerun := make(chan []member, 1) // what ran of the first attempt when the second began
			f.fake.on("deployment", func(ctx context.Context, task Task) (Result, error) {
				if task.Attempt > 1 {
					left, _ := groupMembers(<-started, "")
					rerun <- left
					return Result{Result: store.ResultPass}, nil
				}
				pgid, err := spawnGroup(TaskRunEnv(task.RunID, task.Attempt))
				if err != nil {
					failed <- err
					return Result{}, err
				}
				task.ProcessStarted(pgid)
				started <- pgid
				<-ctx.Done() // a crash: the engine goes, the command stays
				return Result{}, ctx.Err()
			})
			id := f.trigger("carts", image)
			var pgid int
			select {
			case pgid = <-started:
			case err := <-failed:
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
			waitFor(t, "the command's child", func() bool { live, _ := groupMembers(pgid, ""); return len(live) == 2 })
			started <- pgid // for the re-run
			tr, err := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
			if err != nil || len(tr) != 1 || tr[0].ProcessGroup != pgid {
				t.Fatalf("task runs %+v, %v; want the deployment with process group %d", tr, err, pgid)
			}

			var logs logBuffer
			f.opts.Logger = logs.logger()
			f.restart()
			if left := live(t, pgid); len(left) > 0 {
				t.Errorf("processes %v of the interrupted task still run after the restart", left)
			}
			waitFor(t, "end of the delivery", func() bool { return f.delivery(id).State == store.StateFinished })
			if strings.HasPrefix(tt.name, "idempotent") {
				if left := <-rerun; len(left) > 0 {
					t.Errorf("the re-run started while processes %v of the first attempt ran", pids(left))
				}
			}
			equal(t, "tasks", f.tasks(id), tt.want)
			trs, _ := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
			if trs[0].ProcessGroup != 0 {
				t.Errorf("the deployment still records process group %d after it ended", trs[0].ProcessGroup)
			}
			if !strings.Contains(logs.String(), "killing processes an interrupted task left running") {
				t.Errorf("nothing logged of the kill:\n%s", logs.String())
			}
		})
	}
}

func TestStopGroups(t *testing.T) {
	t.Parallel()
	marker := TaskRunEnv(7, 1)
	tests := []struct {
		name     string
		env      []string // of the group; nil: no group, its id long gone
		wantGone bool
		wantLog  string
	}{
		{"the task's group", []string{marker}, true, "killing processes an interrupted task left running"},
		{"another attempt's group", []string{TaskRunEnv(7, 2)}, false, "now holds other processes; left alone"},
		{"a group without the marker", []string{"OTHER=1"}, false, "now holds other processes; left alone"},
		{"a marker among other variables", []string{"A=1", marker, "B=2"}, true, "killing processes"},
		{"a group that is gone", nil, true, "already gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pgid := 1 << 22 // beyond pid_max's default: no such group
			if tt.env != nil {
				pgid = startGroup(t, tt.env...)
			}
			var logs logBuffer
			g := leftoverGroup{pgid: pgid, marker: marker, log: logs.logger()}
			if err := stopGroups(t.Context(), []leftoverGroup{g}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if left := live(t, pgid); tt.wantGone != (len(left) == 0) {
				t.Errorf("processes %v left; want gone: %v", left, tt.wantGone)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}

// A group that is still there when the time is up is an error, naming it: starting anyway could run the
// task beside it.
func TestStopGroupsTimeout(t *testing.T) {
	t.Parallel()
	marker := TaskRunEnv(7, 1)
	pgid := startGroup(t, marker)
	g := leftoverGroup{pgid: pgid, marker: marker, log: slog.New(slog.DiscardHandler)}
	err := stopGroups(t.Context(), []leftoverGroup{g}, 0)
	if err == nil || !strings.Contains(err.Error(), "still run") || !strings.Contains(err.Error(), marker) {
		t.Errorf("stopGroups with no time = %v, want an error naming the group", err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		want  procStat
		error bool
	}{
		{"plain", "4242 (sleep) S 4241 4240 4240 0 -1 4194560", procStat{'S', 4240}, false},
		{"a name with spaces and parentheses", "4242 (a (b) c) Z 1 77 77 0", procStat{'Z', 77}, false},
		{"no parenthesis", "4242 sleep S 1 77", procStat{}, true},
		{"too short", "4242 (sleep) S 1", procStat{}, true},
		{"not a number", "4242 (sleep) S 1 x", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.error || got != tt.want {
				t.Errorf("parseStat(%q) = %+v, %v; want %+v (error: %v)", tt.line, got, err, tt.want, tt.error)
			}
		})
	}
}
