package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// testShipyard is the tutorial's shipyard without qa's rollback and production's release: production
// waits for one manual approval, then deploys.
var testShipyard = configtest.Variant(configtest.TutorialShipyard,
	configtest.QARollback, "",
	"            - name: release\n", "")

const testExecutors = `tasks:
  deployment: {type: noop}
  test: {type: noop}
`

const testSLO = `spec_version: '0.1.0'
comparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    key_sli: true
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

const testSLI = `spec_version: "1.0"
indicators:
  response_time_p95: "histogram_quantile(0.95, x)"
  error_rate: "sum(rate(errors[5m]))"
`

// Tokens of the fixture, by name; their values are the name + "-secret".
const (
	tokCI       = "ci"       // fulltour, no actor
	tokAdmin    = "admin"    // every project, configured by its SHA-256 only
	tokRelease  = "release"  // fulltour, votes as opsUser (an approver)
	tokOutsider = "outsider" // fulltour, votes as outsiderUser (no role)
	tokShop     = "shop"     // shop only, votes as opsUser
	webhookKey  = "whsec-test"

	opsUser      = "UOPS1"
	outsiderUser = "UOUT1"
	helloImage   = "ghcr.io/podtato-head/podtatoserver:v0.1.1"
)

func secret(name string) string { return name + "-secret" }

// slis measures every evaluation as a fast, healthy build.
type slis struct{}

func (slis) GetSLIs(context.Context, engine.SLIRequest) ([]engine.SLIValue, error) {
	return []engine.SLIValue{{Metric: "response_time_p95", Value: 420, Success: true}, {Metric: "error_rate", Value: 0.5, Success: true}}, nil
}

// fixture is the API on a real HTTP server, over a real engine and bot on a real SQLite file, with two
// projects: fulltour (helloservice, orders) and shop (carts).
type fixture struct {
	t      testing.TB
	st     *store.Store
	dbPath string
	eng    *engine.Engine
	api    *API
	srv    *httptest.Server
	reg    *prometheus.Registry
	logs   *syncBuffer

	mu     sync.Mutex
	now    time.Time
	events []engine.Event
	seen   chan struct{} // signalled after each event
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, testShipyard)
}

// newFixtureWith is newFixture with another shipyard for both projects, and edits applied to the
// configuration.
func newFixtureWith(t testing.TB, shipyard string, edits ...func(*config.Config)) *fixture {
	t.Helper()
	root := t.TempDir()
	common := map[string]string{"shipyard.yaml": shipyard, "executors.yaml": testExecutors}
	fulltour := map[string]string{"helloservice/slo.yaml": testSLO, "helloservice/prometheus/sli.yaml": testSLI, "orders/README.md": "orders\n"}
	shop := map[string]string{"carts/README.md": "carts\n"}
	for k, v := range common {
		fulltour[k], shop[k] = v, v
	}
	projects := []*config.Project{
		configtest.WriteProject(t, filepath.Join(root, "fulltour"), fulltour),
		configtest.WriteProject(t, filepath.Join(root, "shop"), shop),
	}

	adminSum := sha256.Sum256([]byte(secret(tokAdmin)))
	cfg := config.Defaults()
	cfg.API = config.APIConfig{
		Tokens: []config.APIToken{
			{Name: tokCI, Token: config.Secret(secret(tokCI)), Projects: []string{"fulltour"}},
			{Name: tokAdmin, TokenSHA256: hex.EncodeToString(adminSum[:]), Projects: []string{"*"}},
			{Name: tokRelease, Token: config.Secret(secret(tokRelease)), Projects: []string{"fulltour"}, Actor: opsUser},
			{Name: tokOutsider, Token: config.Secret(secret(tokOutsider)), Projects: []string{"fulltour"}, Actor: outsiderUser},
			{Name: tokShop, Token: config.Secret(secret(tokShop)), Projects: []string{"shop"}, Actor: opsUser},
		},
		WebhookSecret: webhookKey,
	}
	cfg.Channels = []config.ChannelBinding{{Platform: "slack", Channel: "CREL1", Projects: []string{"fulltour"},
		Roles: map[string][]string{bot.RoleApprover: {opsUser}, bot.RoleDeployer: {opsUser}}}}
	for _, edit := range edits {
		edit(cfg)
	}

	// Nothing else writes to this database, except a test that holds the write lock to see writes refused.
	dbPath := filepath.Join(t.TempDir(), "shipgate.db")
	st, err := store.Open(context.Background(), dbPath, store.WithBusyTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: st, Projects: projects, Executors: map[string]engine.Executor{"noop": engine.Noop{}},
		Evaluator: &engine.Evaluator{Store: st, Provider: slis{}, Projects: projects}, Freezes: cfg.Freezes})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Options{Config: cfg, Projects: projects, Engine: eng, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, dbPath: dbPath, eng: eng, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, now: time.Now(), seen: make(chan struct{}, 1)}
	unsubscribe := eng.Subscribe(f.record)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.api, err = New(Options{Engine: eng, Store: st, Config: cfg, Projects: projects, Approver: b, Registry: f.reg,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.api.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		unsubscribe()
		eng.Close()
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) record(ev engine.Event) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	select {
	case f.seen <- struct{}{}:
	default:
	}
}

// waitFor waits for an event of a delivery, of one type; deliveries move on the engine's goroutines.
func (f *fixture) waitFor(delivery int64, typ string) engine.Event {
	f.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		f.mu.Lock()
		for _, ev := range f.events {
			if ev.DeliveryID == delivery && ev.Type == typ {
				f.mu.Unlock()
				return ev
			}
		}
		f.mu.Unlock()
		select {
		case <-f.seen:
		case <-timeout:
			f.t.Fatalf("delivery %d: no %s event within 30s", delivery, typ)
		}
	}
}

func (f *fixture) waitForApproval(delivery int64) {
	f.t.Helper()
	f.waitFor(delivery, engine.EventApprovalWaiting)
}
func (f *fixture) waitFinished(delivery int64) {
	f.t.Helper()
	f.waitFor(delivery, engine.EventDeliveryFinished)
}

// response is an answer as the test reads it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", r.status, r.body, err)
	}
}

// errorText is the answer's error message.
func (r response) errorText(t testing.TB) string {
	t.Helper()
	var e errorBody
	r.decode(t, &e)
	return e.Error
}

// do sends a request with optional headers (name, value pairs).
func (f *fixture) do(method, path string, body []byte, headers ...string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// as sends a request with a token's bearer credential.
func (f *fixture) as(tok, method, path string, body any, headers ...string) response {
	f.t.Helper()
	return f.do(method, path, jsonBody(f.t, body), append([]string{"Authorization", "Bearer " + secret(tok)}, headers...)...)
}

// signed sends a request signed with the webhook secret at a time.
func (f *fixture) signed(method, path string, body []byte, at time.Time, headers ...string) response {
	f.t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	sig := "sha256=" + hex.EncodeToString(Sign([]byte(webhookKey), ts, body))
	return f.do(method, path, body, append([]string{SignatureHeader, sig, TimestampHeader, ts}, headers...)...)
}

func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	switch b := v.(type) {
	case nil:
		return nil
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// trigger starts a delivery as a token and returns its id, failing unless it was accepted.
func (f *fixture) trigger(tok string, body map[string]any, headers ...string) int64 {
	f.t.Helper()
	r := f.as(tok, "POST", "/api/v1/deliveries", body, headers...)
	if r.status != http.StatusAccepted {
		f.t.Fatalf("trigger as %s: %d %s", tok, r.status, r.body)
	}
	var tr triggered
	r.decode(f.t, &tr)
	return tr.ID
}

func hello(extra ...any) map[string]any {
	m := map[string]any{"project": "fulltour", "service": "helloservice", "image": helloImage}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// audit lists the audit entries of an action, newest first.
func (f *fixture) audit(action string) []*store.AuditEntry {
	f.t.Helper()
	all, err := f.st.ListAudit(context.Background(), store.AuditQuery{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*store.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// syncBuffer collects log output from the handlers' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
