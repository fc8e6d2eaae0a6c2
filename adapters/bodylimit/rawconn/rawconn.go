// Package rawconn is a test client speaking HTTP/1.1 over a bare TCP connection, so that a test can send
// a request's parts when it chooses (headers now, the body byte by byte or never) and see when the
// server hangs up. net/http's client hides both.
package rawconn

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// Conn is one connection to a server.
type Conn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// Dial connects to addr (host:port); the connection closes when the test ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Conn{t: t, c: c, br: bufio.NewReader(c)}
}

// Send writes s, failing the test if it cannot.
func (c *Conn) Send(s string) {
	c.t.Helper()
	if err := c.TrySend(s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// TrySend writes s and returns the error, which is expected once the server has hung up.
func (c *Conn) TrySend(s string) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(c.c, s)
	return err
}

// Trickle sends body one byte every interval until it is all sent, a write fails or stop is closed, and
// returns how many bytes went out. It is the slow client of a slowloris attack.
func (c *Conn) Trickle(body string, interval time.Duration, stop <-chan struct{}) int {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range len(body) {
		if c.TrySend(body[i:i+1]) != nil {
			return i
		}
		select {
		case <-tick.C:
		case <-stop:
			return i + 1
		}
	}
	return len(body)
}

// Response reads the next response, body included, waiting at most within for it.
func (c *Conn) Response(within time.Duration) (*http.Response, []byte, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(within))
	defer c.c.SetReadDeadline(time.Time{})
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body, err
}

// ErrStillOpen is WaitClosed's error for a server that kept the connection open.
var ErrStillOpen = errors.New("the server kept the connection open")

// WaitClosed reads until the server hangs up (end of stream or a reset), discarding anything it sends,
// and returns how long that took; ErrStillOpen when the connection is still open after within.
func (c *Conn) WaitClosed(within time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c.br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return time.Since(start), ErrStillOpen
	}
	// io.Copy reports the end of the stream as nil; a reset is an error, and closed all the same.
	return time.Since(start), nil
}
