package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/bot"
)

// restFake is just enough of Discord's REST API for the client: messages and threads in channels,
// with failures on request. Threads started on a message get the message's id, as on Discord.
type restFake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	calls    []restCall
	messages map[string]string // message id → channel id
	seq      int
	failures map[string][]restFailure // by route
}

type restCall struct {
	Route, Method, Path, Auth string
	Body                      map[string]any
}

type restFailure struct {
	status int
	body   string
}

func newRESTFake(t *testing.T) *restFake {
	f := &restFake{t: t, messages: map[string]string{}, failures: map[string][]restFailure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v9/channels/{cid}/messages", f.route("messages.create", func(r *http.Request) (int, any) {
		f.seq++
		id := fmt.Sprintf("M%d", f.seq)
		f.messages[id] = r.PathValue("cid")
		return http.StatusOK, map[string]any{"id": id, "channel_id": r.PathValue("cid")}
	}))
	mux.HandleFunc("PATCH /api/v9/channels/{cid}/messages/{mid}", f.route("messages.edit", func(r *http.Request) (int, any) {
		if f.messages[r.PathValue("mid")] != r.PathValue("cid") {
			return http.StatusNotFound, map[string]any{"message": "Unknown Message", "code": 10008}
		}
		return http.StatusOK, map[string]any{"id": r.PathValue("mid"), "channel_id": r.PathValue("cid")}
	}))
	mux.HandleFunc("DELETE /api/v9/channels/{cid}/messages/{mid}", f.route("messages.delete", func(r *http.Request) (int, any) {
		delete(f.messages, r.PathValue("mid"))
		return http.StatusNoContent, nil
	}))
	mux.HandleFunc("POST /api/v9/channels/{cid}/messages/{mid}/threads", f.route("threads.create", func(r *http.Request) (int, any) {
		return http.StatusCreated, map[string]any{"id": r.PathValue("mid"), "parent_id": r.PathValue("cid"), "type": 11}
	}))
	mux.HandleFunc("/", f.route("unknown", func(*http.Request) (int, any) {
		return http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0}
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *restFake) route(name string, ok func(*http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, restCall{Route: name, Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
		w.Header().Set("Content-Type", "application/json")
		if q := f.failures[name]; len(q) > 0 {
			f.failures[name] = q[1:]
			w.WriteHeader(q[0].status)
			_, _ = io.WriteString(w, q[0].body)
			return
		}
		status, out := ok(r)
		w.WriteHeader(status)
		if out != nil {
			_ = json.NewEncoder(w).Encode(out)
		}
	}
}

// failNext makes the next n calls to route answer status with body.
func (f *restFake) failNext(route string, n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failures[route] = append(f.failures[route], restFailure{status, body})
	}
}

func (f *restFake) takeCalls() []restCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func (f *restFake) paths(calls []restCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

type observed struct {
	mu  sync.Mutex
	got []string
}

func (o *observed) Observe(platform, method, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, platform+" "+method+" "+outcome)
}

func (o *observed) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.got
	o.got = nil
	return out
}

// newTestClient is a Client on a session made by NewSession, pointed at a restFake through api_url.
func newTestClient(t *testing.T) (*Client, *restFake, *observed) {
	fake := newRESTFake(t)
	s, err := NewSession("test-token", fake.srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(s, nil)
	obs := &observed{}
	c.Calls = obs
	return c, fake, obs
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

var root = bot.Message{Header: "Delivery #1: web v1", Stages: []bot.StageStatus{{Stage: "qa", State: bot.StageRunning}}}

// A root card is posted in the channel and gets a thread, whose id comes back for the replies.
func TestPostRootCardStartsThread(t *testing.T) {
	c, fake, obs := newTestClient(t)
	posted, err := c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true, ThreadName: root.Header})
	if err != nil {
		t.Fatal(err)
	}
	if posted != (bot.Posted{MessageID: "M1", Thread: "M1"}) {
		t.Errorf("posted %+v", posted)
	}
	calls := fake.takeCalls()
	equal(t, "calls", fake.paths(calls), []string{"POST /api/v9/channels/C1/messages", "POST /api/v9/channels/C1/messages/M1/threads"})
	if calls[0].Auth != "Bot test-token" {
		t.Errorf("authorization %q", calls[0].Auth)
	}
	if embeds, _ := calls[0].Body["embeds"].([]any); len(embeds) != 1 {
		t.Errorf("message body %v", calls[0].Body)
	}
	if b := calls[1].Body; b["name"] != root.Header || b["auto_archive_duration"] != 1440.0 {
		t.Errorf("thread %v", b)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord threads.create ok"})

	for name, want := range map[string]string{"": defaultThreadName, strings.Repeat("n", 150): strings.Repeat("n", 97) + "…"} {
		if _, err := c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true, ThreadName: name}); err != nil {
			t.Fatal(err)
		}
		if got := fake.takeCalls()[1].Body["name"]; got != want {
			t.Errorf("thread name %q, want %q", got, want)
		}
	}
}

// Replies go into the thread, which is a channel of its own on Discord; a broadcast reply leaves a
// pointer in the channel, without buttons.
func TestPostThreadReply(t *testing.T) {
	c, fake, _ := newTestClient(t)
	reply := bot.Message{Text: "qa · `test` ✅ pass"}
	posted, err := c.Post(t.Context(), "C1", reply, bot.PostOptions{Thread: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	if posted != (bot.Posted{MessageID: "M1", Thread: "T1"}) {
		t.Errorf("posted %+v", posted)
	}
	equal(t, "calls", fake.paths(fake.takeCalls()), []string{"POST /api/v9/channels/T1/messages"})

	approval := bot.Message{Header: "Approval: web v1 to production", Buttons: approveButtons()}
	for guild, link := range map[string]string{"": "<#T1>", "G1": "https://discord.com/channels/G1/T1/"} {
		c.GuildID = guild
		posted, err := c.Post(t.Context(), "C1", approval, bot.PostOptions{Thread: "T1", Broadcast: true})
		if err != nil {
			t.Fatal(err)
		}
		calls := fake.takeCalls()
		equal(t, "calls", fake.paths(calls), []string{"POST /api/v9/channels/T1/messages", "POST /api/v9/channels/C1/messages"})
		if comps, _ := calls[0].Body["components"].([]any); len(comps) != 1 {
			t.Errorf("the reply lost its buttons: %v", calls[0].Body["components"])
		}
		content, _ := calls[1].Body["content"].(string)
		if !strings.HasPrefix(content, "📣 Approval: web v1 to production → "+link) || (guild != "" && !strings.HasSuffix(content, posted.MessageID)) {
			t.Errorf("pointer %q", content)
		}
		if comps, _ := calls[1].Body["components"].([]any); len(comps) != 0 {
			t.Errorf("the pointer has buttons: %v", comps)
		}
	}
}

// The root card is edited in the channel, replies in their thread.
func TestUpdate(t *testing.T) {
	c, fake, obs := newTestClient(t)
	card, err := c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := c.Post(t.Context(), "C1", bot.Message{Text: "approval", Buttons: approveButtons()}, bot.PostOptions{Thread: card.Thread})
	if err != nil {
		t.Fatal(err)
	}
	fake.takeCalls()
	obs.take()
	if err := c.Update(t.Context(), "C1", card.Thread, card.MessageID, root); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(t.Context(), "C1", card.Thread, reply.MessageID, bot.Message{Text: "decided"}); err != nil {
		t.Fatal(err)
	}
	calls := fake.takeCalls()
	equal(t, "calls", fake.paths(calls), []string{"PATCH /api/v9/channels/C1/messages/M1", "PATCH /api/v9/channels/M1/messages/M2"})
	if comps, ok := calls[1].Body["components"].([]any); !ok || len(comps) != 0 {
		t.Errorf("the decided approval keeps its buttons: %v", calls[1].Body)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.edit ok", "discord messages.edit ok"})

	// A root card whose thread does not carry its id is found in the channel all the same.
	if err := c.Update(t.Context(), "C1", "T9", card.MessageID, root); err != nil {
		t.Fatal(err)
	}
	equal(t, "calls", fake.paths(fake.takeCalls()), []string{"PATCH /api/v9/channels/T9/messages/M1", "PATCH /api/v9/channels/C1/messages/M1"})
}

// Discord's answers become errors the bot understands: a 429 or a 5xx is worth retrying (after
// retry_after, or a moment), a 4xx is not; discordgo neither sleeps on the 429 nor retries it.
func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		status   int
		body     string
		times    int
		after    time.Duration // 0: not worth retrying
		outcome  string
		requests int
	}{
		{"rate limited", http.StatusTooManyRequests, `{"retry_after":0.25,"global":false,"message":"You are being rate limited."}`, 1, 250 * time.Millisecond, "rate_limited", 1},
		{"server error", http.StatusInternalServerError, `{"message":"500: Internal Server Error","code":0}`, 1, serverErrorWait, "error", 1},
		{"bad gateway", http.StatusBadGateway, `bad gateway`, 4, serverErrorWait, "error", 4},
		{"bad request", http.StatusBadRequest, `{"message":"Invalid Form Body","code":50035}`, 1, 0, "error", 1},
		{"forbidden", http.StatusForbidden, `{"message":"Missing Access","code":50001}`, 1, 0, "error", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, fake, obs := newTestClient(t)
			fake.failNext("messages.create", tt.times, tt.status, tt.body)
			_, err := c.Post(t.Context(), "C1", root, bot.PostOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			var rl *bot.RetryLater
			switch {
			case tt.after == 0 && errors.As(err, &rl):
				t.Errorf("%v is worth retrying", err)
			case tt.after != 0 && (!errors.As(err, &rl) || rl.After != tt.after):
				t.Errorf("%v, want a retry after %v", err, tt.after)
			}
			if !strings.Contains(err.Error(), "discord messages.create") || strings.Contains(err.Error(), "test-token") {
				t.Errorf("error %q", err)
			}
			if n := len(fake.takeCalls()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			equal(t, "observed", obs.take(), []string{"discord messages.create " + tt.outcome})
		})
	}
}

// A root card whose thread cannot be started is taken back, so that the bot's retry does not leave
// two cards; a short rate limit on the thread is waited out.
func TestPostRootCardThreadFailure(t *testing.T) {
	c, fake, _ := newTestClient(t)
	var waited []time.Duration
	c.wait = func(_ context.Context, d time.Duration) bool { waited = append(waited, d); return true }

	fake.failNext("threads.create", 1, http.StatusTooManyRequests, `{"retry_after":0.5,"global":false,"message":"slow down"}`)
	posted, err := c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true})
	if err != nil || posted.Thread != posted.MessageID || len(waited) != 1 || waited[0] != 500*time.Millisecond {
		t.Errorf("posted %+v, %v after waiting %v", posted, err, waited)
	}
	fake.takeCalls()

	fake.failNext("threads.create", 1, http.StatusForbidden, `{"message":"Missing Permissions","code":50013}`)
	if _, err := c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true}); err == nil || !strings.Contains(err.Error(), "threads.create") {
		t.Errorf("err = %v", err)
	}
	equal(t, "calls", fake.paths(fake.takeCalls()), []string{"POST /api/v9/channels/C1/messages", "POST /api/v9/channels/C1/messages/M2/threads",
		"DELETE /api/v9/channels/C1/messages/M2"})

	// A long wait is the bot's to schedule: the card is taken back and the error says when to retry.
	fake.failNext("threads.create", 1, http.StatusTooManyRequests, `{"retry_after":30,"global":false,"message":"slow down"}`)
	_, err = c.Post(t.Context(), "C1", root, bot.PostOptions{StartThread: true})
	var rl *bot.RetryLater
	if !errors.As(err, &rl) || rl.After != 30*time.Second {
		t.Errorf("err = %v", err)
	}
	if calls := fake.paths(fake.takeCalls()); len(calls) != 3 || !strings.HasPrefix(calls[2], "DELETE") {
		t.Errorf("calls %q", calls)
	}
}

// NewSession sends every request to api_url, keeping discordgo's path (and a prefix api_url has),
// without touching discordgo's package variables.
func TestNewSession(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path)
		_, _ = io.WriteString(w, `{"id":"1","channel_id":"C1"}`)
	}))
	defer srv.Close()
	for _, tt := range []struct{ apiURL, want string }{
		{srv.URL, "/api/v9/channels/C1/messages"},
		{srv.URL + "/", "/api/v9/channels/C1/messages"},
		{srv.URL + "/api/v9/", "/api/v9/channels/C1/messages"},
		{srv.URL + "/proxy/discord", "/proxy/discord/api/v9/channels/C1/messages"},
	} {
		mu.Lock()
		paths = nil
		mu.Unlock()
		s, err := NewSession("tok", tt.apiURL)
		if err != nil {
			t.Fatal(err)
		}
		if s.ShouldRetryOnRateLimit || s.Client.Timeout == 0 {
			t.Errorf("session retries on rate limits (%v) or has no timeout (%v)", s.ShouldRetryOnRateLimit, s.Client.Timeout)
		}
		if _, err := NewClient(s, nil).Post(t.Context(), "C1", root, bot.PostOptions{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(paths) != 1 || paths[0] != tt.want {
			t.Errorf("api_url %s: requests %q, want %s", tt.apiURL, paths, tt.want)
		}
		mu.Unlock()
	}
	if discordgo.EndpointAPI != "https://discord.com/api/v9/" {
		t.Errorf("discordgo.EndpointAPI = %s", discordgo.EndpointAPI)
	}
	for _, bad := range []string{"ftp://example.com", "not a url", "http://"} {
		if _, err := NewSession("secret-token", bad); err == nil || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("NewSession(%q) = %v", bad, err)
		}
	}
}

func TestPostPrivateNeedsAnInteraction(t *testing.T) {
	c, fake, _ := newTestClient(t)
	if err := c.PostPrivate(t.Context(), "C1", "U1", bot.Message{Text: "hi"}); !errors.Is(err, errPrivateNeedsInteraction) {
		t.Errorf("err = %v", err)
	}
	if calls := fake.takeCalls(); len(calls) != 0 {
		t.Errorf("calls %v", calls)
	}
}

func TestPermalink(t *testing.T) {
	c, _, _ := newTestClient(t)
	if link, err := c.Permalink(t.Context(), "C1", "M1"); link != "" || !errors.Is(err, errNoGuild) {
		t.Errorf("without a guild: %q, %v", link, err)
	}
	c.GuildID = "G1"
	if link, err := c.Permalink(t.Context(), "C1", "M1"); link != "https://discord.com/channels/G1/C1/M1" || err != nil {
		t.Errorf("Permalink = %q, %v", link, err)
	}
}

// Every call carries the caller's context.
func TestPostHonoursContext(t *testing.T) {
	c, _, _ := newTestClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Post(ctx, "C1", root, bot.PostOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
