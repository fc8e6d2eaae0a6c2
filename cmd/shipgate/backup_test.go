package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

// liveDatabase creates dir/shipgate.db with one delivery and dir/shipgate.yaml naming it, and keeps the
// store open, as serve would, until the test ends.
func liveDatabase(t *testing.T) (dir, cfg string, st *store.Store) {
	t.Helper()
	dir = t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	addDelivery(t, st)
	cfg = filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfg, []byte("database: shipgate.db\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfg, st
}

func addDelivery(t *testing.T, st *store.Store) {
	t.Helper()
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.CreateDelivery(context.Background(), &store.Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliveriesIn opens a copy of a backup, as a restore would, and counts its deliveries.
func deliveriesIn(t *testing.T, backup string) int {
	t.Helper()
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "shipgate.db")
	if err := os.WriteFile(restored, data, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), restored)
	if err != nil {
		t.Fatalf("open the restored backup: %v", err)
	}
	defer st.Close()
	ds, err := st.ListDeliveries(context.Background(), store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

var backupLineRE = regexp.MustCompile(`^backed up \S+shipgate\.db to (\S+): [0-9.]+ [kM]?B in [0-9.]+m?s\n$`)

// One backup of the database serve has open: one line on stdout, a file that restores.
func TestBackup(t *testing.T) {
	dir, cfg, _ := liveDatabase(t)
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string // the backup's path; "" for a timestamped name in out
	}{
		{"to a file", []string{"--config", cfg, "--to", filepath.Join(out, "latest.db")}, filepath.Join(out, "latest.db")},
		{"into a directory", []string{"--config", cfg, "--to", out}, ""},
		{"database named", []string{"--database", filepath.Join(dir, "shipgate.db"), "--to", filepath.Join(out, "direct.db")}, filepath.Join(out, "direct.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"backup"}, tc.args...)...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			m := backupLineRE.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("stdout %q, want one line naming the backup, its size and duration", stdout)
			}
			if tc.want == "" {
				if filepath.Dir(m[1]) != out || !backupName.MatchString(filepath.Base(m[1])) {
					t.Errorf("backup written to %s, want shipgate-YYYYMMDDTHHMMSSZ.db in %s", m[1], out)
				}
			} else if m[1] != tc.want {
				t.Errorf("backup written to %s, want %s", m[1], tc.want)
			}
			if n := deliveriesIn(t, m[1]); n != 1 {
				t.Errorf("the backup holds %d deliveries, want 1", n)
			}
		})
	}

	t.Run("default database", func(t *testing.T) {
		t.Chdir(dir) // the built-in defaults name ./shipgate.db
		dst := filepath.Join(out, "default.db")
		if code, _, stderr := runCLI(t, "backup", "--to", dst); code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if n := deliveriesIn(t, dst); n != 1 {
			t.Errorf("the backup holds %d deliveries, want 1", n)
		}
	})
}

// What cannot work is refused before anything is written, with the file and the reason; the exit
// status says whether the command line (2) or the backup (1) was wrong.
func TestBackupRefuses(t *testing.T) {
	dir, cfg, _ := liveDatabase(t)
	out := t.TempDir()
	live := filepath.Join(dir, "shipgate.db")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no destination", []string{"--config", cfg}, exitUsage, "--to is required"},
		{"config and database", []string{"--config", cfg, "--database", live, "--to", out}, exitUsage, "[config database] were all set"},
		{"too often", []string{"--config", cfg, "--to", out, "--every", "30s"}, exitUsage, "--every 30s: want 1m0s or longer"},
		{"negative keep", []string{"--config", cfg, "--to", out, "--keep", "-1"}, exitUsage, "--keep -1"},
		{"every into a file", []string{"--config", cfg, "--to", filepath.Join(out, "b.db"), "--every", "1h"}, exitFailed,
			"--every needs --to to be an existing directory; " + filepath.Join(out, "b.db") + " is not one"},
		{"keep with a file", []string{"--config", cfg, "--to", filepath.Join(out, "b.db"), "--keep", "3"}, exitFailed, "--keep needs --to to be an existing directory"},
		{"missing directory", []string{"--config", cfg, "--to", filepath.Join(out, "nope", "b.db")}, exitFailed,
			"shipgate backup: back up " + live + " to " + filepath.Join(out, "nope", "b.db") + ": backup directory: stat " + filepath.Join(out, "nope") + ": no such file or directory\n"},
		{"missing directory, trailing slash", []string{"--config", cfg, "--to", filepath.Join(out, "nope") + "/"}, exitFailed, "directory " + filepath.Join(out, "nope") + "/ does not exist"},
		{"onto the database", []string{"--config", cfg, "--to", live}, exitFailed, "is the database itself"},
		{"missing database", []string{"--database", filepath.Join(dir, "other.db"), "--to", out}, exitFailed, "database: stat " + filepath.Join(dir, "other.db") + ": no such file or directory"},
		{"invalid config", []string{"--config", filepath.Join(dir, "missing.yaml"), "--to", out}, exitFailed, "missing.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"backup"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q after a failure", stdout)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("left in the backup directory: %v", entries)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "other.db")); !os.IsNotExist(err) {
		t.Error("backing up a missing database created it")
	}
}

// --every keeps a schedule counted from the newest backup in the directory, so a restart takes no
// extra backup; --keep deletes the oldest backups and nothing else; a failure is retried a minute later.
func TestBackupEvery(t *testing.T) {
	dir, _, st := liveDatabase(t)
	src := filepath.Join(dir, "shipgate.db")
	st.Close() // so that the bubble below owns every goroutine that touches the database
	out := t.TempDir()
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(out, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// synctest's clock starts at 2000-01-01T00:00:00Z. The newest backup was taken an hour before.
	for _, name := range []string{"shipgate-19991229T230000Z.db", "shipgate-19991230T230000Z.db", "shipgate-19991231T230000Z.db",
		"notes.txt", "shipgate-latest.db", ".shipgate-19991231T230000Z.db.tmp-4242"} {
		write(name)
	}
	list := func() []string {
		t.Helper()
		entries, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	synctest.Test(t, func(t *testing.T) {
		stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
		j := &backupJob{src: src, to: out, every: 6 * time.Hour, keep: 3, out: stdout, errOut: stderr}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- j.loop(ctx) }()
		synctest.Wait()
		if !strings.Contains(stderr.String(), "removed "+filepath.Join(out, ".shipgate-19991231T230000Z.db.tmp-4242")) ||
			!strings.Contains(stderr.String(), "every 6h0m0s, keeping the newest 3 backups; next at 2000-01-01T05:00:00Z") {
			t.Errorf("stderr:\n%s", stderr)
		}
		equal := func(what string, want ...string) {
			t.Helper()
			if got := list(); !slices.Equal(got, want) {
				t.Errorf("%s: the directory holds\n %q, want\n %q", what, got, want)
			}
		}
		equal("at start", "notes.txt", "shipgate-19991229T230000Z.db", "shipgate-19991230T230000Z.db", "shipgate-19991231T230000Z.db", "shipgate-latest.db")

		time.Sleep(5*time.Hour - time.Second)
		synctest.Wait()
		equal("before the first is due", "notes.txt", "shipgate-19991229T230000Z.db", "shipgate-19991230T230000Z.db", "shipgate-19991231T230000Z.db", "shipgate-latest.db")
		time.Sleep(time.Second)
		synctest.Wait()
		equal("at 05:00", "notes.txt", "shipgate-19991230T230000Z.db", "shipgate-19991231T230000Z.db", "shipgate-20000101T050000Z.db", "shipgate-latest.db")
		if got := stdout.String(); !strings.Contains(got, "shipgate-20000101T050000Z.db: ") || !strings.HasSuffix(got, "; removed 1 older backup\n") {
			t.Errorf("stdout %q", got)
		}
		if n := deliveriesIn(t, filepath.Join(out, "shipgate-20000101T050000Z.db")); n != 1 {
			t.Errorf("the backup holds %d deliveries", n)
		}

		// The database goes missing at the next one: reported, retried a minute later, nothing deleted.
		if err := os.Rename(src, src+".moved"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Hour)
		synctest.Wait()
		if !strings.Contains(stderr.String(), "no such file or directory; trying again at 2000-01-01T11:01:00Z") {
			t.Errorf("stderr:\n%s", stderr)
		}
		equal("after a failure", "notes.txt", "shipgate-19991230T230000Z.db", "shipgate-19991231T230000Z.db", "shipgate-20000101T050000Z.db", "shipgate-latest.db")
		if err := os.Rename(src+".moved", src); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		equal("after the retry", "notes.txt", "shipgate-19991231T230000Z.db", "shipgate-20000101T050000Z.db", "shipgate-20000101T110100Z.db", "shipgate-latest.db")

		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop ended with %v, want nil on cancel", err)
		}
	})
}

// The scheduled backup as a sidecar runs it: a real process that exits 0 on SIGTERM.
func TestBackupEveryStopsOnSIGTERM(t *testing.T) {
	dir, _, _ := liveDatabase(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "backup", "--database", filepath.Join(dir, "shipgate.db"), "--to", out, "--every", "1h", "--keep", "2")
	cmd.Env = append(os.Environ(), "SHIPGATE_TEST_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !backupLineRE.MatchString(lines.Text()+"\n") {
		t.Fatalf("first line %q, stderr:\n%s", lines.Text(), stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("backup --every did not exit cleanly on SIGTERM: %v\n%s", err, stderr)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 || !backupName.MatchString(entries[0].Name()) {
		t.Errorf("backup directory holds %v", entries)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 104_857_600: "104.9 MB", 5_000_000_000: "5.0 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// --keep never deletes the database, even one named like a backup in the backup directory.
func TestBackupKeepSparesTheDatabase(t *testing.T) {
	dir, _, st := liveDatabase(t)
	st.Close()
	live := filepath.Join(dir, "shipgate-19990101T000000Z.db")
	if err := os.Rename(filepath.Join(dir, "shipgate.db"), live); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	j := &backupJob{src: live, to: dir, keep: 1, out: &out, errOut: &out}
	for i := range 2 {
		if _, err := j.once(t.Context(), time.Date(2026, 3, 14, 2, 0, i, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	if n := deliveriesIn(t, live); n != 1 {
		t.Errorf("the database has %d deliveries", n)
	}
	names, _, err := listBackups(dir)
	if err != nil || len(names) != 2 || names[0] != filepath.Base(live) {
		t.Errorf("backups %v (%v), want the database and the newest backup", names, err)
	}
}

// A backup named in the future, by a clock that was wrong, does not hold the schedule up.
func TestBackupEveryAfterAFutureBackup(t *testing.T) {
	dir, _, st := liveDatabase(t)
	st.Close()
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "shipgate-20990101T000000Z.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
		j := &backupJob{src: filepath.Join(dir, "shipgate.db"), to: out, every: time.Hour, out: stdout, errOut: stderr}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- j.loop(ctx) }()
		synctest.Wait()
		if !strings.Contains(stderr.String(), "keeping every backup; next at 2000-01-01T00:00:00Z") ||
			!strings.Contains(stdout.String(), "shipgate-20000101T000000Z.db") {
			t.Errorf("stdout %q, stderr %q", stdout, stderr)
		}
		cancel()
		<-done
	})
}
