package main

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/adapters/exec"
)

// newGuardCmd is the exec executor's guard (exec.RunGuard): shipgate runs itself with it to lead each
// command's process group, so that nothing a task started outlives shipgate, even after kill -9. It is
// not for people to run.
func newGuardCmd() *cobra.Command {
	return &cobra.Command{
		Use:    exec.GuardCommand + " --parent PID [--dir DIR] --program PATH -- ARGV...",
		Short:  "Lead a task command's process group and kill it when shipgate dies (used by the exec executor)",
		Hidden: true,
		// The command's own arguments follow --; cobra must not read them as flags.
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := exec.RunGuard(args); code != exitOK {
				return exitError{code}
			}
			return nil
		},
	}
}

// execGuard is the command the exec executor runs its guard with: this very binary, through
// /proc/self/exe, which stays the running shipgate's even when a package upgrade has replaced the file
// (a newer guard might not understand this shipgate's arguments), and the guard's subcommand. A test
// binary is not shipgate: run with exec-guard it would run its tests, so in-process tests run commands
// without a guard.
func execGuard() []string {
	if testing.Testing() {
		return nil
	}
	return []string{"/proc/self/exe", exec.GuardCommand}
}
