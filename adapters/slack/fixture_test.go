package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

const (
	secret   = "test-signing-secret"
	channel  = "CREL01"
	dev      = "UDEV01"
	ops      = "UOPS01"
	outsider = "UOUT01"
	relGroup = "SREL01"
	qaLead   = "UQA01"
	waitFor  = 20 * time.Second
	// elsewhere is a channel that exists, bound to nothing and without the bot, where an approval
	// request can still be clicked once someone shares it there.
	elsewhere = "COTHER01"
)

const shipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: approval, properties: {pass: manual, approvers: [approver, release-managers]}}, {name: release}]
`

// fixture is shipgate's Slack side on a real engine, store and HTTP handler, talking to slackfake.
type fixture struct {
	t       testing.TB
	fake    *slackfake.Server
	st      *store.Store
	eng     *engine.Engine
	bot     *bot.Bot
	handler *Handler
	mux     *http.ServeMux
	reg     *prometheus.Registry
	seq     atomic.Int64
}

func newFixture(t testing.TB, fakeOpts ...slackfake.Option) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fulltour")
	p := configtest.WriteProject(t, dir, map[string]string{"shipyard.yaml": shipyard, "helloservice/README.md": "x\n",
		"executors.yaml": "tasks:\n  deployment: {type: noop}\n  release: {type: noop}\n"})
	cfg := config.Defaults()
	cfg.Channels = []config.ChannelBinding{{Platform: "slack", Channel: channel, Projects: []string{"fulltour"},
		Roles: map[string][]string{bot.RoleDeployer: {dev}, bot.RoleApprover: {ops, dev}, "release-managers": {relGroup}}}}
	fake := slackfake.New(t, fakeOpts...)
	fake.AddChannel(channel)
	fake.AddMembers(channel, dev, ops, outsider, qaLead)
	fake.AddChannelWithoutBot(elsewhere)
	fake.AddMembers(elsewhere, dev, ops, outsider, qaLead)
	fake.SetUserGroup(relGroup, qaLead)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]engine.Executor{"noop": engine.Noop{}}})
	if err != nil {
		t.Fatal(err)
	}
	client := NewClient(slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken("xapp-test")), slog.New(slog.DiscardHandler))
	b, err := bot.New(bot.Options{Config: cfg, Projects: []*config.Project{p}, Engine: eng, Store: st,
		Posters: map[engine.Platform]bot.Poster{engine.PlatformSlack: client}, Directories: map[engine.Platform]bot.Directory{engine.PlatformSlack: client},
		EditInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h, err := NewHandler(HandlerOptions{Bot: b, Client: client, SigningSecret: secret, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f := &fixture{t: t, fake: fake, st: st, eng: eng, bot: b, handler: h, mux: mux, reg: reg}
	t.Cleanup(func() {
		h.Wait()
		eng.Close()
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return f
}

func (f *fixture) trigger() string { return fmt.Sprintf("T%d", f.seq.Add(1)) }

// serve sends a signed request through the handler and returns the recorded answer.
func (f *fixture) serve(path string, form url.Values, at time.Time, key string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := slackfake.SignedRequest(f.t, "http://shipgate.test"+path, key, at, form)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) command(user, text string) *httptest.ResponseRecorder {
	return f.serve("/slack/commands", f.fake.CommandForm(channel, user, text, f.trigger()), time.Now(), secret)
}

// click is user clicking action on an approval request in the bound channel, outside any thread.
func (f *fixture) click(user, action, value string) *httptest.ResponseRecorder {
	rec, _ := f.clickAt(channel, "1700000000.000009", "", user, action, value)
	return rec
}

// clickAt is user clicking action on the message ts of ch, in thread ("" for none). It returns the
// answer and the click's trigger_id, which also names its response_url (slackfake.Server.Responses).
func (f *fixture) clickAt(ch, ts, thread, user, action, value string) (*httptest.ResponseRecorder, string) {
	trigger := f.trigger()
	payload := f.fake.BlockActionPayload(ch, user, ts, thread, action, "approval", value, trigger)
	return f.serve("/slack/interactions", slackfake.InteractionForm(payload), time.Now(), secret), trigger
}

// approvalRequest is a posted approval request: its buttons' value, where it is, and the thread it is in
// (its delivery's root card).
type approvalRequest struct{ value, ts, thread string }

// waitApproval delivers helloservice and waits for its approval request.
func (f *fixture) waitApproval(tag string) approvalRequest {
	f.t.Helper()
	if rec := f.command(dev, "helloservice ghcr.io/podtato-head/podtatoserver:"+tag); rec.Code != http.StatusOK {
		f.t.Fatalf("/deliver = %d %s", rec.Code, rec.Body)
	}
	var req approvalRequest
	f.fake.WaitFor(f.t, waitFor, "an approval request", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && hasType(c.Blocks, "actions") && c.Error == "" {
				req.ts, req.thread = c.TS, c.ThreadTS
			}
		}
		return req.ts != ""
	})
	as, err := f.st.ListApprovals(context.Background(), store.ApprovalQuery{State: store.ApprovalPending})
	if err != nil || len(as) == 0 {
		f.t.Fatalf("pending approvals: %v %v", as, err)
	}
	req.value = fmt.Sprintf("approval-%d", as[len(as)-1].ID)
	return req
}

// waitAnswer waits for the bot's private answer to the click trigger, through its response_url, that
// says want, and checks it is one: ephemeral, leaving the clicked message as it is.
func (f *fixture) waitAnswer(trigger, want string) slackfake.Call {
	f.t.Helper()
	var answer slackfake.Call
	f.fake.WaitFor(f.t, waitFor, fmt.Sprintf("an answer through response_url %s saying %q", trigger, want), func([]slackfake.Call) bool {
		for _, c := range f.fake.Responses(trigger) {
			if c.Error == "" && strings.Contains(text(c), want) {
				answer = c
				return true
			}
		}
		return false
	})
	if answer.ResponseType != slack.ResponseTypeEphemeral || answer.ReplaceOriginal || answer.DeleteOriginal {
		f.t.Errorf("the answer is not private, or replaces the message:\n%s", slackfake.DumpCalls([]slackfake.Call{answer}))
	}
	return answer
}

// noEphemeral fails the test if the bot used chat.postEphemeral, which needs the bot in the channel.
func (f *fixture) noEphemeral() {
	f.t.Helper()
	if calls := f.fake.CallsTo("chat.postEphemeral"); len(calls) != 0 {
		f.t.Errorf("chat.postEphemeral was used:\n%s", slackfake.DumpCalls(calls))
	}
}
