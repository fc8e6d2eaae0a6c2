package main

import (
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/bodylimit/rawconn"
)

// Idle keep-alive connections cannot take every file descriptor: past max_connections a new connection
// closes the oldest idle ones, so /healthz still answers with hundreds of idle clients and a long
// idle_timeout; when every connection is busy, the new one is closed instead.
func TestHTTPServerMakesRoomByClosingIdleConnections(t *testing.T) {
	hc := shortHTTP()
	hc.IdleTimeout = time.Hour // only the cap can close them
	hc.MaxConnections = 8
	srv := newHTTPServer(hc, newHandler(okPinger{}, slog.New(slog.DiscardHandler)), nil, slog.New(slog.DiscardHandler))
	// The client reads its answer a moment before the server marks the connection idle; wait for that,
	// so that which connections are idle, and so which go first, is certain.
	idled := make(chan struct{}, 64)
	track := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		track(c, s)
		if s == http.StateIdle {
			idled <- struct{}{}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	var conns []*rawconn.Conn
	get := func(c *rawconn.Conn) {
		t.Helper()
		c.Send("GET /healthz HTTP/1.1\r\nHost: shipgate\r\n\r\n")
		if res, _, err := c.Response(httpBound); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("/healthz with %d idle connections open: %v, %v", len(conns), res, err)
		}
		<-idled
	}
	for range 40 {
		c := rawconn.Dial(t, addr)
		get(c)
		conns = append(conns, c)
	}
	// The oldest were closed to make room, the newest max_connections kept.
	for i, c := range conns[:len(conns)-hc.MaxConnections] {
		if _, err := c.WaitClosed(httpBound); err != nil {
			t.Fatalf("idle connection %d of %d is still open: %v", i+1, len(conns), err)
		}
	}
	for _, c := range conns[len(conns)-hc.MaxConnections:] {
		get(c) // still served
	}
}

func TestConnLimitClosesANewConnectionWhenNoneIsIdle(t *testing.T) {
	l := newConnLimit(2, slog.New(slog.DiscardHandler))
	a, b, c := &fakeConn{}, &fakeConn{}, &fakeConn{}
	for _, conn := range []*fakeConn{a, b} {
		l.track(conn, http.StateNew)
		l.track(conn, http.StateActive)
	}
	l.track(c, http.StateNew)
	if !c.closed || a.closed || b.closed || l.Open() != 2 || l.Refused() != 1 {
		t.Fatalf("closed a %v b %v new %v, open %d, refused %d; want only the new one closed", a.closed, b.closed, c.closed, l.Open(), l.Refused())
	}
	l.track(a, http.StateIdle)
	d := &fakeConn{}
	l.track(d, http.StateNew)
	if !a.closed || d.closed || l.Open() != 2 {
		t.Fatalf("closed a %v new %v, open %d; want the idle one closed for the new one", a.closed, d.closed, l.Open())
	}
	l.track(b, http.StateClosed)
	if l.Open() != 1 {
		t.Errorf("open %d after a close, want 1", l.Open())
	}
	if got := derivedConnCap(); got < 16 {
		t.Errorf("derivedConnCap = %d, want at least 16", got)
	}
}

// fakeConn is a connection that only records being closed; the limiter calls nothing else.
type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }
