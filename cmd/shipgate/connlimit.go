package main

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// fdReserve is how many file descriptors the derived connection cap leaves for everything else: the
// database and its WAL, the read pool, commands' pipes, Helm's chart files.
const fdReserve = 64

// connLimit keeps the connections a server holds under a cap, so that clients cannot take every file
// descriptor: once accept fails with EMFILE the database cannot open a file either, and /healthz cannot
// answer. It is the server's ConnState hook. A connection past the cap closes idle keep-alive
// connections, oldest first (a client reopens one as it would after idle_timeout); when none is idle,
// the new connection is closed before it is served.
type connLimit struct {
	max int
	log *slog.Logger

	mu       sync.Mutex
	open     map[net.Conn]*list.Element // element in idle, or nil while new or active
	idle     *list.List                 // of net.Conn, oldest first
	refused  uint64
	lastWarn time.Time
}

func newConnLimit(max int, log *slog.Logger) *connLimit {
	if max <= 0 {
		max = derivedConnCap()
	}
	return &connLimit{max: max, log: log, open: map[net.Conn]*list.Element{}, idle: list.New()}
}

// derivedConnCap is the open-file limit less fdReserve, at least 16.
func derivedConnCap() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<20 {
		return 1 << 16
	}
	return max(int(rl.Cur)-fdReserve, 16)
}

// track is the http.Server's ConnState.
func (l *connLimit) track(c net.Conn, state http.ConnState) {
	var closing []net.Conn
	l.mu.Lock()
	switch state {
	case http.StateNew:
		l.open[c] = nil
		for len(l.open) > l.max {
			oldest := l.idle.Front()
			if oldest == nil {
				break
			}
			victim := l.idle.Remove(oldest).(net.Conn)
			delete(l.open, victim)
			closing = append(closing, victim)
		}
		if len(l.open) > l.max {
			delete(l.open, c)
			closing = append(closing, c)
			l.refused++
			if time.Since(l.lastWarn) > time.Minute {
				l.lastWarn = time.Now()
				l.log.Warn("closing new connections: http.max_connections are open and busy", "max_connections", l.max, "refused", l.refused)
			}
		}
	case http.StateActive:
		if e, ok := l.open[c]; ok && e != nil {
			l.idle.Remove(e)
			l.open[c] = nil
		}
	case http.StateIdle:
		if e, ok := l.open[c]; ok && e == nil {
			l.open[c] = l.idle.PushBack(c)
		}
	case http.StateHijacked, http.StateClosed:
		if e, ok := l.open[c]; ok {
			if e != nil {
				l.idle.Remove(e)
			}
			delete(l.open, c)
		}
	}
	l.mu.Unlock()
	for _, victim := range closing {
		victim.Close()
	}
}

// Open is how many connections are held now.
func (l *connLimit) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}

// Refused is how many new connections were closed because the cap was reached with none idle.
func (l *connLimit) Refused() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}
