package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/store"
)

// A task's command must not outlive the shipgate that started it. The exec executor makes the command's
// process group die with shipgate (a parent-death signal), and reports the group through
// Task.ProcessStarted; the engine records it with the task run. If a group survives anyway — a guard that
// was killed along with shipgate, a kernel that did not deliver the signal — recovery kills it before it
// runs the task again or fails it, so that a restart never leaves two copies of a command running, nor
// rolls back a deployment whose command still runs.

// TaskRunVar names the environment variable by which recovery recognises the processes of a task
// attempt: an executor that reports a process group sets TaskRunEnv in its processes' environment.
const TaskRunVar = "SHIPGATE_TASK_RUN"

// TaskRunEnv is the environment entry that marks the processes of attempt of task run runID:
// SHIPGATE_TASK_RUN=<runID>/<attempt>.
func TaskRunEnv(runID int64, attempt int) string {
	return fmt.Sprintf("%s=%d/%d", TaskRunVar, runID, attempt)
}

// leftoverTimeout bounds how long recovery waits for the processes it killed to end. SIGKILL ends a
// process at once unless it is stuck in the kernel (a hung NFS mount), which waiting cannot cure.
const leftoverTimeout = 5 * time.Second

// processRecorder is the Task.ProcessStarted of a task attempt: it records the group in the store, for
// that attempt only while it is the started one. It is called while the command runs, so it writes
// outside any transition, in a transaction of its own.
func (e *Engine) processRecorder(t Task) func(pgid int) {
	return func(pgid int) {
		var recorded bool
		err := e.store.Update(e.ctx, func(tx *store.Tx) error {
			var err error
			recorded, err = tx.SetTaskProcessGroup(e.ctx, t.RunID, t.Attempt, pgid)
			return err
		})
		switch {
		case err != nil && e.ctx.Err() == nil:
			// The group still dies with shipgate; only a survivor would go unnoticed by recovery.
			e.log.Error("recording the task's process group", "task_run", t.RunID, "attempt", t.Attempt, "pgid", pgid, "err", err)
		case recorded:
			e.log.Debug("recorded the task's process group", "task_run", t.RunID, "attempt", t.Attempt, "pgid", pgid)
		}
	}
}

// stopLeftovers makes sure that no process group recorded by a started task still runs, before recovery
// runs those tasks again or fails them. It runs before recovery's transition, so that waiting for
// processes to end does not hold the store. It fails when a group it killed has not ended in time:
// starting anyway could run a task beside the copy that still runs.
func (e *Engine) stopLeftovers(ctx context.Context) error {
	tasks, err := e.store.ListTaskRuns(ctx, store.TaskRunQuery{States: []store.TaskState{store.TaskStarted}})
	if err != nil {
		return fmt.Errorf("listing started tasks: %w", err)
	}
	var groups []leftoverGroup
	for _, tr := range tasks {
		if tr.ProcessGroup > 0 {
			groups = append(groups, leftoverGroup{pgid: tr.ProcessGroup, marker: TaskRunEnv(tr.ID, tr.Attempt),
				log: e.log.With("task_run", tr.ID, "attempt", tr.Attempt, "task", tr.Name, "pgid", tr.ProcessGroup)})
		}
	}
	return stopGroups(ctx, groups, leftoverTimeout)
}

// leftoverGroup is a process group a started task recorded.
type leftoverGroup struct {
	pgid   int
	marker string // TaskRunEnv of the attempt that recorded it
	log    *slog.Logger
	killed bool
}

// stopGroups kills every group that still holds a process of its task and waits, up to timeout, until
// none of them does. A group whose processes do not carry the task's marker is not the task's any more
// (its id went to someone else) and is left alone; so are processes whose environment cannot be read,
// which belong to another user. Zombies count as gone: they run nothing, and only their parent, which is
// not shipgate after a restart, can remove them.
func stopGroups(ctx context.Context, groups []leftoverGroup, timeout time.Duration) error {
	if len(groups) == 0 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	pending := slices.Clone(groups)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var next []leftoverGroup
		for _, g := range pending {
			if g.step() {
				next = append(next, g)
			}
		}
		pending = next
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var stuck []string
			for _, g := range pending {
				live, _ := groupMembers(g.pgid, g.marker)
				stuck = append(stuck, fmt.Sprintf("group %d (%s): processes %v", g.pgid, g.marker, pids(live)))
			}
			return fmt.Errorf("processes of interrupted tasks still run %s after SIGKILL: %s; stop them, then start shipgate again",
				timeout, strings.Join(stuck, "; "))
		}
		// The processes are not our children (they were shipgate's before the restart), so no event tells
		// of their end: poll, quickly at first.
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(min(wait, time.Until(deadline))):
		}
	}
}

// step looks at the group once: it kills it while it holds one of the task's processes, and reports
// whether to look again.
func (g *leftoverGroup) step() bool {
	members, err := groupMembers(g.pgid, g.marker)
	if err != nil {
		g.log.Warn("cannot list the processes of the interrupted task's group; not stopping it", "err", err)
		return false
	}
	var ours, others, foreign []member
	for _, m := range members {
		switch {
		case m.ours:
			ours = append(ours, m)
		case m.unreadable:
			foreign = append(foreign, m)
		default:
			others = append(others, m)
		}
	}
	switch {
	case len(ours) > 0:
		// The group's id cannot have been reused while one of its processes lives, so the whole group is
		// the task's, including processes that dropped the marker from their environment.
		if !g.killed {
			g.log.Warn("killing processes an interrupted task left running", "pids", pids(members))
			g.killed = true
		}
		if err := syscall.Kill(-g.pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			g.log.Warn("killing the interrupted task's processes", "err", err)
		}
		return true
	case len(others) > 0 && g.killed:
		return true // processes of the group it killed, without the marker, on their way out
	case len(others) > 0:
		g.log.Info("the interrupted task's process group now holds other processes; left alone", "pids", pids(others))
	case len(foreign) > 0:
		g.log.Warn("processes of another user are in the interrupted task's process group; left alone", "pids", pids(foreign))
	case g.killed:
		g.log.Info("the interrupted task's processes are gone")
	default:
		g.log.Debug("the interrupted task's processes were already gone")
	}
	return false
}

// member is a live process of a process group.
type member struct {
	pid        int
	ours       bool // its environment holds the task's marker
	unreadable bool // its environment cannot be read: another user's process
}

func pids(ms []member) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.pid
	}
	return out
}

// groupMembers lists the processes of group pgid that are not zombies, from /proc; marker is looked for
// in their environment. A process that ends while it is read is left out.
func groupMembers(pgid int, marker string) ([]member, error) {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return nil, nil // the common case after a clean parent-death signal: no process at all
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []member
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := readStat(pid)
		if err != nil || stat.pgrp != pgid || stat.state == 'Z' || stat.state == 'X' {
			continue
		}
		m := member{pid: pid}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		switch {
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			continue
		case err != nil:
			m.unreadable = true
		default:
			m.ours = slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return string(kv) == marker })
		}
		out = append(out, m)
	}
	return out, nil
}

// procStat is what groupMembers needs of /proc/PID/stat.
type procStat struct {
	state byte
	pgrp  int
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(data)
}

// parseStat reads the state and process group from a /proc/PID/stat line: "pid (comm) state ppid pgrp
// ...". The command name is in parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed /proc stat %q", data)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 3 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed /proc stat %q", data)
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat %q: %w", data, err)
	}
	return procStat{state: fields[0][0], pgrp: pgrp}, nil
}
