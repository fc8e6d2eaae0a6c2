package store

import (
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReopenAppliesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.db")
	for range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		s.Close()
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	applied, err := migrate(t.Context(), s.writer, migrations, slog.New(slog.DiscardHandler))
	if err != nil || applied != 0 {
		t.Errorf("migrate on an up-to-date database = %d, %v; want 0, nil", applied, err)
	}
	want, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	got, err := schemaVersion(t.Context(), s.writer)
	if err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Errorf("user_version = %d, want %d (one per migration file)", got, len(want))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.ExecContext(t.Context(), "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(t.Context(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a database from a newer shipgate: got %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, "version 999", "upgrade shipgate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	tests := []struct {
		name    string
		fsys    fs.FS
		want    []string // names in the order they apply
		wantErr string
	}{
		{
			name: "ordered by number",
			fsys: fstest.MapFS{
				"migrations/0002_votes.sql": file("CREATE TABLE b (x);"),
				"migrations/0001_init.sql":  file("CREATE TABLE a (x);"),
				"migrations/README.md":      file("not a migration"),
			},
			want: []string{"0001_init.sql", "0002_votes.sql"},
		},
		{
			name:    "gap",
			fsys:    fstest.MapFS{"migrations/0001_init.sql": file(""), "migrations/0003_late.sql": file("")},
			wantErr: "migration 0003_late.sql: expected number 2",
		},
		{
			name:    "same number twice",
			fsys:    fstest.MapFS{"migrations/0001_init.sql": file(""), "migrations/0001_other.sql": file("")},
			wantErr: "expected number 2",
		},
		{
			name:    "no number",
			fsys:    fstest.MapFS{"migrations/init.sql": file("")},
			wantErr: "migration init.sql: name must be NNNN_description.sql",
		},
		{
			name: "embedded files",
			fsys: migrations,
			want: []string{"0001_init.sql", "0002_process_groups_and_write_probe.sql", "0003_queued_runs.sql", "0004_unused_event_indexes.sql", "0005_stage_history.sql", "0006_read_paths.sql", "0007_append_only_tables_without_autoincrement.sql", "0008_web_messages.sql", "0009_approval_evidence.sql", "0010_approval_ladder.sql", "0011_approval_changes.sql", "0012_sequence_freezes.sql"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, m := range ms {
				if m.version != i+1 {
					t.Errorf("%s has version %d, want %d", m.name, m.version, i+1)
				}
				got = append(got, m.name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db"), "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte("CREATE TABLE a (x);")},
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x); INSERT INTO no_such_table VALUES (1);")},
	}
	applied, err := migrate(t.Context(), db, fsys, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "migration 0002_b.sql") {
		t.Fatalf("migrate: got %v, want an error naming 0002_b.sql", err)
	}
	if applied != 1 {
		t.Errorf("applied = %d, want 1", applied)
	}
	if v, _ := schemaVersion(t.Context(), db); v != 1 {
		t.Errorf("user_version = %d, want 1: the failed migration must not be recorded", v)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_schema WHERE name = 'b'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table b exists: the failed migration was partly applied")
	}
}

// Migration 0007 rebuilds events and audit_log without AUTOINCREMENT: what they hold is kept, ids go on
// from the largest, and both stay append-only.
func TestAppendOnlyTablesRebuiltWithTheirRows(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shipgate.db")
	db, err := sql.Open("sqlite", dsn(path, "_pragma=foreign_keys(1)"))
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() < "0007" {
			body, err := fs.ReadFile(migrations, "migrations/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			before["migrations/"+e.Name()] = &fstest.MapFile{Data: body}
		}
	}
	if _, err := migrate(ctx, db, before, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO deliveries (keptn_context, project, service, stage, sequence, state, created_at, updated_at)
			VALUES ('c1', 'fulltour', 'helloservice', 'qa', 'delivery', 'triggered', 1, 1)`,
		`INSERT INTO events (id, delivery_id, type, time, data) VALUES ('e1', 1, 'sh.keptn.event.qa.delivery.triggered', 1, '{"a":1}')`,
		`INSERT INTO events (id, delivery_id, type, time) VALUES ('e2', 1, 'sh.keptn.event.deployment.triggered', 2)`,
		`INSERT INTO audit_log (at, actor, action, target, allowed) VALUES (1, 'U1', 'delivery.trigger', 'delivery:1', 1)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.ListEvents(ctx, 1)
	if err != nil || len(evs) != 2 || evs[0].ID != "e1" || evs[0].Seq != 1 || string(evs[0].Data) != `{"a":1}` || evs[1].Seq != 2 {
		t.Fatalf("events after the rebuild: %+v (%v)", evs, err)
	}
	var e *Event
	update(t, s, func(tx *Tx) error {
		e = &Event{DeliveryID: 1, Type: "sh.keptn.event.deployment.started"}
		return tx.AppendEvent(ctx, e)
	})
	if e.Seq != 3 {
		t.Errorf("a new event's seq is %d, want 3", e.Seq)
	}
	audit, err := s.ListAudit(ctx, AuditQuery{Target: "delivery:1"})
	if err != nil || len(audit) != 1 || audit[0].ID != 1 || audit[0].Actor != "U1" {
		t.Fatalf("audit after the rebuild: %+v (%v)", audit, err)
	}
	for _, stmt := range []string{"UPDATE events SET type = 'x'", "DELETE FROM events", "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"} {
		err := s.Update(ctx, func(tx *Tx) error { _, err := tx.q.ExecContext(ctx, stmt); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused as append-only", stmt, err)
		}
	}
	var autoincrement int
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%'").Scan(&autoincrement); err != nil || autoincrement != 0 {
		t.Errorf("%d tables still AUTOINCREMENT (%v)", autoincrement, err)
	}
}
