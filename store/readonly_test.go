package store

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"
)

// dirEntries lists the names in dir, sorted.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A mistyped path is an error, and neither the file nor its folder appears.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "shipgate.db"), filepath.Join(dir, "data", "shipgate.db")} {
		r, err := OpenReadOnly(t.Context(), path)
		if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), path) {
			t.Errorf("OpenReadOnly(%s) = %v, %v; want ErrNoDatabase naming the path", path, r, err)
		}
	}
	if got := dirEntries(t, dir); len(got) != 0 {
		t.Errorf("OpenReadOnly created %v", got)
	}
	if _, err := OpenReadOnly(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("OpenReadOnly of a directory = %v", err)
	}
}

// A database written by Open reads back through OpenReadOnly, which refuses writes and leaves the
// schema as it found it.
func TestOpenReadOnlyReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx *Tx) error {
		return tx.AppendAudit(t.Context(), &AuditEntry{Actor: "U1", Platform: "slack", Action: "command.deliver", Allowed: true})
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	entries, err := r.ListAudit(t.Context(), AuditQuery{})
	if err != nil || len(entries) != 1 || entries[0].Actor != "U1" {
		t.Fatalf("ListAudit = %v, %v; want U1's entry", entries, err)
	}
	_, err = r.db.ExecContext(t.Context(), `INSERT INTO audit_log (at, actor, action, allowed) VALUES (1, 'mallory', 'delivery.trigger', 1)`)
	if code := sqliteCode(err) & 0xff; code != sqlite3.SQLITE_READONLY {
		t.Errorf("insert through the reader: %v (code %d), want SQLITE_READONLY", err, code)
	}
}

// OpenReadOnly migrates nothing: a database that is not shipgate's, or whose schema is older or newer
// than this build's, is refused with what to do, and its schema version is left as it was.
func TestOpenReadOnlyRefusesOtherSchemas(t *testing.T) {
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		version int
		wantErr error
		want    string
	}{
		{"not shipgate's", 0, nil, "not a shipgate database"},
		{"older", len(ms) - 1, ErrSchemaTooOld, "start this shipgate's serve on it once"},
		{"newer", len(ms) + 1, ErrSchemaTooNew, "upgrade shipgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			db, err := sql.Open("sqlite", dsn(path))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(t.Context(), fmt.Sprintf("CREATE TABLE t (x); PRAGMA user_version = %d", tt.version)); err != nil {
				t.Fatal(err)
			}
			_, err = OpenReadOnly(t.Context(), path)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenReadOnly = %v; want %v saying %q", err, tt.wantErr, tt.want)
			}
			if v, err := schemaVersion(t.Context(), db); err != nil || v != tt.version {
				t.Errorf("schema version after OpenReadOnly = %d, %v; want %d", v, err, tt.version)
			}
		})
	}
}
