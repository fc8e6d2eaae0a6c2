// Package chatlimit makes the rate limits chat platforms impose visible in the log. The adapters honour
// every 429 (the bot's outbox waits out Retry-After), and count it in shipgate_chat_api_calls_total; an
// operator reading the log should also see that it happens and for how long the platform asked to wait,
// without a line per call when a burst is throttled.
package chatlimit

import (
	"log/slog"
	"sync"
	"time"
)

// Every is how often one platform's method is warned about at most.
const Every = time.Minute

// Warner logs one warning per platform and method per Every, naming the Retry-After the platform gave
// and how many more rate-limited calls there were since the last warning. It is safe for concurrent
// use; the zero value is not: use New.
type Warner struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	seen map[key]*state
}

type key struct{ platform, method string }

type state struct {
	warned     time.Time
	suppressed int           // rate-limited calls not warned about since warned
	longest    time.Duration // the longest Retry-After among them
}

// New returns a Warner logging to log (nothing when nil), on the clock now (time.Now when nil).
func New(log *slog.Logger, now func() time.Time) *Warner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Warner{log: log, now: now, seen: map[key]*state{}}
}

// RateLimited notes that a call of method on platform was rate limited with retryAfter (0 when the
// platform gave none), and warns unless it warned about that method within Every.
func (w *Warner) RateLimited(platform, method string, retryAfter time.Duration) {
	if w == nil {
		return
	}
	now := w.now()
	w.mu.Lock()
	st := w.seen[key{platform, method}]
	if st == nil {
		st = &state{}
		w.seen[key{platform, method}] = st
	}
	if !st.warned.IsZero() && now.Sub(st.warned) < Every {
		st.suppressed++
		st.longest = max(st.longest, retryAfter)
		w.mu.Unlock()
		return
	}
	suppressed, longest := st.suppressed, st.longest
	st.warned, st.suppressed, st.longest = now, 0, 0
	w.mu.Unlock()

	attrs := []any{"platform", platform, "method", method, "retry_after", retryAfter.String()}
	if suppressed > 0 {
		attrs = append(attrs, "more_since_last_warning", suppressed, "longest_retry_after", longest.String())
	}
	w.log.Warn("chat platform rate limit: waiting before calling again", attrs...)
}
