package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/evidence"
	"github.com/shipgate/shipgate/store"
)

func newAuditEvidenceCmd() *cobra.Command {
	var (
		configPath string
		output     string
		verify     string
	)
	cmd := &cobra.Command{
		Use:   "evidence ID [--config shipgate.yaml] [--output report.html|report.json] [--verify FILE]",
		Short: "Write a delivery's evidence pack for a change-management audit",
		Long: `Evidence writes the evidence pack of one delivery: who triggered it, from where and with which CI
labels; every stage, sequence and task with times and results; each evaluation's score table; each
approval with who could approve, every vote with its time and reason, refused votes, reminders,
escalations, the decision and any override; rollbacks; freezes; and every audit entry on the delivery,
its approvals and its evaluations.

The JSON form is canonical: the same records give the same bytes, so its SHA-256 identifies the pack.
Without --output the JSON goes to standard output; --output FILE writes JSON for a name ending in .json
and a self-contained HTML page (no network needed, prints on A4) for one ending in .html. Either way the
SHA-256 of the JSON form is printed on standard error, and the HTML page shows it.

To check a copy later: sha256sum on a JSON copy prints that SHA-256, with no shipgate needed. --verify
FILE reads the delivery again from the database and says whether FILE (JSON or HTML) is exactly what the
records give now (exit status 0), or not (exit status 1).

It reads the database while serve runs, and only reads.`,
		Example: `  shipgate audit evidence 42 --output change-42.html
  shipgate audit evidence 42 --output change-42.json && sha256sum change-42.json
  shipgate audit evidence 42 --verify change-42.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			errOut := cmd.ErrOrStderr()
			fail := func(code int, format string, a ...any) error {
				fmt.Fprintf(errOut, "shipgate audit evidence: "+format+"\n", a...)
				return exitError{code}
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fail(exitUsage, "delivery id %q is not a positive number", args[0])
			}
			if output != "" && verify != "" {
				return fail(exitUsage, "--output and --verify go separately: write a pack, or check one")
			}
			var html bool
			if output != "" {
				if html, err = formatOf(output); err != nil {
					return fail(exitUsage, "%v", err)
				}
			}
			cfg, err := loadServeConfig(configPath, errOut)
			if err != nil {
				return err
			}
			st, err := store.OpenReadOnly(cmd.Context(), cfg.Database)
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			defer st.Close()
			doc, page, p, err := evidencePack(cmd.Context(), st, id)
			if errors.Is(err, store.ErrNotFound) {
				return fail(exitFailed, "delivery %d not found in %s", id, cfg.Database)
			}
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			if verify != "" {
				return verifyPack(verify, id, doc, page, p.Complete, cmd.OutOrStdout(), fail)
			}
			switch {
			case output == "":
				if _, err := cmd.OutOrStdout().Write(doc.JSON); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			case html:
				err = os.WriteFile(output, page, 0o644)
			default:
				err = os.WriteFile(output, doc.JSON, 0o644)
			}
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			live := ""
			if !p.Complete {
				live = fmt.Sprintf(" (delivery %d is still %s: a later pack will differ)", id, p.Delivery.State)
			}
			fmt.Fprintf(errOut, "SHA-256 of the JSON form: %s%s\n", doc.SHA256, live)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml whose database to read (default: built-in defaults, ./shipgate.db)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file: .json for the JSON form, .html for the page (default: JSON on standard output)")
	cmd.Flags().StringVar(&verify, "verify", "", "check that this JSON or HTML pack is what the database records now")
	return cmd
}

// formatOf says whether a file name asks for HTML (.html, .htm) or JSON (.json).
func formatOf(name string) (html bool, err error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".html", ".htm":
		return true, nil
	case ".json":
		return false, nil
	}
	return false, fmt.Errorf("cannot tell the format of %q: name it .json or .html", name)
}

// evidencePack reads a delivery's pack and renders both forms.
func evidencePack(ctx context.Context, r evidence.Source, id int64) (evidence.Document, []byte, *evidence.Pack, error) {
	p, err := evidence.Build(ctx, r, id)
	if err != nil {
		return evidence.Document{}, nil, nil, err
	}
	doc, err := evidence.Encode(p)
	if err != nil {
		return evidence.Document{}, nil, nil, err
	}
	page, err := evidence.HTML(p, doc.SHA256)
	if err != nil {
		return evidence.Document{}, nil, nil, err
	}
	return doc, page, p, nil
}

// verifyPack compares a copy with the pack the database gives now, in the copy's own form: a JSON copy
// by its bytes (so by its SHA-256), an HTML copy by its bytes, which include the JSON form's SHA-256.
func verifyPack(path string, id int64, doc evidence.Document, page []byte, complete bool, out io.Writer, fail func(int, string, ...any) error) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	want, form := doc.JSON, "JSON"
	if isHTML(got) {
		want, form = page, "HTML"
	}
	if bytes.Equal(got, want) {
		fmt.Fprintf(out, "%s: OK, the %s evidence pack of delivery %d as recorded (SHA-256 of the JSON form %s)\n", path, form, id, doc.SHA256)
		return nil
	}
	why := "it was changed, or is of another delivery"
	if !complete {
		why = "the delivery was still running; it has moved on since, or the copy was changed"
	}
	if form == "JSON" {
		return fail(exitFailed, "%s does not match delivery %d as recorded (%s): its SHA-256 is %s, the records give %s", path, id, why, evidence.Sum(got), doc.SHA256)
	}
	return fail(exitFailed, "%s does not match delivery %d as recorded (%s); the records give a JSON form with SHA-256 %s", path, id, why, doc.SHA256)
}

// isHTML tells an HTML copy from a JSON one by its first bytes.
func isHTML(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '<'
}
