// Package slackfake is a local fake of the parts of Slack's Web API that shipgate calls. It
// serves real HTTP on 127.0.0.1 (httptest), so tests drive the real slack-go client against it:
//
//	fake := slackfake.New(t)
//	api := slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()))
//
// The fake records every call, keeps the current state of every posted message, enforces the
// Block Kit and message limits Slack enforces, knows which channels exist and which the bot is in
// (AddChannel, AddChannelWithoutBot, AddMembers), honours response_urls only as Slack does (issued,
// 5 uses, 30 minutes), fails calls on request (429 with Retry-After, 5xx, ok:false error codes),
// serves Socket Mode over a WebSocket, and builds and signs inbound requests (slash commands,
// interactions) exactly as Slack does.
package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/chatfake"
	"github.com/shipgate/shipgate/truncate"
)

// Identities the fake answers with. They are fixed so tests can assert on them.
const (
	TeamID     = "T0001"
	TeamDomain = "fake"
	AppID      = "A0001"
	BotUserID  = "U0BOT"
	BotID      = "B0001"
)

// maxBody bounds what the fake reads from one request; Slack itself refuses far smaller bodies,
// so anything larger is a client bug and not worth buffering.
const maxBody = 16 << 20

// Server is a running fake of Slack's Web API. Create it with New; it is closed when the test
// that created it finishes.
type Server struct {
	// URL is the base URL of the fake, e.g. http://127.0.0.1:1234.
	URL string

	srv          *httptest.Server
	botToken     string
	appToken     string
	pingInterval time.Duration
	now          func() time.Time

	mu sync.Mutex
	// changed is closed and replaced whenever calls, acks or the Socket Mode connection
	// change, so that waiters wake on the change itself instead of polling.
	changed      chan struct{}
	closed       bool
	calls        []Call
	tsSeq        int
	viewSeq      int
	actionSeq    int
	messages     map[string][]*Message // by channel, in post order
	byTS         map[msgKey]*Message
	failures     map[string][]Failure
	rejectTables bool
	groups       map[string][]string
	channels     map[string]*channel
	responses    map[string]*issuedURL // response_urls issued, by id
	files        map[string]*File      // by id, from files.getUploadURLExternal on
	fileOrder    []string
	fileSeq      int

	// Socket Mode state, guarded by mu.
	ws       *wsConn
	acks     map[string]json.RawMessage
	ackOrder []string

	wg sync.WaitGroup // the WebSocket goroutines, waited for on close
}

type msgKey struct{ channel, ts string }

// Option configures a Server.
type Option func(*Server)

// WithBotToken sets the bot token the Web API methods accept (default "xoxb-test"). Calls
// with any other token are answered {"ok":false,"error":"invalid_auth"}.
func WithBotToken(tok string) Option { return func(s *Server) { s.botToken = tok } }

// WithAppToken sets the app-level token apps.connections.open accepts (default "xapp-test").
func WithAppToken(tok string) Option { return func(s *Server) { s.appToken = tok } }

// WithPingInterval sets how often the fake sends WebSocket pings on a Socket Mode connection
// (default 5s). slack-go drops a connection that has not been pinged within its own
// OptionPingInterval (30s by default), so a test that lowers that must lower this too.
func WithPingInterval(d time.Duration) Option { return func(s *Server) { s.pingInterval = d } }

// WithClock sets the clock response_urls age by (default time.Now), so a test can pass their 30
// minutes without waiting.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts a fake Slack on 127.0.0.1 and closes it in t.Cleanup.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		botToken:     "xoxb-test",
		appToken:     "xapp-test",
		pingInterval: 5 * time.Second,
		now:          time.Now,
		changed:      make(chan struct{}),
		messages:     map[string][]*Message{},
		byTS:         map[msgKey]*Message{},
		failures:     map[string][]Failure{},
		groups:       map[string][]string{},
		channels:     map[string]*channel{},
		responses:    map[string]*issuedURL{},
		files:        map[string]*File{},
		acks:         map[string]json.RawMessage{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/response/", s.handleResponseURL)
	mux.HandleFunc("/ws", s.handleWS)
	mux.HandleFunc("/upload/", s.handleUpload)
	// httptest.NewServer listens on 127.0.0.1 only.
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

// close shuts the fake down: the Socket Mode connection first, because httptest does not
// track hijacked connections and would leave its goroutines running.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		_ = ws.conn.Close()
	}
	s.srv.Close()
	s.wg.Wait()
}

// APIURL is the base URL to pass to slack.OptionAPIURL. slack-go appends method names to it
// directly, so it ends in a slash.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// Call is one recorded request.
type Call struct {
	// Method is the Web API method ("chat.postMessage", "chat.update", "chat.postEphemeral",
	// "views.open", "usergroups.users.list", "auth.test", "apps.connections.open", or any other
	// name a client called) or "response_url".
	Method string
	// Channel, ThreadTS, User, Text and TriggerID are the request's parameters of those names
	// (user for chat.postEphemeral, trigger_id for views.open).
	Channel, ThreadTS, User, Text, TriggerID string
	// TS is the request's ts for chat.update; for a successful chat.postMessage or
	// chat.postEphemeral it is the ts the fake assigned.
	TS string
	// Broadcast is reply_broadcast.
	Broadcast bool
	// Blocks is the blocks JSON as sent: the form field "blocks" (a JSON string), or the
	// "blocks" field of a JSON body. Nil when the request had none.
	Blocks json.RawMessage
	// View is the "view" of views.open.
	View json.RawMessage
	// Form is the parsed form (body and query) of form-encoded calls; nil for JSON bodies.
	Form url.Values
	// Body is the raw request body.
	Body []byte
	// ResponseID is the {id} of /response/{id} for response_url calls.
	ResponseID string
	// ResponseType ("ephemeral", "in_channel"), ReplaceOriginal and DeleteOriginal are the fields of
	// those names of a response_url call.
	ResponseType                    string
	ReplaceOriginal, DeleteOriginal bool
	// Status is the HTTP status the fake answered.
	Status int
	// Error is the Slack error code the fake answered with ("" when ok).
	Error string
	// Detail says why the fake refused a call, in the words of Slack's
	// response_metadata.messages, for failure messages. "" when ok.
	Detail string
}

// Calls returns every recorded call in arrival order. The slice is a copy.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded calls of method, in arrival order.
func (s *Server) CallsTo(method string) []Call {
	return filterCalls(s.Calls(), method)
}

func filterCalls(calls []Call, method string) []Call {
	var out []Call
	for _, c := range calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor blocks until cond, given every call so far, returns true, and returns those calls.
// It re-evaluates cond on each new call, so it returns as soon as the awaited call has been
// answered. If timeout passes first it fails the test with t.Fatalf and a dump of the calls;
// like t.Fatalf it must then be called from the test's goroutine. cond runs without the fake's
// lock held, so it may call the fake's other methods.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Call) bool) []Call {
	t.Helper()
	return chatfake.WaitFor(t, timeout, "slackfake", what, func() ([]Call, <-chan struct{}) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Clone(s.calls), s.changed
	}, cond, DumpCalls)
}

// DumpCalls formats calls one per line for failure messages.
func DumpCalls(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "  #%d %s status=%d", i, c.Method, c.Status)
		if c.Error != "" {
			fmt.Fprintf(&b, " error=%s", c.Error)
		}
		for _, f := range []struct{ k, v string }{
			{"channel", c.Channel}, {"ts", c.TS}, {"thread_ts", c.ThreadTS}, {"user", c.User},
			{"trigger_id", c.TriggerID}, {"response_id", c.ResponseID}, {"response_type", c.ResponseType},
		} {
			if f.v != "" {
				fmt.Fprintf(&b, " %s=%s", f.k, f.v)
			}
		}
		if c.Broadcast {
			b.WriteString(" broadcast")
		}
		if c.ReplaceOriginal {
			b.WriteString(" replace_original")
		}
		if c.DeleteOriginal {
			b.WriteString(" delete_original")
		}
		if c.Text != "" {
			fmt.Fprintf(&b, " text=%q", truncate.Excerpt(c.Text, 120))
		}
		if c.Blocks != nil {
			fmt.Fprintf(&b, " blocks=%s", truncate.Excerpt(string(c.Blocks), 200))
		}
		if c.View != nil {
			fmt.Fprintf(&b, " view=%s", truncate.Excerpt(string(c.View), 200))
		}
		if c.Detail != "" {
			fmt.Fprintf(&b, " detail=%q", c.Detail)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Message is the current state of a posted message: after chat.update, its latest text and
// blocks.
type Message struct {
	Channel, TS, ThreadTS, Text string
	Blocks                      json.RawMessage
	// Updates counts the successful chat.update calls on the message.
	Updates int
	// Broadcast is reply_broadcast of the post.
	Broadcast bool
}

func (m *Message) clone() Message {
	c := *m
	c.Blocks = bytes.Clone(m.Blocks)
	return c
}

// Message returns the current state of the message channel/ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.byTS[msgKey{channel, ts}]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// Messages returns the messages posted to channel, top-level and thread replies, in post
// order. Ephemeral messages are not kept: Slack does not keep them either.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channel] {
		out = append(out, m.clone())
	}
	return out
}

// Failure is how FailNext makes a call fail.
type Failure struct {
	// Status is the HTTP status to answer; 0 means 200.
	Status int
	// RetryAfter is sent as the Retry-After header in whole seconds, rounded up. A 429 always
	// carries the header, "0" when RetryAfter is zero, so clients that honour it retry at once.
	RetryAfter time.Duration
	// Error is the ok:false error code, e.g. "channel_not_found", "not_in_channel",
	// "invalid_blocks". "" means "ratelimited" for a 429 and "internal_error" otherwise.
	Error string
}

// FailNext makes the next n calls of method (a Web API method name or "response_url") fail
// as f says; after them the method behaves normally again. Failures queued for the same
// method are used in the order they were queued. A call with a wrong token is refused
// before, and does not use up, a failure.
func (s *Server) FailNext(method string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], f)
	}
}

// RejectTableBlocks makes the fake refuse, while reject is true, every chat.postMessage and
// chat.update whose blocks contain a block of type "table", with "invalid_blocks" — as a
// workspace without table blocks does — so tests can prove a client's fallback.
func (s *Server) RejectTableBlocks(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectTables = reject
}

// SetUserGroup sets the members usergroups.users.list returns for the user group id. An id
// never set is answered "no_such_subteam".
func (s *Server) SetUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

// notify wakes every waiter. The caller holds s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// record appends c and wakes waiters. The caller holds s.mu. Calls are recorded before they
// are answered, so a client that has its answer always finds its call recorded.
func (s *Server) record(c Call) {
	s.calls = append(s.calls, c)
	s.notify()
}

// params reads request parameters from a form-encoded or a JSON body alike, because slack-go
// sends most methods as forms and some (views.open, apps.connections.open) as JSON.
type params struct {
	form url.Values
	js   map[string]json.RawMessage
}

func (p params) has(k string) bool {
	if _, ok := p.js[k]; ok {
		return true
	}
	_, ok := p.form[k]
	return ok
}

func (p params) str(k string) string {
	if raw, ok := p.js[k]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if string(raw) == "null" {
			return ""
		}
		// Booleans and numbers, as their JSON text ("true", "12").
		return string(raw)
	}
	return p.form.Get(k)
}

// raw returns a JSON-valued parameter as JSON text. Forms carry it as a string; JSON bodies
// carry it either as the value itself or, as Slack also accepts, as a string holding JSON.
func (p params) raw(k string) json.RawMessage {
	if raw, ok := p.js[k]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return json.RawMessage(s)
		}
		if string(raw) == "null" {
			return nil
		}
		return bytes.Clone(raw)
	}
	if _, ok := p.form[k]; ok {
		return json.RawMessage(p.form.Get(k))
	}
	return nil
}

func truthy(v string) bool { return v == "true" || v == "1" }

// readParams reads the body of r and parses it by its Content-Type.
func readParams(r *http.Request) (body []byte, p params, isForm bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, p, false, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch ct {
	case "application/json":
		p.form = r.URL.Query()
		if len(bytes.TrimSpace(body)) > 0 && !bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			if err := json.Unmarshal(body, &p.js); err != nil {
				return body, p, false, err
			}
		}
		return body, p, false, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return body, p, true, err
		}
	default:
		if err := r.ParseForm(); err != nil {
			return body, p, true, err
		}
	}
	p.form = r.Form
	return body, p, true, nil
}

// reply is the fake's answer to one call.
type reply struct {
	status     int
	retryAfter string
	body       map[string]any
}

func okReply(fields map[string]any) reply {
	body := map[string]any{"ok": true}
	maps.Copy(body, fields)
	return reply{status: http.StatusOK, body: body}
}

func errReply(code, detail string) reply {
	body := map[string]any{"ok": false, "error": code}
	if detail != "" {
		body["response_metadata"] = map[string]any{"messages": []string{"[ERROR] " + detail}}
	}
	return reply{status: http.StatusOK, body: body}
}

func (r reply) code() string {
	if ok, _ := r.body["ok"].(bool); ok {
		return ""
	}
	code, _ := r.body["error"].(string)
	return code
}

func (r reply) detail() string {
	md, _ := r.body["response_metadata"].(map[string]any)
	msgs, _ := md["messages"].([]string)
	return strings.Join(msgs, "; ")
}

func (r reply) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.retryAfter != "" {
		w.Header().Set("Retry-After", r.retryAfter)
	}
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(r.body)
}

// failureReply turns f into the answer Slack gives in that situation.
func failureReply(f Failure) reply {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	code := f.Error
	if code == "" {
		code = "internal_error"
		if status == http.StatusTooManyRequests {
			code = "ratelimited"
		}
	}
	r := reply{status: status, body: map[string]any{"ok": false, "error": code}}
	if status == http.StatusTooManyRequests || f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		r.retryAfter = strconv.FormatInt(int64(secs), 10)
	}
	return r
}

// takeFailure pops the next queued failure of method. The caller holds s.mu.
func (s *Server) takeFailure(method string) (Failure, bool) {
	q := s.failures[method]
	if len(q) == 0 {
		return Failure{}, false
	}
	s.failures[method] = q[1:]
	return q[0], true
}

// bearer returns the token of the call: the Authorization header, which slack-go sends for
// JSON calls, or else the token form field, which it sends for form calls.
func bearer(r *http.Request, p params) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok
	}
	return p.form.Get("token")
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, p, isForm, perr := readParams(r)
	c := Call{
		Method:    method,
		Channel:   p.str("channel"),
		ThreadTS:  p.str("thread_ts"),
		User:      p.str("user"),
		Text:      p.str("text"),
		TriggerID: p.str("trigger_id"),
		Broadcast: truthy(p.str("reply_broadcast")),
		Blocks:    p.raw("blocks"),
		View:      p.raw("view"),
		Body:      body,
	}
	if method == "chat.update" {
		c.TS = p.str("ts")
	}
	if isForm {
		c.Form = p.form
	}

	s.mu.Lock()
	rep := s.answer(r, method, p, perr, &c)
	c.Status, c.Error, c.Detail = rep.status, rep.code(), rep.detail()
	s.record(c)
	s.mu.Unlock()
	rep.write(w)
}

// answer decides the reply to one Web API call. The caller holds s.mu.
func (s *Server) answer(r *http.Request, method string, p params, perr error, c *Call) reply {
	if perr != nil {
		return errReply("invalid_form_data", perr.Error())
	}
	want := s.botToken
	if method == "apps.connections.open" {
		want = s.appToken
	}
	switch tok := bearer(r, p); tok {
	case "":
		return errReply("not_authed", "")
	case want:
	default:
		return errReply("invalid_auth", "")
	}
	if f, ok := s.takeFailure(method); ok {
		return failureReply(f)
	}
	switch method {
	case "chat.postMessage":
		return s.postMessage(p, c)
	case "chat.update":
		return s.updateMessage(p)
	case "chat.postEphemeral":
		return s.postEphemeral(p, c)
	case "chat.getPermalink":
		return s.permalink(p)
	case "views.open":
		return s.openView(p)
	case "files.getUploadURLExternal":
		return s.getUploadURL(p)
	case "files.completeUploadExternal":
		return s.completeUpload(p, c)
	case "usergroups.users.list":
		members, ok := s.groups[p.str("usergroup")]
		if !ok {
			return errReply("no_such_subteam", "")
		}
		return okReply(map[string]any{"users": append([]string{}, members...)})
	case "auth.test":
		return okReply(map[string]any{
			"url": "https://fake.slack.test/", "team": "Fake", "user": "shipgate",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
		})
	case "apps.connections.open":
		return okReply(map[string]any{"url": "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"})
	default:
		return errReply("unknown_method", "")
	}
}

// nextTS returns the next message ts. One counter serves the whole server, so ts values are
// unique across channels and grow in post order, as Slack's do.
func (s *Server) nextTS() string {
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", 1700000000+s.tsSeq/1000000, s.tsSeq%1000000)
}

// checkContent applies the checks Slack makes on a message's text and blocks. The caller
// holds s.mu.
func (s *Server) checkContent(p params, maxText int, tables bool) (reply, bool) {
	text := p.str("text")
	blocks := p.raw("blocks")
	if text == "" && !hasBlocks(blocks) && p.str("attachments") == "" {
		return errReply("no_text", "one of text, blocks or attachments is required"), false
	}
	if n := runeLen(text); n > maxText {
		return errReply("msg_too_long", fmt.Sprintf("text is %d characters, more than %d", n, maxText)), false
	}
	if blocks != nil {
		if detail := checkBlocks(blocks, maxMessageBlocks, tables && s.rejectTables); detail != "" {
			return errReply("invalid_blocks", detail), false
		}
	}
	return reply{}, true
}

// hasBlocks reports whether blocks holds at least one block. "[]" does not count: Slack wants
// text then.
func hasBlocks(blocks json.RawMessage) bool {
	t := bytes.TrimSpace(blocks)
	return len(t) > 0 && !bytes.Equal(t, []byte("[]")) && !bytes.Equal(t, []byte("null"))
}

func messageJSON(m *Message) map[string]any {
	msg := map[string]any{
		"type": "message", "user": BotUserID, "bot_id": BotID, "team": TeamID,
		"text": m.Text, "ts": m.TS,
	}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		msg["blocks"] = json.RawMessage(m.Blocks)
	}
	return msg
}

func (s *Server) postMessage(p params, c *Call) reply {
	channel := p.str("channel")
	if _, rep, ok := s.postable(channel); !ok {
		return rep
	}
	threadTS := p.str("thread_ts")
	if threadTS != "" {
		parent, ok := s.byTS[msgKey{channel, threadTS}]
		if !ok {
			return errReply("thread_not_found", "")
		}
		// A reply to a reply lands in the parent's thread, as in Slack.
		if parent.ThreadTS != "" {
			threadTS = parent.ThreadTS
		}
	}
	if rep, ok := s.checkContent(p, maxPostText, true); !ok {
		return rep
	}
	m := &Message{
		Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, Text: p.str("text"),
		Blocks:    p.raw("blocks"),
		Broadcast: threadTS != "" && truthy(p.str("reply_broadcast")),
	}
	s.messages[channel] = append(s.messages[channel], m)
	s.byTS[msgKey{channel, m.TS}] = m
	c.TS = m.TS
	return okReply(map[string]any{"channel": channel, "ts": m.TS, "message": messageJSON(m)})
}

func (s *Server) updateMessage(p params) reply {
	channel, ts := p.str("channel"), p.str("ts")
	if rep, ok := s.updatable(channel); !ok {
		return rep
	}
	m, ok := s.byTS[msgKey{channel, ts}]
	if !ok {
		return errReply("message_not_found", "")
	}
	if rep, ok := s.checkContent(p, maxUpdateText, true); !ok {
		return rep
	}
	// Only the fields sent change: an update with blocks but no text keeps the old text.
	if p.has("text") {
		m.Text = p.str("text")
	}
	if p.has("blocks") {
		m.Blocks = p.raw("blocks")
	}
	m.Updates++
	return okReply(map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": messageJSON(m)})
}

// permalink answers chat.getPermalink as Slack does: a link to the message in the workspace's web
// client, https://WORKSPACE.slack.com/archives/CHANNEL/pTS with the ts's dot taken out.
func (s *Server) permalink(p params) reply {
	channel, ts := p.str("channel"), p.str("message_ts")
	if _, ok := s.byTS[msgKey{channel, ts}]; !ok {
		return errReply("message_not_found", "")
	}
	return okReply(map[string]any{"channel": channel,
		"permalink": fmt.Sprintf("https://fake.slack.test/archives/%s/p%s", channel, strings.ReplaceAll(ts, ".", ""))})
}

// postEphemeral shows a message to one user in a channel. Besides the channel, the user must be in it
// ("user_not_in_channel: Intended recipient is not in the specified channel",
// https://docs.slack.dev/reference/methods/chat.postEphemeral): only users put there with AddMembers
// are.
func (s *Server) postEphemeral(p params, c *Call) reply {
	ch, rep, ok := s.postable(p.str("channel"))
	if !ok {
		return rep
	}
	if user := p.str("user"); user == "" || !ch.members[user] {
		return errReply("user_not_in_channel", "the user is not in the channel")
	}
	if rep, ok := s.checkContent(p, maxPostText, false); !ok {
		return rep
	}
	c.TS = s.nextTS()
	return okReply(map[string]any{"message_ts": c.TS})
}

func (s *Server) openView(p params) reply {
	if p.str("trigger_id") == "" {
		return errReply("invalid_arguments", "missing required field: trigger_id")
	}
	raw := p.raw("view")
	if raw == nil {
		return errReply("invalid_arguments", "missing required field: view")
	}
	view, detail := checkModal(raw)
	if detail != "" {
		return errReply("invalid_arguments", detail)
	}
	s.viewSeq++
	view["id"] = fmt.Sprintf("V%04d", s.viewSeq)
	view["team_id"] = TeamID
	view["app_id"] = AppID
	view["bot_id"] = BotID
	view["app_installed_team_id"] = TeamID
	view["root_view_id"] = view["id"]
	view["hash"] = fmt.Sprintf("1700000000.hash%04d", s.viewSeq)
	view["state"] = map[string]any{"values": map[string]any{}}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := view[k]; !ok {
			view[k] = ""
		}
	}
	return okReply(map[string]any{"view": view})
}
