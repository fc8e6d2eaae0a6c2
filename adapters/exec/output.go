package exec

import (
	"fmt"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/truncate"
)

// output keeps a command's combined stdout and stderr up to a limit. Beyond it, the first half and the
// last half of the limit are kept: the head says what ran and the tail how it ended, which is what a user
// reads a failed test's output for.
type output struct {
	mu      sync.Mutex
	headCap int
	tailCap int
	head    []byte
	// tail holds the most recent bytes after the head; it grows to twice tailCap before its last tailCap
	// bytes are moved to the front, so that a long output costs a copy per tailCap bytes, not per write.
	tail  []byte
	total int64
}

func newOutput(limit int) *output {
	return &output{headCap: limit / 2, tailCap: limit - limit/2}
}

// Write keeps p, or the part of it the limit allows. It never fails, so that a chatty command is not
// stopped by a broken pipe.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(p)
	o.total += int64(n)
	if room := o.headCap - len(o.head); room > 0 {
		k := min(room, len(p))
		o.head = append(o.head, p[:k]...)
		p = p[k:]
	}
	switch {
	case len(p) == 0:
	case len(p) >= o.tailCap:
		o.tail = append(o.tail[:0], p[len(p)-o.tailCap:]...)
	default:
		o.tail = append(o.tail, p...)
		if len(o.tail) > 2*o.tailCap {
			o.tail = o.tail[:copy(o.tail, o.tail[len(o.tail)-o.tailCap:])]
		}
	}
	return n, nil
}

// String returns the kept output, with a marker where bytes were dropped, as valid UTF-8 (a cut can split
// a character, and a command may print bytes that are not text), and whether anything was dropped.
func (o *output) String() (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	tail := o.tail
	if len(tail) > o.tailCap {
		tail = tail[len(tail)-o.tailCap:]
	}
	dropped := o.total - int64(len(o.head)) - int64(len(tail))
	var b strings.Builder
	b.Write(o.head)
	if dropped > 0 {
		fmt.Fprintf(&b, "\n[… %d bytes dropped …]\n", dropped)
	}
	b.Write(tail)
	return strings.ToValidUTF8(b.String(), "\uFFFD"), dropped > 0
}

// Limits of the chat message.
const (
	maxMessage   = 1500
	maxLineRunes = 200
	fence        = "```"
)

// message is the chat message of a run: the summary line, then the last lines of the output in a fenced
// block, as many of them as fit in maxMessage.
func message(summary, out string, tailLines int) string {
	lines := tail(out, tailLines)
	if len(lines) == 0 {
		return summary
	}
	size := len(summary) + 2*len(fence) + 3
	first := len(lines)
	for first > 0 && size+len(lines[first-1])+1 <= maxMessage {
		first--
		size += len(lines[first]) + 1
	}
	if first == len(lines) {
		return summary
	}
	return summary + "\n" + fence + "\n" + strings.Join(lines[first:], "\n") + "\n" + fence
}

// tail returns the last n non-trailing lines of out as a chat shows them: a progress bar's carriage returns
// keep only what was drawn last, a fence in the output cannot end the block early, and long lines are
// cut.
func tail(out string, n int) []string {
	out = strings.TrimRight(out, "\n")
	if n == 0 || out == "" {
		return nil
	}
	lines := strings.Split(out, "\n")
	lines = lines[max(0, len(lines)-n):]
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = truncate.Runes(strings.ReplaceAll(l, fence, "`\u200b``"), maxLineRunes)
	}
	return lines
}
