package slackfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// socketWait bounds how long SendEnvelope waits for a client to connect.
const socketWait = 10 * time.Second

// wsConn is one Socket Mode connection.
type wsConn struct {
	conn *websocket.Conn
	// writeMu serialises writes: gorilla/websocket allows one concurrent writer (pings go
	// through WriteControl, which is safe alongside it).
	writeMu sync.Mutex
	done    chan struct{} // closed when the reader has stopped
}

func (c *wsConn) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.conn.SetWriteDeadline(time.Now().Add(socketWait)); err != nil {
		return err
	}
	return c.conn.WriteMessage(websocket.TextMessage, data)
}

// upgrader accepts any Origin: slack-go sends "https://api.slack.com", which is not the fake's.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// handleWS serves the URL apps.connections.open hands out: it says hello as Slack does, then
// pings the client and records the acks it sends. A new connection replaces the previous one,
// so envelopes always go to the client that connected last.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client already.
	}
	c := &wsConn{conn: conn, done: make(chan struct{})}
	// The connection becomes current before its hello is written, so that a client which has
	// read its hello is the current one even if another connects right after; holding
	// writeMu meanwhile keeps SendEnvelope from writing ahead of the hello.
	c.writeMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.writeMu.Unlock()
		_ = conn.Close()
		return
	}
	old := s.ws
	s.ws = c
	// Added under s.mu, which close takes before it waits, so no goroutine starts after the
	// wait began.
	s.wg.Add(2)
	s.notify()
	s.mu.Unlock()
	if old != nil {
		_ = old.conn.Close()
	}
	go s.readAcks(c)
	go s.ping(c)
	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info":      map[string]any{"host": "fake"},
	})
	err = conn.SetWriteDeadline(time.Now().Add(socketWait))
	if err == nil {
		err = conn.WriteMessage(websocket.TextMessage, hello)
	}
	c.writeMu.Unlock()
	if err != nil {
		_ = conn.Close() // the reader sees it and unregisters the connection
	}
}

// readAcks records every message the client sends that names an envelope, until the
// connection fails.
func (s *Server) readAcks(c *wsConn) {
	defer s.wg.Done()
	defer func() {
		close(c.done)
		_ = c.conn.Close()
		s.mu.Lock()
		if s.ws == c {
			s.ws = nil
		}
		s.notify()
		s.mu.Unlock()
	}()
	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		if _, dup := s.acks[ack.EnvelopeID]; !dup {
			s.ackOrder = append(s.ackOrder, ack.EnvelopeID)
		}
		s.acks[ack.EnvelopeID] = bytes.Clone(data)
		s.notify()
		s.mu.Unlock()
	}
}

// ping sends WebSocket pings as Slack does: slack-go reconnects when it has not been pinged
// within its ping interval. The first goes out at once, since slack-go counts from connecting.
func (s *Server) ping(c *wsConn) {
	defer s.wg.Done()
	tick := time.NewTicker(s.pingInterval)
	defer tick.Stop()
	for {
		if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(socketWait)); err != nil {
			return
		}
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
	}
}

// SendEnvelope writes a Socket Mode envelope, such as
//
//	{"type":"slash_commands","envelope_id":"e1","payload":{...},"accepts_response_payload":true}
//
// to the connected client. envelope is marshalled to JSON unless it is already JSON
// ([]byte, json.RawMessage or string). If no client is connected yet it waits for one, up to
// 10s. It returns an error, rather than failing t, so it may be called from any goroutine.
func (s *Server) SendEnvelope(t testing.TB, envelope any) error {
	t.Helper()
	var data []byte
	switch e := envelope.(type) {
	case []byte:
		data = e
	case json.RawMessage:
		data = e
	case string:
		data = []byte(e)
	default:
		var err error
		if data, err = json.Marshal(envelope); err != nil {
			return fmt.Errorf("slackfake: envelope: %w", err)
		}
	}
	c, err := s.waitConn(socketWait)
	if err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return fmt.Errorf("slackfake: writing the envelope: %w", err)
	}
	return nil
}

// waitConn returns the current Socket Mode connection, waiting up to timeout for one.
func (s *Server) waitConn(timeout time.Duration) (*wsConn, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		c, closed, changed := s.ws, s.closed, s.changed
		s.mu.Unlock()
		switch {
		case closed:
			return nil, errors.New("slackfake: the fake is closed")
		case c != nil:
			return c, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, fmt.Errorf("slackfake: no Socket Mode client connected within %v", timeout)
		}
	}
}

// WaitAck returns the message the client sent to acknowledge envelopeID, such as
// {"envelope_id":"e1","payload":{...}}, waiting for it up to timeout. It fails the test with
// t.Fatalf when none arrives in time, so it must be called from the test's goroutine.
func (s *Server) WaitAck(t testing.TB, envelopeID string, timeout time.Duration) json.RawMessage {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ack, ok := s.acks[envelopeID]
		got, changed := slices.Clone(s.ackOrder), s.changed
		s.mu.Unlock()
		if ok {
			return bytes.Clone(ack)
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("slackfake: no ack for envelope %q within %v; acks so far: [%s]", envelopeID, timeout, strings.Join(got, " "))
			return nil
		}
	}
}
