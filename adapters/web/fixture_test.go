package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// The demo channel and its people.
const (
	channel = "demo"
	dev     = "dev"   // deployer and approver; triggers the deliveries
	ops     = "ops"   // approver
	qa      = "qa"    // approver
	guest   = "guest" // no role
	waitFor = 20 * time.Second
)

var demoUsers = []User{
	{ID: dev, Name: "Dana (deployer)", Note: "may deliver and approve others' deliveries"},
	{ID: ops, Name: "Omar (approver)"},
	{ID: qa, Name: "Quinn (approver)"},
	{ID: guest, Name: "Gus (guest)", Note: "holds no role"},
}

const shipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: evaluation}]
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: approval, properties: {pass: manual, warning: manual, approvers: [approver], required: 2}}, {name: release}]
`

const slo = `spec_version: '0.1.0'
comparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    displayName: Error rate
    weight: 2
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

const sli = `spec_version: "1.0"
indicators:
  response_time_p95: "histogram_quantile(0.95, x)"
  error_rate: "sum(rate(errors[5m]))"
`

// slis answers every evaluation with a fast build's values.
type slis struct{}

func (slis) GetSLIs(context.Context, engine.SLIRequest) ([]engine.SLIValue, error) {
	return []engine.SLIValue{{Metric: "response_time_p95", Value: 420, Success: true}, {Metric: "error_rate", Value: 0.5, Success: true}}, nil
}

// fixture is the console on a real bot, engine and SQLite store, served over real HTTP; the console keeps
// its messages in the store, as shipgate's does.
type fixture struct {
	t       *testing.T
	console *Console
	srv     *httptest.Server
	st      *store.Store
	eng     *engine.Engine
	bot     *bot.Bot
	opts    Options
	db      string // the database file
	stop    func() // shuts the fixture down as shipgate does, once
}

// newFixture starts the console with opts (Channels and, in demo mode, Users default to the demo
// channel and people).
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	return startFixture(t, opts, filepath.Join(t.TempDir(), "shipgate.db"))
}

// restart stops the fixture as shipgate stops (the bot sends what it still has to, then the database
// closes) and starts another on the same database, as a restart of shipgate does.
func (f *fixture) restart() *fixture {
	f.t.Helper()
	f.stop()
	return startFixture(f.t, f.opts, f.db)
}

// startFixture starts the console with opts on the database file db.
func startFixture(t *testing.T, opts Options, db string) *fixture {
	t.Helper()
	if opts.Channels == nil {
		opts.Channels = []string{channel}
	}
	if opts.Demo && opts.Users == nil {
		opts.Users = demoUsers
	}
	dir := filepath.Join(t.TempDir(), "fulltour")
	p := configtest.WriteProject(t, dir, map[string]string{"shipyard.yaml": shipyard,
		"executors.yaml":        "tasks:\n  deployment: {type: noop}\n  release: {type: noop}\n",
		"helloservice/slo.yaml": slo, "helloservice/prometheus/sli.yaml": sli})
	cfg := config.Defaults()
	cfg.Channels = []config.ChannelBinding{{Platform: string(engine.PlatformWeb), Channel: channel, Projects: []string{"fulltour"},
		Roles: map[string][]string{bot.RoleDeployer: {dev}, bot.RoleApprover: {dev, ops, qa}}}}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	projects := []*config.Project{p}
	eng, err := engine.New(engine.Options{Store: st, Projects: projects, Executors: map[string]engine.Executor{"noop": engine.Noop{}},
		Evaluator: &engine.Evaluator{Store: st, Provider: slis{}, Projects: projects}})
	if err != nil {
		t.Fatal(err)
	}
	console, err := Open(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Options{Config: cfg, Projects: projects, Engine: eng, Store: st,
		Posters: map[engine.Platform]bot.Poster{engine.PlatformWeb: console}, EditInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	console.Attach(b)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	console.Register(mux)
	srv := httptest.NewServer(mux)
	stop := sync.OnceFunc(func() {
		console.Close()
		srv.Close()
		eng.Close()
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	t.Cleanup(stop)
	return &fixture{t: t, console: console, srv: srv, st: st, eng: eng, bot: b, opts: opts, db: db, stop: stop}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", r.status, r.body, err)
	}
}

// errorText is the error an answer carries.
func (r response) errorText() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// do sends a request as the page would (JSON, same origin); edit changes it first.
func (f *fixture) do(client *http.Client, method, path string, body any, edit ...func(*http.Request)) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", f.srv.URL)
	}
	for _, e := range edit {
		e(req)
	}
	if client == nil {
		client = f.srv.Client()
	}
	res, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func (f *fixture) command(user, text string, edit ...func(*http.Request)) response {
	f.t.Helper()
	return f.do(nil, http.MethodPost, "/web/command", commandRequest{Channel: channel, User: user, Text: text}, edit...)
}

func (f *fixture) click(user string, req clickRequest) response {
	f.t.Helper()
	req.Channel, req.User = channel, user
	return f.do(nil, http.MethodPost, "/web/click", req)
}

// deliver starts a delivery as dev and checks that the bot took it.
func (f *fixture) deliver(tag string) commandReply {
	f.t.Helper()
	res := f.command(dev, "/deliver helloservice ghcr.io/podtato-head/podtatoserver:"+tag)
	if res.status != http.StatusOK {
		f.t.Fatalf("/deliver = %d %s", res.status, res.body)
	}
	var out commandReply
	res.json(f.t, &out)
	return out
}

// stream is a page's event stream, read in the test's goroutine; the context it was opened with ends
// it, so a wait never outlasts waitFor.
type stream struct {
	t    *testing.T
	sc   *bufio.Scanner
	seen []string
}

// open follows the channel's events as user ("" for nobody), with edit applied to the request.
func (f *fixture) open(user string, edit ...func(*http.Request)) *stream {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	q := url.Values{"channel": {channel}}
	if user != "" {
		q.Set("user", user)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/web/events?"+q.Encode(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range edit {
		e(req)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		cancel()
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		cancel()
		res.Body.Close()
	})
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{t: f.t, sc: bufio.NewScanner(res.Body)}
	s.sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	// The server subscribes before it writes anything: once the retry line is here, no event is missed.
	if !s.sc.Scan() || s.sc.Text() != "retry: 2000" {
		f.t.Fatalf("stream starts with %q, want the retry line", s.sc.Text())
	}
	return s
}

// next is the stream's next event, or false when the stream ended.
func (s *stream) next() (event, bool) {
	for s.sc.Scan() {
		data, ok := strings.CutPrefix(s.sc.Text(), "data: ")
		if !ok {
			continue // blank separators and heartbeat comments
		}
		var ev event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			s.t.Fatalf("event %s: %v", data, err)
		}
		s.seen = append(s.seen, data)
		return ev, true
	}
	return event{}, false
}

// waitFor reads events until one's message matches and returns it; it fails the test when the stream
// ends first (its context timed out, or the console closed).
func (s *stream) waitFor(what string, match func(wireMessage) bool) wireMessage {
	s.t.Helper()
	for {
		ev, ok := s.next()
		if !ok {
			s.t.Fatalf("stream ended waiting for %s; events seen:\n%s", what, strings.Join(s.seen, "\n"))
		}
		if ev.Type == "message" && match(ev.Message) {
			return ev.Message
		}
	}
}

// waitAll reads events until each condition has matched one, in any order (the bot edits a card and
// posts or edits its replies on their own schedules), and returns the matches by name; a later match
// of a condition replaces an earlier one.
func (s *stream) waitAll(conds map[string]func(wireMessage) bool) map[string]wireMessage {
	s.t.Helper()
	got := map[string]wireMessage{}
	names := make([]string, 0, len(conds))
	for name := range conds {
		names = append(names, name)
	}
	s.waitFor(strings.Join(names, ", "), func(m wireMessage) bool {
		for name, cond := range conds {
			if cond(m) {
				got[name] = m
			}
		}
		return len(got) == len(conds)
	})
	return got
}

// approvalRequest waits for a pending approval request with its buttons.
func (s *stream) approvalRequest() wireMessage {
	s.t.Helper()
	return s.waitFor("an approval request with buttons", func(m wireMessage) bool {
		return strings.HasPrefix(m.Header, "Approval:") && len(m.Buttons) == 2
	})
}

// field is the value of a message's field.
func field(m wireMessage, label string) string {
	for _, f := range m.Fields {
		if f.Label == label {
			return f.Value
		}
	}
	return ""
}
