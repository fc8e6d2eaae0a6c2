package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes are part of the CLI contract: scripts and CI steps branch on them.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and found a problem (invalid files, a failed evaluation)
	exitUsage  = 2 // the command could not run as asked (bad flags, unreadable input)
)

// exitError carries an exit code through cobra's error return; its message has already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run executes the CLI with args and returns the process exit code. It is main without os.Exit, so tests
// drive the real command tree in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Everything cobra itself rejects (unknown command or flag, wrong arguments) is a usage error.
	fmt.Fprintf(stderr, "shipgate: %v\nRun 'shipgate --help' for usage.\n", err)
	return exitUsage
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "shipgate",
		Short: "ChatOps delivery bot for Keptn-format shipyards",
		Long: `shipgate takes a build through the stages of a Keptn-format shipyard, runs each stage's tasks,
gates promotions on SLO evaluations and approvals in Slack or Discord, and records everything in SQLite.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd(), newValidateCmd(), newServeCmd(), newEvaluateCmd(), newAuditCmd(), newBackupCmd(), newTriggerCmd(), newStatusCmd(), newDemoCmd(), newDemoServiceCmd(), newGuardCmd())
	return root
}
