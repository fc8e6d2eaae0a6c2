// Package slackfake is a local fake of the parts of Slack's Web API that shipgate calls, served over
// real HTTP on the loopback interface, so that tests run the real slack-go client against it. It
// records every call, keeps the current state of every posted message, enforces Slack's Block Kit
// limits, can answer 429 with Retry-After or ok:false errors on request, serves Socket Mode over a
// WebSocket, and signs inbound requests exactly as Slack signs them.
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Call is one request the fake received.
type Call struct {
	// Method is the Web API method ("chat.postMessage", …), or "response_url".
	Method                                       string
	Channel, TS, ThreadTS, User, Text, TriggerID string
	Broadcast                                    bool
	Blocks                                       json.RawMessage
	View                                         json.RawMessage
	Form                                         url.Values
	Body                                         []byte
	ResponseID                                   string
	Status                                       int    // the HTTP status the fake answered
	Error                                        string // the Slack error code it answered, "" when ok
}

// Message is the current state of a posted message.
type Message struct {
	Channel, TS, ThreadTS, Text string
	Blocks                      json.RawMessage
	Updates                     int
	Broadcast                   bool
}

// Failure is how the next calls of a method fail.
type Failure struct {
	Status     int           // HTTP status, such as 429 or 500; 0 means 200 with ok:false
	RetryAfter time.Duration // the Retry-After header, in whole seconds rounded up
	Error      string        // the ok:false error code, such as channel_not_found
}

// Server is the fake. Create it with New.
type Server struct {
	URL string

	botToken, appToken string
	srv                *httptest.Server

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every recorded call
	calls        []Call
	messages     map[string]*Message // by channel/ts
	order        []string
	nextTS       int
	failures     map[string][]Failure
	rejectTables bool
	groups       map[string][]string

	wsMu    sync.Mutex
	ws      *websocket.Conn
	wsReady chan struct{}
	acks    map[string]json.RawMessage
	ackCh   chan struct{}
}

// Option configures New.
type Option func(*Server)

// WithBotToken sets the bot token calls must carry; the default is xoxb-test.
func WithBotToken(tok string) Option { return func(s *Server) { s.botToken = tok } }

// WithAppToken sets the app-level token apps.connections.open accepts; the default is xapp-test.
func WithAppToken(tok string) Option { return func(s *Server) { s.appToken = tok } }

// New starts a fake on a free loopback port; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{botToken: "xoxb-test", appToken: "xapp-test", changed: make(chan struct{}), messages: map[string]*Message{},
		failures: map[string][]Failure{}, groups: map[string][]string{}, wsReady: make(chan struct{}), acks: map[string]json.RawMessage{},
		ackCh: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /response/{id}", s.response)
	mux.HandleFunc("GET /ws", s.websocket)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.wsMu.Lock()
	if s.ws != nil {
		s.ws.Close()
	}
	s.wsMu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// APIURL is the base URL for slack.OptionAPIURL; slack-go appends method names to it.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// ResponseURL is a response_url the fake records posts to.
func (s *Server) ResponseURL(id string) string { return s.URL + "/response/" + id }

// FailNext makes the next n calls of method fail as f says.
func (s *Server) FailNext(method string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], f)
	}
}

// RejectTableBlocks makes posts and updates with a table block fail with invalid_blocks, as some
// workspaces did.
func (s *Server) RejectTableBlocks(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectTables = reject
}

// SetUserGroup sets the members usergroups.users.list returns for a group.
func (s *Server) SetUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = members
}

// Calls returns every call so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls of one method.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor blocks until cond holds for the calls so far, waking on each new call, and fails the test
// with the calls it saw when timeout passes first.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Call) bool) []Call {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := append([]Call(nil), s.calls...)
		changed := s.changed
		s.mu.Unlock()
		if cond(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-deadline.C:
			var b strings.Builder
			for _, c := range calls {
				fmt.Fprintf(&b, "\n  %s channel=%s ts=%s thread=%s user=%s error=%s %s", c.Method, c.Channel, c.TS, c.ThreadTS, c.User, c.Error, truncate(string(c.Blocks), 300))
			}
			t.Fatalf("waited %s for %s; calls:%s", timeout, what, b.String())
			return nil
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Message returns the current state of a posted message.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[channel+"/"+ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Messages returns the messages of a channel, thread replies included, in the order they were posted.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, k := range s.order {
		if m := s.messages[k]; m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// record appends a call and wakes waiters. Call with s.mu held.
func (s *Server) recordLocked(c Call) {
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) ts() string {
	s.nextTS++
	return fmt.Sprintf("1700000000.%06d", s.nextTS)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		form = url.Values{}
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for k, v := range m {
				if str, ok := v.(string); ok {
					form.Set(k, str)
				} else {
					raw, _ := json.Marshal(v)
					form.Set(k, string(raw))
				}
			}
		}
	}
	c := Call{Method: method, Channel: form.Get("channel"), TS: form.Get("ts"), ThreadTS: form.Get("thread_ts"), User: form.Get("user"),
		Text: form.Get("text"), TriggerID: form.Get("trigger_id"), Broadcast: form.Get("reply_broadcast") == "true", Form: form, Body: body}
	if b := form.Get("blocks"); b != "" {
		c.Blocks = json.RawMessage(b)
	}
	if v := form.Get("view"); v != "" {
		c.View = json.RawMessage(v)
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = form.Get("token")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	answer := func(status int, v map[string]any) {
		c.Status = status
		if ok, _ := v["ok"].(bool); !ok {
			c.Error, _ = v["error"].(string)
		}
		s.recordLocked(c)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { answer(http.StatusOK, map[string]any{"ok": false, "error": code}) }

	if fs := s.failures[method]; len(fs) > 0 {
		f := fs[0]
		s.failures[method] = fs[1:]
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		code := f.Error
		if code == "" {
			code = "ratelimited"
			if status >= 500 {
				code = "internal_error"
			}
		}
		answer(status, map[string]any{"ok": false, "error": code})
		return
	}
	wantToken := s.botToken
	if method == "apps.connections.open" {
		wantToken = s.appToken
	}
	if token != wantToken {
		fail("invalid_auth")
		return
	}
	switch method {
	case "auth.test":
		answer(http.StatusOK, map[string]any{"ok": true, "url": "https://fake.slack.test/", "team": "Fake", "user": "shipgate",
			"team_id": "T0001", "user_id": "U0BOT", "bot_id": "B0001"})
	case "chat.postMessage":
		if c.Channel == "" {
			fail("channel_not_found")
			return
		}
		if code := s.checkBlocks(c.Blocks, c.Text, 40000); code != "" {
			fail(code)
			return
		}
		if c.ThreadTS != "" {
			if _, ok := s.messages[c.Channel+"/"+c.ThreadTS]; !ok {
				fail("thread_not_found")
				return
			}
		}
		c.TS = s.ts()
		key := c.Channel + "/" + c.TS
		s.messages[key] = &Message{Channel: c.Channel, TS: c.TS, ThreadTS: c.ThreadTS, Text: c.Text, Blocks: c.Blocks, Broadcast: c.Broadcast}
		s.order = append(s.order, key)
		answer(http.StatusOK, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS,
			"message": map[string]any{"type": "message", "text": c.Text, "ts": c.TS, "thread_ts": c.ThreadTS}})
	case "chat.update":
		m, ok := s.messages[c.Channel+"/"+c.TS]
		if !ok {
			fail("message_not_found")
			return
		}
		if code := s.checkBlocks(c.Blocks, c.Text, 4000); code != "" {
			fail(code)
			return
		}
		m.Text, m.Blocks = c.Text, c.Blocks
		m.Updates++
		answer(http.StatusOK, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
	case "chat.postEphemeral":
		if c.Channel == "" || c.User == "" {
			fail("channel_not_found")
			return
		}
		if code := s.checkBlocks(c.Blocks, c.Text, 40000); code != "" {
			fail(code)
			return
		}
		c.TS = s.ts()
		answer(http.StatusOK, map[string]any{"ok": true, "message_ts": c.TS})
	case "views.open":
		if c.TriggerID == "" || len(c.View) == 0 {
			fail("invalid_arguments")
			return
		}
		var view map[string]any
		_ = json.Unmarshal(c.View, &view)
		view["id"] = "V0001"
		answer(http.StatusOK, map[string]any{"ok": true, "view": view})
	case "usergroups.users.list":
		members, ok := s.groups[form.Get("usergroup")]
		if !ok {
			fail("no_such_subteam")
			return
		}
		answer(http.StatusOK, map[string]any{"ok": true, "users": members})
	case "apps.connections.open":
		answer(http.StatusOK, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"})
	default:
		fail("unknown_method")
	}
}

// checkBlocks applies Slack's Block Kit limits and answers the error code Slack would, or "".
func (s *Server) checkBlocks(raw json.RawMessage, text string, maxText int) string {
	if len(text) > maxText {
		return "msg_too_long"
	}
	if len(raw) == 0 {
		return ""
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "invalid_blocks"
	}
	if len(blocks) > 50 {
		return "invalid_blocks"
	}
	textOf := func(v any) string {
		m, _ := v.(map[string]any)
		str, _ := m["text"].(string)
		return str
	}
	for _, b := range blocks {
		switch b["type"] {
		case "table":
			if s.rejectTables {
				return "invalid_blocks"
			}
		case "header":
			if len([]rune(textOf(b["text"]))) > 150 {
				return "invalid_blocks"
			}
		case "section":
			if len([]rune(textOf(b["text"]))) > 3000 {
				return "invalid_blocks"
			}
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				return "invalid_blocks"
			}
			for _, f := range fields {
				if len([]rune(textOf(f))) > 2000 {
					return "invalid_blocks"
				}
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > 25 {
				return "invalid_blocks"
			}
			for _, e := range els {
				el, _ := e.(map[string]any)
				value, _ := el["value"].(string)
				action, _ := el["action_id"].(string)
				if len(value) > 2000 || len(action) > 255 || len([]rune(textOf(el["text"]))) > 75 {
					return "invalid_blocks"
				}
			}
		}
	}
	return ""
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := Call{Method: "response_url", ResponseID: r.PathValue("id"), Body: body, Status: http.StatusOK}
	var m struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(body, &m) == nil {
		c.Text, c.Blocks = m.Text, m.Blocks
	}
	s.mu.Lock()
	s.recordLocked(c)
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}
