// Package exec is shipgate's command executor (`type: exec` in executors.yaml): it runs a command for a
// delivery task, as Keptn users ran `locust --headless …`, `k6 run …` or `kubectl …` through Keptn's job
// executor.
//
//	tasks:
//	  test:
//	    type: exec
//	    timeout: 10m
//	    with:
//	      command: ["locust", "--headless", "-f", "locustfile.py"]   # or shell: "k6 run load.js | tee out.txt"
//	      env: {USERS: "10", TARGET: "{{.DeploymentURL}}"}
//	      timeout: 5m
//
// Each run gets a fresh working directory holding the service's files from the project, PROJECT/SERVICE
// with PROJECT/STAGE/SERVICE copied over it so that stage-specific files win, as Keptn resolved a
// service's resources. The copy is bounded (DefaultMaxCopyBytes, DefaultMaxCopyFiles), follows only
// relative symbolic links that stay within the project, and is skipped with files: false. The directory
// is removed afterwards.
//
// `command:` is run without a shell, its program looked up in the command's PATH; `shell:` is run with
// /bin/sh -c. The environment is not shipgate's, which holds its tokens: it is Executor.Env (by default
// PATH, HOME, LANG and TMPDIR), the task's SHIPGATE_* variables (project, stage, service, image, tag,
// labels, deployment URL, task, sequence, delivery and Keptn context, start time, SLI file), and `env:`,
// whose values are Go templates over engine.TemplateData.
//
// The command runs in a process group of its own. When the task is stopped, or the timeout setting
// passes, the whole group gets SIGTERM and, kill_grace later, SIGKILL; processes the command leaves
// running when it exits are stopped the same way. The group dies with shipgate, even with kill -9: it is
// led by a guard (Executor.Guard, RunGuard) that kills it when shipgate dies. The group is reported to
// the engine (engine.Task.ProcessStarted), and its processes carry SHIPGATE_TASK_RUN=<run>/<attempt>
// (engine.TaskRunEnv), so that recovery can kill a group that survived anyway.
//
// Exit status 0 passes; anything else fails the task, and a timeout, a program that is not found or
// cannot start errors it. The chat message is a summary line and the last lines of the output; the
// output itself, stdout and stderr interleaved and bounded by max_output (keeping its head and tail),
// goes in the result data under the task's name with the run's start and end, which an evaluation after
// a test uses as its window:
//
//	{"test": {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T10:05:00Z", "exitCode": 0,
//	          "output": "…", "outputTruncated": false}}
//
// A command may report SLI values by writing a flat JSON object, {"response_time_p95": 412.5,
// "error_rate": null}, to the path in SHIPGATE_SLI_FILE (null: the value could not be obtained). The
// file is outside the working directory unless sli_file names a path inside it; a service file at that
// path is removed before the run, so that only what the command writes counts. The values go in the
// result data as "sliResults"; a file that is not such an object fails the task. A nested object such as
// {"sli": {...}} is not accepted.
package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// Executor runs commands for tasks. The zero value is ready to use.
type Executor struct {
	// Logger receives a line per run; nil discards them.
	Logger *slog.Logger
	// TempDir is where each run's directory is made; "" means os.TempDir().
	TempDir string
	// Env is the environment every command starts from, as KEY=value entries; nil means PATH, HOME, LANG
	// and TMPDIR from shipgate's own environment, and nothing else of it.
	Env []string
	// Guard is the command that runs RunGuard, without the guard's own arguments: shipgate sets it to
	// itself and its hidden exec-guard subcommand (GuardCommand). The guard leads each command's process
	// group and kills the whole group when shipgate dies, grandchildren included. Nil: the command leads
	// its group itself and dies with shipgate, but what it started may outlive shipgate.
	Guard []string

	limits copyLimits // zero means the defaults; tests lower them
}

var (
	_ engine.Executor      = (*Executor)(nil)
	_ engine.Idempotent    = (*Executor)(nil)
	_ engine.ConfigChecker = (*Executor)(nil)
)

// CheckConfig validates a task's settings: exactly one of command and shell, env names and templates,
// positive durations and sizes, and an sli_file inside the working directory.
func (x *Executor) CheckConfig(_ string, cfg map[string]any) error {
	_, err := parseSettings(cfg)
	return err
}

// Idempotent is false: a command may not be safe to run twice, and only its author can say it is, with
// idempotent: true in executors.yaml.
func (x *Executor) Idempotent(string, map[string]any) bool { return false }

// Execute runs the task's command. Problems of the command or its settings are reported in the Result,
// failing the task; an error means shipgate itself could not prepare the run.
func (x *Executor) Execute(ctx context.Context, t engine.Task) (engine.Result, error) {
	s, err := parseSettings(t.Config)
	if err != nil {
		return errored("invalid settings: " + err.Error()), nil
	}
	log := x.logger().With("task", t.Name, "task_run", t.RunID, "attempt", t.Attempt,
		"project", t.Project, "stage", t.Stage, "service", t.Service)

	dir, err := newRunDir(x.tempDir(), s)
	if err != nil {
		return engine.Result{}, err
	}
	defer func() {
		if err := dir.remove(); err != nil {
			log.Warn("removing the run directory", "dir", dir.root, "err", err)
		}
	}()
	if s.files {
		err := prepareWorkDir(ctx, t.ProjectConfig, t.Stage, t.Service, dir.work, x.limits, log)
		switch {
		case err == nil:
		case errors.As(err, new(copyLimitError)):
			return errored(err.Error()), nil
		case ctx.Err() != nil:
			return errored("stopped before the command started: " + context.Cause(ctx).Error()), nil
		default:
			return engine.Result{}, fmt.Errorf("copying the service files: %w", err)
		}
	}
	if err := dir.sli.prepare(); err != nil {
		return engine.Result{}, err
	}
	settingsEnv, err := renderEnv(s, t.TemplateData())
	if err != nil {
		return errored(err.Error()), nil
	}
	started := time.Now()
	// The marker comes last, so that nothing overrides it: recovery kills only processes that carry it.
	env := slices.Concat(x.baseEnv(), taskEnv(t, started, dir.sli.path()), settingsEnv, []string{engine.TaskRunEnv(t.RunID, t.Attempt)})
	path, err := program(s, dir.work, env)
	if err != nil {
		return errored(err.Error()), nil
	}

	out := newOutput(s.maxOutput)
	log.Debug("running", "command", s.display(), "dir", dir.work)
	o, err := process{path: path, argv: s.argv, dir: dir.work, env: env, out: out,
		timeout: s.timeout, grace: s.killGrace, start: started, log: log, guard: x.Guard, started: t.ProcessStarted}.run(ctx)
	if err != nil {
		return errored(fmt.Sprintf("cannot start %s: %v", s.argv[0], err)), nil
	}
	res := result(t.Name, s, o, out, dir.sli)
	log.Info("command finished", "command", s.display(), "result", res.Result, "took", o.end.Sub(o.start),
		"exit_code", exitCode(o.state), "timed_out", o.timedOut)
	return res, nil
}

// result turns a run into the task's result.
func result(task string, s settings, o outcome, out *output, sli sliLocation) engine.Result {
	text, truncated := out.String()
	data := map[string]any{task: map[string]any{
		"start":           o.start.UTC().Format(time.RFC3339),
		"end":             o.end.UTC().Format(time.RFC3339),
		"exitCode":        exitCode(o.state),
		"output":          text,
		"outputTruncated": truncated,
	}}
	res := engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded, Data: data}
	took := o.end.Sub(o.start)
	var summary string
	switch {
	case o.timedOut:
		summary = fmt.Sprintf("timed out after %s", s.timeout)
		res.Result, res.Status = store.ResultFail, store.StatusErrored
	case o.stopped != nil:
		summary = fmt.Sprintf("stopped after %s: %v", formatTook(took), o.stopped)
		res.Result, res.Status = store.ResultFail, store.StatusErrored
	case o.state == nil:
		summary = fmt.Sprintf("ended without an exit status after %s", formatTook(took))
		res.Result, res.Status = store.ResultFail, store.StatusErrored
	case o.state.Success():
		summary = fmt.Sprintf("exit 0 in %s", formatTook(took))
	default:
		// "exit status 3", or "signal: killed" when something other than shipgate killed it.
		summary = fmt.Sprintf("%s in %s", o.state, formatTook(took))
		res.Result = store.ResultFail
	}
	values, err := sli.read()
	switch {
	case err != nil:
		summary += "\n" + truncate.Runes(err.Error(), maxLineRunes)
		if res.Result == store.ResultPass {
			res.Result, res.Status = store.ResultFail, store.StatusErrored
		}
	case values != nil:
		data[engine.SLIResultsKey] = values
	}
	res.Message = message(summary, text, s.tailLines)
	return res
}

func errored(msg string) engine.Result {
	return engine.Result{Result: store.ResultFail, Status: store.StatusErrored, Message: truncate.Runes(msg, maxMessage)}
}

// exitCode is the command's exit code, or -1 when it has none (not started, or ended by a signal).
func exitCode(state *os.ProcessState) int {
	if state == nil {
		return -1
	}
	return state.ExitCode()
}

// formatTook shows a run's duration to a tenth of a second, which is all a chat reader wants.
func formatTook(d time.Duration) string {
	switch {
	case d < 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// program finds the file to run. A program with a slash in its name is taken as a path, relative to the
// working directory (./run-tests.sh from the service's files); a bare name is looked up in the command's
// PATH, which env: may set, not in shipgate's.
func program(s settings, workDir string, env []string) (string, error) {
	name := s.argv[0]
	if s.shell {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("cannot run shell: %s: %v; use command: to run a program without a shell", name, err)
		}
		return name, nil
	}
	if strings.Contains(name, "/") {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(workDir, path)
		}
		if err := executable(path); err != nil {
			where := ""
			if !filepath.IsAbs(name) {
				where = " (in the working directory, which holds the service's files)"
			}
			return "", fmt.Errorf("cannot run command %s%s: %v", name, where, err)
		}
		return path, nil
	}
	pathVar := getenv(env, "PATH")
	for _, dir := range filepath.SplitList(pathVar) {
		// A relative entry would search the working directory, which holds files from the repository.
		if !filepath.IsAbs(dir) {
			continue
		}
		if path := filepath.Join(dir, name); executable(path) == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %q", name, pathVar)
}

// executable says why path cannot be run, or returns nil.
func executable(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("not found")
	case err != nil:
		return unwrapPath(err)
	case !info.Mode().IsRegular():
		return errors.New("not a regular file")
	case info.Mode().Perm()&0o111 == 0:
		return errors.New("not executable (its file mode lacks x)")
	}
	return nil
}

func (x *Executor) logger() *slog.Logger {
	if x.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return x.Logger
}

func (x *Executor) tempDir() string {
	if x.TempDir == "" {
		return os.TempDir()
	}
	return x.TempDir
}
