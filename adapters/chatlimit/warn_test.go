package chatlimit

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A burst of rate-limited calls gives one warning per platform and method per minute, naming the
// Retry-After; the next warning counts what was not warned about.
func TestOneWarningPerMethodPerMinute(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	w := New(slog.New(slog.NewTextHandler(&buf, nil)), func() time.Time { return at })

	for range 5 {
		w.RateLimited("slack", "chat.update", 2*time.Second)
	}
	w.RateLimited("slack", "chat.postMessage", time.Second)
	w.RateLimited("discord", "chat.update", 0)
	at = at.Add(30 * time.Second)
	w.RateLimited("slack", "chat.update", 7*time.Second)
	at = at.Add(31 * time.Second)
	w.RateLimited("slack", "chat.update", 3*time.Second)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d warnings, want 4:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		"platform=slack method=chat.update retry_after=2s",
		"platform=slack method=chat.postMessage retry_after=1s",
		"platform=discord method=chat.update retry_after=0s",
		"platform=slack method=chat.update retry_after=3s more_since_last_warning=5 longest_retry_after=7s",
	} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "level=WARN") {
			t.Errorf("warning %d: %s\nwant %s", i, lines[i], want)
		}
	}
}

// Concurrent callers share the budget: a burst from many goroutines still warns once.
func TestConcurrentCallsWarnOnce(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
	w := New(slog.New(h), nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { w.RateLimited("discord", "messages.edit", time.Second) })
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for a concurrent burst, want 1", n)
	}
}

// A nil Warner logs nothing and does not fail, for clients built without one.
func TestNilWarner(t *testing.T) {
	var w *Warner
	w.RateLimited("slack", "chat.update", time.Second)
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
