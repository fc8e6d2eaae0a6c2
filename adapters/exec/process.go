package exec

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"
	"time"
)

// errTimedOut is the cause of a run's context when the timeout setting ends it.
var errTimedOut = errors.New("the timeout setting passed")

// process is one run of a command.
type process struct {
	path    string   // the program, resolved
	argv    []string // as written, argv[0] included
	dir     string
	env     []string
	out     io.Writer
	timeout time.Duration // 0: none besides ctx
	grace   time.Duration
	start   time.Time // reported as the run's start, as the command was told
	log     *slog.Logger
}

// outcome is how a run ended.
type outcome struct {
	start, end time.Time
	state      *os.ProcessState
	timedOut   bool
	// stopped is why ctx ended the run (an abort, the task's deadline, shutdown), or nil.
	stopped error
}

// run runs the command in a process group of its own and stops the whole group, so that a shell's or a
// test runner's children go too. When ctx ends or the timeout passes, the group gets SIGTERM, and SIGKILL
// after the grace period; whatever the command leaves running when it exits is stopped the same way. The
// error says the command could not be started.
func (p process) run(ctx context.Context) (outcome, error) {
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if p.timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(ctx, p.timeout, errTimedOut)
	}
	defer cancel()
	o := outcome{start: p.start}
	if runCtx.Err() != nil {
		o.end = time.Now()
		o.classify(runCtx)
		return o, nil
	}

	cmd := osexec.CommandContext(runCtx, p.path, p.argv[1:]...)
	cmd.Args = p.argv
	cmd.Dir = p.dir
	cmd.Env = append([]string{}, p.env...) // never nil: nil would hand over shipgate's environment
	// One writer for both makes os/exec use one pipe, so stdout and stderr interleave as they were written.
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g := &group{grace: p.grace}
	cmd.Cancel = func() error { return g.cancel(cmd.Process.Pid) }
	// After the grace period Wait kills the command itself if it is still running, and stops waiting for
	// children that keep the output pipe open (a server started with &), instead of hanging until they end.
	cmd.WaitDelay = p.grace

	if err := cmd.Start(); err != nil {
		return o, err
	}
	err := cmd.Wait()
	o.end = time.Now()
	o.state = cmd.ProcessState
	if errors.Is(err, osexec.ErrWaitDelay) {
		p.log.Warn("processes the command started kept its output open after it ended; their further output is lost", "grace", p.grace)
	}
	g.finish(cmd.Process.Pid, p.log)
	if g.wasCancelled() {
		o.classify(runCtx)
	}
	return o, nil
}

// classify records why runCtx ended.
func (o *outcome) classify(runCtx context.Context) {
	cause := context.Cause(runCtx)
	if errors.Is(cause, errTimedOut) {
		o.timedOut = true
		return
	}
	o.stopped = cause
}

// group is a command's process group, whose id is the command's pid.
type group struct {
	grace     time.Duration
	mu        sync.Mutex
	termAt    time.Time // when SIGTERM was sent; zero before
	cancelled bool      // whether the run's context ended the command
}

// cancel sends SIGTERM to the whole group because the run's context ended. It is the command's Cancel.
func (g *group) cancel(pgid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cancelled = true
	if !g.termAt.IsZero() {
		return nil
	}
	g.termAt = time.Now()
	err := syscall.Kill(-pgid, syscall.SIGTERM)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

func (g *group) wasCancelled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cancelled
}

// finish runs once the command has ended and makes sure nothing it started outlives the run: processes
// left in its group get SIGTERM, unless they had it already, and SIGKILL once the grace period since has
// passed.
//
// The group's id cannot be reused while any process is in the group, so the signals only reach the
// command's leftovers; once the group is empty they fail with ESRCH.
func (g *group) finish(pgid int, log *slog.Logger) {
	if !groupAlive(pgid) {
		return
	}
	g.mu.Lock()
	if g.termAt.IsZero() {
		g.termAt = time.Now()
		log.Info("stopping processes the command left running")
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
	}
	deadline := g.termAt.Add(g.grace)
	g.mu.Unlock()
	// The kernel has no event for the end of a process that is not our child (the leftovers now belong to
	// init), so this polls, quickly at first. A leftover that has exited but that init does not reap stays
	// in the group as a zombie until the deadline; SIGKILL then does no harm.
	for wait := time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, 50*time.Millisecond) {
		time.Sleep(min(wait, time.Until(deadline)))
		if !groupAlive(pgid) {
			return
		}
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err == nil {
		log.Info("sent SIGKILL to what was left of the command's processes", "grace", g.grace)
	}
}

// groupAlive reports whether the group has a process we may signal.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
