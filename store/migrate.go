package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
)

// migrations holds the schema history: NNNN_name.sql files numbered from 0001 without gaps. A released
// file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the NNNN_name.sql files under migrations/ in fsys, ordered by number, and checks
// they run 1, 2, 3... so that a missing or duplicated file is caught before anything is applied.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	// Glob returns names in lexical order, which is numeric order for zero-padded numbers.
	var ms []migration
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		if version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", base, i+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: base, sql: string(body)})
	}
	return ms, nil
}

// migrate brings the database up to the newest migration in fsys, each migration in its own transaction
// together with the PRAGMA user_version that records it, so a failed migration leaves no trace. It
// returns how many migrations it applied.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, log *slog.Logger) (int, error) {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	current, err := schemaVersion(ctx, db)
	if err != nil {
		return 0, err
	}
	if current > len(ms) {
		return 0, fmt.Errorf("%w: version %d, this build knows up to %d; upgrade shipgate", ErrSchemaTooNew, current, len(ms))
	}
	applied := 0
	for _, m := range ms[current:] {
		done, err := apply(ctx, db, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if done {
			log.Info("applied store migration", "version", m.version, "name", m.name)
			applied++
		}
	}
	return applied, nil
}

// schemaVersion reads the version recorded by the last applied migration; a new database has 0.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// apply runs one migration unless another process opening the same file got there first: the version is
// read again under the write lock that BEGIN IMMEDIATE takes.
func apply(ctx context.Context, db *sql.DB, m migration) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if !done {
			_ = tx.Rollback() // nothing was written, or the migration error is the one worth reporting
		}
	}()
	current, err := schemaVersion(ctx, tx)
	if err != nil || current >= m.version {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	// PRAGMA takes no bound parameters; the version is an int we parsed, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}
