package exec

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// newTask is a task of service carts in stage dev of project shop, with the given settings.
func newTask(cfg map[string]any) engine.Task {
	return engine.Task{
		RunID: 7, Attempt: 1, DeliveryID: 42, KeptnContext: "0f0c9a3e-keptn", Project: "shop", Stage: "dev",
		Service: "carts", Sequence: "delivery", Name: "test", Image: "ghcr.io/shop/carts:1.2.3",
		Config: cfg,
	}
}

// testExecutor runs commands with only PATH from the test's environment, in a run directory under a
// temporary directory of the test, under the guard, as shipgate does. Tests that build an Executor
// themselves run without it.
func testExecutor(t testing.TB) *Executor {
	return &Executor{TempDir: t.TempDir(), Env: []string{"PATH=" + os.Getenv("PATH")}, Guard: testGuard(t)}
}

// execute runs the task and fails the test on an error, which only shipgate's own failures cause.
func execute(t testing.TB, x *Executor, task engine.Task) engine.Result {
	t.Helper()
	res, err := x.Execute(t.Context(), task)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return res
}

// script writes a /bin/sh script into a temporary directory and returns its path.
func script(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.sh")
	writeFile(t, path, "#!/bin/sh\n"+body+"\n", 0o755)
	return path
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// runData is what a run reported under the task's name.
func runData(t testing.TB, res engine.Result) map[string]any {
	t.Helper()
	d, ok := res.Data["test"].(map[string]any)
	if !ok {
		t.Fatalf("result data has no run under %q: %v", "test", res.Data)
	}
	return d
}

func wantResult(t testing.TB, res engine.Result, result store.Result, status store.Status) {
	t.Helper()
	if res.Result != result || res.Status != status {
		t.Fatalf("result %s/%s, want %s/%s; message:\n%s", res.Result, res.Status, result, status, res.Message)
	}
}

// readPid reads the pid a script wrote.
func readPid(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the script wrote no pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitGone waits until the process has ended. The kernel has no event for the end of a process that is
// not our child, so this polls, for a bounded time. A process that has ended but that nothing reaps (PID 1
// in some containers does not reap orphans) stays a zombie, which counts as gone.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name in parentheses, which may itself contain ") ".
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z")
}

// testProject builds a project directory for service carts:
//
//	carts/run.sh, a.txt, sub/b.txt, only-service.txt, conf (a file)
//	carts/linked.txt -> ../shared/data.txt   (inside the project: copied)
//	carts/outside.txt -> a file outside      (skipped)
//	carts/absolute.txt -> PROJECT/shared/... (absolute: skipped)
//	carts/loop -> .                          (a loop: skipped)
//	dev/carts/a.txt, sub/c.txt, conf/x.txt   (dev's files win)
//	prod/carts/a.txt                         (another stage: not copied)
//	orders/o.txt                             (another service: not copied)
func testProject(t testing.TB) *config.Project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	outside := filepath.Join(t.TempDir(), "secret.txt")
	writeFile(t, outside, "secret", 0o644)
	files := map[string]string{
		"carts/a.txt":            "service a",
		"carts/sub/b.txt":        "service b",
		"carts/only-service.txt": "service only",
		"carts/conf":             "service conf file",
		"shared/data.txt":        "shared",
		"dev/carts/a.txt":        "stage a",
		"dev/carts/sub/c.txt":    "stage c",
		"dev/carts/conf/x.txt":   "stage conf dir",
		"prod/carts/a.txt":       "prod a",
		"orders/o.txt":           "orders",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content, 0o644)
	}
	// run.sh lists the working directory: every file with its content, then its own location.
	writeFile(t, filepath.Join(dir, "carts/run.sh"), `#!/bin/sh
find . ! -name run.sh \( -type f -o -type l \) | sort | while read -r f; do printf '%s=%s\n' "$f" "$(cat "$f")"; done
echo "PWD=$(pwd)"
`, 0o755)
	for link, target := range map[string]string{
		"carts/linked.txt":   "../shared/data.txt",
		"carts/outside.txt":  outside,
		"carts/loop":         ".",
		"carts/absolute.txt": filepath.Join(dir, "shared/data.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return &config.Project{Name: "shop", Dir: dir, Services: []string{"carts", "orders"}}
}
