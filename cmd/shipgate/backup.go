package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/store"
)

// Backups written into a directory are named after the time they began, in UTC, so that names sort
// oldest first and tell when each was taken: shipgate-20260314T092653Z.db.
const (
	backupPrefix     = "shipgate-"
	backupTimeLayout = "20060102T150405Z"
	backupSuffix     = ".db"
)

var backupName = regexp.MustCompile(`^shipgate-\d{8}T\d{6}Z\.db$`)

// Scheduled backups: not more often than minEvery (names have one-second precision, and more often is
// Litestream's job), and a failed backup is tried again after retryAfter rather than a whole interval.
const (
	minEvery   = time.Minute
	retryAfter = time.Minute
)

func newBackupCmd() *cobra.Command {
	var (
		configPath string
		database   string
		job        backupJob
	)
	cmd := &cobra.Command{
		Use:   "backup --to PATH [--config shipgate.yaml | --database FILE] [--every DURATION] [--keep N]",
		Short: "Copy the database, consistently, while serve runs",
		Long: `Backup writes a consistent copy of the SQLite database that shipgate.yaml names (or the default
one, or --database) to --to, while shipgate serve goes on reading and writing it. It never writes to
the database, never migrates it, and never keeps the writer waiting: the copy is one read transaction
(SQLite's VACUUM INTO), which in WAL mode runs beside the writer.

The copy is written to a temporary file beside the destination, synced to disk and verified (SQLite's
integrity_check, and the schema version must be the database's) before it is renamed into place, so
--to holds either the previous file or a complete, verified backup. On success backup prints one line
(the file, its size and how long it took); on failure it says which file and why, and exits 1.

--to is a file, or an existing directory: the backup is then named shipgate-YYYYMMDDTHHMMSSZ.db after
the time it began (UTC). With a directory:
  --keep N        after each backup, delete all but the newest N shipgate-*.db files there (other
                  files are never touched); 0 keeps them all.
  --every D       keep running, one backup every D (at least 1m) counted from the newest backup in the
                  directory, so restarts do not take extra ones; a failed backup is retried a minute
                  later. Stops on SIGINT or SIGTERM. For a sidecar in an image with no shell or cron.

To restore: stop shipgate, remove the database's -wal and -shm files, copy the backup over the
database file, and start shipgate (see README, "Backups").`,
		Example: `  shipgate backup --config shipgate.yaml --to /backups/shipgate.db
  shipgate backup --config shipgate.yaml --to /backups/            # /backups/shipgate-20260314T092653Z.db
  shipgate backup --database /data/shipgate.db --to /backups --every 24h --keep 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errOut := cmd.ErrOrStderr()
			job.out, job.errOut = cmd.OutOrStdout(), errOut
			if code := job.checkFlags(cmd); code != exitOK {
				return exitError{code}
			}
			if database != "" {
				job.src = database
			} else {
				cfg, err := loadServeConfig(configPath, errOut)
				if err != nil {
					return err
				}
				job.src = cfg.Database
			}
			// A backup stopped by a signal removes its unfinished copy before the process exits.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if job.every == 0 {
				if _, err := job.once(ctx, time.Now()); err != nil {
					fmt.Fprintf(errOut, "shipgate backup: %v\n", err)
					return exitError{exitFailed}
				}
				return nil
			}
			if err := job.loop(ctx); err != nil {
				fmt.Fprintf(errOut, "shipgate backup: %v\n", err)
				return exitError{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml whose database to back up (default: built-in defaults, ./shipgate.db)")
	cmd.Flags().StringVar(&database, "database", "", "the database file to back up, instead of reading shipgate.yaml (which may need secrets in the environment)")
	cmd.Flags().StringVar(&job.to, "to", "", "the backup file, or an existing directory to write shipgate-YYYYMMDDTHHMMSSZ.db into (required)")
	cmd.Flags().DurationVar(&job.every, "every", 0, "keep running and back up at this interval, such as 6h (needs --to DIRECTORY)")
	cmd.Flags().IntVar(&job.keep, "keep", 0, "keep only the newest N backups in the --to directory; 0 keeps all")
	cmd.MarkFlagsMutuallyExclusive("config", "database")
	return cmd
}

// backupJob is one `shipgate backup`: where from, where to, and how often.
type backupJob struct {
	src   string
	to    string
	every time.Duration
	keep  int

	out, errOut io.Writer
}

// checkFlags reports flag combinations that cannot work and returns the exit code, exitOK when none.
func (j *backupJob) checkFlags(cmd *cobra.Command) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(j.errOut, "shipgate backup: "+format+"\n", args...)
		return exitUsage
	}
	switch {
	case j.to == "":
		return fail("--to is required: the backup file, or a directory to write it into")
	case j.keep < 0:
		return fail("--keep %d: want 0 (keep every backup) or more", j.keep)
	case cmd.Flags().Changed("every") && j.every < minEvery:
		return fail("--every %s: want %s or longer", j.every, minEvery)
	}
	if (j.every > 0 || j.keep > 0) && !isDir(j.to) {
		flag := "--keep"
		if j.every > 0 {
			flag = "--every"
		}
		fmt.Fprintf(j.errOut, "shipgate backup: %s needs --to to be an existing directory; %s is not one\n", flag, j.to)
		return exitFailed
	}
	return exitOK
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// once takes one backup, begun at now, then applies --keep, and prints what it did. It returns the
// backup when one was written, even if deleting older ones then failed.
func (j *backupJob) once(ctx context.Context, now time.Time) (*store.BackupResult, error) {
	dst := j.to
	dir := isDir(j.to)
	switch {
	case dir:
		dst = filepath.Join(j.to, backupPrefix+now.UTC().Format(backupTimeLayout)+backupSuffix)
	case strings.HasSuffix(j.to, "/") || strings.HasSuffix(j.to, string(filepath.Separator)):
		// Meant as a directory: do not write a file named like it into its parent.
		return nil, fmt.Errorf("back up %s to %s: directory %s does not exist", j.src, j.to, j.to)
	}
	res, err := store.BackupFile(ctx, j.src, dst)
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf("backed up %s to %s: %s in %s", j.src, res.Path, formatBytes(res.Size), res.Duration.Round(time.Millisecond))
	if dir && j.keep > 0 {
		removed, err := pruneBackups(j.to, j.keep, j.src)
		if len(removed) > 0 {
			line += fmt.Sprintf("; removed %s", plural(len(removed), "older backup"))
		}
		if err != nil {
			fmt.Fprintln(j.out, line)
			return res, fmt.Errorf("keep the newest %d backups: %w", j.keep, err)
		}
	}
	fmt.Fprintln(j.out, line)
	return res, nil
}

// loop backs up every j.every until ctx ends. The first backup is due j.every after the newest one
// already in the directory, so a restarted pod neither takes an extra backup nor, with --keep, rotates
// good old backups out. A failed backup is reported and tried again after retryAfter; only a
// destination that is not a directory stops the loop.
func (j *backupJob) loop(ctx context.Context) error {
	removeStaleTemporaries(j.to, j.errOut)
	next := time.Now()
	// A newest backup from the future (a clock that was wrong) must not hold the schedule up.
	if last, ok := newestBackup(j.to); ok && !last.After(next) {
		next = last.Add(j.every)
	}
	keeping := "keeping every backup"
	if j.keep > 0 {
		keeping = "keeping the newest " + plural(j.keep, "backup")
	}
	fmt.Fprintf(j.errOut, "shipgate backup: backing up %s into %s every %s, %s; next at %s\n",
		j.src, j.to, j.every, keeping, next.UTC().Format(time.RFC3339))
	for {
		wait := time.Until(next)
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if !isDir(j.to) {
			return fmt.Errorf("--to %s is no longer a directory", j.to)
		}
		began := time.Now()
		res, err := j.once(ctx, began)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil // stopped midway; the unfinished copy was removed
		case err != nil && res == nil:
			next = time.Now().Add(retryAfter)
			fmt.Fprintf(j.errOut, "shipgate backup: %v; trying again at %s\n", err, next.UTC().Format(time.RFC3339))
			continue
		case err != nil:
			// The backup is there; only deleting old ones failed, which a backup a minute would not mend.
			fmt.Fprintf(j.errOut, "shipgate backup: %v\n", err)
		}
		next = began.Add(j.every)
		for !next.After(time.Now()) { // a backup that took longer than the interval
			next = next.Add(j.every)
		}
	}
}

// listBackups returns the names of the backups in dir, oldest first, and when each began.
func listBackups(dir string) ([]string, []time.Time, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var times []time.Time
	for _, e := range entries {
		if !e.Type().IsRegular() || !backupName.MatchString(e.Name()) {
			continue
		}
		at, err := time.Parse(backupTimeLayout, strings.TrimSuffix(strings.TrimPrefix(e.Name(), backupPrefix), backupSuffix))
		if err != nil {
			continue // shaped like a backup's name, but not a time: not ours
		}
		names = append(names, e.Name())
		times = append(times, at)
	}
	// ReadDir sorts by name, and the layout sorts in time order.
	return names, times, nil
}

func newestBackup(dir string) (time.Time, bool) {
	_, times, err := listBackups(dir)
	if err != nil || len(times) == 0 {
		return time.Time{}, false
	}
	return times[len(times)-1], true
}

// pruneBackups deletes all but the newest keep backups in dir and returns the names it deleted. Only
// files named as `shipgate backup` names them are considered, and never the database itself, src,
// however it is named.
func pruneBackups(dir string, keep int, src string) ([]string, error) {
	names, _, err := listBackups(dir)
	if err != nil || len(names) <= keep {
		return nil, err
	}
	srcInfo, _ := os.Stat(src)
	var removed []string
	var errs []error
	for _, name := range names[:len(names)-keep] {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && srcInfo != nil && os.SameFile(fi, srcInfo) {
			continue
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// removeStaleTemporaries deletes unfinished copies that a killed backup (an OOM kill, a node failure)
// left in dir. Only the scheduled loop does this, at start: it owns the directory, whereas a one-off
// backup could be racing another one.
func removeStaleTemporaries(dir string, errOut io.Writer) {
	stale, _ := store.UnfinishedBackups(dir, backupPrefix)
	for _, path := range stale {
		if err := os.Remove(path); err == nil {
			fmt.Fprintf(errOut, "shipgate backup: removed %s, left by an interrupted backup\n", path)
		}
	}
}

// formatBytes prints a size the way people read it: 104.9 MB, 812.0 kB, 512 B.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
