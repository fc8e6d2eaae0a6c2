package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/evidence/evidencetest"
)

// evidenceDB records the evidence fixture's story (one delivery released through two approvals, one
// rolled back) in a database, and returns a shipgate.yaml naming it and the two delivery ids.
func evidenceDB(t *testing.T) (cfg string, released, rolledBack int64) {
	t.Helper()
	dir := t.TempDir()
	var db string
	synctest.Test(t, func(t *testing.T) {
		f := evidencetest.NewIn(t, dir)
		db = f.DBPath
		released, rolledBack = f.Released()
	})
	cfg = filepath.Join(t.TempDir(), "shipgate.yaml")
	if err := os.WriteFile(cfg, []byte("database: "+db+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, released, rolledBack
}

func TestAuditEvidence(t *testing.T) {
	cfg, id, _ := evidenceDB(t)
	ids := func(n int64) string { return strconv.FormatInt(n, 10) }

	// No --output: the JSON form on standard output, its SHA-256 on standard error.
	code, out, errOut := runCLI(t, "audit", "evidence", ids(id), "--config", cfg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var pack struct {
		Format   string `json:"format"`
		Delivery struct {
			ID int64 `json:"id"`
		} `json:"delivery"`
	}
	if err := json.Unmarshal([]byte(out), &pack); err != nil || pack.Format != "shipgate-evidence/1" || pack.Delivery.ID != id {
		t.Fatalf("standard output is not the pack of delivery %d (%v): %.200s", id, err, out)
	}
	sum := sha256.Sum256([]byte(out))
	hexSum := hex.EncodeToString(sum[:])
	if errOut != "SHA-256 of the JSON form: "+hexSum+"\n" {
		t.Errorf("standard error %q, want the SHA-256 of standard output %s", errOut, hexSum)
	}

	// --output by extension; the JSON file is what was printed, the page shows its hash.
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "change.json"), filepath.Join(dir, "change.HTML")
	if code, _, errOut := runCLI(t, "audit", "evidence", ids(id), "--config", cfg, "--output", jsonPath); code != exitOK || !strings.Contains(errOut, hexSum) {
		t.Fatalf("--output json: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(jsonPath); string(b) != out {
		t.Error("the JSON file differs from the JSON printed")
	}
	if code, _, errOut := runCLI(t, "audit", "evidence", ids(id), "--config", cfg, "--output", htmlPath); code != exitOK {
		t.Fatalf("--output html: exit %d, %s", code, errOut)
	}
	page, _ := os.ReadFile(htmlPath)
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.Contains(string(page), hexSum) {
		t.Errorf("the HTML file is not a page showing %s: %.200s", hexSum, page)
	}

	// --verify: both copies match the records; a changed copy does not.
	for _, p := range []string{jsonPath, htmlPath} {
		code, out, errOut := runCLI(t, "audit", "evidence", ids(id), "--config", cfg, "--verify", p)
		if code != exitOK || !strings.Contains(out, ": OK,") {
			t.Errorf("--verify %s: exit %d, %s%s", p, code, out, errOut)
		}
	}
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, []byte(strings.Replace(out, `"U-bob"`, `"U-eve"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "audit", "evidence", ids(id), "--config", cfg, "--verify", tampered)
	if code != exitFailed || !strings.Contains(errOut, "does not match delivery") || !strings.Contains(errOut, hexSum) {
		t.Errorf("--verify of a changed copy: exit %d, %s", code, errOut)
	}
	// Another delivery's pack is not this one's.
	code, _, errOut = runCLI(t, "audit", "evidence", ids(id+1), "--config", cfg, "--verify", jsonPath)
	if code != exitFailed {
		t.Errorf("--verify against another delivery: exit %d, %s", code, errOut)
	}
}

func TestAuditEvidenceRefusals(t *testing.T) {
	cfg, _, _ := evidenceDB(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown delivery", []string{"99"}, exitFailed, "delivery 99 not found"},
		{"not a number", []string{"abc"}, exitUsage, `delivery id "abc" is not a positive number`},
		{"zero", []string{"0"}, exitUsage, "not a positive number"},
		{"unknown extension", []string{"1", "--output", filepath.Join(dir, "report.pdf")}, exitUsage, "name it .json or .html"},
		{"output and verify", []string{"1", "--output", filepath.Join(dir, "r.json"), "--verify", filepath.Join(dir, "r.json")}, exitUsage, "--output and --verify"},
		{"verify a missing file", []string{"1", "--verify", filepath.Join(dir, "none.json")}, exitUsage, "no such file"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, append([]string{"audit", "evidence", "--config", cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d saying %q", tt.name, code, out, errOut, tt.code, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command wrote %d files", len(entries))
	}
}
