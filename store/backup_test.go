package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fillHistory adds n finished deliveries straight through SQL, each with eight Keptn events carrying
// about 800 bytes of data and four audit entries: about 10 KB a delivery, the shape of a database that
// has run for a while. It is quick because it is a handful of INSERT ... SELECT statements in one
// transaction, not n trips through the engine.
func fillHistory(tb testing.TB, s *Store, n int) {
	tb.Helper()
	const base = 1_700_000_000_000 // unix milliseconds
	stmts := []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
		INSERT INTO deliveries (keptn_context, project, service, image, labels, stage, sequence, actor, source,
			state, result, worst_result, created_at, updated_at, finished_at)
		SELECT 'history-' || i, 'fulltour', 'service-' || (i % 20), 'ghcr.io/podtato-head/podtatoserver:v0.1.' || i,
			json_object('version', 'v0.1.' || i), 'qa', 'delivery', 'U01DEVELOPER', 'api',
			'finished', 'pass', 'pass', ?2 + i * 1000, ?2 + i * 1000, ?2 + i * 1000 + 500
		FROM n`,
		`WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 8)
		INSERT INTO events (id, delivery_id, keptn_context, triggered_id, type, source, time, data)
		SELECT d.keptn_context || '-' || k.j, d.id, d.keptn_context, d.keptn_context || '-1',
			'sh.keptn.event.deployment.finished', 'helm-service', d.created_at + k.j,
			json_object('project', d.project, 'stage', d.stage, 'service', d.service, 'result', 'pass',
				'logs', hex(randomblob(400)))
		FROM deliveries d CROSS JOIN k WHERE d.keptn_context LIKE 'history-%'`,
		`WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 4)
		INSERT INTO audit_log (at, actor, platform, channel, action, target, allowed, reason)
		SELECT d.created_at + k.j, 'U02OPSLEAD', 'slack', 'C0123ABCDEF', 'delivery.status', 'delivery:' || d.id, 1, ''
		FROM deliveries d CROSS JOIN k WHERE d.keptn_context LIKE 'history-%'`,
	}
	err := s.Update(context.Background(), func(tx *Tx) error {
		for _, q := range stmts {
			if _, err := tx.tx.ExecContext(context.Background(), q, n, base); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("fill history: %v", err)
	}
}

// writer commits small transactions in a loop until stopped: each adds one delivery and the audit entry
// of its trigger, so a consistent copy holds as many of one as of the other.
type writer struct {
	commits atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
	err     error
}

func startWriter(s *Store) *writer {
	w := &writer{stop: make(chan struct{})}
	w.done.Go(func() {
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			err := s.Update(ctx, func(tx *Tx) error {
				d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa", Actor: "ci"}
				if err := tx.CreateDelivery(ctx, d); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, &AuditEntry{Actor: "ci", Platform: "api", Action: "delivery.trigger",
					Target: fmt.Sprintf("delivery:%d", d.ID), Allowed: true})
			})
			if err != nil {
				w.err = err
				return
			}
			w.commits.Add(1)
		}
	})
	return w
}

func (w *writer) halt(t *testing.T) {
	t.Helper()
	close(w.stop)
	w.done.Wait()
	if w.err != nil {
		t.Fatalf("writer failed during the backup: %v", w.err)
	}
}

// openCopy opens a backup the way a restore would: a copy of the file under the live name, then Open.
func openCopy(t *testing.T, backup string) *Store {
	t.Helper()
	restored := filepath.Join(t.TempDir(), "shipgate.db")
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), restored)
	if err != nil {
		t.Fatalf("open restored database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func count(t *testing.T, s *Store, table, where string) int {
	t.Helper()
	var n int
	if err := s.reader.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table+" WHERE "+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Writes keep committing while a backup copies the database, and each backup is one consistent
// snapshot: it has every transaction committed before it started, some of those committed during it, and
// never half of one.
func TestBackupWhileWriting(t *testing.T) {
	s, _ := newStore(t)
	const history = 200 // about 2 MB: long enough to copy that the writer commits meanwhile, even under -race
	fillHistory(t, s, history)
	w := startWriter(s)
	dir := t.TempDir()
	duringBackups := int64(0)
	for i := range 2 {
		before := w.commits.Load()
		res, err := s.Backup(t.Context(), filepath.Join(dir, fmt.Sprintf("backup-%d.db", i)))
		after := w.commits.Load()
		if err != nil {
			w.halt(t)
			t.Fatal(err)
		}
		duringBackups += after - before
		t.Logf("backup %d: %d bytes in %v, %d commits meanwhile", i, res.Size, res.Duration, after-before)

		b := openCopy(t, res.Path)
		deliveries := int64(count(t, b, "deliveries", "actor = 'ci'"))
		audits := int64(count(t, b, "audit_log", "action = 'delivery.trigger'"))
		if deliveries != audits {
			t.Errorf("backup %d holds %d deliveries but %d trigger audits: not one snapshot", i, deliveries, audits)
		}
		// Commits finish just after the counter moves, so the snapshot may hold one more than before.
		if deliveries < before || deliveries > after+1 {
			t.Errorf("backup %d holds %d of the writer's deliveries; %d were committed before it began, %d when it ended", i, deliveries, before, after)
		}
		if n := count(t, b, "events", "1"); n != history*8 {
			t.Errorf("backup %d holds %d events, want %d", i, n, history*8)
		}
	}
	w.halt(t)
	if duringBackups == 0 {
		t.Error("no write committed while backups ran: the backup blocks the writer")
	}
}

// A restore is a copy of the backup put where the database was: deliveries, task runs, approvals and
// votes, audit entries and chat message references come back as they were.
func TestBackupRestore(t *testing.T) {
	s, _ := newStore(t)
	d, r, tr := seedTask(t, s)
	ctx := t.Context()
	var a Approval
	update(t, s, func(tx *Tx) error {
		a = Approval{TaskRunID: tr.ID, Required: 2, Roles: []string{"approver"}}
		if err := tx.CreateApproval(ctx, &a); err != nil {
			return err
		}
		if err := tx.CastVote(ctx, &Vote{ApprovalID: a.ID, Voter: "U02OPSLEAD", Platform: "slack", Decision: DecisionApprove}); err != nil {
			return err
		}
		for _, m := range []*ChatMessage{
			{DeliveryID: d.ID, Platform: "slack", Channel: "C0123ABCDEF", MessageID: "1700000000.000100", Kind: MessageRoot},
			{DeliveryID: d.ID, Platform: "slack", Channel: "C0123ABCDEF", MessageID: "1700000000.000200",
				ThreadID: "1700000000.000100", Kind: MessageApproval, ApprovalID: a.ID},
		} {
			if err := tx.SaveChatMessage(ctx, m); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, &AuditEntry{Actor: "U02OPSLEAD", Platform: "slack", Channel: "C0123ABCDEF",
			Action: "approval.approve", Target: fmt.Sprintf("approval:%d", a.ID), Allowed: true})
	})
	w := startWriter(s) // the backup is taken while the writer is busy
	res, err := s.Backup(ctx, filepath.Join(t.TempDir(), "shipgate-backup.db"))
	w.halt(t)
	if err != nil {
		t.Fatal(err)
	}

	b := openCopy(t, res.Path)
	for _, cmp := range []struct {
		what string
		read func(*Store) (any, error)
	}{
		{"delivery", func(s *Store) (any, error) { return s.GetDelivery(ctx, d.ID) }},
		{"sequence run", func(s *Store) (any, error) { return s.GetSequenceRun(ctx, r.ID) }},
		{"task runs", func(s *Store) (any, error) { return s.ListTaskRuns(ctx, TaskRunQuery{DeliveryID: d.ID}) }},
		{"approval", func(s *Store) (any, error) { return s.GetApproval(ctx, a.ID) }},
		{"votes", func(s *Store) (any, error) { return s.ListVotes(ctx, a.ID) }},
		{"chat messages", func(s *Store) (any, error) { return s.ListChatMessages(ctx, d.ID) }},
		{"audit", func(s *Store) (any, error) {
			return s.ListAudit(ctx, AuditQuery{Target: fmt.Sprintf("approval:%d", a.ID)})
		}},
	} {
		want, err := cmp.read(s)
		if err != nil {
			t.Fatalf("%s in the original: %v", cmp.what, err)
		}
		got, err := cmp.read(b)
		if err != nil {
			t.Fatalf("%s in the restored database: %v", cmp.what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs after restore:\n got %+v\nwant %+v", cmp.what, got, want)
		}
	}
	if v, err := schemaVersion(ctx, b.writer); err != nil || v != len(mustMigrations(t)) {
		t.Errorf("restored schema version %d (%v), want %d", v, err, len(mustMigrations(t)))
	}
	// The restored database takes writes again, in WAL mode.
	if err := b.checkWriter(ctx); err != nil {
		t.Error(err)
	}
	update(t, b, func(tx *Tx) error {
		return tx.CastVote(ctx, &Vote{ApprovalID: a.ID, Voter: "U03SRE", Decision: DecisionApprove})
	})
}

func mustMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// A backup reads the database and writes nothing to it, whether shipgate has it open or not.
func TestBackupLeavesDatabaseAlone(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "shipgate.db")
	s, err := Open(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	seedDelivery(t, s)
	if err := s.Close(); err != nil { // checkpoints and removes the -wal file
		t.Fatal(err)
	}
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(src)
	res, err := BackupFile(t.Context(), src, filepath.Join(t.TempDir(), "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(orig, after) {
		t.Error("the backup changed the database file")
	}
	if info2, _ := os.Stat(src); !info2.ModTime().Equal(info.ModTime()) {
		t.Error("the backup touched the database file")
	}
	if res.SchemaVersion != len(mustMigrations(t)) || res.Size == 0 {
		t.Errorf("result %+v", res)
	}
	// The copy is one file, not a WAL database that needs its -wal file.
	copyData, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if copyData[18] != 1 || copyData[19] != 1 {
		t.Errorf("copy's header says file format %d/%d, want 1/1 (rollback journal)", copyData[18], copyData[19])
	}
	entries, _ := os.ReadDir(filepath.Dir(res.Path))
	if len(entries) != 1 {
		t.Errorf("backup directory holds %v, want only the copy", names(entries))
	}
	// A reader of a WAL database creates empty -wal and -shm files when they are missing, as shipgate
	// would on its next start; nothing is written into them.
	if fi, err := os.Stat(src + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("the backup wrote %d bytes of WAL", fi.Size())
	}
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A backup that cannot be made says which file and why, and leaves nothing behind: no partial file at
// the destination, no temporary file beside it.
func TestBackupRefuses(t *testing.T) {
	s, _ := newStore(t)
	seedDelivery(t, s)
	live := s.path
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database\n"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	emptyDB, err := sql.Open("sqlite", dsn(empty))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emptyDB.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	emptyDB.Close()
	out := t.TempDir()
	// The database's directory under another name.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(live), link); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	for _, tc := range []struct {
		name     string
		ctx      context.Context
		src, dst string
		want     string
	}{
		{"onto the database", nil, live, live, "is the database itself"},
		{"onto the database by another name", nil, live, filepath.Join(link, "shipgate.db"), "is the database itself"},
		{"onto its WAL", nil, live, live + "-wal", "one of its files"},
		{"onto its shared memory by another name", nil, live, filepath.Join(link, "shipgate.db-shm"), "one of its files"},
		{"missing directory", nil, live, filepath.Join(out, "nope", "b.db"), "backup directory: stat " + filepath.Join(out, "nope") + ": no such file or directory"},
		{"directory as file", nil, live, out, "is a directory"},
		{"missing database", nil, filepath.Join(dir, "missing.db"), filepath.Join(out, "b.db"), "database: stat " + filepath.Join(dir, "missing.db") + ": no such file"},
		{"not a database", nil, notDB, filepath.Join(out, "b.db"), "file is not a database"},
		{"not a shipgate database", nil, empty, filepath.Join(out, "b.db"), "is not a shipgate database"},
		{"cancelled", cancelled, live, filepath.Join(out, "b.db"), "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			_, err := BackupFile(ctx, tc.src, tc.dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("back up %s to %s: ", tc.src, tc.dst)) {
				t.Errorf("error %q does not name both files", err)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("left behind: %v", names(entries))
			}
		})
	}
	if got := count(t, s, "deliveries", "1"); got != 1 {
		t.Errorf("the live database has %d deliveries after the refusals", got)
	}

	t.Run("directory not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes to any directory")
		}
		ro := t.TempDir()
		if err := os.Chmod(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		_, err := BackupFile(t.Context(), live, filepath.Join(ro, "b.db"))
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "create temporary file") {
			t.Errorf("error %v, want permission denied creating the file", err)
		}
	})
}

// A backup replaces an older one at the same path in one step.
func TestBackupReplacesOlderBackup(t *testing.T) {
	s, _ := newStore(t)
	seedDelivery(t, s)
	dst := filepath.Join(t.TempDir(), "latest.db")
	if _, err := s.Backup(t.Context(), dst); err != nil {
		t.Fatal(err)
	}
	seedDelivery(t, s)
	if _, err := s.Backup(t.Context(), dst); err != nil {
		t.Fatal(err)
	}
	if n := count(t, openCopy(t, dst), "deliveries", "1"); n != 2 {
		t.Errorf("the newer backup has %d deliveries, want 2", n)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dst)); len(entries) != 1 {
		t.Errorf("backup directory holds %v", names(entries))
	}
}
