package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// checkpointEvery is how many commits pass between WAL checkpoints. SQLite's automatic checkpoint (every
// 1000 WAL pages) runs inside the commit that crosses the limit, fsync included, and was most of the
// engine's 99th-percentile latency; shipgate turns it off and checkpoints on a connection of its own,
// beside the writer, at about the same rate.
const checkpointEvery = 100

// checkpointer runs PASSIVE checkpoints, which copy committed WAL frames into the database without
// blocking the writer or readers, in a goroutine of its own.
type checkpointer struct {
	db      *sql.DB
	log     func(err error)
	commits atomic.Uint64
	wake    chan struct{}
	done    sync.WaitGroup
	closing sync.Once
}

func newCheckpointer(db *sql.DB, log func(error)) *checkpointer {
	c := &checkpointer{db: db, log: log, wake: make(chan struct{}, 1)}
	c.done.Go(c.loop)
	return c
}

// committed counts a commit and wakes the goroutine every checkpointEvery commits. It never blocks.
func (c *checkpointer) committed() {
	if c.commits.Add(1)%checkpointEvery != 0 {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default: // one is already due
	}
}

func (c *checkpointer) loop() {
	for range c.wake {
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			c.log(err)
		}
	}
}

// close stops the goroutine; closing the last connection then checkpoints what is left. Closing twice
// is harmless, as it is for the pools.
func (c *checkpointer) close() error {
	c.closing.Do(func() {
		close(c.wake)
		c.done.Wait()
	})
	return c.db.Close()
}
