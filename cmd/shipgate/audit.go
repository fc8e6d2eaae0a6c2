package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/store"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit trail",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAuditExportCmd(), newAuditEvidenceCmd())
	return cmd
}

// auditRecord is one audit entry as `shipgate audit export` writes it: a JSON object per line, the
// evidence regulated teams hand over.
type auditRecord struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Platform string          `json:"platform"`
	Channel  string          `json:"channel,omitempty"`
	Action   string          `json:"action"`
	Target   string          `json:"target,omitempty"`
	Allowed  bool            `json:"allowed"`
	Reason   string          `json:"reason,omitempty"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// auditExportPage is how many entries `shipgate audit export` reads at a time; tests make it small.
var auditExportPage = 1000

func newAuditExportCmd() *cobra.Command {
	var (
		configPath string
		since      string
		actor      string
	)
	cmd := &cobra.Command{
		Use:   "export [--config shipgate.yaml] [--since 30d] [--actor ID]",
		Short: "Write the audit trail as JSON lines",
		Long: `Export writes the audit trail from the database that shipgate.yaml names (or the default one), oldest
first, one JSON object per line: id, at (RFC 3339, UTC), actor, platform, channel, action, target,
allowed, reason and details. Every attempt to change state is there, allowed or denied, with why.
It reads the database while serve runs, and only reads: a database that does not exist is an error
(exit status 1), not a new empty one.`,
		Example: `  shipgate audit export --config shipgate.yaml --since 90d > audit-q3.jsonl
  shipgate audit export --since 7d --actor U0123ABC`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errOut := cmd.ErrOrStderr()
			var from time.Time
			if since != "" {
				d, err := bot.ParseSince(since)
				if err != nil {
					fmt.Fprintf(errOut, "shipgate audit export: %v\n", err)
					return exitError{exitUsage}
				}
				from = time.Now().Add(-d)
			}
			cfg, err := loadServeConfig(configPath, errOut)
			if err != nil {
				return err
			}
			// Read-only: a mistyped database path must fail, not create an empty database that exports
			// nothing, and exporting must not migrate the database of a serve that may be running.
			st, err := store.OpenReadOnly(cmd.Context(), cfg.Database)
			if err != nil {
				fmt.Fprintf(errOut, "shipgate audit export: %v\n", err)
				return exitError{exitFailed}
			}
			defer st.Close()
			// Page by page, oldest first, each page continuing after the last entry written: the export
			// holds one page in memory however long the trail, and each read is an index range.
			enc := json.NewEncoder(cmd.OutOrStdout())
			q := store.AuditQuery{Since: from, Actor: actor, OldestFirst: true, Limit: auditExportPage}
			written := 0
			for {
				entries, err := st.ListAudit(cmd.Context(), q)
				if err != nil {
					fmt.Fprintf(errOut, "shipgate audit export: %v\n", err)
					return exitError{exitFailed}
				}
				for _, e := range entries {
					rec := auditRecord{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Platform: e.Platform, Channel: e.Channel,
						Action: e.Action, Target: e.Target, Allowed: e.Allowed, Reason: e.Reason, Details: e.Details}
					if err := enc.Encode(rec); err != nil {
						return fmt.Errorf("write: %w", err)
					}
				}
				written += len(entries)
				if len(entries) < q.Limit {
					break
				}
				last := entries[len(entries)-1].Position()
				q.After = &last
			}
			fmt.Fprintf(errOut, "%d audit entries\n", written)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml whose database to read (default: built-in defaults, ./shipgate.db)")
	cmd.Flags().StringVar(&since, "since", "", "only entries this recent: 7d, 12h, 90m (default: all)")
	cmd.Flags().StringVar(&actor, "actor", "", "only entries by this actor (a chat user id or a token name)")
	return cmd
}
