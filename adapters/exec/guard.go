package exec

import (
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// The guard makes "no process of a task survives shipgate" true for the whole process group, not only
// for the process that leads it.
//
// A parent-death signal (Linux's PR_SET_PDEATHSIG) reaches only the child that asked for it. A command
// that leads its own group could get SIGKILL when shipgate dies, but what it started — the sleep in
// `sh -c 'sleep 300; echo done'`, a test runner's workers — would stay behind, and a restart would run
// the task again beside them. So the group is led by a guard instead: shipgate runs itself again with
// the hidden subcommand `exec-guard --parent PID --dir DIR --program PATH -- ARGV...`. The guard's
// parent-death signal is SIGTERM; it starts the command as its child, in its own group, and when its
// parent dies it kills the whole group with SIGKILL. The guard cannot tell that SIGTERM from the one shipgate sends to
// the group to stop a task (an abort, a timeout, shutdown), which the command gets as well; what tells
// them apart is its parent: after a parent's death the guard belongs to another process.
//
// The guard exits as the command did: with its exit code, or killed by the same signal, so that
// shipgate sees the same os.ProcessState as without a guard. Whether the command started it reports on
// file descriptor 3, a pipe shipgate reads: nothing when the command started, the error when it could
// not; the command does not inherit it.

// GuardCommand is the name of the guard's subcommand, which a program that sets Executor.Guard must
// dispatch to RunGuard with the arguments that follow it.
const GuardCommand = "exec-guard"

// guardStatusFD is the descriptor on which the guard reports whether the command started.
const guardStatusFD = 3

// Exit codes of the guard itself, when it ends before the command ran.
const (
	guardUsage       = 2   // bad arguments: a bug in shipgate
	guardStartFailed = 127 // the command could not start; the reason went to the status pipe
)

// RunGuard runs a command as the guard of its process group (see GuardCommand) and returns the exit code
// of the guard, when it does not die of the command's signal. args are what follows the subcommand's
// name: --parent PID [--dir DIR] --program PATH -- ARGV...
func RunGuard(args []string) int {
	ga, err := parseGuardArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "shipgate %s: %v\n", GuardCommand, err)
		return guardUsage
	}
	status := os.NewFile(guardStatusFD, "status")
	if status == nil {
		fmt.Fprintf(os.Stderr, "shipgate %s: no status pipe on descriptor %d\n", GuardCommand, guardStatusFD)
		return guardUsage
	}
	// An inherited descriptor is not closed on exec: without this, the command would hold the pipe open,
	// and shipgate would wait for the command's end to learn that it started.
	syscall.CloseOnExec(guardStatusFD)
	fail := func(msg string) int {
		_, _ = io.WriteString(status, msg)
		status.Close()
		return guardStartFailed
	}

	terms := make(chan os.Signal, 4)
	signal.Notify(terms, syscall.SIGTERM)
	// Until the handler was installed, SIGTERM would have killed the guard, which started nothing yet;
	// a parent that died before the kernel knew our parent-death signal sent none. Either way a parent
	// that is gone by now shows in getppid, which is read after the handler is in place.
	if os.Getppid() != ga.parent {
		return fail("shipgate ended before the command started")
	}
	select {
	case <-terms:
		// Stopped before it started (cancelled, or the parent died): do not start it at all. A SIGTERM
		// that is still on its way starts the command anyway; shipgate kills it after the grace period.
		return exitAs(syscall.WaitStatus(syscall.SIGTERM)) // as a command killed by SIGTERM
	default:
	}

	// The directory is entered here, not by shipgate for the guard, so that a missing one is the
	// command's failure to start, naming the directory, rather than the guard's.
	cmd := &osexec.Cmd{Path: ga.path, Args: ga.argv, Dir: ga.dir, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		return fail(err.Error())
	}
	status.Close()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // its status is in cmd.ProcessState
		close(done)
	}()
	for {
		select {
		case <-done:
			return exitAs(cmd.ProcessState.Sys().(syscall.WaitStatus))
		case <-terms:
			if os.Getppid() != ga.parent {
				// shipgate died. SIGKILL reaches every process of the group at once, the guard included,
				// so nothing can start another process in between.
				_ = syscall.Kill(-syscall.Getpgrp(), syscall.SIGKILL)
			}
			// Otherwise shipgate is stopping the task: the SIGTERM went to the whole group, the command
			// included, and the guard waits for it as shipgate waits for the guard.
		}
	}
}

// guardArgs are the guard's arguments.
type guardArgs struct {
	parent int      // shipgate's pid
	dir    string   // the command's working directory; "" for the guard's
	path   string   // the program, resolved
	argv   []string // argv[0] included
}

// parseGuardArgs reads --parent PID [--dir DIR] --program PATH -- ARGV...
func parseGuardArgs(args []string) (guardArgs, error) {
	var ga guardArgs
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			ga.argv = args[1:]
			break
		}
		if len(args) < 2 {
			return guardArgs{}, fmt.Errorf("unexpected argument %q; usage: %s --parent PID [--dir DIR] --program PATH -- ARGV...", a, GuardCommand)
		}
		switch v := args[1]; a {
		case "--parent":
			pid, err := strconv.Atoi(v)
			if err != nil || pid <= 0 {
				return guardArgs{}, fmt.Errorf("--parent %q: not a process id", v)
			}
			ga.parent = pid
		case "--dir":
			ga.dir = v
		case "--program":
			ga.path = v
		default:
			return guardArgs{}, fmt.Errorf("unexpected argument %q; usage: %s --parent PID [--dir DIR] --program PATH -- ARGV...", a, GuardCommand)
		}
		args = args[2:]
	}
	switch {
	case ga.parent == 0:
		return guardArgs{}, errors.New("--parent is required")
	case ga.path == "":
		return guardArgs{}, errors.New("--program is required")
	case len(ga.argv) == 0:
		return guardArgs{}, errors.New("the command's arguments, argv[0] included, must follow --")
	}
	return ga, nil
}

// args are the arguments of the guard's subcommand.
func (ga guardArgs) args() []string {
	return append([]string{"--parent", strconv.Itoa(ga.parent), "--dir", ga.dir, "--program", ga.path, "--"}, ga.argv...)
}

// exitAs ends the guard as ws says the command ended: it dies of the same signal, or returns the exit
// code.
func exitAs(ws syscall.WaitStatus) int {
	if !ws.Signaled() {
		return ws.ExitStatus()
	}
	sig := ws.Signal()
	// The Go runtime catches most signals, and for some (SIGQUIT, SIGABRT, SIGSEGV) it prints its
	// goroutines into the command's output and exits with status 2 instead of dying of the signal. The
	// default action is set below the runtime, with rt_sigaction; an all-zero struct sigaction is SIG_DFL
	// with no flags and an empty mask on every Linux architecture. The guard writes no core file of its
	// own: the command's is the one that matters.
	var dfl [4]uint64
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	// To this very thread: a signal that dumps core kills the process only once a thread takes it, and
	// another thread could take it after this one had exited with the code below. Taken here, it is
	// acted on as the system call returns.
	runtime.LockOSThread()
	_ = syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
	// Only a signal whose default is not to terminate (none a process dies of) gets here.
	return 128 + int(sig)
}
