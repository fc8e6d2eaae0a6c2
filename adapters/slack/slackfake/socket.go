package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// websocket serves one Socket Mode connection: it says hello, then records the acks the client sends.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	hello := map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0001"},
		"debug_info": map[string]any{"host": "fake"}}
	if err := conn.WriteJSON(hello); err != nil {
		conn.Close()
		return
	}
	s.wsMu.Lock()
	if s.ws != nil {
		s.ws.Close()
	}
	s.ws = conn
	select {
	case <-s.wsReady:
	default:
		close(s.wsReady)
	}
	s.wsMu.Unlock()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.wsMu.Lock()
		s.acks[ack.EnvelopeID] = data
		close(s.ackCh)
		s.ackCh = make(chan struct{})
		s.wsMu.Unlock()
	}
}

// SendEnvelope writes a Socket Mode envelope to the connected client, waiting (up to 10 s) for the
// client to connect first.
func (s *Server) SendEnvelope(t testing.TB, envelope any) error {
	t.Helper()
	select {
	case <-s.wsReady:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("slackfake: no Socket Mode client connected within 10s")
	}
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	return s.ws.WriteJSON(envelope)
}

// WaitAck returns the ack the client sent for an envelope, failing the test after timeout.
func (s *Server) WaitAck(t testing.TB, envelopeID string, timeout time.Duration) json.RawMessage {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.wsMu.Lock()
		ack, ok := s.acks[envelopeID]
		ch := s.ackCh
		s.wsMu.Unlock()
		if ok {
			return ack
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no ack for envelope %s within %s", envelopeID, timeout)
			return nil
		}
	}
}
