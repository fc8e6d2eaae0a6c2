package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite's automatic checkpoint (every 1000 WAL pages) runs inside the commit that crosses the limit,
// fsync included, and was most of the engine's 99th-percentile latency; shipgate turns it off and
// checkpoints on a connection of its own, beside the writer.
//
// A PASSIVE checkpoint copies WAL frames into the database without blocking anyone, but does not make the
// WAL smaller: SQLite writes the WAL from its start again only when a write transaction begins while every
// frame has been copied and no reader still reads from the WAL. Under sustained load that moment does not
// come, since the writer appends while the checkpoint copies and a reader always has a snapshot open, and
// the WAL grew without bound (4 GB after 5,000 deliveries). So once the WAL holds walRestartBytes, the
// checkpointer pauses the writer and runs a RESTART checkpoint, which copies the last frames and waits, for
// at most checkpointWait, for the readers still on the WAL to finish; the next commit then writes from the
// start of the file, over what is there. Once the store is idle a TRUNCATE checkpoint empties the file.
//
// The file is not cut back while writes go on: the commit that restarts the WAL would do it (SQLite's
// journal_size_limit truncates inside that commit), and freeing megabytes of blocks there, then allocating
// them again as the WAL grows back, cost that commit 2-4 ms, a request's answer among them. So the writer's
// journal_size_limit is walSizeLimit, the most the file may keep, which only a reader pinning the WAL makes
// it reach.
//
// Nor does a request's commit start the WAL over. The first commit into an empty or restarted WAL writes
// the file's header and fsyncs it, even with synchronous=NORMAL, which syncs nothing else on commit: on
// this project's CI disk that made the first click after an idle TRUNCATE take 0.7-3 ms, sometimes 11,
// where a commit takes 0.1. So a RESTART or TRUNCATE that went through is followed, while the writer is
// still paused, by a commit of the checkpointer's own (PRAGMA application_id, shipgate's mark on the file,
// which rewrites one page), and the request after it meets a primed WAL. An idle WAL is therefore one
// frame long (a page and its header), not empty.
const (
	// checkpointEvery is how many commits pass between PASSIVE checkpoints,
	checkpointEvery = 100
	// unless the WAL file grows by checkpointGrowth first: a few large transactions.
	checkpointGrowth = 4 << 20
	// walRestartBytes is how much the WAL may hold before it is restarted. With what is appended while
	// checkpoints run it keeps the WAL at about 16-24 MB under load, within the 64 MB shipgate promises.
	walRestartBytes = 16 << 20
	// walSizeLimit is the writer's journal_size_limit: the size the WAL file is cut back to when it
	// restarts, if it grew past it.
	walSizeLimit = 64 << 20
	// checkpointWait bounds how long a RESTART or TRUNCATE checkpoint waits for readers while the writer is
	// paused; one that runs out of time is tried again after the next PASSIVE one.
	checkpointWait = 50 * time.Millisecond
	// idleCheckpointAfter is how long the store must go without a commit before the WAL is truncated.
	idleCheckpointAfter = 2 * time.Second
)

// checkpointConfig says when to checkpoint: the constants above, which tests change.
type checkpointConfig struct {
	every     uint64        // PASSIVE after this many commits,
	growth    int64         // or this much growth of the WAL file, in bytes
	restartAt int64         // RESTART once the WAL holds this many bytes
	wait      time.Duration // the busy_timeout of the checkpoint connection
	idleAfter time.Duration // TRUNCATE after this long without a commit
	// observe, when set, sees every checkpoint after it ran, on the checkpointer's goroutine.
	observe func(checkpointRun)
}

func defaultCheckpointConfig() checkpointConfig {
	return checkpointConfig{every: checkpointEvery, growth: checkpointGrowth, restartAt: walRestartBytes,
		wait: checkpointWait, idleAfter: idleCheckpointAfter}
}

// checkpointRun is what one checkpoint did, as PRAGMA wal_checkpoint reports it.
type checkpointRun struct {
	mode   string        // PASSIVE, RESTART or TRUNCATE
	busy   bool          // it could not finish: a reader kept its snapshot for longer than the wait
	frames int64         // frames in the WAL
	copied int64         // frames copied into the database
	took   time.Duration // for RESTART and TRUNCATE, how long the writer was paused
	header [12]byte      // the WAL header's checkpoint sequence and salts after the checkpoint (walHeader)
	primed bool          // the checkpointer's own commit started a new WAL after it (see the top of this file)
	err    error
}

// checkpointer checkpoints the WAL in a goroutine of its own, woken by every commit.
type checkpointer struct {
	db        *sql.DB // its own connection, whose busy_timeout is cfg.wait
	writer    *sql.DB // the store's one writer connection, held to pause the writer
	path      string  // absolute path of the database file
	cfg       checkpointConfig
	frameSize int64 // bytes a page takes in the WAL
	log       func(err error)
	commits   atomic.Uint64
	// mu makes a checkpoint and the count of what it saw one step: the loop's and WALWritten's.
	mu      sync.Mutex
	written walCount
	wake    chan struct{}
	done    sync.WaitGroup
	closing sync.Once
}

// newCheckpointer opens a checkpoint connection to the database at path, an absolute path, and starts the
// checkpointer's goroutine.
func newCheckpointer(ctx context.Context, path string, writer *sql.DB, cfg checkpointConfig, log func(error)) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, fmt.Sprintf("_pragma=busy_timeout(%d)", cfg.wait.Milliseconds())))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	var pageSize int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		db.Close()
		return nil, fmt.Errorf("read page_size: %w", err)
	}
	c := &checkpointer{db: db, writer: writer, path: path, cfg: cfg, frameSize: pageSize + walFrameHeader,
		log: log, wake: make(chan struct{}, 1)}
	c.done.Go(c.loop)
	return c, nil
}

// committed counts a commit and wakes the goroutine, which decides what is due. It never blocks.
func (c *checkpointer) committed() {
	c.commits.Add(1)
	select {
	case c.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

func (c *checkpointer) loop() {
	ctx := context.Background()
	// dirty: there were commits since the WAL was last truncated. It starts true so that a WAL an earlier
	// run left behind is truncated too.
	dirty := true
	idle := time.NewTimer(c.cfg.idleAfter)
	defer idle.Stop()
	lastCommits, lastSize := uint64(0), c.walBytes()
	for {
		select {
		case _, ok := <-c.wake:
			if !ok {
				return
			}
			dirty = true
			idle.Reset(c.cfg.idleAfter)
			n := c.commits.Load()
			if n-lastCommits < c.cfg.every && c.walBytes()-lastSize < c.cfg.growth {
				continue
			}
			lastCommits = n
			if run := c.checkpoint(ctx, "PASSIVE"); run.err == nil && run.frames*c.frameSize >= c.cfg.restartAt {
				c.checkpoint(ctx, "RESTART")
			}
			lastSize = c.walBytes()
		case <-idle.C:
			if !dirty {
				continue
			}
			// PASSIVE first, so that TRUNCATE, which pauses the writer, has little left to copy.
			if run := c.checkpoint(ctx, "PASSIVE"); run.err == nil {
				if run := c.checkpoint(ctx, "TRUNCATE"); run.err == nil && !run.busy {
					dirty, lastSize = false, 0
					continue
				}
			}
			idle.Reset(c.cfg.idleAfter) // a reader was in the way; try again
		}
	}
}

// checkpoint runs one checkpoint, counts the frames written since the one before, and reports it.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) checkpointRun {
	c.mu.Lock()
	run := c.run(ctx, mode)
	if run.err == nil {
		c.written.saw(run)
	}
	c.mu.Unlock()
	if run.err != nil {
		c.log(run.err)
	}
	if c.cfg.observe != nil {
		c.cfg.observe(run)
	}
	return run
}

// run runs one checkpoint. RESTART and TRUNCATE need the write lock and hold it until the readers have
// left the WAL, so they pause the writer by holding its only connection: Update then waits on
// database/sql and starts as soon as the checkpoint is done, where the two would otherwise poll SQLite's
// write lock for each other. The checkpoint waits for readers for at most cfg.wait.
func (c *checkpointer) run(ctx context.Context, mode string) (run checkpointRun) {
	run.mode = mode
	var w *sql.Conn // the writer's connection, held while the writer is paused
	if mode != "PASSIVE" {
		var err error
		w, err = c.writer.Conn(ctx)
		if err != nil {
			run.err = fmt.Errorf("pause the writer for a %s checkpoint: %w", mode, err)
			return run
		}
		paused := time.Now()
		defer func() {
			w.Close()
			run.took = time.Since(paused)
		}()
	}
	var busy int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &run.frames, &run.copied); err != nil {
		run.err = fmt.Errorf("%s checkpoint: %w", mode, err)
		return run
	}
	run.busy = busy != 0
	run.header = c.walHeader()
	if w != nil && !run.busy {
		// The writer is still paused: start the WAL over here, not in the next request's commit. If this
		// fails (a full disk), the next request's commit does it, as it would without this.
		if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			c.log(fmt.Errorf("start the WAL over after a %s checkpoint: %w", mode, err))
		} else {
			run.primed = true
		}
	}
	return run
}

// applicationID marks the database file as shipgate's (PRAGMA application_id, at offset 68 of its
// header): "shpg".
const applicationID = 0x73687067

// close stops the goroutine; closing the last connection then checkpoints what is left. Closing twice
// is harmless, as it is for the pools.
func (c *checkpointer) close() error {
	c.closing.Do(func() {
		close(c.wake)
		c.done.Wait()
	})
	return c.db.Close()
}

// walCount counts the frames SQLite appends to the WAL, from what each checkpoint reports: the frames the
// WAL holds then. The count is as of the last checkpoint (every checkpointEvery commits, and when idle).
type walCount struct {
	frames atomic.Int64 // frames counted
	last   int64        // frames in the WAL at the last checkpoint
	header [12]byte     // the WAL header's checkpoint sequence and salts then; zero when unknown
}

// saw counts what one checkpoint found. SQLite starts the WAL over (a new checkpoint sequence and salts in
// its header) only once every frame has been copied, so frames written since the last checkpoint were
// either appended to the same WAL (the difference) or all written after the restart (all of them).
func (w *walCount) saw(run checkpointRun) {
	header := run.header
	switch {
	case run.frames < 0: // no WAL
	case header != w.header || run.frames < w.last:
		w.frames.Add(run.frames)
	default:
		w.frames.Add(run.frames - w.last)
	}
	w.last, w.header = max(run.frames, 0), header
	if run.primed {
		// The priming commit that followed started a new WAL: the next checkpoint counts all it holds.
		w.last, w.header = 0, [12]byte{}
	}
}

// walHeader reads the WAL file's checkpoint sequence number and salts (bytes 12 to 24 of its header),
// which change whenever SQLite starts the WAL over; zero when there is no header.
func (c *checkpointer) walHeader() [12]byte {
	var h [12]byte
	f, err := os.Open(c.path + "-wal")
	if err != nil {
		return h
	}
	defer f.Close()
	if _, err := f.ReadAt(h[:], 12); err != nil {
		return [12]byte{}
	}
	return h
}
