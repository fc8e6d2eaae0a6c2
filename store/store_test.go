package store

import (
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

func TestOpenAppliesPragmas(t *testing.T) {
	s, _ := newStore(t)
	tests := []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer", s.writer, "journal_mode", "wal"},
		{"writer", s.writer, "foreign_keys", "1"},
		{"writer", s.writer, "synchronous", "1"}, // NORMAL
		{"writer", s.writer, "busy_timeout", "5000"},
		{"writer", s.writer, "query_only", "0"},
		{"reader", s.reader, "journal_mode", "wal"},
		{"reader", s.reader, "foreign_keys", "1"},
		{"reader", s.reader, "busy_timeout", "5000"},
		{"reader", s.reader, "query_only", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.pool+"/"+tt.pragma, func(t *testing.T) {
			var got string
			if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestWriterIsOneConnection(t *testing.T) {
	s, _ := newStore(t)
	if got := s.writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", got)
	}
	if got := s.reader.Stats().MaxOpenConnections; got != readConns {
		t.Errorf("reader MaxOpenConnections = %d, want %d", got, readConns)
	}
}

func TestReadPoolRefusesWrites(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.reader.ExecContext(t.Context(),
		`INSERT INTO audit_log (at, actor, action, allowed) VALUES (1, 'mallory', 'delivery.trigger', 1)`)
	if sqliteCode(err)&0xff != sqlite3.SQLITE_READONLY {
		t.Fatalf("insert through the read pool: got %v, want SQLITE_READONLY", err)
	}
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "lib", "shipgate", "shipgate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created: %v", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	// A plain path must not be read as a URI query or fragment.
	path := filepath.Join(t.TempDir(), "ship gate?#%", "shipgate.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created at %s: %v", path, err)
	}
}

func TestOpenErrorNamesThePath(t *testing.T) {
	// A regular file where the directory should be.
	file := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "shipgate.db")
	_, err := Open(t.Context(), path)
	if err == nil || !strings.HasPrefix(err.Error(), "open store "+path+": ") {
		t.Fatalf("Open(%s) error = %v, want it to start with %q", path, err, "open store "+path+": ")
	}
}

func TestPingAndClose(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping of a closed store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWithClockStampsRows(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678_999_999, time.FixedZone("CET", 3600))
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"), WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
	if err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDelivery(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2030, 1, 2, 2, 4, 5, 678_000_000, time.UTC)
	if got.CreatedAt != want || got.UpdatedAt != want {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v, want %v (the clock's time in UTC, to the millisecond)",
			got.CreatedAt, got.UpdatedAt, want)
	}
}

func TestWithLoggerReportsMigrations(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logged.String(), "applied store migration") || !strings.Contains(logged.String(), "0001_init.sql") {
		t.Errorf("log = %q, want the applied migration 0001_init.sql", logged.String())
	}
}

// A database shipgate creates has pageSize pages; one created before, with SQLite's default, keeps its own
// and opens as before.
func TestPageSizeOfNewDatabases(t *testing.T) {
	pageSizeOf := func(s *Store) int {
		t.Helper()
		var n int
		if err := s.reader.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s, _ := newStore(t)
	if got := pageSizeOf(s); got != pageSize {
		t.Errorf("a new database has %d-byte pages, want %d", got, pageSize)
	}

	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(t.Context(), "CREATE TABLE before_shipgate (x)"); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pageSizeOf(s); got != 4096 {
		t.Errorf("an existing database's pages became %d bytes, want its own 4096", got)
	}
	seedDelivery(t, s)
}
