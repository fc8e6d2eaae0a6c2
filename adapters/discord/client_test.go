package discord

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/adapters/chatlimit"
	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/bot/bottest"
)

// The guild and channel the client's tests post to, and a channel nobody made: snowflakes, as the
// fake and Discord want them.
const (
	cGuild   = "930000000000000001"
	cChannel = "930000000000000002"
	cUnknown = "930000000000000099"
)

// apiChannels is the path of Discord's channel routes, as discordgo addresses them.
const apiChannels = "/api/v9/channels/"

// clientFake is discordfake, with the calls a test has already looked at set aside.
type clientFake struct {
	*discordfake.Server
	taken int
}

// take returns the calls recorded since the last take.
func (f *clientFake) take() []discordfake.Call {
	calls := f.Calls()
	out := calls[f.taken:]
	f.taken = len(calls)
	return out
}

// paths are the calls as "METHOD path".
func paths(calls []discordfake.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// statuses are the HTTP statuses the fake answered the calls with.
func statuses(calls []discordfake.Call) []int {
	var out []int
	for _, c := range calls {
		out = append(out, c.Status)
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

// newTestClient is a Client built as production builds it (NewSession with discord.api_url set to the
// fake, then NewClient), talking to a discordfake that knows cChannel in cGuild.
func newTestClient(t *testing.T) (*Client, *clientFake, *observed) {
	t.Helper()
	fake := discordfake.New(t)
	fake.AddChannel(cGuild, cChannel)
	s, err := NewSession(discordfake.DefaultToken, fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(s, slog.New(slog.DiscardHandler))
	obs := &observed{}
	c.Calls = obs
	return c, &clientFake{Server: fake}, obs
}

// logTo makes c log into a buffer.
func logTo(c *Client) *bytes.Buffer {
	var buf bytes.Buffer
	c.log = slog.New(slog.NewTextHandler(&buf, nil))
	return &buf
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

var root = bot.Message{Header: "Delivery #1: web v1", Stages: []bot.StageStatus{{Stage: "qa", State: bot.StageRunning}}}

// A root card is posted in the channel and gets a thread, whose id (the card's, as on Discord) comes
// back for the replies.
func TestPostRootCardStartsThread(t *testing.T) {
	c, fake, obs := newTestClient(t)
	posted, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true, ThreadName: root.Header})
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.take()
	if len(calls) != 2 {
		t.Fatalf("calls:\n%s", discordfake.DumpCalls(calls))
	}
	card := calls[0].MessageID
	if !snowflake.MatchString(card) || posted != (bot.Posted{MessageID: card, Thread: card}) {
		t.Errorf("posted %+v, the fake made message %q", posted, card)
	}
	equal(t, "calls", paths(calls), []string{"POST " + apiChannels + cChannel + "/messages", "POST " + apiChannels + cChannel + "/messages/" + card + "/threads"})
	// The fake answers 401 to anything but "Authorization: Bot <its token>" (see TestUnauthorized).
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusCreated})
	if embeds, _ := calls[0].Body["embeds"].([]any); len(embeds) != 1 {
		t.Errorf("message body %s", calls[0].Raw)
	}
	if b := calls[1].Body; b["name"] != root.Header || b["auto_archive_duration"] != 1440.0 || len(b) != 2 {
		t.Errorf("thread body %s", calls[1].Raw)
	}
	if th, ok := fake.ThreadChannel(card); !ok || th.ParentID != cChannel || th.MessageID != card || th.Name != root.Header || th.AutoArchiveDuration != 1440 {
		t.Errorf("thread %+v, %v", th, ok)
	}
	if m, ok := fake.Message(cChannel, card); !ok || m.ThreadID != card || len(m.Embeds) != 1 {
		t.Errorf("card %+v, %v", m, ok)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord threads.create ok"})

	for _, tt := range []struct{ name, want string }{
		{"", defaultThreadName},
		{"  ", defaultThreadName},
		{strings.Repeat("n", 150), strings.Repeat("n", 97) + "…"},
	} {
		posted, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true, ThreadName: tt.name})
		if err != nil {
			t.Fatal(err)
		}
		if got := fake.take()[1].Body["name"]; got != tt.want {
			t.Errorf("thread name %q, want %q", got, tt.want)
		}
		if th, _ := fake.ThreadChannel(posted.Thread); th.Name != tt.want {
			t.Errorf("the fake's thread is named %q, want %q", th.Name, tt.want)
		}
	}
}

// Replies go into the thread, which is a channel of its own on Discord; a broadcast reply leaves a
// pointer in the channel, without buttons. The pointer is best effort: its failure is logged, not
// returned.
func TestPostThreadReply(t *testing.T) {
	c, fake, obs := newTestClient(t)
	card, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	thread := card.Thread
	fake.take()
	obs.take()

	reply := bot.Message{Text: "qa · `test` ✅ pass"}
	posted, err := c.Post(t.Context(), cChannel, reply, bot.PostOptions{Thread: thread})
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.take()
	equal(t, "calls", paths(calls), []string{"POST " + apiChannels + thread + "/messages"})
	if posted != (bot.Posted{MessageID: calls[0].MessageID, Thread: thread}) || !snowflake.MatchString(posted.MessageID) {
		t.Errorf("posted %+v", posted)
	}
	if _, ok := fake.Message(thread, posted.MessageID); !ok {
		t.Errorf("the reply is not in the thread")
	}
	if n := len(fake.Messages(cChannel)); n != 1 {
		t.Errorf("%d messages in the channel, want the card only", n)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok"})

	approval := bot.Message{Header: "Approval: web v1 to production", Buttons: approveButtons()}
	for _, tt := range []struct{ guild, link string }{
		{"", "<#" + thread + ">"},
		{cGuild, "https://discord.com/channels/" + cGuild + "/" + thread + "/"},
	} {
		c.GuildID = tt.guild
		posted, err := c.Post(t.Context(), cChannel, approval, bot.PostOptions{Thread: thread, Broadcast: true})
		if err != nil {
			t.Fatal(err)
		}
		calls := fake.take()
		equal(t, "calls", paths(calls), []string{"POST " + apiChannels + thread + "/messages", "POST " + apiChannels + cChannel + "/messages"})
		equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusOK})
		if posted != (bot.Posted{MessageID: calls[0].MessageID, Thread: thread}) {
			t.Errorf("posted %+v, want the reply", posted)
		}
		if comps, _ := calls[0].Body["components"].([]any); len(comps) != 1 {
			t.Errorf("the reply lost its buttons: %s", calls[0].Raw)
		}
		content := calls[1].Content
		if !strings.HasPrefix(content, "📣 Approval: web v1 to production → "+tt.link) || (tt.guild != "" && !strings.HasSuffix(content, posted.MessageID)) {
			t.Errorf("pointer %q", content)
		}
		if comps, _ := calls[1].Body["components"].([]any); len(comps) != 0 {
			t.Errorf("the pointer has buttons: %v", comps)
		}
		if m, ok := fake.Message(cChannel, calls[1].MessageID); !ok || m.Content != content || len(m.Components) != 0 {
			t.Errorf("the channel's pointer %+v, %v", m, ok)
		}
		equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord messages.create ok"})
	}

	// The bot may not post in the channel, but may in its threads: the reply is posted all the same.
	fake.SetBotPermissions(cChannel, discordfake.BotPermissions&^discordfake.PermSendMessages)
	logged := logTo(c)
	posted, err = c.Post(t.Context(), cChannel, approval, bot.PostOptions{Thread: thread, Broadcast: true})
	calls = fake.take()
	if err != nil || posted != (bot.Posted{MessageID: calls[0].MessageID, Thread: thread}) {
		t.Errorf("posted %+v, %v; want the reply and no error", posted, err)
	}
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusForbidden})
	if calls[1].Code != 50013 {
		t.Errorf("the pointer was refused with code %d, want 50013 Missing Permissions", calls[1].Code)
	}
	if !strings.Contains(logged.String(), "posting the channel's pointer to a thread reply") {
		t.Errorf("the pointer's failure is not logged:\n%s", logged)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord messages.create error"})
}

// The root card is edited in the channel, replies in their thread; a message that is not in the
// thread it is said to be in is looked for in the channel.
func TestUpdate(t *testing.T) {
	c, fake, obs := newTestClient(t)
	card, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := c.Post(t.Context(), cChannel, bot.Message{Text: "approval", Buttons: approveButtons()}, bot.PostOptions{Thread: card.Thread})
	if err != nil {
		t.Fatal(err)
	}
	fake.take()
	obs.take()
	if err := c.Update(t.Context(), cChannel, card.Thread, card.MessageID, root); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(t.Context(), cChannel, card.Thread, reply.MessageID, bot.Message{Text: "decided"}); err != nil {
		t.Fatal(err)
	}
	calls := fake.take()
	equal(t, "calls", paths(calls), []string{"PATCH " + apiChannels + cChannel + "/messages/" + card.MessageID, "PATCH " + apiChannels + card.Thread + "/messages/" + reply.MessageID})
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusOK})
	if comps, ok := calls[1].Body["components"].([]any); !ok || len(comps) != 0 {
		t.Errorf("the decided approval keeps its buttons: %s", calls[1].Raw)
	}
	if m, _ := fake.Message(card.Thread, reply.MessageID); m.Edits != 1 || len(m.Components) != 0 || !strings.Contains(embedText(m.Embeds), "decided") {
		t.Errorf("the reply after its edit: %+v", m)
	}
	if m, _ := fake.Message(cChannel, card.MessageID); m.Edits != 1 {
		t.Errorf("the card was edited %d times, want 1", m.Edits)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.edit ok", "discord messages.edit ok"})

	// A root card whose thread does not carry its id is found in the channel all the same: whether the
	// thread is another one (Unknown Message) or one Discord does not know (Unknown Channel).
	other, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	fake.take()
	obs.take()
	for _, tt := range []struct {
		thread string
		code   int
	}{{other.Thread, 10008}, {cUnknown, 10003}} {
		if err := c.Update(t.Context(), cChannel, tt.thread, card.MessageID, root); err != nil {
			t.Fatal(err)
		}
		calls := fake.take()
		equal(t, "calls", paths(calls), []string{"PATCH " + apiChannels + tt.thread + "/messages/" + card.MessageID, "PATCH " + apiChannels + cChannel + "/messages/" + card.MessageID})
		equal(t, "statuses", statuses(calls), []int{http.StatusNotFound, http.StatusOK})
		if calls[0].Code != tt.code {
			t.Errorf("thread %s: code %d, want %d", tt.thread, calls[0].Code, tt.code)
		}
		equal(t, "observed", obs.take(), []string{"discord messages.edit error", "discord messages.edit ok"})
	}

	// Only a 404 is tried again in the channel.
	fake.FailNext(discordfake.RouteMessageEdit, 1, discordfake.Failure{Status: http.StatusForbidden, Code: 50001, Message: "Missing Access"})
	err = c.Update(t.Context(), cChannel, card.Thread, reply.MessageID, bot.Message{Text: "decided"})
	var rl *bot.RetryLater
	if err == nil || errors.As(err, &rl) || !strings.Contains(err.Error(), "discord messages.edit") {
		t.Errorf("err = %v, want a messages.edit error not worth retrying", err)
	}
	equal(t, "calls", paths(fake.take()), []string{"PATCH " + apiChannels + card.Thread + "/messages/" + reply.MessageID})

	// A message in neither place is an error, once tried in both.
	gone := "930000000000000123"
	err = c.Update(t.Context(), cChannel, card.Thread, gone, root)
	if err == nil || errors.As(err, &rl) || !notFound(err) {
		t.Errorf("err = %v, want the channel's 404", err)
	}
	equal(t, "calls", paths(fake.take()), []string{"PATCH " + apiChannels + card.Thread + "/messages/" + gone, "PATCH " + apiChannels + cChannel + "/messages/" + gone})
	obs.take()
}

// embedText is the titles and descriptions of embeds, for asserting on what a message shows.
func embedText(embeds []*discordgo.MessageEmbed) string {
	var b strings.Builder
	for _, e := range embeds {
		b.WriteString(e.Title + "\n" + e.Description + "\n")
	}
	return b.String()
}

// Discord's answers become errors the bot understands: a 429 or a 5xx is worth retrying (after
// retry_after, or a moment), a 4xx is not; discordgo neither sleeps on the 429 nor retries it, and
// retries a 502 itself before giving up. No error shows the token.
func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failure  discordfake.Failure
		times    int
		after    time.Duration // 0: not worth retrying
		outcome  string
		requests int
	}{
		{"rate limited", discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.25}, 1, 250 * time.Millisecond, "rate_limited", 1},
		{"globally rate limited", discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1.5, Global: true}, 1, 1500 * time.Millisecond, "rate_limited", 1},
		{"server error", discordfake.Failure{Status: http.StatusInternalServerError}, 1, serverErrorWait, "error", 1},
		{"unavailable", discordfake.Failure{Status: http.StatusServiceUnavailable}, 1, serverErrorWait, "error", 1},
		{"bad gateway", discordfake.Failure{Status: http.StatusBadGateway}, 4, serverErrorWait, "error", 4},
		{"bad request", discordfake.Failure{Status: http.StatusBadRequest, Code: 50035, Message: "Invalid Form Body"}, 1, 0, "error", 1},
		{"forbidden", discordfake.Failure{Status: http.StatusForbidden, Code: 50001, Message: "Missing Access"}, 1, 0, "error", 1},
		{"not found", discordfake.Failure{Status: http.StatusNotFound, Code: 10003, Message: "Unknown Channel"}, 1, 0, "error", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, fake, obs := newTestClient(t)
			fake.FailNext(discordfake.RouteMessageCreate, tt.times, tt.failure)
			_, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
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
			if !strings.Contains(err.Error(), "discord messages.create") || strings.Contains(err.Error(), discordfake.DefaultToken) {
				t.Errorf("error %q", err)
			}
			calls := fake.take()
			if len(calls) != tt.requests {
				t.Errorf("%d requests, want %d:\n%s", len(calls), tt.requests, discordfake.DumpCalls(calls))
			}
			for _, call := range calls {
				if call.Route != discordfake.RouteMessageCreate || call.Status != tt.failure.Status {
					t.Errorf("call %s %s answered %d, want %d", call.Route, call.Path, call.Status, tt.failure.Status)
				}
			}
			if n := len(fake.Messages(cChannel)); n != 0 {
				t.Errorf("%d messages posted", n)
			}
			equal(t, "observed", obs.take(), []string{"discord messages.create " + tt.outcome})
		})
	}

	// A 502 that passes is discordgo's to retry: the bot sees the message posted.
	t.Run("bad gateway once", func(t *testing.T) {
		c, fake, obs := newTestClient(t)
		fake.FailNext(discordfake.RouteMessageCreate, 2, discordfake.Failure{Status: http.StatusBadGateway})
		posted, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{})
		if err != nil {
			t.Fatal(err)
		}
		calls := fake.take()
		equal(t, "statuses", statuses(calls), []int{http.StatusBadGateway, http.StatusBadGateway, http.StatusOK})
		if posted.MessageID != calls[2].MessageID {
			t.Errorf("posted %+v", posted)
		}
		equal(t, "observed", obs.take(), []string{"discord messages.create ok"})
	})
}

// A session with a token Discord does not accept fails for good, and does not show the token.
func TestUnauthorized(t *testing.T) {
	fake := discordfake.New(t)
	fake.AddChannel(cGuild, cChannel)
	const wrong = "not-the-bot-token"
	s, err := NewSession(wrong, fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(s, nil).Post(t.Context(), cChannel, root, bot.PostOptions{})
	var rl *bot.RetryLater
	if err == nil || errors.As(err, &rl) || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "discord messages.create") {
		t.Errorf("err = %v", err)
	}
	if calls := fake.Calls(); len(calls) != 1 || calls[0].Status != http.StatusUnauthorized {
		t.Errorf("calls:\n%s", discordfake.DumpCalls(calls))
	}
}

// A rate limit is logged, once a minute per method, with the retry_after Discord gave.
func TestRateLimitWarning(t *testing.T) {
	c, fake, _ := newTestClient(t)
	var buf bytes.Buffer
	c.limits = chatlimit.New(slog.New(slog.NewTextHandler(&buf, nil)), nil)
	fake.FailNext(discordfake.RouteMessageCreate, 3, discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.25})
	for range 3 {
		if _, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{}); err == nil {
			t.Fatal("no error")
		}
	}
	if n := len(fake.CallsTo(discordfake.RouteMessageCreate)); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 || !strings.Contains(buf.String(), "platform=discord method=messages.create retry_after=250ms") {
		t.Errorf("%d warnings:\n%s", n, buf.String())
	}
}

// A root card whose thread cannot be started is taken back, so that the bot's retry does not leave
// two cards; a short rate limit on the thread is waited out, a few times at most, and a long one is
// the bot's to schedule.
func TestPostRootCardThreadFailure(t *testing.T) {
	c, fake, obs := newTestClient(t)
	var waited []time.Duration
	record := func(_ context.Context, d time.Duration) bool { waited = append(waited, d); return true }
	c.wait = record
	var rl *bot.RetryLater

	fake.FailNext(discordfake.RouteThreadCreate, 1, discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.5, Message: "slow down"})
	posted, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	calls := fake.take()
	card := calls[0].MessageID
	if err != nil || posted != (bot.Posted{MessageID: card, Thread: card}) || !slices.Equal(waited, []time.Duration{500 * time.Millisecond}) {
		t.Errorf("posted %+v, %v after waiting %v", posted, err, waited)
	}
	threads := apiChannels + cChannel + "/messages/" + card + "/threads"
	equal(t, "calls", paths(calls), []string{"POST " + apiChannels + cChannel + "/messages", "POST " + threads, "POST " + threads})
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusTooManyRequests, http.StatusCreated})
	if th, ok := fake.Thread(card); !ok || th != card {
		t.Errorf("thread %q, %v", th, ok)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord threads.create rate_limited", "discord threads.create ok"})

	// Discord refuses the thread (the bot may not create threads here): the card is deleted again.
	fake.SetBotPermissions(cChannel, discordfake.BotPermissions&^discordfake.PermCreatePublicThreads)
	_, err = c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err == nil || errors.As(err, &rl) || !strings.Contains(err.Error(), "threads.create") {
		t.Errorf("err = %v, want a threads.create error not worth retrying", err)
	}
	calls = fake.take()
	card = calls[0].MessageID
	equal(t, "calls", paths(calls), []string{"POST " + apiChannels + cChannel + "/messages", "POST " + apiChannels + cChannel + "/messages/" + card + "/threads",
		"DELETE " + apiChannels + cChannel + "/messages/" + card})
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusForbidden, http.StatusNoContent})
	if calls[1].Code != 50013 {
		t.Errorf("thread refused with code %d, want 50013", calls[1].Code)
	}
	if _, ok := fake.Message(cChannel, card); ok {
		t.Error("the card whose thread was refused is still in the channel")
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord threads.create error", "discord messages.delete ok"})
	fake.SetBotPermissions(cChannel, discordfake.BotPermissions)

	// A long wait is the bot's to schedule: the card is taken back and the error says when to retry.
	fake.FailNext(discordfake.RouteThreadCreate, 1, discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30, Message: "slow down"})
	_, err = c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if !errors.As(err, &rl) || rl.After != 30*time.Second || !strings.Contains(err.Error(), "threads.create") {
		t.Errorf("err = %v", err)
	}
	calls = fake.take()
	if len(calls) != 3 || calls[2].Method != http.MethodDelete || calls[2].MessageID != calls[0].MessageID || calls[2].Status != http.StatusNoContent {
		t.Errorf("calls:\n%s", discordfake.DumpCalls(calls))
	}
	if len(waited) != 1 {
		t.Errorf("waited %v for a 30s rate limit", waited)
	}

	// Short rate limits are waited out threadStartAttempts times at most.
	waited = nil
	fake.FailNext(discordfake.RouteThreadCreate, threadStartAttempts, discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.1})
	_, err = c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if !errors.As(err, &rl) || rl.After != 100*time.Millisecond {
		t.Errorf("err = %v", err)
	}
	calls = fake.take()
	if n := len(discordfake.FilterCalls(calls, discordfake.RouteThreadCreate)); n != threadStartAttempts || len(waited) != threadStartAttempts-1 {
		t.Errorf("%d attempts after waiting %v, want %d", n, waited, threadStartAttempts)
	}
	if last := calls[len(calls)-1]; last.Route != discordfake.RouteMessageDelete || last.MessageID != calls[0].MessageID || !last.OK() {
		t.Errorf("calls:\n%s", discordfake.DumpCalls(calls))
	}

	// The caller gives up while Post waits: the card is taken back all the same.
	ctx, cancel := context.WithCancel(t.Context())
	c.wait = func(context.Context, time.Duration) bool { cancel(); return false }
	fake.FailNext(discordfake.RouteThreadCreate, 1, discordfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.5})
	if _, err = c.Post(ctx, cChannel, root, bot.PostOptions{StartThread: true}); !errors.As(err, &rl) {
		t.Errorf("err = %v", err)
	}
	calls = fake.take()
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusTooManyRequests, http.StatusNoContent})
	if _, ok := fake.Message(cChannel, calls[0].MessageID); ok {
		t.Error("the card is still in the channel")
	}

	// A take-back that fails is logged; the error returned is still the thread's.
	c.wait = record
	logged := logTo(c)
	fake.FailNext(discordfake.RouteThreadCreate, 1, discordfake.Failure{Status: http.StatusForbidden, Code: 50013, Message: "Missing Permissions"})
	fake.FailNext(discordfake.RouteMessageDelete, 1, discordfake.Failure{Status: http.StatusInternalServerError})
	obs.take()
	_, err = c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err == nil || !strings.Contains(err.Error(), "threads.create") || strings.Contains(err.Error(), "messages.delete") {
		t.Errorf("err = %v", err)
	}
	calls = fake.take()
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusForbidden, http.StatusInternalServerError})
	if !strings.Contains(logged.String(), "deleting a root card whose thread could not be started") || !strings.Contains(logged.String(), calls[0].MessageID) {
		t.Errorf("the failed take-back is not logged:\n%s", logged)
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create ok", "discord threads.create error", "discord messages.delete error"})
}

// Every body the client sends passes the fake's field checks (documented fields only, no nulls, the
// right types, Discord's limits): root cards with their threads, broadcast replies with their pointers,
// the edits of both, and the take-back of a card whose thread is refused.
func TestFakeAcceptsEveryBody(t *testing.T) {
	c, fake, _ := newTestClient(t)
	c.GuildID = cGuild
	ctx := t.Context()
	card, err := c.Post(ctx, cChannel, root, bot.PostOptions{StartThread: true, ThreadName: root.Header})
	if err != nil {
		t.Fatal(err)
	}
	messages := []bot.Message{{
		Header:  "Approval: web v1 to production",
		Text:    "approvers <@930000000000000101> and @everyone",
		Buttons: approveButtons(),
		Notify:  []bot.Mention{{ID: "930000000000000101"}, {ID: "930000000000000102", Group: true}, {ID: "not-a-snowflake"}},
	}, {Text: "qa · `test` ✅ pass"}}
	for _, g := range bottest.Messages(t) {
		messages = append(messages, g.Message)
	}
	for _, m := range messages {
		posted, err := c.Post(ctx, cChannel, m, bot.PostOptions{Thread: card.Thread, Broadcast: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, cChannel, card.Thread, posted.MessageID, m); err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, cChannel, card.Thread, posted.MessageID, bot.Message{Text: "decided"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, cChannel, card.Thread, card.MessageID, m); err != nil {
			t.Fatal(err)
		}
	}
	// A card whose thread Discord refuses, taken back.
	fake.SetBotPermissions(cChannel, discordfake.BotPermissions&^discordfake.PermCreatePublicThreads)
	if _, err := c.Post(ctx, cChannel, root, bot.PostOptions{StartThread: true}); err == nil {
		t.Fatal("the thread was started without the permission")
	}

	calls := fake.Calls()
	seen := map[string]bool{}
	for _, call := range calls {
		refused := call.Route == discordfake.RouteThreadCreate && call.Code == 50013 // on purpose, above
		if call.Status == http.StatusBadRequest || (!call.OK() && !refused) {
			t.Errorf("%s %s answered %d code %d %s %s\nbody %s", call.Method, call.Path, call.Status, call.Code, call.Error, call.Detail, call.Raw)
		}
		if call.OK() {
			seen[call.Route] = true
		}
	}
	for _, route := range []string{discordfake.RouteMessageCreate, discordfake.RouteThreadCreate, discordfake.RouteMessageEdit, discordfake.RouteMessageDelete} {
		if !seen[route] {
			t.Errorf("no successful %s call:\n%s", route, discordfake.DumpCalls(calls))
		}
	}
	if n := len(fake.CallsTo(discordfake.RouteMessageCreate)); n != 2*len(messages)+2 {
		t.Errorf("%d messages.create calls, want %d (a reply and its pointer each, and two cards)", n, 2*len(messages)+2)
	}
}

// Discord answers 404 Unknown Channel for a channel it does not know, or that the bot cannot see: the
// bot should not retry that, and nothing else is tried.
func TestPostUnknownChannel(t *testing.T) {
	c, fake, obs := newTestClient(t)
	for _, opts := range []bot.PostOptions{{}, {StartThread: true, ThreadName: "x"}, {Thread: cUnknown, Broadcast: true}} {
		_, err := c.Post(t.Context(), cUnknown, root, opts)
		var rl *bot.RetryLater
		if err == nil || errors.As(err, &rl) || !strings.Contains(err.Error(), "discord messages.create") || !notFound(err) {
			t.Errorf("%+v: err = %v, want a messages.create 404 not worth retrying", opts, err)
		}
		calls := fake.take()
		if len(calls) != 1 || calls[0].Route != discordfake.RouteMessageCreate || calls[0].Status != http.StatusNotFound || calls[0].Code != 10003 {
			t.Errorf("%+v: calls:\n%s", opts, discordfake.DumpCalls(calls))
		}
		equal(t, "observed", obs.take(), []string{"discord messages.create error"})
	}
}

// NewSession sends every request to api_url, keeping discordgo's path (and a prefix api_url has),
// without touching discordgo's package variables.
func TestNewSession(t *testing.T) {
	fake := discordfake.New(t)
	fake.AddChannel(cGuild, cChannel)
	for _, suffix := range []string{"", "/", "/api", "/api/", "/api/v9", "/api/v9/"} {
		s, err := NewSession(discordfake.DefaultToken, fake.URL()+suffix)
		if err != nil {
			t.Fatal(err)
		}
		if s.ShouldRetryOnRateLimit || s.Client.Timeout == 0 {
			t.Errorf("session retries on rate limits (%v) or has no timeout (%v)", s.ShouldRetryOnRateLimit, s.Client.Timeout)
		}
		if _, err := NewClient(s, nil).Post(t.Context(), cChannel, root, bot.PostOptions{}); err != nil {
			t.Errorf("api_url %s: %v", fake.URL()+suffix, err)
		}
		if calls := fake.Calls(); calls[len(calls)-1].Path != apiChannels+cChannel+"/messages" {
			t.Errorf("api_url %s: requests\n%s", fake.URL()+suffix, discordfake.DumpCalls(calls))
		}
	}

	// A path in api_url is a prefix, a proxy's say. discordfake serves the API at its root only, so a
	// server that records paths stands in for the proxy.
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.URL.Path)
		_, _ = io.WriteString(w, `{"id":"930000000000000500","channel_id":"`+cChannel+`"}`)
	}))
	defer srv.Close()
	want := "/proxy/discord" + apiChannels + cChannel + "/messages"
	for _, suffix := range []string{"/proxy/discord", "/proxy/discord/", "/proxy/discord/api", "/proxy/discord/api/v9/"} {
		mu.Lock()
		got = nil
		mu.Unlock()
		s, err := NewSession("tok", srv.URL+suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewClient(s, nil).Post(t.Context(), cChannel, root, bot.PostOptions{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 1 || got[0] != want {
			t.Errorf("api_url %s: requests %q, want %s", srv.URL+suffix, got, want)
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
	if err := c.PostPrivate(t.Context(), cChannel, "930000000000000101", bot.Message{Text: "hi"}); !errors.Is(err, errPrivateNeedsInteraction) {
		t.Errorf("err = %v", err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("calls:\n%s", discordfake.DumpCalls(calls))
	}
}

func TestPermalink(t *testing.T) {
	c, fake, _ := newTestClient(t)
	const msg = "930000000000000201"
	if link, err := c.Permalink(t.Context(), cChannel, msg); link != "" || !errors.Is(err, errNoGuild) {
		t.Errorf("without a guild: %q, %v", link, err)
	}
	c.GuildID = cGuild
	if link, err := c.Permalink(t.Context(), cChannel, msg); link != "https://discord.com/channels/"+cGuild+"/"+cChannel+"/"+msg || err != nil {
		t.Errorf("Permalink = %q, %v", link, err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("a permalink asked Discord:\n%s", discordfake.DumpCalls(calls))
	}
}

// Every call carries the caller's context.
func TestPostHonoursContext(t *testing.T) {
	c, fake, obs := newTestClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Post(ctx, cChannel, root, bot.PostOptions{StartThread: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("calls:\n%s", discordfake.DumpCalls(calls))
	}
	equal(t, "observed", obs.take(), []string{"discord messages.create error"})
}

// loseAnswer passes requests on, but answers the first whose path ends with suffix with a 503 of its
// own, as if Discord's answer had been lost on the way after Discord did the work.
type loseAnswer struct {
	next   http.RoundTripper
	suffix string
	lost   bool
}

func (l *loseAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || l.lost || !strings.HasSuffix(r.URL.Path, l.suffix) {
		return resp, err
	}
	l.lost = true
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"message":"503: Service Unavailable","code":0}`)), Request: r}, nil
}

// A thread started while its answer was lost is found again: the retry's "thread already exists"
// (code 160004) means the thread is there, under the card's id, so the card stays and is not posted twice.
func TestPostRootCardThreadAnswerLost(t *testing.T) {
	c, fake, _ := newTestClient(t)
	c.session.Client.Transport = &loseAnswer{next: c.session.Client.Transport, suffix: "/threads"}
	c.wait = func(context.Context, time.Duration) bool { return true }
	posted, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	calls := fake.take()
	card := calls[0].MessageID
	if err != nil || posted != (bot.Posted{MessageID: card, Thread: card}) {
		t.Fatalf("posted %+v, %v", posted, err)
	}
	equal(t, "statuses", statuses(calls), []int{http.StatusOK, http.StatusCreated, http.StatusBadRequest})
	if calls[2].Code != 160004 {
		t.Errorf("the retry was answered with code %d, want 160004", calls[2].Code)
	}
	if _, ok := fake.Message(cChannel, card); !ok {
		t.Error("the card was taken back although its thread exists")
	}
}

// A code block too long for an embed is attached to the reply as a file, sent as multipart with the
// attachment described in payload_json; the fake stores what was uploaded.
func TestPostAttachesLongCode(t *testing.T) {
	c, fake, _ := newTestClient(t)
	card, err := c.Post(t.Context(), cChannel, root, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	fake.take()
	long := strings.Repeat("-  key: old & <value>\n+  key: new & <value>\n", 200)
	m := bot.Message{Text: "production · what changes", Code: &bot.CodeBlock{Language: "diff", Text: long, Filename: "delivery-7-production.diff"}}
	posted, err := c.Post(t.Context(), cChannel, m, bot.PostOptions{Thread: card.Thread})
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.take()
	if len(calls) != 1 || !slices.Equal(calls[0].Files, []string{"delivery-7-production.diff"}) || calls[0].Status != http.StatusOK {
		t.Fatalf("calls:\n%s", discordfake.DumpCalls(calls))
	}
	got, ok := fake.Message(card.Thread, posted.MessageID)
	if !ok || len(got.Attachments) != 1 || string(got.Attachments[0].Content) != long || got.Attachments[0].Filename != "delivery-7-production.diff" {
		t.Fatalf("message %+v", got)
	}
	if d := got.Embeds[0].Description; strings.Contains(d, "key: old") || !strings.Contains(d, "attached as `delivery-7-production.diff`") {
		t.Fatalf("description %q", d)
	}

	short := bot.Message{Text: "short", Code: &bot.CodeBlock{Language: "diff", Text: "-a\n+b\n", Filename: "x.diff"}}
	posted, err = c.Post(t.Context(), cChannel, short, bot.PostOptions{Thread: card.Thread})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fake.Message(card.Thread, posted.MessageID); len(got.Attachments) != 0 || !strings.Contains(got.Embeds[0].Description, "```diff\n-a\n+b\n```") {
		t.Fatalf("short code block: %+v", got)
	}
}
