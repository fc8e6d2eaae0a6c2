package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipgate/shipgate/adapters/prometheus/promtest"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// The end-to-end day with shipgate, through serve's real HTTP handler: signed Slack requests in, the
// real slack-go client out to a local fake of Slack's Web API, SLIs from a real Prometheus.
const e2eToken = "e2e-ci-token-0123456789"

const (
	e2eSecret  = "8f742231b10e8888abcd99yyyzzz85a5"
	e2eChannel = "CREL01"
	e2eDev     = "UDEV01"
	e2eOps     = "UOPS01"
	e2eOut     = "UOUT01"
	e2eWait    = 30 * time.Second
	// e2eGroup is a Slack user group among the approvers, with e2eQA in it.
	e2eGroup = "SREL01"
	e2eQA    = "UQA01"
	// e2eElsewhere is a channel that exists, bound to nothing and without the bot, where someone shared
	// the approval request.
	e2eElsewhere = "COTHER01"
)

// e2eShipyard is the tutorial's shipyard with qa's evaluation over the last minute.
var e2eShipyard = configtest.Variant(configtest.TutorialShipyard,
	"            - name: evaluation\n",
	"            - name: evaluation\n              properties: {timeframe: 1m}\n")

const e2eSLO = `spec_version: '0.1.0'
comparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<=+10%", "<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    displayName: Error rate
    key_sli: true
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

// The service exports its own p95 and error rate as gauges; the SLIs read them as the service's job.
const e2eSLI = `spec_version: "1.0"
indicators:
  response_time_p95: "max(helloservice_response_time_p95_ms{job='$SERVICE-$PROJECT-$STAGE'})"
  error_rate: "max(helloservice_error_rate_percent{job='$SERVICE-$PROJECT-$STAGE'})"
`

// e2eService is what Prometheus scrapes: gauges the test sets.
type e2eService struct {
	p95, errors prometheus.Gauge
	addr        string
}

func startService(t *testing.T) *e2eService {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := &e2eService{
		p95:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "helloservice_response_time_p95_ms"}),
		errors: prometheus.NewGauge(prometheus.GaugeOpts{Name: "helloservice_error_rate_percent"}),
	}
	reg.MustRegister(s.p95, s.errors)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

type e2e struct {
	t    *testing.T
	base string
	fake *slackfake.Server
	prom *promtest.Server
	svc  *e2eService
	db   string
	seq  atomic.Int64
	stop func() // stops serve; the test's end does too
	// answers are the bodies of the slash commands' HTTP answers, for the contract check.
	answers [][]byte
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	svc := startService(t)
	prom := promtest.Start(t, promtest.Target{Job: "helloservice-fulltour-qa", Addr: svc.addr})
	fake := slackfake.New(t)
	fake.AddChannel(e2eChannel)
	fake.AddMembers(e2eChannel, e2eDev, e2eOps, e2eOut, e2eQA)
	fake.AddChannelWithoutBot(e2eElsewhere)
	fake.AddMembers(e2eElsewhere, e2eDev, e2eOps, e2eOut, e2eQA)
	fake.SetUserGroup(e2eGroup, e2eQA)
	e := serveSlack(t, t.TempDir(), fake, map[string]string{
		"projects/fulltour/shipyard.yaml":                    e2eShipyard,
		"projects/fulltour/executors.yaml":                   "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n  release: {type: noop}\n  rollback: {type: noop}\n",
		"projects/fulltour/helloservice/slo.yaml":            e2eSLO,
		"projects/fulltour/helloservice/prometheus/sli.yaml": e2eSLI,
	}, fmt.Sprintf(`prometheus:
  url: %s
channels:
  - platform: slack
    channel: %s
    projects: [fulltour]
    roles:
      deployer: [%s]
      approver: [%s, %s, %s]
api:
  tokens:
    - {name: ci, token: %s, projects: [fulltour]}
`, prom.URL, e2eChannel, e2eDev, e2eOps, e2eDev, e2eGroup, e2eToken))
	e.prom, e.svc = prom, svc
	return e
}

// serveSlack writes files (the projects) into dir with a shipgate.yaml that binds serve to the Slack
// fake, followed by settings (channels, api, …), and runs serve on them until the test ends.
func serveSlack(t *testing.T, dir string, fake *slackfake.Server, files map[string]string, settings string) *e2e {
	t.Helper()
	files = maps.Clone(files)
	files["shipgate.yaml"] = fmt.Sprintf(`database: shipgate.db
projects_dir: projects
slack:
  bot_token: xoxb-test
  signing_secret: %s
  api_url: %s
`, e2eSecret, fake.APIURL()) + settings
	configtest.WriteFiles(t, dir, files)
	base, db, stop := startServe(t, filepath.Join(dir, "shipgate.yaml"))
	return &e2e{t: t, base: base, fake: fake, db: db, stop: stop}
}

// waitApprovalRequest waits for the first approval request (the message with buttons) and returns its
// ts and the ts of the root card it is threaded under.
func (e *e2e) waitApprovalRequest() (rootTS, approvalTS string) {
	e.t.Helper()
	e.fake.WaitFor(e.t, e2eWait, "the approval request", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" && rootTS == "" {
				rootTS = c.TS
			}
			if c.Method == "chat.postMessage" && hasBlockType(c.Blocks, "actions") {
				approvalTS = c.TS
				return true
			}
		}
		return false
	})
	return rootTS, approvalTS
}

// api calls shipgate's HTTP API with the bearer token tok, body (if any) sent as JSON, and returns
// status and body.
func (e *e2e) api(tok, method, path string, body any) (int, string) {
	e.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.base+path, &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

// measure sets the service's gauges and waits until Prometheus has scraped them.
func (e *e2e) measure(p95, errorRate float64) {
	e.t.Helper()
	e.svc.p95.Set(p95)
	e.svc.errors.Set(errorRate)
	e.prom.WaitFor(e.t, fmt.Sprintf("helloservice_response_time_p95_ms == %g and on() helloservice_error_rate_percent == %g", p95, errorRate), e2eWait)
}

// post sends a form to an endpoint signed as Slack signs it at time at, and returns status and body.
func (e *e2e) post(path string, form url.Values, at time.Time, secret string) (int, string) {
	e.t.Helper()
	req := slackfake.SignedRequest(e.t, e.base+path, secret, at, form)
	return e.do(req)
}

func (e *e2e) do(req *http.Request) (int, string) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *e2e) trigger() string { return fmt.Sprintf("%d.%d.e2e", time.Now().Unix(), e.seq.Add(1)) }

func (e *e2e) command(user, text string) (int, string) {
	e.t.Helper()
	code, body := e.post("/slack/commands", e.fake.CommandForm(e2eChannel, user, text, e.trigger()), time.Now(), e2eSecret)
	if code == http.StatusOK {
		e.answers = append(e.answers, []byte(body))
	}
	return code, body
}

// clickForm is a click on the approval request's button in the bound channel. It returns the form and
// the click's trigger_id, which also names its response_url.
func (e *e2e) clickForm(user, action, messageTS, threadTS, value string) (url.Values, string) {
	return e.clickFormIn(e2eChannel, user, action, messageTS, threadTS, value)
}

// clickFormIn is a click on the approval request's button where it shows in channel.
func (e *e2e) clickFormIn(channel, user, action, messageTS, threadTS, value string) (url.Values, string) {
	trigger := e.trigger()
	return slackfake.InteractionForm(e.fake.BlockActionPayload(channel, user, messageTS, threadTS, action, "approval", value, trigger)), trigger
}

// click sends a click and returns its trigger_id.
func (e *e2e) click(channel, user, action, messageTS, threadTS, value string) string {
	e.t.Helper()
	form, trigger := e.clickFormIn(channel, user, action, messageTS, threadTS, value)
	if code, _ := e.post("/slack/interactions", form, time.Now(), e2eSecret); code != http.StatusOK {
		e.t.Fatalf("click = %d", code)
	}
	return trigger
}

// waitAnswer waits for the bot's answer to the click trigger through its response_url, saying want,
// shown to the clicker only (ephemeral) and leaving the clicked message as it is.
func (e *e2e) waitAnswer(trigger, want string) {
	e.t.Helper()
	var answer slackfake.Call
	e.fake.WaitFor(e.t, e2eWait, fmt.Sprintf("the answer to %s saying %q", trigger, want), func([]slackfake.Call) bool {
		for _, c := range e.fake.Responses(trigger) {
			if c.Error == "" && strings.Contains(blocksText(c.Blocks)+c.Text, want) {
				answer = c
				return true
			}
		}
		return false
	})
	if answer.ResponseType != "ephemeral" || answer.ReplaceOriginal {
		e.t.Errorf("the answer is not private, or replaces the message:\n%s", slackfake.DumpCalls([]slackfake.Call{answer}))
	}
}

// liveMention matches what makes Slack notify someone from a message's text.
var liveMention = regexp.MustCompile(`<@[A-Z0-9]+>|<!subteam\^[A-Z0-9]+>|<!(channel|here|everyone)>`)

// blocksText is every text in a message's blocks, for matching.
func blocksText(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				if s, ok := y.(string); ok && (k == "text" || k == "value") {
					b.WriteString(s)
					b.WriteString("\n")
				}
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return b.String()
}

func hasBlockType(raw json.RawMessage, typ string) bool {
	var blocks []map[string]any
	_ = json.Unmarshal(raw, &blocks)
	for _, b := range blocks {
		if b["type"] == typ {
			return true
		}
	}
	return false
}

func TestSlackEndToEnd(t *testing.T) {
	e := startE2E(t)
	e.measure(420, 0.2)

	// /deliver answers privately at once; the root card and its thread follow.
	code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --label version=v0.1.1")
	if code != http.StatusOK || !strings.Contains(body, `"response_type":"ephemeral"`) || !strings.Contains(body, "Delivery #1") {
		t.Fatalf("/deliver = %d %s", code, body)
	}
	// Readiness reports Slack, reached with the bot token (auth.test on the fake).
	if code, body := get(t, e.base+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"platforms":{"slack":"ok"}`) {
		t.Errorf("/readyz = %d %s", code, body)
	}
	// The bound user group, fetched at start, is reported with its members.
	if code, body := get(t, e.base+"/metrics"); code != http.StatusOK || !strings.Contains(body, `shipgate_chat_group_members{group="`+e2eGroup+`",platform="slack"}`) ||
		!strings.Contains(body, `shipgate_chat_group_age_seconds{group="`+e2eGroup+`",platform="slack"}`) {
		t.Errorf("/metrics has no series of the bound user group %s", e2eGroup)
	}
	rootTS, approvalTS := e.waitApprovalRequest()
	calls := e.fake.Calls()
	// The bound user group is fetched at start, before anything is posted; then comes the root card.
	if calls[0].Method != "usergroups.users.list" || calls[0].Form.Get("usergroup") != e2eGroup {
		t.Errorf("first call is not the start-up fetch of the bound user group: %+v", calls[0])
	}
	// auth.test is /readyz's probe of the platform, which the test asked for itself.
	calls = slices.DeleteFunc(calls, func(c slackfake.Call) bool { return c.Method == "usergroups.users.list" || c.Method == "auth.test" })
	if calls[0].Method != "chat.postMessage" || calls[0].ThreadTS != "" || calls[0].Channel != e2eChannel {
		t.Fatalf("first call is not the root card: %+v", calls[0])
	}
	sawTable := false
	for _, c := range e.fake.CallsTo("chat.postMessage")[1:] {
		if c.ThreadTS != rootTS {
			t.Errorf("reply outside the root's thread: %s", blocksText(c.Blocks))
		}
		if hasBlockType(c.Blocks, "table") && strings.Contains(blocksText(c.Blocks), "Response time P95") && strings.Contains(blocksText(c.Blocks), "420") {
			sawTable = true
		}
		if c.TS == approvalTS && !c.Broadcast {
			t.Error("approval request not broadcast to the channel")
		}
	}
	if !sawTable {
		t.Errorf("no score table with the measured 420 ms in the thread")
	}
	approval, _ := e.fake.Message(e2eChannel, approvalTS)
	value := buttonValue(t, approval.Blocks)

	// The approval request notifies exactly its approvers: the text of its chat.postMessage, which Slack
	// notifies from, mentions the approver and the user group, and not the requester, who may not
	// approve.
	var requestText string
	for _, c := range e.fake.CallsTo("chat.postMessage") {
		if c.TS == approvalTS {
			requestText = c.Text
		}
	}
	mentions := liveMention.FindAllString(requestText, -1)
	slices.Sort(mentions)
	if want := []string{"<!subteam^" + e2eGroup + ">", "<@" + e2eOps + ">"}; !slices.Equal(mentions, want) {
		t.Errorf("the approval request's text %q mentions %v, want %v", requestText, mentions, want)
	}
	if !strings.Contains(blocksText(approval.Blocks), "🔔 <@"+e2eOps+"> <!subteam^"+e2eGroup+">") {
		t.Errorf("the approval request does not show whom it notifies: %s", blocksText(approval.Blocks))
	}

	// Shared to a channel that is not bound and where the bot is not, the request's buttons are
	// refused, and the refusal reaches the person through the click's response_url.
	elsewhere := e.click(e2eElsewhere, e2eOps, "deliver.approve", approvalTS, "", value)
	e.waitAnswer(elsewhere, "approvals of project fulltour are decided in its bound channel, not here")
	if n := e.votes(); n != 0 {
		t.Fatalf("%d votes after a click where the bot is not", n)
	}

	// The API links the delivery to its thread with Slack's permalink; shipgate status shows it.
	code, out, errOut := runCLI(t, "status", "1", "--server", e.base, "--token", e2eToken)
	if want := "chat: https://fake.slack.test/archives/" + e2eChannel + "/p" + strings.ReplaceAll(rootTS, ".", ""); code != exitOK || !strings.Contains(out, want) {
		t.Errorf("status: exit %d\n%s%s\nwant %q", code, out, errOut, want)
	}

	// A non-approver and the requester are refused privately.
	for _, tt := range []struct{ user, want string }{{e2eOut, "You need the role approver"}, {e2eDev, "You triggered this delivery"}} {
		e.waitAnswer(e.click(e2eChannel, tt.user, "deliver.approve", approvalTS, rootTS, value), tt.want)
	}

	// Reject asks an approver why, in a dialog; closing it changes nothing.
	e.click(e2eChannel, e2eOps, "deliver.reject", approvalTS, rootTS, value)
	e.fake.WaitFor(t, e2eWait, "the rejection dialog", func(calls []slackfake.Call) bool {
		return slices.ContainsFunc(calls, func(c slackfake.Call) bool { return c.Method == "views.open" && c.Error == "" })
	})

	// Forged, expired and replayed requests change nothing.
	approve, approveTrigger := e.clickForm(e2eOps, "deliver.approve", approvalTS, rootTS, value)
	if code, _ := e.post("/slack/interactions", approve, time.Now(), "not-the-secret"); code != http.StatusUnauthorized {
		t.Errorf("forged signature = %d, want 401", code)
	}
	if code, _ := e.post("/slack/interactions", approve, time.Now().Add(-6*time.Minute), e2eSecret); code != http.StatusUnauthorized {
		t.Errorf("expired timestamp = %d, want 401", code)
	}
	if n := e.votes(); n != 0 {
		t.Fatalf("%d votes after forged and expired clicks", n)
	}
	signedAt := time.Now()
	if code, _ := e.post("/slack/interactions", approve, signedAt, e2eSecret); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	// The same signed request again (a replay within the window): answered, applied once.
	if code, _ := e.post("/slack/interactions", approve, signedAt, e2eSecret); code != http.StatusOK {
		t.Fatalf("replayed approve = %d", code)
	}
	e.fake.WaitFor(t, e2eWait, "the root card to show production passed", func([]slackfake.Call) bool {
		root, _ := e.fake.Message(e2eChannel, rootTS)
		return strings.Contains(blocksText(root.Blocks), "qa ✅ · production ✅")
	})
	e.fake.WaitFor(t, e2eWait, "the approval request to show who approved", func([]slackfake.Call) bool {
		m, _ := e.fake.Message(e2eChannel, approvalTS)
		return strings.Contains(blocksText(m.Blocks), "Approved by <@"+e2eOps+">") && !hasBlockType(m.Blocks, "actions")
	})
	e.waitAnswer(approveTrigger, "Your approval counted")
	// A second, new click on the decided approval is refused privately and changes nothing.
	e.waitAnswer(e.click(e2eChannel, e2eOps, "deliver.approve", approvalTS, rootTS, value), "already approved")
	if n := e.votes(); n != 1 {
		t.Errorf("%d votes, want the one", n)
	}
	for _, c := range e.fake.Responses(approveTrigger) {
		if strings.Contains(blocksText(c.Blocks)+c.Text, "already voted") {
			t.Error("the replayed click was applied again")
		}
	}
	// Every answer went through a response_url: chat.postEphemeral needs the bot in the channel.
	if calls := e.fake.CallsTo("chat.postEphemeral"); len(calls) != 0 {
		t.Errorf("chat.postEphemeral was used:\n%s", slackfake.DumpCalls(calls))
	}

	// A slow build fails the qa evaluation: the table says why, production never starts.
	e.measure(950, 0.2)
	if code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.2"); code != http.StatusOK || !strings.Contains(body, "Delivery #2") {
		t.Fatalf("/deliver v0.1.2 = %d %s", code, body)
	}
	e.fake.WaitFor(t, e2eWait, "the failed delivery's card", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" && c.TS != rootTS {
				m, _ := e.fake.Message(e2eChannel, c.TS)
				return strings.Contains(blocksText(m.Blocks), "qa ❌ rollback ✅ · production ·")
			}
		}
		return false
	})
	failedTable := false
	for _, c := range e.fake.CallsTo("chat.postMessage") {
		text := blocksText(c.Blocks)
		if hasBlockType(c.Blocks, "table") && strings.Contains(text, "950") && strings.Contains(text, "FAIL") {
			failedTable = true
		}
	}
	if !failedTable {
		t.Error("no failing score table with the measured 950 ms")
	}
	e.stop()
	checkSlackContract(t, e.fake, e.answers, "chat.postMessage", "chat.update", "response_url", "views.open", "slash_command.response")
	st, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := st.GetDelivery(context.Background(), 2)
	if err != nil || d.Result != store.ResultFail {
		t.Fatalf("delivery 2: %+v %v", d, err)
	}
	if runs, _ := st.ListSequenceRuns(context.Background(), store.SequenceRunQuery{DeliveryID: 2, Stage: "production"}); len(runs) != 0 {
		t.Errorf("production ran for a failed delivery: %d runs", len(runs))
	}
}

// votes counts the votes cast, reading the server's database beside it.
func (e *e2e) votes() int {
	e.t.Helper()
	st, err := store.Open(context.Background(), e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	as, err := st.ListApprovals(context.Background(), store.ApprovalQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		vs, _ := st.ListVotes(context.Background(), a.ID)
		n += len(vs)
	}
	return n
}

// buttonValue is the value of the approve button in a message's blocks.
func buttonValue(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(raw, &blocks)
	for _, b := range blocks {
		for _, el := range b.Elements {
			if el.ActionID == "deliver.approve" {
				return el.Value
			}
		}
	}
	t.Fatalf("no approve button in %s", raw)
	return ""
}
