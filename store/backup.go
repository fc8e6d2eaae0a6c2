package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// backupTempMarker is in the name of every unfinished copy: .NAME.tmp-RANDOM beside NAME.
const backupTempMarker = ".tmp-"

// BackupResult describes a backup that was written and verified.
type BackupResult struct {
	Path          string        // the backup file, absolute
	Size          int64         // its size in bytes
	SchemaVersion int           // the migration it is at (PRAGMA user_version), the same as the source's
	Duration      time.Duration // copying, verifying and renaming
	// Copy is how long the database itself was read, in one read transaction: the part of Duration
	// during which its WAL could not start over and grew with every commit.
	Copy time.Duration
}

// Backup writes a consistent copy of the open database to dst, as [BackupFile] does, while the store
// keeps serving reads and writes. It reads through a connection of its own, so the read pool stays free.
func (s *Store) Backup(ctx context.Context, dst string) (*BackupResult, error) {
	return BackupFile(ctx, s.path, dst)
}

// BackupFile writes a consistent copy of the shipgate database at src to the file dst while another
// process (shipgate serve) may be writing to src. It never writes to src and never migrates it: src is
// opened read-only, so it can also be backed up by an older or newer shipgate.
//
// The copy goes to a temporary file beside dst, is synced to disk and verified (PRAGMA integrity_check,
// and its schema version must match src's), and only then renamed over dst, so dst is either the old
// file or a complete, verified backup, never a partial one. dst's directory must exist; dst may be an
// older backup, but not src itself, a directory, or one of src's -wal, -shm or -journal files.
//
// The backup is a single self-contained file in rollback-journal mode; shipgate switches it back to WAL
// when it opens it after a restore.
func BackupFile(ctx context.Context, src, dst string) (*BackupResult, error) {
	start := time.Now()
	res, err := backupFile(ctx, src, dst)
	if err != nil {
		return nil, fmt.Errorf("back up %s to %s: %w", src, dst, err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

func backupFile(ctx context.Context, src, dst string) (_ *BackupResult, err error) {
	srcAbs, dstAbs, err := checkBackupPaths(src, dst)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(dstAbs)

	// VACUUM INTO, rather than the online backup API (sqlite3_backup_step), because:
	//   - it reads the whole database in one read transaction, a consistent snapshot that in WAL mode
	//     never takes a lock the writer waits for. The backup API copies in steps and restarts from
	//     the first page whenever another connection writes between two steps, so against a busy
	//     writer it may never finish, unless it copies everything in one uninterruptible step;
	//   - it is one SQL statement, cancelled through ctx like any other, with no driver internals;
	//   - the copy is compacted (no free pages), so it is as small as the data.
	// Its cost is CPU: it rebuilds the file rather than copying pages, which BenchmarkBackup measures.
	// SQLite does not fsync the file VACUUM INTO writes; we do, before the rename.
	db, err := sql.Open("sqlite", dsn(srcAbs, "mode=ro", "_pragma=busy_timeout(5000)"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	version, err := schemaVersion(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	if version == 0 {
		return nil, fmt.Errorf("%s is not a shipgate database (schema version 0)", src)
	}

	// VACUUM INTO writes only into a file that does not exist or is empty: CreateTemp makes an empty one
	// with a name nobody else uses, in dst's directory so that the rename cannot cross file systems.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dstAbs)+backupTempMarker+"*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	tmpPath := tmp.Name()
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			removeDatabaseFiles(tmpPath)
		}
	}()
	copyStart := time.Now()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmpPath); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	copied := time.Since(copyStart)
	if err := db.Close(); err != nil {
		return nil, err
	}

	if err := verifyBackup(ctx, tmpPath, version); err != nil {
		return nil, fmt.Errorf("verify the copy: %w", err)
	}
	if err := syncFile(tmpPath); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpPath, dstAbs); err != nil {
		return nil, err
	}
	// The rename is durable once the directory is synced; until then a crash could lose it.
	if err := syncFile(dir); err != nil {
		return nil, fmt.Errorf("sync directory: %w", err)
	}
	fi, err := os.Stat(dstAbs)
	if err != nil {
		return nil, err
	}
	return &BackupResult{Path: dstAbs, Size: fi.Size(), SchemaVersion: version, Copy: copied}, nil
}

// UnfinishedBackups lists the temporary files in dir that backups to files whose names begin with
// prefix left behind because they were killed midway (SIGKILL, an OOM kill, a power cut): a backup that
// fails or is cancelled removes its own. Only a caller that knows no backup into dir is running may
// remove them.
func UnfinishedBackups(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, "."+prefix) && strings.Contains(name, backupTempMarker) {
			out = append(out, filepath.Join(dir, name))
		}
	}
	return out, nil
}

// checkBackupPaths returns src and dst as absolute paths, refusing what would fail late or harm the live
// database: a missing source, a missing destination directory, dst being src or one of its files.
func checkBackupPaths(src, dst string) (srcAbs, dstAbs string, err error) {
	if srcAbs, err = filepath.Abs(src); err != nil {
		return "", "", err
	}
	if dstAbs, err = filepath.Abs(dst); err != nil {
		return "", "", err
	}
	// Read-only, SQLite would not create a missing database, but its "unable to open database file"
	// does not say which file or why.
	sfi, err := os.Stat(srcAbs)
	if err != nil {
		return "", "", fmt.Errorf("database: %w", err)
	}
	if !sfi.Mode().IsRegular() {
		return "", "", fmt.Errorf("database %s is not a regular file", src)
	}
	dir := filepath.Dir(dstAbs)
	dfi, err := os.Stat(dir)
	if err != nil {
		return "", "", fmt.Errorf("backup directory: %w", err)
	}
	if !dfi.IsDir() {
		return "", "", fmt.Errorf("backup directory %s is not a directory", dir)
	}
	if fi, err := os.Stat(dstAbs); err == nil {
		if fi.IsDir() {
			return "", "", fmt.Errorf("%s is a directory", dst)
		}
		if os.SameFile(fi, sfi) {
			return "", "", fmt.Errorf("%s is the database itself", dst)
		}
	}
	// Compare through symbolic links too: /data/db.sqlite-wal may be reached by another name.
	realSrc, err := filepath.EvalSymlinks(srcAbs)
	if err != nil {
		return "", "", err
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", "", err
	}
	realDst := filepath.Join(realDir, filepath.Base(dstAbs))
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if realDst == realSrc+suffix {
			return "", "", fmt.Errorf("%s is the database itself or one of its files", dst)
		}
	}
	return srcAbs, dstAbs, nil
}

// verifyBackup opens the copy at path and checks it is intact and at the given schema version. It also
// leaves it in rollback-journal mode: a copy that says WAL would make every reader of the backup create
// -wal and -shm files beside it.
func verifyBackup(ctx context.Context, path string, version int) error {
	db, err := sql.Open("sqlite", dsn(path, "_pragma=busy_timeout(5000)"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("set journal mode: %w", err)
	}
	// integrity_check rather than quick_check: it also checks that every index matches its table, and
	// VACUUM INTO rebuilt every index. It reads only the copy.
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	got, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if got != version {
		// Only a migration between reading the version and copying could do this: try again.
		return fmt.Errorf("schema version %d, the database's was %d", got, version)
	}
	return db.Close()
}

// syncFile flushes a file, or a directory's entries, to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// removeDatabaseFiles removes an unfinished copy and whatever SQLite left beside it.
func removeDatabaseFiles(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix) // best effort: the error being reported is the one that matters
	}
}
