package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// walFrameHeader is the size of the header SQLite writes before each page in the WAL, and walFileHeader the
// size of the WAL file's own header.
const (
	walFrameHeader = 24
	walFileHeader  = 32
)

// idleBytes is the size of an idle store's WAL: truncated, then primed with one frame (see checkpointer).
func (c *checkpointer) idleBytes() int64 { return walFileHeader + c.frameSize }

// WALBytes reports the size of the database's write-ahead log file, 0 when there is none. The checkpointer
// keeps it below about walRestartBytes under load, at most 64 MB, and truncates it to one page
// once the store is idle; a WAL that keeps growing means a reader holds a snapshot for a long time.
func (s *Store) WALBytes() (int64, error) {
	n, err := walFileBytes(s.checkpoints.path)
	if err != nil {
		return 0, fmt.Errorf("size of the store's WAL: %w", err)
	}
	return n, nil
}

// walBytes is WALBytes for the checkpointer, which only compares sizes: an error counts as 0.
func (c *checkpointer) walBytes() int64 {
	n, _ := walFileBytes(c.path)
	return n
}

func walFileBytes(dbPath string) (int64, error) {
	info, err := os.Stat(dbPath + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// WALWritten reports how many bytes SQLite has written to the write-ahead log since the store was
// opened: every commit's pages, each with its frame header. It checkpoints first (PASSIVE, which blocks
// no one) to count up to the last commit. Divided by the commits or tasks of a run, it is the store's
// write amplification.
func (s *Store) WALWritten(ctx context.Context) (int64, error) {
	c := s.checkpoints
	if run := c.checkpoint(ctx, "PASSIVE"); run.err != nil {
		return 0, run.err
	}
	return c.written.frames.Load() * c.frameSize, nil
}

// WALWrittenSoFar is WALWritten as of the checkpointer's last checkpoint, without one of its own: what
// a metrics scrape reads. It lags by at most checkpointEvery commits, or until the store is idle.
func (s *Store) WALWrittenSoFar() int64 {
	return s.checkpoints.written.frames.Load() * s.checkpoints.frameSize
}
