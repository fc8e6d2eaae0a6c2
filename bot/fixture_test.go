package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// testShipyard is the tutorial's shipyard with production's approval needing two people from approver or
// release-managers within an hour, and a rollback sequence in production too.
var testShipyard = configtest.Variant(configtest.TutorialShipyard,
	"properties: {pass: manual, warning: manual}",
	"properties: {pass: manual, warning: manual, approvers: [approver, release-managers], required: 2, timeout: 1h}",
	"            - name: release\n",
	"            - name: release\n        - name: rollback\n          tasks: [{name: rollback}]\n")

const testExecutors = `tasks:
  deployment: {type: noop}
  test: {type: noop}
  release: {type: noop}
  rollback: {type: noop}
`

const testSLO = `spec_version: '0.1.0'
comparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<=+10%", "<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    displayName: Error rate
    key_sli: true
    weight: 2
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

const testSLI = `spec_version: "1.0"
indicators:
  response_time_p95: "histogram_quantile(0.95, x)"
  error_rate: "sum(rate(errors[5m]))"
`

// Chat ids of the test channel and its people.
const (
	channel   = "CREL1"
	developer = "UDEV1" // deployer; triggers deliveries
	ops       = "UOPS1" // approver
	qaLead    = "UQA1"  // in user group SREL1, which holds release-managers
	outsider  = "UOUT1" // no role
	auditor   = "UAUD1" // auditor only
	relGroup  = "SREL1"
)

// slis gives each delivery's evaluation the values its "latency" label names.
type slis struct{}

func (slis) GetSLIs(_ context.Context, r engine.SLIRequest) ([]engine.SLIValue, error) {
	latency, _ := strconv.ParseFloat(r.Labels["latency"], 64)
	return []engine.SLIValue{{Metric: "response_time_p95", Value: latency, Success: true}, {Metric: "error_rate", Value: 0.5, Success: true}}, nil
}

// verdict is an executor (type: verdict in executors.yaml) that passes, unless the delivery's label
// "fail" names the task, as in --label fail=test.
type verdict struct{}

func (verdict) Execute(_ context.Context, t engine.Task) (engine.Result, error) {
	if t.Labels["fail"] == t.Name {
		return engine.Result{Result: store.ResultFail, Status: store.StatusSucceeded, Message: "2 of 40 checks failed"}, nil
	}
	return engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded}, nil
}

// diffing is an executor (type: diffing) that passes and says what it would change as the helm executor
// does: a new image in the Deployment, two ConfigMap keys, a Secret's value masked, a new chart version.
type diffing struct{ verdict }

// sampleDiff is what diffing reports, shaped as the helm executor writes its diffs.
const sampleDiff = `--- a/Secret/helloservice-secret
+++ b/Secret/helloservice-secret
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  password: (masked)
+  password: (masked, changed)
 kind: Secret
 metadata:
   name: helloservice-secret
--- a/ConfigMap/helloservice-config
+++ b/ConfigMap/helloservice-config
@@ -1,7 +1,7 @@
 apiVersion: v1
 data:
-  color: blue
-  greeting: hello
+  color: red
+  greeting: hej
   size: large
 kind: ConfigMap
 metadata:
--- a/Deployment/helloservice
+++ b/Deployment/helloservice
@@ -16,7 +16,7 @@
         app.kubernetes.io/instance: helloservice
     spec:
       containers:
-      - image: ghcr.io/podtato-head/podtatoserver:v0.1.0
+      - image: <image>
         name: server
         ports:
         - containerPort: 9000
`

func (diffing) Diff(_ context.Context, t engine.Task) (*engine.Changes, error) {
	old := "ghcr.io/podtato-head/podtatoserver:v0.1.0"
	return &engine.Changes{Summary: engine.ChangeSummary{
		Image: &engine.Change{Old: old, New: t.Image}, Chart: &engine.Change{Old: "helloservice-0.1.0", New: "helloservice-0.2.0"}, Diffed: true,
		Objects: []engine.ObjectChange{
			{Kind: "Secret", Name: "helloservice-secret", Change: engine.ObjectChanged, Keys: 1},
			{Kind: "ConfigMap", Name: "helloservice-config", Change: engine.ObjectChanged, Keys: 2},
			{Kind: "Deployment", Name: "helloservice", Change: engine.ObjectChanged, Images: &engine.Change{Old: old, New: t.Image}},
		}}, Diff: strings.ReplaceAll(sampleDiff, "<image>", t.Image)}, nil
}

// sent is one call a recordingPoster received.
type sent struct {
	Op      string // post, update, private
	Channel string
	ID      string // message id posted or updated
	Thread  string
	User    string
	Message Message
	Opts    PostOptions
	At      time.Time
}

// recordingPoster is a platform that keeps what it was sent.
type recordingPoster struct {
	mu    sync.Mutex
	calls []sent
	next  int
	// rateLimit makes the next n calls fail with a 1 s Retry-After.
	rateLimit int
}

func (p *recordingPoster) Post(_ context.Context, channel string, m Message, opts PostOptions) (Posted, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rateLimit > 0 {
		p.rateLimit--
		p.calls = append(p.calls, sent{Op: "429", Channel: channel, Message: m, At: time.Now()})
		return Posted{}, &RetryLater{After: time.Second, Err: fmt.Errorf("ratelimited")}
	}
	p.next++
	id := fmt.Sprintf("m%d", p.next)
	thread := opts.Thread
	if thread == "" {
		thread = id
	}
	p.calls = append(p.calls, sent{Op: "post", Channel: channel, ID: id, Thread: opts.Thread, Message: m, Opts: opts, At: time.Now()})
	return Posted{MessageID: id, Thread: thread}, nil
}

func (p *recordingPoster) Update(_ context.Context, channel, thread, id string, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, sent{Op: "update", Channel: channel, ID: id, Thread: thread, Message: m, At: time.Now()})
	return nil
}

func (p *recordingPoster) PostPrivate(_ context.Context, channel, user string, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, sent{Op: "private", Channel: channel, User: user, Message: m, At: time.Now()})
	return nil
}

// Permalink links to a message as a platform's web client would.
func (p *recordingPoster) Permalink(_ context.Context, channel, id string) (string, error) {
	return "https://chat.test/archives/" + channel + "/" + id, nil
}

func (p *recordingPoster) all() []sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// latest is what message id shows now: its last post or update.
func (p *recordingPoster) latest(id string) Message {
	var m Message
	for _, c := range p.all() {
		if c.ID == id && (c.Op == "post" || c.Op == "update") {
			m = c.Message
		}
	}
	return m
}

// directory is a user-group directory with one group.
type directory struct {
	mu      sync.Mutex
	lookups int
}

func (d *directory) IsGroup(id string) bool { return strings.HasPrefix(id, "S") }

func (d *directory) GroupMembers(_ context.Context, id string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if id == relGroup {
		return []string{qaLead}, nil
	}
	return nil, fmt.Errorf("no_such_subteam")
}

// fixture is an engine and a bot on a real SQLite file, posting to a recordingPoster. Make it inside
// a synctest bubble: the bot's edit timers and the engine's timers then run on the bubble's clock.
type fixture struct {
	t      *testing.T
	dir    string
	db     string
	cfg    *config.Config
	proj   *config.Project
	st     *store.Store
	eng    *engine.Engine
	bot    *Bot
	poster *recordingPoster
	dirs   *directory
	seq    int
	// storeOpts are the options the store is opened with.
	storeOpts []store.Option
}

func newFixture(t *testing.T, storeOpts ...store.Option) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, storeOpts...)
}

// newFixtureWith is newFixture with edit applied first to the configuration and the project's files
// (path -> content), such as a channel binding's thread_detail or an executors.yaml with failing tasks.
func newFixtureWith(t *testing.T, edit func(cfg *config.Config, files map[string]string), storeOpts ...store.Option) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fulltour")
	files := map[string]string{"shipyard.yaml": testShipyard, "executors.yaml": testExecutors,
		"helloservice/slo.yaml": testSLO, "helloservice/prometheus/sli.yaml": testSLI, "orders/README.md": "orders\n"}
	cfg := config.Defaults()
	cfg.Channels = []config.ChannelBinding{{Platform: "slack", Channel: channel, Projects: []string{"fulltour"},
		Roles: map[string][]string{RoleDeployer: {developer, ops}, RoleApprover: {ops, developer}, "release-managers": {relGroup}, RoleAuditor: {auditor}}}}
	if edit != nil {
		edit(cfg, files)
	}
	p := configtest.WriteProject(t, dir, files)
	f := &fixture{t: t, dir: dir, db: filepath.Join(t.TempDir(), "shipgate.db"), cfg: cfg, proj: p, poster: &recordingPoster{}, dirs: &directory{},
		storeOpts: storeOpts}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	st, err := store.Open(context.Background(), f.db, f.storeOpts...)
	if err != nil {
		f.t.Fatal(err)
	}
	projects := []*config.Project{f.proj}
	eng, err := engine.New(engine.Options{Store: st, Projects: projects, Executors: map[string]engine.Executor{"noop": engine.Noop{}, "verdict": verdict{}, "diffing": diffing{}},
		Evaluator: &engine.Evaluator{Store: st, Provider: slis{}, Projects: projects}, Freezes: f.cfg.Freezes})
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := New(Options{Config: f.cfg, Projects: projects, Engine: eng, Store: st,
		Posters: map[engine.Platform]Poster{engine.PlatformSlack: f.poster}, Directories: map[engine.Platform]Directory{engine.PlatformSlack: f.dirs}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.st, f.eng, f.bot = st, eng, b
}

func (f *fixture) stop() {
	if f.bot == nil {
		return
	}
	f.eng.Close()
	if err := f.bot.Close(context.Background()); err != nil {
		f.t.Error(err)
	}
	f.st.Close()
	f.st, f.eng, f.bot = nil, nil, nil
}

func (f *fixture) restart() {
	f.stop()
	f.start()
}

func (f *fixture) requestID() string {
	f.seq++
	return fmt.Sprintf("trigger-%d", f.seq)
}

// command runs /deliver text as user in the test channel.
func (f *fixture) command(user, text string) Reply {
	f.t.Helper()
	return f.bot.HandleCommand(context.Background(), CommandRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: user},
		Channel: channel, Text: text, RequestID: f.requestID()})
}

// click presses a button of the approval request.
func (f *fixture) click(user, action string, approvalID int64, reason ...string) ClickReply {
	f.t.Helper()
	req := ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: user}, Channel: channel, ActionID: action,
		Value: approvalValue(approvalID), RequestID: f.requestID()}
	if len(reason) > 0 {
		req.Reason, req.ReasonGiven = reason[0], true
	}
	return f.bot.HandleClick(context.Background(), req)
}

// deliver triggers a delivery of helloservice whose qa evaluation measures latency ms, with more labels
// (k=v) if given.
func (f *fixture) deliver(tag string, latency int, labels ...string) int64 {
	f.t.Helper()
	text := fmt.Sprintf("helloservice ghcr.io/podtato-head/podtatoserver:%s --label version=%s --label latency=%d", tag, tag, latency)
	for _, l := range labels {
		text += " --label " + l
	}
	r := f.command(developer, text)
	var id int64
	if _, err := fmt.Sscanf(r.Message.Text, "🚀 Delivery #%d", &id); err != nil {
		f.t.Fatalf("deliver: %q", r.Message.Text)
	}
	return id
}

func (f *fixture) pendingApproval(id int64) *store.Approval {
	f.t.Helper()
	as, err := f.st.ListApprovals(context.Background(), store.ApprovalQuery{DeliveryID: id, State: store.ApprovalPending})
	if err != nil || len(as) != 1 {
		f.t.Fatalf("pending approvals of %d: %v %v", id, as, err)
	}
	return as[0]
}

func (f *fixture) delivery(id int64) *store.Delivery {
	f.t.Helper()
	d, err := f.st.GetDelivery(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// messages lists the chat messages recorded for a delivery.
func (f *fixture) messages(id int64) []*store.ChatMessage {
	f.t.Helper()
	ms, err := f.st.ListChatMessages(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

func (f *fixture) messageOf(id int64, kind store.MessageKind) *store.ChatMessage {
	f.t.Helper()
	for _, m := range f.messages(id) {
		if m.Kind == kind {
			return m
		}
	}
	f.t.Fatalf("delivery %d has no %s message; calls: %s", id, kind, dump(f.poster.all()))
	return nil
}

func dump(calls []sent) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n  %s %s %s thread=%s user=%s %q", c.Op, c.Channel, c.ID, c.Thread, c.User, c.Message.Fallback())
	}
	return b.String()
}

func (f *fixture) audit(target string) []*store.AuditEntry {
	f.t.Helper()
	es, err := f.st.ListAudit(context.Background(), store.AuditQuery{Target: target})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
