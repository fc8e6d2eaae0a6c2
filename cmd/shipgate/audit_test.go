package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// audit export writes every entry in the window as a JSON line, oldest first, denials included.
func TestAuditExport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "shipgate.db")
	now := time.Now()
	clock := now.Add(-10 * 24 * time.Hour)
	st, err := store.Open(context.Background(), db, store.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	add := func(at time.Time, e store.AuditEntry) {
		t.Helper()
		clock = at
		if err := st.Update(context.Background(), func(tx *store.Tx) error { return tx.AppendAudit(context.Background(), &e) }); err != nil {
			t.Fatal(err)
		}
	}
	add(now.Add(-10*24*time.Hour), store.AuditEntry{Actor: "UOLD", Platform: "slack", Action: "command.deliver", Target: "delivery:1", Allowed: true})
	add(now.Add(-2*time.Hour), store.AuditEntry{Actor: "UOUT1", Platform: "slack", Channel: "CREL1", Action: "approval.approve", Target: "approval:3",
		Reason: "you need the role approver in this channel", Details: json.RawMessage(`{"decision":"approve"}`)})
	add(now.Add(-time.Hour), store.AuditEntry{Actor: "UOPS1", Platform: "slack", Channel: "CREL1", Action: "approval.approve", Target: "approval:3", Allowed: true})
	st.Close()
	cfg := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfg, []byte("database: shipgate.db\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Pages of one entry: what follows a page continues after its last entry.
	page := auditExportPage
	auditExportPage = 1
	t.Cleanup(func() { auditExportPage = page })

	code, out, errOut := runCLI(t, "audit", "export", "--config", cfg, "--since", "7d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []auditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != 2 || got[0].Actor != "UOUT1" || got[0].Allowed || got[0].Reason != "you need the role approver in this channel" ||
		string(got[0].Details) != `{"decision":"approve"}` || got[1].Actor != "UOPS1" || !got[1].Allowed || !got[0].At.Before(got[1].At) {
		t.Errorf("export:\n%s", out)
	}
	if !strings.Contains(errOut, "2 audit entries") {
		t.Errorf("stderr %q", errOut)
	}

	if code, out, _ := runCLI(t, "audit", "export", "--config", cfg, "--actor", "UOLD"); code != exitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"action":"command.deliver"`) {
		t.Errorf("--actor: exit %d\n%s", code, out)
	}
	code, out, errOut = runCLI(t, "audit", "export", "--config", cfg)
	if ids := auditIDs(t, out); code != exitOK || !slices.Equal(ids, []int64{1, 2, 3}) || !strings.Contains(errOut, "3 audit entries") {
		t.Errorf("everything: exit %d, ids %v, %q", code, ids, errOut)
	}
	if code, _, errOut := runCLI(t, "audit", "export", "--config", cfg, "--since", "soon"); code != exitUsage || !strings.Contains(errOut, `--since "soon"`) {
		t.Errorf("bad --since: exit %d, %q", code, errOut)
	}
}

// auditIDs reads the ids of exported JSON lines, in order.
func auditIDs(t *testing.T, out string) []int64 {
	t.Helper()
	var ids []int64
	for line := range strings.Lines(out) {
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// A mistyped database path is an error naming it, and creates neither the database nor its folder.
func TestAuditExportRefusesMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfg, []byte("database: data/shipgate.bd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "audit", "export", "--config", cfg)
	want := "shipgate audit export: open store " + filepath.Join(dir, "data", "shipgate.bd") + ": no database file there\n"
	if code != exitFailed || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("audit export left %d entries in the config's folder, want only shipgate.yaml", len(entries))
	}
}
