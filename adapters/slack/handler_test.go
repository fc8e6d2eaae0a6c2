package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/store"
)

func hasType(raw json.RawMessage, typ string) bool {
	var blocks []map[string]any
	_ = json.Unmarshal(raw, &blocks)
	for _, b := range blocks {
		if b["type"] == typ {
			return true
		}
	}
	return false
}

// unescapeJSON undoes encoding/json's HTML escaping, so that tests match blocks as Slack shows them.
var unescapeJSON = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")

func text(c slackfake.Call) string { return c.Text + unescapeJSON.Replace(string(c.Blocks)) }

// Every endpoint refuses what Slack did not sign, before looking at it, and counts the refusal.
func TestUnsignedRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	form := f.fake.CommandForm(channel, dev, "helloservice ghcr.io/x/helloservice:v1", "T-forged")
	for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
		for name, rec := range map[string]int{
			"wrong secret":  f.serve(path, form, time.Now(), "guess").Code,
			"expired":       f.serve(path, form, time.Now().Add(-5*time.Minute-time.Second), secret).Code,
			"future":        f.serve(path, form, time.Now().Add(6*time.Minute), secret).Code,
			"no signature":  f.unsigned(path, form).Code,
			"tampered body": f.tampered(path, form).Code,
		} {
			if rec != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401", path, name, rec)
			}
		}
	}
	var counted dto.Metric
	if err := f.handler.metrics.Requests.WithLabelValues("commands", "unauthorized").Write(&counted); err != nil {
		t.Fatal(err)
	}
	if got := counted.GetCounter().GetValue(); got != 5 {
		t.Errorf("unauthorized commands counted %v times, want 5", got)
	}
	ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
	audit, _ := f.st.ListAudit(context.Background(), store.AuditQuery{})
	// The bot fetches the bound user groups at start, whatever arrives; no other call may be made.
	calls := slices.DeleteFunc(f.fake.Calls(), func(c slackfake.Call) bool { return c.Method == "usergroups.users.list" })
	if len(ds) != 0 || len(audit) != 0 || len(calls) != 0 {
		t.Errorf("refused requests changed something: %d deliveries, %d audit rows, %d Slack calls", len(ds), len(audit), len(calls))
	}
}

func (f *fixture) unsigned(path string, form url.Values) *responseRecorder {
	req := slackfake.SignedRequest(f.t, "http://shipgate.test"+path, secret, time.Now(), form)
	req.Header.Del("X-Slack-Signature")
	return record(f.mux, req)
}

func (f *fixture) tampered(path string, form url.Values) *responseRecorder {
	req := slackfake.SignedRequest(f.t, "http://shipgate.test"+path, secret, time.Now(), form)
	changed := url.Values{}
	for k, v := range form {
		changed[k] = v
	}
	changed.Set("user_id", ops)
	body := changed.Encode()
	req.Body = readCloser(body)
	req.ContentLength = int64(len(body))
	return record(f.mux, req)
}

func TestOversizedBodyIsRefused(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"text": {strings.Repeat("x", MaxBodyBytes)}}
	if rec := f.serve("/slack/commands", form, time.Now(), secret); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized command: %d, want 413", rec.Code)
	}
}

func TestURLVerification(t *testing.T) {
	f := newFixture(t)
	body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	req := jsonRequest(t, "/slack/events", body)
	rec := record(f.mux, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: %d %q", rec.Code, rec.Body.String())
	}
}

func TestCommandAnswersPrivately(t *testing.T) {
	f := newFixture(t)
	rec := f.command(dev, "carts ghcr.io/x/carts:v1")
	var msg slack.Msg
	if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if msg.ResponseType != slack.ResponseTypeEphemeral || !strings.Contains(msg.Text, `project fulltour has no service "carts"; services: helloservice`) {
		t.Errorf("unknown service answered %+v", msg)
	}
	// Slack escapes &, < and > in command text; a linkified image is unwrapped.
	rec = f.command(dev, "helloservice <http://ghcr.io/x/helloservice:v1|ghcr.io/x/helloservice:v1> --label note=a&amp;b")
	if !strings.Contains(rec.Body.String(), "Delivery #1: helloservice v1") {
		t.Fatalf("linkified image: %s", rec.Body)
	}
	d, err := f.st.GetDelivery(context.Background(), 1)
	if err != nil || d.Image != "ghcr.io/x/helloservice:v1" || d.Labels["note"] != "a&b" {
		t.Errorf("delivery %+v %v", d, err)
	}
}

// openedModal waits for the rejection modal opened for the click trigger and returns it.
func (f *fixture) openedModal(trigger string) slack.ModalViewRequest {
	f.t.Helper()
	var view slack.ModalViewRequest
	f.fake.WaitFor(f.t, waitFor, "views.open for "+trigger, func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "views.open" && c.TriggerID == trigger {
				if err := json.Unmarshal(c.View, &view); err != nil {
					f.t.Fatal(err)
				}
				return true
			}
		}
		return false
	})
	if view.CallbackID != rejectCallbackID || view.PrivateMetadata == "" {
		f.t.Fatalf("modal: %+v", view)
	}
	return view
}

// submit submits the rejection modal view as user with reason.
func (f *fixture) submit(user string, view slack.ModalViewRequest, reason string) {
	f.t.Helper()
	payload := slackfake.ViewSubmissionPayload(user, view.CallbackID, view.PrivateMetadata, f.trigger(),
		map[string]map[string]string{reasonBlockID: {reasonActionID: reason}})
	if rec := f.serve("/slack/interactions", slackfake.InteractionForm(payload), time.Now(), secret); rec.Code != http.StatusOK {
		f.t.Fatalf("submission: %d", rec.Code)
	}
}

// Reject opens a modal for the reason; its submission rejects, the request shows who and why, and the
// rejecter is told through the click's response_url, which the modal carried: a view_submission has
// none of its own.
func TestRejectThroughModal(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	rec, trigger := f.clickAt(channel, req.ts, req.thread, ops, bot.ActionReject, req.value)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("reject click: %d %q", rec.Code, rec.Body)
	}
	view := f.openedModal(trigger)
	f.submit(ops, view, "p95 regressed by 30% <!channel>")
	f.fake.WaitFor(t, waitFor, "the rejected request", func([]slackfake.Call) bool {
		m, _ := f.fake.Message(channel, req.ts)
		blocks := unescapeJSON.Replace(string(m.Blocks))
		return strings.Contains(blocks, "Rejected by <@"+ops+">") && strings.Contains(blocks, "p95 regressed by 30% &lt;!channel&gt;") && !hasType(m.Blocks, "actions")
	})
	f.waitAnswer(trigger, "You rejected delivery #1")
	f.noEphemeral()
}

// A submission the bot refuses (the approval was decided while the modal was open) is answered through
// the response_url of the click that opened that modal.
func TestRefusedSubmissionAnswersThroughTheClicksResponseURL(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	_, first := f.clickAt(channel, req.ts, req.thread, ops, bot.ActionReject, req.value)
	_, second := f.clickAt(channel, req.ts, req.thread, qaLead, bot.ActionReject, req.value)
	late, early := f.openedModal(first), f.openedModal(second)
	f.submit(qaLead, early, "error budget spent")
	f.waitAnswer(second, "You rejected delivery #1")
	f.submit(ops, late, "too slow")
	f.waitAnswer(first, "already rejected")
	f.noEphemeral()
}

// A refused click gets the reason privately through its response_url, and no modal; an allowed one
// gets its confirmation the same way. chat.postEphemeral is never used.
func TestRefusedClickIsPrivate(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	_, refused := f.clickAt(channel, req.ts, req.thread, outsider, bot.ActionReject, req.value)
	_, counted := f.clickAt(channel, req.ts, req.thread, qaLead, bot.ActionApprove, req.value) // through user group SREL01
	f.waitAnswer(refused, "You need the role approver or release-managers")
	f.waitAnswer(counted, "Your approval counted")
	for _, c := range f.fake.Calls() {
		if c.Method == "views.open" {
			t.Error("a refused reject opened the modal")
		}
	}
	f.noEphemeral()
}

// A click on the approval request where it was shared, in a channel neither bound nor with the bot in
// it, is refused; the refusal reaches the person through the response_url, where an ephemeral post
// would have failed with not_in_channel.
func TestRefusalWhereTheBotIsNot(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	_, trigger := f.clickAt(elsewhere, req.ts, "", ops, bot.ActionApprove, req.value)
	f.waitAnswer(trigger, "approvals of project fulltour are decided in its bound channel, not here")
	f.noEphemeral()
	as, err := f.st.ListApprovals(context.Background(), store.ApprovalQuery{State: store.ApprovalPending})
	if err != nil || len(as) != 1 {
		t.Errorf("the refused click decided the approval: %v %v", as, err)
	}
}

// The click's thread reaches the bot: a click on the approval from another thread of the bound channel
// is refused, and one from the delivery's own thread counts.
func TestClickCarriesItsThread(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	_, wrong := f.clickAt(channel, req.ts, "1700000000.999999", ops, bot.ActionApprove, req.value)
	f.waitAnswer(wrong, "This is not the thread of delivery #1")
	_, right := f.clickAt(channel, req.ts, req.thread, ops, bot.ActionApprove, req.value)
	f.waitAnswer(right, "Your approval counted")
}

// A workspace that rejects the table block gets the score table as section fields from then on.
func TestTableFallback(t *testing.T) {
	f := newFixture(t)
	f.fake.RejectTableBlocks(true)
	m := bot.Message{Header: "qa evaluation: PASS", Table: &bot.Table{Columns: []string{"Objective", "Value"}, Rows: [][]string{{"p95", "420"}}, Summary: "Score 100"}}
	if _, err := f.handler.client.Post(context.Background(), channel, m, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.handler.client.Post(context.Background(), channel, m, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	posts := f.fake.CallsTo("chat.postMessage")
	if len(posts) != 3 || posts[0].Error != "invalid_blocks" || hasType(posts[1].Blocks, "table") || !strings.Contains(string(posts[1].Blocks), "*Objective*\\np95") || hasType(posts[2].Blocks, "table") {
		t.Errorf("posts: %+v", posts)
	}
}

// Slack's 429 reaches the bot as RetryLater with Slack's Retry-After.
func TestRateLimitIsRetryLater(t *testing.T) {
	f := newFixture(t)
	f.fake.FailNext("chat.postMessage", 1, slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	_, err := f.handler.client.Post(context.Background(), channel, bot.Message{Text: "hi"}, bot.PostOptions{})
	var rl *bot.RetryLater
	if !asRetry(err, &rl) || rl.After != 2*time.Second {
		t.Errorf("429: %v", err)
	}
	f.fake.FailNext("chat.update", 1, slackfake.Failure{Error: "channel_not_found"})
	err = f.handler.client.Update(context.Background(), channel, "", "1", bot.Message{Text: "hi"})
	if err == nil || asRetry(err, &rl) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("ok:false: %v", err)
	}
}

// Socket Mode feeds the same code: a slash command envelope is answered in its ack.
func TestSocketMode(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.handler.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	cmd := f.fake.CommandForm(channel, dev, "help", "T-socket")
	payload := map[string]string{}
	for k := range cmd {
		payload[k] = cmd.Get(k)
	}
	if err := f.fake.SendEnvelope(t, map[string]any{"type": string(socketmode.RequestTypeSlashCommands), "envelope_id": "E1", "payload": payload,
		"accepts_response_payload": true}); err != nil {
		t.Fatal(err)
	}
	ack := f.fake.WaitAck(t, "E1", waitFor)
	if !strings.Contains(string(ack), "/deliver SERVICE IMAGE") || !strings.Contains(string(ack), `"response_type":"ephemeral"`) {
		t.Errorf("ack: %s", ack)
	}
}

// Socket Mode feeds clicks to the same code: a refusal is answered through the click's response_url,
// and the envelope is acked empty.
func TestSocketModeClickAnswersThroughResponseURL(t *testing.T) {
	f := newFixture(t)
	req := f.waitApproval("v1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.handler.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	trigger := f.trigger()
	payload := f.fake.BlockActionPayload(elsewhere, ops, req.ts, "", bot.ActionApprove, "approval", req.value, trigger)
	if err := f.fake.SendEnvelope(t, map[string]any{"type": string(socketmode.RequestTypeInteractive), "envelope_id": "E2", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	if ack := f.fake.WaitAck(t, "E2", waitFor); string(ack) != `{"envelope_id":"E2"}` {
		t.Errorf("ack: %s", ack)
	}
	f.waitAnswer(trigger, "decided in its bound channel")
	f.noEphemeral()
}

type responseRecorder = httptest.ResponseRecorder

func record(h http.Handler, req *http.Request) *responseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// jsonRequest is a signed JSON POST, as Slack sends Events API callbacks.
func jsonRequest(t *testing.T, path, body string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://shipgate.test"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	slackfake.Sign(req.Header, secret, time.Now(), []byte(body))
	return req
}

func asRetry(err error, target **bot.RetryLater) bool { return errors.As(err, target) }

// A posted message has a permalink (chat.getPermalink), which /deliver history shows; a message that
// does not exist has none.
func TestPermalink(t *testing.T) {
	f := newFixture(t)
	posted, err := f.handler.client.Post(context.Background(), channel, bot.Message{Text: "root"}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	link, err := f.handler.client.Permalink(context.Background(), channel, posted.MessageID)
	if want := "https://fake.slack.test/archives/" + channel + "/p" + strings.ReplaceAll(posted.MessageID, ".", ""); err != nil || link != want {
		t.Errorf("permalink %q, %v; want %q", link, err, want)
	}
	if _, err := f.handler.client.Permalink(context.Background(), channel, "1.000001"); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("permalink of a missing message: %v", err)
	}
}

// The request metrics keep their public names, help texts and labels.
func TestRequestMetricsNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := newMetrics(reg)
	m.Request("commands", "ok")
	want := `
# HELP shipgate_slack_requests_total Requests from Slack by endpoint and outcome (ok, duplicate, unauthorized, too_large, bad_request, busy).
# TYPE shipgate_slack_requests_total counter
shipgate_slack_requests_total{endpoint="commands",outcome="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shipgate_slack_requests_total"); err != nil {
		t.Error(err)
	}
	m.Ack("commands", time.Millisecond)
	if n, err := testutil.GatherAndCount(reg, "shipgate_slack_ack_seconds"); err != nil || n != 1 {
		t.Errorf("shipgate_slack_ack_seconds: %d series, %v", n, err)
	}
}
