package store

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound is returned when the row asked for, or the row a new one must belong to, does not exist.
	ErrNotFound = errors.New("not found")

	// ErrConflict is returned when a write would break a uniqueness rule: a second vote by the same person,
	// a task triggered twice at the same position, a decision on an approval that is already decided.
	ErrConflict = errors.New("conflict")

	// ErrSchemaTooNew is returned by Open when the database was migrated by a newer shipgate than this one.
	// Running an old binary against it could write rows the newer schema no longer expects.
	ErrSchemaTooNew = errors.New("database schema is newer than this shipgate")
)

// classify turns driver errors that callers branch on into the package's sentinel errors, keeping the
// original in the chain for logs.
func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// sqliteCode returns the extended SQLite result code carried by err, or 0 when err did not come from SQLite.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}
