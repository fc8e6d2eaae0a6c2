package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"runtime"
	"slices"
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
	// guard runs the guard (see RunGuard) that leads the command's group; nil: the command leads it.
	guard []string
	// started, when set, is told the group's id as soon as the group exists.
	started func(pgid int)
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
// group also dies with shipgate: its leader, the guard or else the command, has a parent-death signal.
// The error says the command could not be started.
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

	var cmd *osexec.Cmd
	var status *os.File // the guard's report of the command's start
	if p.guard != nil {
		ga := guardArgs{parent: os.Getpid(), dir: p.dir, path: p.path, argv: p.argv}
		cmd = osexec.CommandContext(runCtx, p.guard[0], append(slices.Clone(p.guard[1:]), ga.args()...)...)
		r, w, err := os.Pipe()
		if err != nil {
			return o, fmt.Errorf("status pipe for the guard: %w", err)
		}
		defer r.Close()
		defer w.Close()
		status, cmd.ExtraFiles = r, []*os.File{w} // descriptor 3 in the guard
		// SIGTERM, not SIGKILL, so that the guard can kill the whole group before it goes.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	} else {
		cmd = osexec.CommandContext(runCtx, p.path, p.argv[1:]...)
		cmd.Args = p.argv
		// Only the command gets it; what it starts may outlive shipgate. Executor.Guard closes that gap.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Dir = p.dir
	}
	cmd.Env = append([]string{}, p.env...) // never nil: nil would hand over shipgate's environment
	// One writer for both makes os/exec use one pipe, so stdout and stderr interleave as they were written.
	cmd.Stdout, cmd.Stderr = p.out, p.out
	g := &group{grace: p.grace}
	cmd.Cancel = func() error { return g.cancel(cmd.Process.Pid) }
	// After the grace period Wait kills the command itself if it is still running, and stops waiting for
	// children that keep the output pipe open (a server started with &), instead of hanging until they end.
	cmd.WaitDelay = p.grace

	// The parent-death signal is sent when the thread that started the child ends, not the process
	// (golang/go#27505). Go ends a thread only when a goroutine exits while locked to it with
	// runtime.LockOSThread; any goroutine may do that on any thread, and a caller's goroutine may be
	// locked already. Holding this goroutine on its thread from Start until Wait returns keeps the thread
	// alive as long as the group's leader: no other goroutine runs on it, so none can end it, and this
	// one unlocks only after the leader is gone. It costs a thread per running command, which Wait's
	// system call holds most of the time anyway.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return o, err
	}
	if p.started != nil {
		p.started(cmd.Process.Pid)
	}
	if status != nil {
		cmd.ExtraFiles[0].Close() // the guard holds its own copy
		// The guard closes the pipe once the command started, or writes why it could not and exits; a
		// guard killed before that closes it too, and Wait reports how it ended.
		if msg, _ := io.ReadAll(status); len(msg) > 0 {
			_ = cmd.Wait()
			g.finish(cmd.Process.Pid, p.log)
			return o, errors.New(string(msg))
		}
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
