package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

var (
	// ErrNoDatabase is returned by OpenReadOnly when there is no database file at the path: a command that
	// only reads must not create one, which would hide a mistyped path behind an empty result.
	ErrNoDatabase = errors.New("no database file there")

	// ErrSchemaTooOld is returned by OpenReadOnly when the database has migrations this shipgate would
	// apply: its queries are written for the newest schema, and a read-only open does not migrate.
	ErrSchemaTooOld = errors.New("database schema is older than this shipgate")
)

// Reader is a database opened with OpenReadOnly: the store's read methods, and no way to write.
type Reader struct {
	queries

	path  string
	db    *sql.DB
	stmts *stmtCache
}

// OpenReadOnly opens the existing database at path for reading only, for commands that export or inspect
// it while serve may be running. Unlike Open it creates nothing, neither the file nor its folder, and
// applies no migration: it fails with ErrNoDatabase when there is no file, with an error when the file
// is not a shipgate database, and with ErrSchemaTooNew or ErrSchemaTooOld when its schema is not the one
// this shipgate reads.
func OpenReadOnly(ctx context.Context, path string) (*Reader, error) {
	r, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return r, nil
}

func openReadOnly(ctx context.Context, path string) (_ *Reader, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrNoDatabase
	case err != nil:
		return nil, err
	case info.IsDir():
		return nil, errors.New("it is a directory, not a database file")
	}
	// mode=ro opens the file without SQLITE_OPEN_CREATE, so that even a file removed since the check
	// above is not created again; query_only refuses writes on top of that. As any reader of a WAL
	// database, SQLite may leave the -wal and -shm files beside it, which serve opens as its own.
	db, err := sql.Open("sqlite", dsn(abs, "mode=ro", "_pragma=busy_timeout(5000)", "_pragma=query_only(1)"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = db.Close() // the open error is the one worth reporting
		}
	}()
	db.SetMaxOpenConns(readConns)
	db.SetMaxIdleConns(readConns)
	version, err := schemaVersion(ctx, db)
	if err != nil {
		return nil, err
	}
	ms, err := loadMigrations(migrations)
	if err != nil {
		return nil, err
	}
	switch {
	case version == 0:
		return nil, errors.New("not a shipgate database (schema version 0)")
	case version > len(ms):
		return nil, fmt.Errorf("%w: version %d, this build knows up to %d; upgrade shipgate", ErrSchemaTooNew, version, len(ms))
	case version < len(ms):
		return nil, fmt.Errorf("%w: version %d, this build reads %d; start this shipgate's serve on it once, which migrates it", ErrSchemaTooOld, version, len(ms))
	}
	r := &Reader{path: path, db: db, stmts: newStmtCache(db)}
	r.queries = queries{q: cachedQuerier{cache: r.stmts}}
	return r, nil
}

// Close closes the database. Callers must not use the reader afterwards.
func (r *Reader) Close() error {
	if err := errors.Join(r.stmts.close(), r.db.Close()); err != nil {
		return fmt.Errorf("close store %s: %w", r.path, err)
	}
	return nil
}
