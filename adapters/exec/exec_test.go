package exec

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func TestExecuteExitStatus(t *testing.T) {
	t.Parallel()
	fail := script(t, `for i in 1 2 3 4 5; do echo "line $i"; done
echo "boom" >&2
exit 3`)
	notExecutable := filepath.Join(t.TempDir(), "plain.sh")
	writeFile(t, notExecutable, "#!/bin/sh\n", 0o644)
	tests := []struct {
		name     string
		cfg      map[string]any
		result   store.Result
		status   store.Status
		exitCode any // nil: no run data
		message  []string
	}{
		{"pass", map[string]any{"command": []any{"true"}}, store.ResultPass, store.StatusSucceeded, 0,
			[]string{"exit 0 in "}},
		{"shell pass", map[string]any{"shell": "echo hello | tr a-z A-Z"}, store.ResultPass, store.StatusSucceeded, 0,
			[]string{"exit 0 in ", "```\nHELLO\n```"}},
		{"exit 3", map[string]any{"command": []any{fail}}, store.ResultFail, store.StatusSucceeded, 3,
			[]string{"exit status 3 in ", "line 5\nboom\n```"}},
		{"shell exit 3", map[string]any{"shell": "exit 3"}, store.ResultFail, store.StatusSucceeded, 3,
			[]string{"exit status 3 in "}},
		{"killed by a signal", map[string]any{"shell": "kill -KILL $$"}, store.ResultFail, store.StatusSucceeded, -1,
			[]string{"signal: killed in "}},
		{"not found in PATH", map[string]any{"command": []any{"shipgate-no-such-program", "x"}}, store.ResultFail, store.StatusErrored, nil,
			[]string{`command "shipgate-no-such-program" not found in PATH`}},
		{"not found in the working directory", map[string]any{"command": []any{"./missing.sh"}}, store.ResultFail, store.StatusErrored, nil,
			[]string{"cannot run command ./missing.sh (in the working directory, which holds the service's files): not found"}},
		{"absolute path not found", map[string]any{"command": []any{"/nonexistent/bin/tool"}}, store.ResultFail, store.StatusErrored, nil,
			[]string{"cannot run command /nonexistent/bin/tool: not found"}},
		{"not executable", map[string]any{"command": []any{notExecutable}}, store.ResultFail, store.StatusErrored, nil,
			[]string{"not executable"}},
		{"invalid settings", map[string]any{"shell": "true", "command": []any{"true"}}, store.ResultFail, store.StatusErrored, nil,
			[]string{"invalid settings: set either command or shell, not both"}},
		{"env template fails", map[string]any{"shell": "true", "env": map[string]any{"X": "{{.Labels.missing}}"}}, store.ResultFail, store.StatusErrored, nil,
			[]string{"env X:", `map has no entry for key "missing"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := execute(t, testExecutor(t), newTask(tt.cfg))
			wantResult(t, res, tt.result, tt.status)
			for _, m := range tt.message {
				if !strings.Contains(res.Message, m) {
					t.Errorf("message does not contain %q:\n%s", m, res.Message)
				}
			}
			if tt.exitCode == nil {
				if res.Data != nil {
					t.Errorf("data %v, want none for a command that did not run", res.Data)
				}
				return
			}
			d := runData(t, res)
			if d["exitCode"] != tt.exitCode {
				t.Errorf("exitCode %v, want %v", d["exitCode"], tt.exitCode)
			}
			start, err1 := time.Parse(time.RFC3339, d["start"].(string))
			end, err2 := time.Parse(time.RFC3339, d["end"].(string))
			if err := errors.Join(err1, err2); err != nil || end.Before(start) {
				t.Errorf("start %v, end %v: %v", d["start"], d["end"], err)
			}
		})
	}
}

// The timeout stops the command's whole process group, grandchildren included.
func TestTimeoutStopsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := script(t, `echo started
sleep 1000 &
echo $! > `+pidFile+`
wait`)
	res := execute(t, testExecutor(t), newTask(map[string]any{"command": []any{cmd}, "timeout": "300ms", "kill_grace": "200ms"}))
	wantResult(t, res, store.ResultFail, store.StatusErrored)
	if want := "timed out after 300ms\n```\nstarted\n```"; res.Message != want {
		t.Errorf("message %q, want %q", res.Message, want)
	}
	waitGone(t, readPid(t, pidFile))
}

// A command that ignores SIGTERM, and passes that on to its children, is killed after kill_grace.
func TestTimeoutEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := script(t, `trap '' TERM
sleep 1000 &
echo $! > `+pidFile+`
wait
echo "still here after SIGTERM"
wait`)
	res := execute(t, testExecutor(t), newTask(map[string]any{"command": []any{cmd}, "timeout": "200ms", "kill_grace": "200ms"}))
	wantResult(t, res, store.ResultFail, store.StatusErrored)
	if !strings.HasPrefix(res.Message, "timed out after 200ms") {
		t.Errorf("message %q, want a timeout", res.Message)
	}
	if d := runData(t, res); d["exitCode"] != -1 {
		t.Errorf("exitCode %v, want -1 for a killed command", d["exitCode"])
	}
	waitGone(t, readPid(t, pidFile))
}

// When the task's context ends (an abort, shutdown), the command is stopped and the task errors with
// the output so far.
func TestContextEndStopsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo, pidFile := filepath.Join(dir, "ready"), filepath.Join(dir, "pid")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO for writing blocks until the test opens it for reading; unblock a script that got
	// there after the test failed.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	cmd := script(t, `echo "working"
sleep 1000 &
echo $! > `+pidFile+`
echo ready > `+fifo+`
wait`)
	ctx, cancel := context.WithCancel(t.Context())
	type answer struct {
		res engine.Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := testExecutor(t).Execute(ctx, newTask(map[string]any{"command": []any{cmd}, "kill_grace": "200ms"}))
		done <- answer{res, err}
	}()
	ready := make(chan error, 1)
	go func() {
		f, err := os.Open(fifo) // returns once the script opens the FIFO to write
		if err == nil {
			_, err = io.ReadAll(f)
			f.Close()
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case a := <-done:
		t.Fatalf("the command ended before it was cancelled: %v %+v", a.err, a.res)
	}
	cancel()
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	wantResult(t, a.res, store.ResultFail, store.StatusErrored)
	if !regexp.MustCompile("^stopped after .*: context canceled\n```\nworking\n```$").MatchString(a.res.Message) {
		t.Errorf("message %q, want that the command was stopped, and its output", a.res.Message)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestContextEndedBeforeStart(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := testExecutor(t).Execute(ctx, newTask(map[string]any{"shell": "touch " + marker}))
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, res, store.ResultFail, store.StatusErrored)
	if !strings.Contains(res.Message, "context canceled") {
		t.Errorf("message %q, want the cancellation", res.Message)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran after its context ended")
	}
}

// Whatever a passing command leaves running is stopped, whether or not it holds the output open.
func TestLeftoverProcessesAreStopped(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, background string }{
		{"detached from the output", "sleep 1000 >/dev/null 2>&1 &"},
		{"holding the output open", "sleep 1000 &"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := script(t, tt.background+"\necho $! > "+pidFile+"\necho done")
			res := execute(t, testExecutor(t), newTask(map[string]any{"command": []any{cmd}, "kill_grace": "100ms"}))
			wantResult(t, res, store.ResultPass, store.StatusSucceeded)
			if out := runData(t, res)["output"]; out != "done\n" {
				t.Errorf("output %q, want %q", out, "done\n")
			}
			waitGone(t, readPid(t, pidFile))
		})
	}
}

func TestOutput(t *testing.T) {
	t.Parallel()
	lines := script(t, `i=1; while [ $i -le 100 ]; do printf 'line %03d\n' $i; i=$((i+1)); done`)
	tests := []struct {
		name      string
		cfg       map[string]any
		output    string
		truncated bool
		message   string // the end of the message; "" for a message without output
	}{
		{
			name:    "stdout and stderr in order",
			cfg:     map[string]any{"shell": "echo out1; echo err1 >&2; echo out2; echo err2 >&2"},
			output:  "out1\nerr1\nout2\nerr2\n",
			message: "```\nout1\nerr1\nout2\nerr2\n```",
		},
		{
			name: "head and tail kept beyond max_output",
			cfg:  map[string]any{"command": []any{lines}, "max_output": 36, "tail_lines": 2},
			// 100 lines of 9 bytes; the first and the last 18 bytes are kept.
			output:    "line 001\nline 002\n\n[… 864 bytes dropped …]\nline 099\nline 100\n",
			truncated: true,
			message:   "```\nline 099\nline 100\n```",
		},
		{
			name:    "tail_lines",
			cfg:     map[string]any{"command": []any{lines}, "tail_lines": 3},
			message: "```\nline 098\nline 099\nline 100\n```",
		},
		{
			name: "tail_lines 0",
			cfg:  map[string]any{"command": []any{lines}, "tail_lines": 0},
		},
		{
			name: "no output",
			cfg:  map[string]any{"command": []any{"true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := execute(t, testExecutor(t), newTask(tt.cfg))
			wantResult(t, res, store.ResultPass, store.StatusSucceeded)
			d := runData(t, res)
			if tt.output != "" && d["output"] != tt.output {
				t.Errorf("output %q, want %q", d["output"], tt.output)
			}
			if d["outputTruncated"] != tt.truncated {
				t.Errorf("outputTruncated %v, want %v", d["outputTruncated"], tt.truncated)
			}
			if tt.message == "" && !regexp.MustCompile(`^exit 0 in [0-9.]+m?s$`).MatchString(res.Message) {
				t.Errorf("message %q, want only the summary", res.Message)
			}
			if !strings.HasPrefix(res.Message, "exit 0 in ") || !strings.HasSuffix(res.Message, tt.message) {
				t.Errorf("message %q, want it to end in %q", res.Message, tt.message)
			}
		})
	}
}

func TestMessageStaysShort(t *testing.T) {
	t.Parallel()
	res := execute(t, testExecutor(t), newTask(map[string]any{
		"shell":      `i=0; while [ $i -lt 50 ]; do printf 'line %d %0500d\n' $i 0; i=$((i+1)); done; exit 1`,
		"tail_lines": 50,
	}))
	wantResult(t, res, store.ResultFail, store.StatusSucceeded)
	if len(res.Message) > maxMessage {
		t.Errorf("message has %d bytes, want at most %d", len(res.Message), maxMessage)
	}
	if !strings.HasPrefix(res.Message, "exit status 1 in ") || !strings.Contains(res.Message, "\nline 49 000") || !strings.HasSuffix(res.Message, "…\n```") {
		t.Errorf("message %q, want the summary and the last lines, cut", res.Message)
	}
}

// Commands see the task in SHIPGATE_* variables and the env: settings, and nothing else of shipgate's
// environment.
func TestEnvironment(t *testing.T) {
	t.Setenv("SHIPGATE_TEST_SECRET", "hunter2")
	task := newTask(map[string]any{
		"shell": `echo "WORKDIR=$(pwd)"; env`,
		"env": map[string]any{
			"TARGET": "{{.DeploymentURL}}/health",
			"WHERE":  "{{.Project}}-{{.Stage}}-{{.Labels.team}}",
			"USERS":  10,
			"PATH":   "/usr/bin:/bin",
		},
	})
	task.Labels = map[string]string{"app.kubernetes.io/name": "carts", "team": "core", "build-id": "99"}
	task.Data = map[string]any{"deployment": map[string]any{"deploymentURIsPublic": []any{"http://carts.dev:8080"}}}
	x := &Executor{TempDir: t.TempDir()} // the default environment, from this process
	res := execute(t, x, task)
	wantResult(t, res, store.ResultPass, store.StatusSucceeded)
	d := runData(t, res)
	env := map[string]string{}
	for line := range strings.Lines(d["output"].(string)) {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"SHIPGATE_PROJECT":                      "shop",
		"SHIPGATE_STAGE":                        "dev",
		"SHIPGATE_SERVICE":                      "carts",
		"SHIPGATE_IMAGE":                        "ghcr.io/shop/carts:1.2.3",
		"SHIPGATE_TAG":                          "1.2.3",
		"SHIPGATE_TASK":                         "test",
		"SHIPGATE_SEQUENCE":                     "delivery",
		"SHIPGATE_DELIVERY_ID":                  "42",
		"SHIPGATE_KEPTN_CONTEXT":                "0f0c9a3e-keptn",
		"SHIPGATE_TASK_STARTED":                 d["start"].(string),
		"SHIPGATE_DEPLOYMENT_URL":               "http://carts.dev:8080",
		"SHIPGATE_LABEL_APP_KUBERNETES_IO_NAME": "carts",
		"SHIPGATE_LABEL_TEAM":                   "core",
		"SHIPGATE_LABEL_BUILD_ID":               "99",
		"TARGET":                                "http://carts.dev:8080/health",
		"WHERE":                                 "shop-dev-core",
		"USERS":                                 "10",
		"PATH":                                  "/usr/bin:/bin",
		"HOME":                                  os.Getenv("HOME"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["SHIPGATE_TEST_SECRET"]; ok {
		t.Error("shipgate's own environment leaked into the command")
	}
	sli := env["SHIPGATE_SLI_FILE"]
	if !filepath.IsAbs(sli) || strings.HasPrefix(sli, env["WORKDIR"]+"/") {
		t.Errorf("SHIPGATE_SLI_FILE %q, want an absolute path outside the working directory %s", sli, env["WORKDIR"])
	}
}

// Executor.Env replaces the inherited environment, and a command is looked up in the command's PATH.
func TestExecutorEnv(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "shipgate-test-tool"), "#!/bin/sh\necho \"tool: $GREETING\"; echo \"home: $HOME\"\n", 0o755)
	x := &Executor{TempDir: t.TempDir(), Env: []string{"PATH=" + bin + ":/usr/bin:/bin", "GREETING=hello"}}
	res := execute(t, x, newTask(map[string]any{"command": []any{"shipgate-test-tool"}}))
	wantResult(t, res, store.ResultPass, store.StatusSucceeded)
	if out := runData(t, res)["output"]; out != "tool: hello\nhome: \n" {
		t.Errorf("output %q", out)
	}
}

func TestWorkDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	x := &Executor{TempDir: base, Env: []string{"PATH=/usr/bin:/bin"}}
	task := newTask(map[string]any{"command": []any{"./run.sh"}})
	task.ProjectConfig = testProject(t)
	res := execute(t, x, task)
	wantResult(t, res, store.ResultPass, store.StatusSucceeded)
	out := runData(t, res)["output"].(string)
	listing, pwd, _ := strings.Cut(out, "PWD=")
	want := `./a.txt=stage a
./conf/x.txt=stage conf dir
./linked.txt=shared
./only-service.txt=service only
./sub/b.txt=service b
./sub/c.txt=stage c
`
	if listing != want {
		t.Errorf("working directory:\n%s\nwant:\n%s", listing, want)
	}
	pwd = strings.TrimSpace(pwd)
	if !strings.HasPrefix(pwd, base+string(filepath.Separator)) {
		t.Errorf("working directory %s, want it under TempDir %s", pwd, base)
	}
	if _, err := os.Stat(pwd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory %s still exists after the run: %v", pwd, err)
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Errorf("TempDir holds %d entries after the run, want none", len(entries))
	}
}

func TestWorkDirEmpty(t *testing.T) {
	t.Parallel()
	list := map[string]any{"shell": "ls -A"}
	noFiles := map[string]any{"shell": "ls -A", "files": false}
	tests := []struct {
		name    string
		cfg     map[string]any
		project bool
		service string
	}{
		{"no project", list, false, "carts"},
		{"no folder for the service", list, true, "payments"},
		{"files: false", noFiles, true, "carts"},
		{"a service name that is a path", list, true, ".."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			task := newTask(tt.cfg)
			task.Service = tt.service
			if tt.project {
				task.ProjectConfig = testProject(t)
			}
			res := execute(t, testExecutor(t), task)
			wantResult(t, res, store.ResultPass, store.StatusSucceeded)
			if out := runData(t, res)["output"]; out != "" {
				t.Errorf("working directory holds:\n%s", out)
			}
		})
	}
}

func TestWorkDirLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits copyLimits
	}{
		{"too many bytes", copyLimits{bytes: 20, files: 100}},
		{"too many files", copyLimits{bytes: 1 << 20, files: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			marker := filepath.Join(t.TempDir(), "ran")
			x := testExecutor(t)
			x.limits = tt.limits
			task := newTask(map[string]any{"shell": "touch " + marker})
			task.ProjectConfig = testProject(t)
			res := execute(t, x, task)
			wantResult(t, res, store.ResultFail, store.StatusErrored)
			if !strings.Contains(res.Message, "the files of service carts exceed") || !strings.Contains(res.Message, "files: false") {
				t.Errorf("message %q, want the limit and how to avoid it", res.Message)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran without its files")
			}
			if entries, _ := os.ReadDir(x.TempDir); len(entries) != 0 {
				t.Errorf("TempDir holds %d entries after the run, want none", len(entries))
			}
		})
	}
}

func TestSLIResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     map[string]any
		result  store.Result
		status  store.Status
		values  map[string]any // nil: no sliResults
		message string
	}{
		{
			name:   "values and null",
			cfg:    map[string]any{"shell": `printf '{"response_time_p95": 412.5, "error_rate": null, "throughput": 3}' > "$SHIPGATE_SLI_FILE"`},
			result: store.ResultPass, status: store.StatusSucceeded,
			values: map[string]any{"response_time_p95": 412.5, "error_rate": nil, "throughput": 3.0},
		},
		{
			name:   "no file",
			cfg:    map[string]any{"shell": "true"},
			result: store.ResultPass, status: store.StatusSucceeded,
		},
		{
			name: "sli_file inside the working directory",
			cfg: map[string]any{"sli_file": "out/sli.json",
				"shell": `[ "$SHIPGATE_SLI_FILE" = "$(pwd)/out/sli.json" ] || exit 9; echo '{"a": 1}' > out/sli.json`},
			result: store.ResultPass, status: store.StatusSucceeded,
			values: map[string]any{"a": 1.0},
		},
		{
			name:   "a service file at sli_file is not taken for results",
			cfg:    map[string]any{"sli_file": "sli.json", "shell": "true"},
			result: store.ResultPass, status: store.StatusSucceeded,
		},
		{
			name:   "values of a failing command",
			cfg:    map[string]any{"shell": `echo '{"a": 2}' > "$SHIPGATE_SLI_FILE"; exit 1`},
			result: store.ResultFail, status: store.StatusSucceeded,
			values: map[string]any{"a": 2.0},
		},
		{
			name:   "invalid JSON",
			cfg:    map[string]any{"shell": `echo '{"a": ' > "$SHIPGATE_SLI_FILE"`},
			result: store.ResultFail, status: store.StatusErrored,
			message: "SLI results file SHIPGATE_SLI_FILE: invalid JSON",
		},
		{
			name:   "not a number",
			cfg:    map[string]any{"sli_file": "sli.json", "shell": `echo '{"a": 1, "rt": "fast"}' > sli.json`},
			result: store.ResultFail, status: store.StatusErrored,
			message: `SLI results file sli.json: "rt" is "fast", expected a number or null`,
		},
		{
			name:   "nested object",
			cfg:    map[string]any{"shell": `echo '{"sli": {"a": 1}}' > "$SHIPGATE_SLI_FILE"`},
			result: store.ResultFail, status: store.StatusErrored,
			message: `"sli" is {"a": 1}, expected a number or null`,
		},
		{
			name:   "a link out of the working directory",
			cfg:    map[string]any{"sli_file": "sli.json", "shell": `ln -s /etc/hostname sli.json`},
			result: store.ResultFail, status: store.StatusErrored,
			message: "SLI results file sli.json: path escapes from parent",
		},
		{
			name:   "a named pipe",
			cfg:    map[string]any{"shell": `mkfifo "$SHIPGATE_SLI_FILE"`},
			result: store.ResultFail, status: store.StatusErrored,
			message: "SLI results file SHIPGATE_SLI_FILE is not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			task := newTask(tt.cfg)
			task.ProjectConfig = testProject(t)
			writeFile(t, filepath.Join(task.ProjectConfig.Dir, "carts", "sli.json"), `{"stale": 1}`, 0o644)
			res := execute(t, testExecutor(t), task)
			wantResult(t, res, tt.result, tt.status)
			got, ok := res.Data[engine.SLIResultsKey].(map[string]any)
			if tt.values == nil && ok || tt.values != nil && !equalValues(got, tt.values) {
				t.Errorf("sliResults %v, want %v", res.Data[engine.SLIResultsKey], tt.values)
			}
			if !strings.Contains(res.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", res.Message, tt.message)
			}
		})
	}
}

func equalValues(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			return false
		}
	}
	return true
}

func TestIdempotent(t *testing.T) {
	if (&Executor{}).Idempotent("test", map[string]any{"command": []any{"true"}}) {
		t.Error("Idempotent is true, want false: a command may not be safe to repeat")
	}
}

// The run directory goes even when the command made part of it read-only.
func TestRunDirRemoved(t *testing.T) {
	t.Parallel()
	x := testExecutor(t)
	res := execute(t, x, newTask(map[string]any{"shell": "mkdir -p ro/sub && touch ro/sub/f && chmod 555 ro ro/sub"}))
	wantResult(t, res, store.ResultPass, store.StatusSucceeded)
	if entries, _ := os.ReadDir(x.TempDir); len(entries) != 0 {
		t.Errorf("TempDir holds %d entries after the run, want none", len(entries))
	}
}
