package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// commit is one write transaction the benchmark's writer made: when it began and how long it took.
type commit struct {
	at   time.Time
	took time.Duration
}

// commitLog commits one audit entry at a time, as fast as it can, until stopped, and records how long
// each Update took: the time the writer was kept waiting, if anything kept it waiting.
type commitLog struct {
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	commits []commit
	err     error
}

func logCommits(s *Store) *commitLog {
	l := &commitLog{stop: make(chan struct{})}
	l.done.Go(func() {
		ctx := context.Background()
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			start := time.Now()
			err := s.Update(ctx, func(tx *Tx) error {
				return tx.AppendAudit(ctx, &AuditEntry{Actor: "U024BE7LH", Platform: "slack", Action: "delivery.status", Target: "delivery:1", Allowed: true})
			})
			if err != nil {
				l.err = err
				return
			}
			l.mu.Lock()
			l.commits = append(l.commits, commit{at: start, took: time.Since(start)})
			l.mu.Unlock()
		}
	})
	return l
}

// between returns how long each commit begun in [from, to) took.
func (l *commitLog) between(from, to time.Time) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, c := range l.commits {
		if !c.at.Before(from) && c.at.Before(to) {
			out = append(out, c.took)
		}
	}
	return out
}

func (l *commitLog) halt(b *testing.B) {
	close(l.stop)
	l.done.Wait()
	if l.err != nil {
		b.Fatal(l.err)
	}
}

func reportLatencies(b *testing.B, prefix string, took []time.Duration) {
	if len(took) == 0 {
		b.Logf("%s: no commit", prefix)
		return
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took[len(took)*99/100]), prefix+"p99-commit-ms")
	b.ReportMetric(ms(took[len(took)-1]), prefix+"max-commit-ms")
}

// BenchmarkBackup backs up a database of 10,000 finished deliveries (80,000 events, about 100 MB) while
// a writer commits one row at a time, and reports the backup's size and how long the writer's commits
// took: with no backup running (idle-), while the backup reads the database (copy-), and while it only
// verifies its copy (verify-), which touches nothing the writer uses. Were the backup's read
// transaction to keep the writer waiting, copy- would stand out; what verify- shows beyond idle- is the
// cost of sharing the machine's cores.
//
//	go test ./store -run '^$' -bench Backup -benchtime 3x
func BenchmarkBackup(b *testing.B) {
	s := openBench(b)
	fillHistory(b, s, 10_000)
	// Checkpoint the bulk load, as the checkpointer would have done long ago on a real database. It
	// reports busy, rather than failing, while the store's own checkpointer is at work.
	for busy := 1; busy != 0; {
		var log, done int
		if err := s.writer.QueryRowContext(b.Context(), "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		b.Fatal(err)
	}

	l := logCommits(s)
	idleFrom := time.Now()
	time.Sleep(2 * time.Second) // the writer alone
	idleTo := time.Now()

	type window struct{ from, copied, to time.Time }
	var windows []window
	var size int64
	var copyTime time.Duration
	dst := filepath.Join(b.TempDir(), "backup.db")
	for b.Loop() {
		start := time.Now()
		res, err := s.Backup(b.Context(), dst)
		if err != nil {
			b.Fatal(err)
		}
		windows = append(windows, window{start, start.Add(res.Copy), time.Now()})
		size, copyTime = res.Size, copyTime+res.Copy
	}
	l.halt(b)

	// After b.Loop, which drops the metrics reported before it.
	var during, copying, verifying []time.Duration
	for _, w := range windows {
		during = append(during, l.between(w.from, w.to)...)
		copying = append(copying, l.between(w.from, w.copied)...)
		verifying = append(verifying, l.between(w.copied, w.to)...)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "db-MB")
	b.ReportMetric(float64(size)/1e6, "backup-MB")
	b.ReportMetric(float64(copyTime.Milliseconds())/float64(len(windows)), "copy-ms/op")
	b.ReportMetric(float64(len(during))/b.Elapsed().Seconds(), "commits/s")
	reportLatencies(b, "idle-", l.between(idleFrom, idleTo))
	reportLatencies(b, "copy-", copying)
	reportLatencies(b, "verify-", verifying)
}
