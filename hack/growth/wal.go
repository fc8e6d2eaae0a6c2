package growth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// WALCounter counts what SQLite appends to a database's write-ahead log: frames (a page and a 24-byte
// header each) and commits (a commit's last frame records the database's size; no other frame does), by
// reading the -wal file while another process writes it. It never opens the database, takes no lock and
// cannot disturb the writer.
//
// The file's size says nothing about what was written: shipgate's checkpointer makes SQLite start the
// WAL over from its beginning once it holds 16 MB, and truncates it when writes stop. So WALCounter
// follows the file's generations instead. Each one has its own salts, in the file header and in every
// frame header written in it; its frames are contiguous from the start of the file. Sample reads the
// frames added since the last sample, as far as their salts match. When the salts change, the old
// generation is finished first: its frames beyond the last sample are still there, past the few the new
// generation has written over the start of the file, so a sample taken every few tens of milliseconds
// counts every frame. Frames the new generation had already overwritten, or a generation that came and
// went between samples, would go uncounted, and Lost says so.
type WALCounter struct {
	path string

	salt     [8]byte // the current generation's, zero before the first
	ckptSeq  uint32  // its checkpoint sequence number
	pageSize int64
	scanned  int64 // frames of the current generation counted so far
	buf      []byte

	// Frames and Commits are the totals counted so far, over every generation; Generations is how
	// many generations the WAL went through.
	Frames, Commits, Generations int64
	// Lost, when not empty, says why some frames may have gone uncounted: the WAL restarted more than
	// once between two samples, or the new generation overwrote frames of the old one before they were
	// read. The counts are then a lower bound.
	Lost string
}

// The WAL format, from https://www.sqlite.org/fileformat.html#the_write_ahead_log.
const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
	walMagicLE         = 0x377f0682
	walMagicBE         = 0x377f0683
)

// NewWALCounter counts what is appended to the WAL of the database at dbPath from now on: what is in
// the file already is not counted.
func NewWALCounter(dbPath string) (*WALCounter, error) {
	w := &WALCounter{path: dbPath + "-wal"}
	if err := w.Sample(); err != nil {
		return nil, err
	}
	w.Frames, w.Commits, w.Generations, w.Lost = 0, 0, 0, ""
	return w, nil
}

// Bytes is what the frames counted take in the WAL, with the header of each generation.
func (w *WALCounter) Bytes() int64 {
	return w.Frames*(w.pageSize+walFrameHeaderSize) + w.Generations*walHeaderSize
}

// Sample reads what was appended since the last sample.
func (w *WALCounter) Sample() error {
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no WAL yet, or the database was closed
	}
	if err != nil {
		return fmt.Errorf("sample the WAL: %w", err)
	}
	defer f.Close()
	var hdr [walHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // truncated, or its header is being written: the next sample sees the new generation
		}
		return fmt.Errorf("sample the WAL: %w", err)
	}
	if m := binary.BigEndian.Uint32(hdr[0:]); m != walMagicLE && m != walMagicBE {
		return nil // being written; the next sample sees it
	}
	var salt [8]byte
	copy(salt[:], hdr[16:24])
	if salt == w.salt {
		return w.scan(f)
	}
	// A new generation. Finish the old one first: its frames past what the new one has written over
	// the start of the file are still there.
	resumed := w.scanned
	if w.salt != ([8]byte{}) {
		if err := w.scan(f); err != nil {
			return err
		}
	}
	ckptSeq := binary.BigEndian.Uint32(hdr[12:])
	if w.salt != ([8]byte{}) && ckptSeq != w.ckptSeq+1 {
		w.Lost = fmt.Sprintf("the WAL went from generation %d to %d between two samples", w.ckptSeq, ckptSeq)
	}
	w.salt, w.ckptSeq, w.scanned = salt, ckptSeq, 0
	w.pageSize = int64(binary.BigEndian.Uint32(hdr[8:]))
	if w.pageSize == 1 {
		w.pageSize = 65536 // how the format writes 64 KiB
	}
	w.Generations++
	if err := w.scan(f); err != nil {
		return err
	}
	if resumed > 0 && w.scanned > resumed {
		w.Lost = fmt.Sprintf("the WAL's generation %d wrote %d frames before a sample; the previous one was read to frame %d only",
			ckptSeq, w.scanned, resumed)
	}
	return nil
}

// scanChunk is how many frame headers scan reads at once, as one read of their frames.
const scanChunk = 64

// scan counts the frames of the generation w.salt after those already counted, as far as their salts
// are the generation's.
func (w *WALCounter) scan(f *os.File) error {
	frame := w.pageSize + walFrameHeaderSize
	if int64(len(w.buf)) != scanChunk*frame {
		w.buf = make([]byte, scanChunk*frame)
	}
	buf := w.buf
	for {
		off := walHeaderSize + w.scanned*frame
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("sample the WAL: %w", err)
		}
		whole := int64(n) / frame
		for i := range whole {
			h := buf[i*frame : i*frame+walFrameHeaderSize]
			if [8]byte(h[8:16]) != w.salt {
				return nil // the end of the generation: what follows is older
			}
			w.scanned++
			w.Frames++
			if binary.BigEndian.Uint32(h[4:8]) != 0 {
				w.Commits++
			}
		}
		if whole < scanChunk {
			return nil // the end of what is written; a frame being written is counted next time
		}
	}
}
