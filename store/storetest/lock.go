// Package storetest helps tests rehearse what other processes do to shipgate's database.
package storetest

import (
	"context"
	"database/sql"
	"testing"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

// HoldWriteLock takes the write lock of the database at path from a connection of its own, as a backup
// tool or sqlite3 run by hand does, and keeps it until release is called or the test ends. Writes by
// shipgate meanwhile wait for their busy timeout and fail with SQLITE_BUSY, "database is locked".
func HoldWriteLock(t testing.TB, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		conn.Close()
		db.Close()
		t.Fatalf("take the write lock of %s: %v", path, err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Errorf("release the write lock of %s: %v", path, err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}
