package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

const (
	hGuild   = "910000000000000001"
	hChannel = "910000000000000002"
	hDev     = "810000000000000001"
)

// gate holds back interaction edits until released, so that a test can hand the fake the inline
// answer Discord would have received first.
type gate struct {
	next    http.RoundTripper
	release chan struct{}
	once    sync.Once
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/webhooks/") {
		<-g.release
	}
	return g.next.RoundTrip(r)
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// handlerFixture is the Discord handler on a real bot, engine and store, talking to discordfake.
type handlerFixture struct {
	t    *testing.T
	fake *discordfake.Server
	priv ed25519.PrivateKey
	h    *Handler
	reg  *prometheus.Registry
	gate *gate
	mux  *http.ServeMux
	seq  atomic.Int64
	now  atomic.Pointer[time.Time]
}

func newHandlerFixture(t *testing.T, ack time.Duration) *handlerFixture {
	t.Helper()
	p := configtest.WriteProject(t, filepath.Join(t.TempDir(), "fulltour"), map[string]string{
		"shipyard.yaml":          "apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nspec:\n  stages:\n    - name: qa\n      sequences:\n        - name: delivery\n          tasks: [{name: deployment}]\n",
		"executors.yaml":         "tasks:\n  deployment: {type: noop}\n",
		"helloservice/README.md": "x\n", "hellodb/README.md": "x\n", "orders/README.md": "x\n",
	})
	cfg := config.Defaults()
	cfg.Channels = []config.ChannelBinding{{Platform: "discord", Channel: hChannel, Projects: []string{"fulltour"},
		Roles: map[string][]string{bot.RoleDeployer: {hDev}}}}
	fake := discordfake.New(t)
	fake.AddChannel(hGuild, hChannel)
	pub, priv := discordfake.GenerateKey(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]engine.Executor{"noop": engine.Noop{}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(discordfake.DefaultToken, fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{next: s.Client.Transport, release: make(chan struct{})}
	s.Client.Transport = g
	client := NewClient(s, slog.New(slog.DiscardHandler))
	b, err := bot.New(bot.Options{Config: cfg, Projects: []*config.Project{p}, Engine: eng, Store: st,
		Posters: map[engine.Platform]bot.Poster{engine.PlatformDiscord: client}, EditInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &handlerFixture{t: t, fake: fake, priv: priv, reg: prometheus.NewRegistry(), gate: g, mux: http.NewServeMux()}
	start := time.Now()
	f.now.Store(&start)
	f.h, err = NewHandler(HandlerOptions{Bot: b, Client: client, PublicKey: discordfake.PublicKeyHex(pub), ApplicationID: discordfake.DefaultAppID,
		GuildID: hGuild, Registerer: f.reg, AckDeadline: &ack, Now: func() time.Time { return *f.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	f.h.Register(f.mux)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.open()
		f.h.Wait()
		eng.Close()
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return f
}

func (f *handlerFixture) send(body []byte, at time.Time) (*httptest.ResponseRecorder, map[string]any) {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, discordfake.SignedRequest(f.t, "http://shipgate.test/discord/interactions", f.priv, body, at))
	var out map[string]any
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			f.t.Fatalf("answer %s: %v", rec.Body, err)
		}
	}
	return rec, out
}

func (f *handlerFixture) interaction() (string, string) {
	id := fmt.Sprintf("6%017d", f.seq.Add(1))
	return id, f.fake.IssueInteractionFor(id, hChannel, "")
}

func dev() discordfake.Member { return discordfake.Member{UserID: hDev, Username: "dev"} }

// Signatures are checked before anything else: a bad one, an unsigned request and a stale or future
// timestamp get 401 and are counted; PING gets PONG; a body over the cap gets 413.
func TestVerification(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	now := *f.now.Load()
	if rec, out := f.send(discordfake.Ping("1"), now); rec.Code != http.StatusOK || out["type"] != 1.0 {
		t.Fatalf("PING = %d %v", rec.Code, out)
	}
	for name, at := range map[string]time.Time{"stale": now.Add(-6 * time.Minute), "future": now.Add(6 * time.Minute)} {
		if rec, _ := f.send(discordfake.Ping("2"), at); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s timestamp: %d", name, rec.Code)
		}
	}
	req := discordfake.SignedRequest(t, "http://shipgate.test/discord/interactions", f.priv, discordfake.Ping("3"), now)
	req.Header.Set("X-Signature-Ed25519", strings.Repeat("ab", 64))
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", rec.Code)
	}
	req = httptest.NewRequest("POST", "/discord/interactions", strings.NewReader(string(discordfake.Ping("4"))))
	rec = httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", rec.Code)
	}
	big := discordfake.SignedRequest(t, "http://shipgate.test/discord/interactions", f.priv, []byte(strings.Repeat("x", MaxBodyBytes+1)), now)
	rec = httptest.NewRecorder()
	f.mux.ServeHTTP(rec, big)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", rec.Code)
	}
	if got := testutil.ToFloat64(f.h.metrics.Requests.WithLabelValues("unauthorized")); got != 4 {
		t.Errorf("%v unauthorized counted, want 4", got)
	}
}

// The service option autocompletes from the channel's projects.
func TestAutocomplete(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	id, tok := f.interaction()
	_, out := f.send(discordfake.Autocomplete(id, tok, discordfake.DefaultAppID, hGuild, hChannel, dev(), "deliver",
		discordfake.Subcommand("start", discordfake.StringOption("service", "hel").Focus())), *f.now.Load())
	data, _ := out["data"].(map[string]any)
	if out["type"] != float64(discordgo.InteractionApplicationCommandAutocompleteResult) || fmt.Sprint(data["choices"]) != "[map[name:hellodb value:hellodb] map[name:helloservice value:helloservice]]" {
		t.Errorf("autocomplete: %v", out)
	}
}

// When the bot's answer is late, Discord gets a deferred answer at once and the answer is edited into it;
// once the interaction's token has expired, the answer is posted in the channel with the bot token.
func TestDeferredAnswer(t *testing.T) {
	f := newHandlerFixture(t, 0)
	id, tok := f.interaction()
	body := discordfake.Command(id, tok, discordfake.DefaultAppID, hGuild, hChannel, dev(), "deliver", discordfake.Subcommand("status"))
	rec, out := f.send(body, *f.now.Load())
	if out["type"] != float64(discordgo.InteractionResponseDeferredChannelMessageWithSource) {
		t.Fatalf("answer %d %s, want a deferred one", rec.Code, rec.Body)
	}
	if err := f.fake.RespondInline(body, rec.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	f.gate.open()
	f.fake.WaitFor(t, 10*time.Second, "the answer edited in", func([]discordfake.Call) bool {
		m, ok := f.fake.Original(id)
		return ok && len(m.Embeds) > 0 && strings.Contains(m.Embeds[0].Description+m.Embeds[0].Title, "No deliveries")
	})

	// The same with an expired token: the answer goes to the channel, addressed to the asker.
	id, tok = f.interaction()
	body = discordfake.Command(id, tok, discordfake.DefaultAppID, hGuild, hChannel, dev(), "deliver", discordfake.Subcommand("approvals"))
	f.h.Wait() // the first answer's follow-up has ended before the clock is swapped
	clock := &steppingClock{at: *f.now.Load(), step: 16 * time.Minute}
	f.h.now = clock.now // each reading is 16 minutes after the last: the follow-up finds the token expired
	rec, _ = f.send(body, clock.at)
	if rec.Code != http.StatusOK {
		t.Fatalf("second command: %d", rec.Code)
	}
	f.fake.WaitFor(t, 10*time.Second, "the late answer in the channel", func([]discordfake.Call) bool {
		for _, m := range f.fake.Messages(hChannel) {
			if strings.Contains(m.Content+fmt.Sprint(m.Embeds[0].Description), "<@"+hDev+">") {
				return true
			}
		}
		return false
	})
}

// steppingClock moves on by step at every reading after the first.
type steppingClock struct {
	mu   sync.Mutex
	at   time.Time
	step time.Duration
	read bool
}

func (c *steppingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read {
		c.at = c.at.Add(c.step)
	}
	c.read = true
	return c.at
}

// The command text the bot parses, from each subcommand's options.
func TestCommandText(t *testing.T) {
	for _, tt := range []struct {
		sub  discordfake.CommandOption
		want string
	}{
		{discordfake.Subcommand("start", discordfake.StringOption("service", "helloservice"), discordfake.StringOption("image", "ghcr.io/x/y:v1"),
			discordfake.StringOption("labels", "version=v1, team=web"), discordfake.StringOption("stage", "qa")),
			"helloservice ghcr.io/x/y:v1 --label version=v1 --label team=web --stage qa"},
		{discordfake.Subcommand("status"), "status"},
		{discordfake.Subcommand("status", discordfake.IntegerOption("id", 42)), "status 42"},
		{discordfake.Subcommand("history", discordfake.StringOption("service", "helloservice"), discordfake.StringOption("stage", "production")), "history helloservice --stage production"},
		{discordfake.Subcommand("abort", discordfake.IntegerOption("id", 7)), "abort 7"},
		{discordfake.Subcommand("rollback", discordfake.StringOption("service", "helloservice"), discordfake.StringOption("stage", "production")), "rollback helloservice production"},
		{discordfake.Subcommand("audit", discordfake.StringOption("since", "30d")), "audit --since 30d"},
		{discordfake.Subcommand("unfreeze", discordfake.IntegerOption("id", 7), discordfake.StringOption("reason", "hotfix for INC-42")), `unfreeze 7 --reason="hotfix for INC-42"`},
		{discordfake.Subcommand("unfreeze", discordfake.IntegerOption("id", 7), discordfake.StringOption("reason", "-1 day")), `unfreeze 7 --reason="-1 day"`},
		{discordfake.Subcommand("freezes"), "freezes"},
		{discordfake.Subcommand("help", discordfake.StringOption("topic", "start")), "help deliver"},
		{discordfake.Subcommand("start", discordfake.StringOption("service", "a b"), discordfake.StringOption("image", `say "hi"`)), `"a b" 'say "hi"'`},
	} {
		var i discordgo.Interaction
		if err := json.Unmarshal(discordfake.Command("1", "t", "a", hGuild, hChannel, dev(), "deliver", tt.sub), &i); err != nil {
			t.Fatal(err)
		}
		got, err := commandText(i.ApplicationCommandData())
		if err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.sub.Name, got, err, tt.want)
		}
		if _, err := bot.ParseCommand(got); err != nil && tt.sub.Name != "start" {
			t.Errorf("%q does not parse: %v", got, err)
		}
	}
}

// Help and usage errors show Discord's syntax for starting a delivery.
func TestHelpShowsStart(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	id, tok := f.interaction()
	_, out := f.send(discordfake.Command(id, tok, discordfake.DefaultAppID, hGuild, hChannel, dev(), "deliver", discordfake.Subcommand("help")), *f.now.Load())
	text := fmt.Sprint(out["data"])
	if !strings.Contains(text, "/deliver start SERVICE IMAGE") || strings.Contains(strings.ReplaceAll(text, "/deliver start SERVICE IMAGE", ""), "/deliver SERVICE IMAGE") {
		t.Errorf("help: %s", text)
	}
}

// The registered command stays within Discord's limits, which the fake enforces.
func TestRegisterCommands(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	if err := f.h.RegisterCommands(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cmds := f.fake.Commands(hGuild); len(cmds) != 1 || len(cmds[0].Options) != 13 {
		t.Errorf("commands: %+v", cmds)
	}
	if err := f.h.Check(context.Background()); err != nil {
		t.Errorf("check after registering: %v", err)
	}
	f.fake.FailNext(discordfake.RouteCommandsOverwrite, 1, discordfake.Failure{Status: 403, Code: 50001, Message: "Missing Access"})
	if err := f.h.RegisterCommands(context.Background()); err == nil || f.h.Check(context.Background()) == nil {
		t.Errorf("a refused registration is not reported: %v", err)
	}
}

// The request metrics keep their public names, help texts and labels.
func TestRequestMetricsNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := newMetrics(reg)
	m.Request("ok")
	want := `
# HELP shipgate_discord_requests_total Interactions from Discord by outcome (ok, duplicate, unauthorized, too_large, bad_request, busy).
# TYPE shipgate_discord_requests_total counter
shipgate_discord_requests_total{outcome="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shipgate_discord_requests_total"); err != nil {
		t.Error(err)
	}
	m.Ack("InteractionApplicationCommand", time.Millisecond)
	if n, err := testutil.GatherAndCount(reg, "shipgate_discord_ack_seconds"); err != nil || n != 1 {
		t.Errorf("shipgate_discord_ack_seconds: %d series, %v", n, err)
	}
}
