// Package bodylimit caps how many request bodies shipgate reads before it knows who sent them.
//
// Slack and Discord sign a request over its body, and so does a signed API call: the body must be read
// before the sender is known. A client sending such a body one byte at a time holds a connection, a
// goroutine and up to a body's worth of memory for as long as the server lets it. A Limiter has a fixed
// number of slots: a body is read only in a slot, within a deadline of its own, and a request that finds
// every slot taken is answered 503 with Retry-After at once rather than queued, so that slow bodies cost
// whoever sends them their connections, and cost shipgate no more than the slots.
//
// The server puts its Limiter in every request's context (NewContext, from http.Server.BaseContext);
// handlers that read unverified bodies call Read, or Admit when another function reads the body. Without
// a Limiter in the context, bodies are read with no cap but their size limit, as in a handler's own tests.
package bodylimit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is Read's error when every slot is taken; answer it with Refuse.
var ErrBusy = errors.New("too many unverified request bodies are being read")

// RetryAfter is what Refuse asks a client to wait, in seconds: slots free as soon as bodies arrive,
// which is at once for anyone but the slow senders that took them.
const RetryAfter = "1"

// unreadGrace is how long net/http may still read a refused request's body after the answer, so that
// a client that sent it at once reads the answer before the connection closes (closing with unread
// bytes would reset it), and a client that sends it slowly is cut off soon.
const unreadGrace = time.Second

// Limiter holds the slots in which unverified bodies are read. Create it with New.
type Limiter struct {
	slots   chan struct{}
	timeout time.Duration
	refused atomic.Int64
}

// New returns a Limiter that reads at most slots bodies at once, each within timeout; a timeout of zero
// leaves bodies the server's read deadline.
func New(slots int, timeout time.Duration) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(slots, 1)), timeout: timeout}
}

// Reading is how many bodies are being read now.
func (l *Limiter) Reading() int { return len(l.slots) }

// Refused is how many requests found every slot taken since the Limiter was created.
func (l *Limiter) Refused() int64 { return l.refused.Load() }

type contextKey struct{}

// NewContext returns ctx carrying l, for http.Server.BaseContext.
func NewContext(ctx context.Context, l *Limiter) context.Context {
	return context.WithValue(ctx, contextKey{}, l)
}

func fromContext(ctx context.Context) *Limiter {
	l, _ := ctx.Value(contextKey{}).(*Limiter)
	return l
}

// Admit takes a slot for reading r's body and gives the read the Limiter's deadline, replacing the
// server's read deadline. It replaces r.Body with one that gives the slot back once read to its end or
// failing; release gives it back in any case and must be called, deferred, when the handler is done with
// the body. ok is false when every slot is taken: answer with Refuse, and leave the body alone.
//
// Once the body is read whole, net/http clears the read deadline itself, so the handler's work after it
// is not cut short. After a read that failed (too slow, too large) the deadline stays, and net/http gives
// up on the rest of the body promptly and closes the connection.
func Admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	l := fromContext(r.Context())
	if l == nil || r.Body == nil || r.Body == http.NoBody {
		return func() {}, true
	}
	select {
	case l.slots <- struct{}{}:
	default:
		l.refused.Add(1)
		return nil, false
	}
	if l.timeout > 0 {
		// Without a connection (a handler called directly in a test) there is no deadline to set.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(l.timeout))
	}
	free := sync.OnceFunc(func() { <-l.slots })
	r.Body = &slotBody{ReadCloser: r.Body, free: free}
	return free, true
}

// slotBody gives its slot back once read to its end or failing.
type slotBody struct {
	io.ReadCloser
	free func()
}

func (b *slotBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.free()
	}
	return n, err
}

func (b *slotBody) Close() error {
	b.free()
	return b.ReadCloser.Close()
}

// Read reads r's body, at most limit bytes, in a slot of the Limiter in r's context. It returns ErrBusy
// when every slot is taken, an *http.MaxBytesError when the body is larger than limit, and a deadline
// error (os.ErrDeadlineExceeded) when the body does not arrive in time.
func Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	release, ok := Admit(w, r)
	if !ok {
		return nil, ErrBusy
	}
	defer release()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// Refuse answers a request that found every slot taken: 503 with Retry-After. Its body stays unread, so
// the connection closes after the answer (see LeaveUnread).
func Refuse(w http.ResponseWriter, r *http.Request) {
	LeaveUnread(w, r)
	w.Header().Set("Retry-After", RetryAfter)
	http.Error(w, "busy: too many requests being received; retry shortly", http.StatusServiceUnavailable)
}

// LeaveUnread is for a handler that answers without reading r's body, such as a refusal decided from the
// headers. It must be called before the answer is written. Left alone, net/http would read up to
// 256 KiB of the body before sending the answer, to reuse the connection, and so wait for a slow sender;
// instead the answer goes out at once with Connection: close, and the server reads at most what arrives
// within a short grace before it closes the connection.
func LeaveUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return // no body: the connection can serve the next request
	}
	w.Header().Set("Connection", "close")
	// No one reads the body, so the server's background read has not started and this deadline cancels
	// nothing but net/http's reading of what is left.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(unreadGrace))
}
