package exec

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// testParentEnv, set to a folder, makes the test binary act as a shipgate that runs one task (see
// runTestParent); testParentGuardEnv=1 gives it the guard.
const (
	testParentEnv      = "SHIPGATE_EXEC_TEST_PARENT"
	testParentGuardEnv = "SHIPGATE_EXEC_TEST_PARENT_GUARD"
)

// TestMain lets the tests run this binary again as the guard, as shipgate runs itself (Executor.Guard),
// and as a parent process that a test can kill.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == GuardCommand {
		// Not os.Exit: under -race it waits a second for the race detector (GORACE atexit_sleep_ms),
		// which every run of a command would pay.
		syscall.Exit(RunGuard(os.Args[2:]))
	}
	if dir := os.Getenv(testParentEnv); dir != "" {
		os.Exit(runTestParent(dir, os.Getenv(testParentGuardEnv) == "1"))
	}
	os.Exit(m.Run())
}

// testGuard is the guard command of this test binary.
func testGuard(t testing.TB) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{self, GuardCommand}
}

// runTestParent runs, as shipgate would, a task whose command leaves a grandchild in its group, and
// reports the group and the pids in files of dir: pgid (from ProcessStarted), command and grandchild. It
// returns only when the command ends, which the test does not wait for: it kills this process.
func runTestParent(dir string, guard bool) int {
	x := &Executor{TempDir: dir, Env: []string{"PATH=" + os.Getenv("PATH")}}
	if guard {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		x.Guard = []string{self, GuardCommand}
	}
	task := newTask(map[string]any{"shell": fmt.Sprintf(`echo $$ > %[1]s/command.tmp && mv %[1]s/command.tmp %[1]s/command
sleep 300 &
echo $! > %[1]s/grandchild.tmp && mv %[1]s/grandchild.tmp %[1]s/grandchild
wait
echo done`, dir)})
	task.ProcessStarted = func(pgid int) {
		_ = os.WriteFile(filepath.Join(dir, "pgid.tmp"), []byte(strconv.Itoa(pgid)), 0o644)
		_ = os.Rename(filepath.Join(dir, "pgid.tmp"), filepath.Join(dir, "pgid"))
	}
	res, err := x.Execute(context.Background(), task)
	fmt.Fprintln(os.Stderr, res.Message, err)
	return 0
}

// waitForPid waits for a pid file the test parent or its command writes.
func waitForPid(t *testing.T, path string, parent <-chan error) int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return readPid(t, path)
		}
		select {
		case err := <-parent:
			t.Fatalf("the parent exited before %s: %v", filepath.Base(path), err)
		case <-deadline:
			t.Fatalf("no %s", path)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// liveMembers lists the processes of group pgid that are not zombies.
func liveMembers(pgid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// waitGroupGone waits until no process of group pgid runs.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for live := liveMembers(pgid); len(live) > 0; live = liveMembers(pgid) {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of group %d still run", live, pgid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill -9 of the process that runs the executor: with the guard, the whole group goes, the command's own
// child included; without it, the command goes and its child stays behind.
func TestParentKilled(t *testing.T) {
	t.Parallel()
	for _, guard := range []bool{true, false} {
		t.Run(fmt.Sprintf("guard=%v", guard), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			parent := osexec.Command(self)
			parent.Env = append(os.Environ(), testParentEnv+"="+dir, testParentGuardEnv+"="+map[bool]string{true: "1"}[guard])
			var stderr strings.Builder
			parent.Stderr = &stderr
			if err := parent.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- parent.Wait() }()
			t.Cleanup(func() { _ = parent.Process.Kill() })

			pgid := waitForPid(t, filepath.Join(dir, "pgid"), exited)
			command := waitForPid(t, filepath.Join(dir, "command"), exited)
			grandchild := waitForPid(t, filepath.Join(dir, "grandchild"), exited)
			t.Cleanup(func() { _ = syscall.Kill(grandchild, syscall.SIGKILL) })
			if guard == (command == pgid) {
				t.Errorf("group %d, command %d: want the guard to lead the group (guard=%v)", pgid, command, guard)
			}
			if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited

			waitGone(t, command)
			if !guard {
				if gone(grandchild) {
					t.Errorf("grandchild %d went without a guard: then the guard is not needed; update the docs", grandchild)
				}
				return
			}
			waitGone(t, grandchild)
			waitGroupGone(t, pgid)
			if strings.Contains(stderr.String(), "done") {
				t.Errorf("the command ran to its end:\n%s", stderr.String())
			}
		})
	}
}

// The guard ends as its command did, so that the executor reports the same thing with and without it.
func TestGuardKeepsExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, shell string }{
		{"exit 0", "exit 0"},
		{"exit 3", "exit 3"},
		{"exit 255", "exit 255"},
		{"SIGKILL", "kill -KILL $$"},
		{"SIGTERM", "kill -TERM $$"},
		{"SIGINT", "trap - INT; kill -INT $$"},
		{"SIGQUIT", "kill -QUIT $$"},
		{"SIGSEGV", "kill -SEGV $$"},
		{"SIGUSR1", "kill -USR1 $$"},
	}
	run := func(t *testing.T, guard []string, shell string) (*os.ProcessState, string) {
		var out strings.Builder
		o, err := process{path: shellPath, argv: []string{shellPath, "-c", "echo out; " + shell}, dir: t.TempDir(), out: &out,
			grace: time.Second, log: slog.New(slog.DiscardHandler), guard: guard}.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return o.state, out.String()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, wantOut := run(t, nil, tt.shell)
			got, gotOut := run(t, testGuard(t), tt.shell)
			// The guard writes no core file of its own, so "(core dumped)" may differ.
			trim := func(s *os.ProcessState) string { return strings.TrimSuffix(s.String(), " (core dumped)") }
			if trim(got) != trim(want) || got.ExitCode() != want.ExitCode() {
				t.Errorf("with the guard: %q (exit code %d), without: %q (exit code %d)", got, got.ExitCode(), want, want.ExitCode())
			}
			if gotOut != wantOut {
				t.Errorf("output with the guard %q, without %q", gotOut, wantOut)
			}
		})
	}
}

// A command that cannot start is an error of run, as without the guard.
func TestGuardReportsStartFailure(t *testing.T) {
	t.Parallel()
	badInterpreter := filepath.Join(t.TempDir(), "bad.sh")
	writeFile(t, badInterpreter, "#!/nonexistent/interpreter\n", 0o755)
	noDir := filepath.Join(t.TempDir(), "missing")
	tests := []struct{ name, path, dir string }{
		{"a missing interpreter", badInterpreter, t.TempDir()},
		{"a missing working directory", "/bin/true", noDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := func(guard []string) error {
				_, err := process{path: tt.path, argv: []string{tt.path}, dir: tt.dir, out: io.Discard, grace: time.Second,
					log: slog.New(slog.DiscardHandler), guard: guard}.run(t.Context())
				return err
			}
			want := run(nil)
			got := run(testGuard(t))
			if want == nil || got == nil {
				t.Fatalf("with the guard: %v; without: %v; want an error from both", got, want)
			}
			if tt.dir == noDir {
				// The guard names the directory; os/exec, given SysProcAttr, names only the program.
				if !strings.Contains(got.Error(), "chdir "+noDir+": no such file or directory") {
					t.Errorf("with the guard: %q, want the missing directory", got)
				}
				return
			}
			if got.Error() != want.Error() {
				t.Errorf("with the guard: %q; without: %q", got, want)
			}
		})
	}
}

// ProcessStarted is told the group of the command, which carries the task attempt's marker.
func TestProcessStartedReportsGroup(t *testing.T) {
	t.Parallel()
	for _, guard := range []bool{true, false} {
		t.Run(fmt.Sprintf("guard=%v", guard), func(t *testing.T) {
			t.Parallel()
			x := testExecutor(t)
			if !guard {
				x.Guard = nil
			}
			task := newTask(map[string]any{"shell": `read -r _ _ _ _ pgrp _ < /proc/$$/stat; echo "$pgrp $SHIPGATE_TASK_RUN"`})
			var reported []int
			task.ProcessStarted = func(pgid int) { reported = append(reported, pgid) }
			res := execute(t, x, task)
			wantResult(t, res, store.ResultPass, store.StatusSucceeded)
			if len(reported) != 1 {
				t.Fatalf("ProcessStarted called %d times, want once", len(reported))
			}
			marker := strings.TrimPrefix(engine.TaskRunEnv(task.RunID, task.Attempt), engine.TaskRunVar+"=")
			if want := fmt.Sprintf("%d %s\n", reported[0], marker); runData(t, res)["output"] != want {
				t.Errorf("the command says %q, want %q", runData(t, res)["output"], want)
			}
		})
	}
}

func TestGuardArgs(t *testing.T) {
	t.Parallel()
	want := guardArgs{parent: 42, dir: "/tmp/run", path: "/bin/sh", argv: []string{"sh", "-c", "--parent"}}
	got, err := parseGuardArgs(want.args())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: %+v, %v; want %+v", got, err, want)
	}
	for _, args := range [][]string{
		{},
		{"--parent", "42", "--program", "/bin/sh"},
		{"--parent", "x", "--program", "/bin/sh", "--", "sh"},
		{"--parent", "-1", "--program", "/bin/sh", "--", "sh"},
		{"--program", "/bin/sh", "--", "sh"},
		{"--parent", "42", "--", "sh"},
		{"--parent", "42", "--program", "/bin/sh", "sh"},
		{"--parent", "42", "--program", "/bin/sh", "--bogus", "x", "--", "sh"},
		{"--parent"},
	} {
		if ga, err := parseGuardArgs(args); err == nil {
			t.Errorf("parseGuardArgs(%q) = %+v, want an error", args, ga)
		}
	}
}
