package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// wait bounds every wait in these tests; they return as soon as what they wait for happens.
const wait = 10 * time.Second

func client(f *Server) *slack.Client {
	return slack.New("xoxb-test", slack.OptionAPIURL(f.APIURL()))
}

// slackError is the ok:false error code in err, "" if err is not one.
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// raw posts form to method as a form-encoded call with the bot token in the token field, as
// slack-go does, and returns the HTTP status, headers and decoded answer.
func raw(t *testing.T, f *Server, method string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	if form.Get("token") == "" {
		form.Set("token", "xoxb-test")
	}
	resp, err := http.PostForm(f.APIURL()+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func errorOf(body map[string]any) string {
	if ok, _ := body["ok"].(bool); ok {
		return ""
	}
	code, _ := body["error"].(string)
	return code
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPostUpdateAndThread(t *testing.T) {
	f := New(t)
	f.AddChannel("C1", "C2")
	api := client(f)
	ctx := context.Background()
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*root*", false, false), nil, nil)
	ch, root, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("root", false), slack.MsgOptionBlocks(section))
	if err != nil || ch != "C1" || root != "1700000000.000001" {
		t.Fatalf("post = %s %s %v", ch, root, err)
	}
	_, reply, msg, err := api.PostMessageWithResponseContext(ctx, "C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(root), slack.MsgOptionBroadcast())
	if err != nil || reply != "1700000000.000002" || msg.ThreadTimestamp != root || msg.Text != "reply" || msg.Timestamp != reply {
		t.Fatalf("reply = %s %+v %v", reply, msg, err)
	}
	// A reply to the reply lands in the root's thread.
	_, nested, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("nested", false), slack.MsgOptionTS(reply))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", nested); m.ThreadTS != root {
		t.Errorf("nested reply's thread = %q, want %q", m.ThreadTS, root)
	}

	posts := f.CallsTo("chat.postMessage")
	if len(posts) != 3 || posts[0].TS != root || posts[0].Text != "root" || posts[0].Form.Get("channel") != "C1" || !posts[1].Broadcast || posts[1].ThreadTS != root {
		t.Fatalf("posts: %+v", posts)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(posts[0].Blocks, &blocks); err != nil || len(blocks) != 1 || blocks[0]["type"] != "section" {
		t.Errorf("recorded blocks %s: %v", posts[0].Blocks, err)
	}

	_, _, text, err := api.UpdateMessageContext(ctx, "C1", root, slack.MsgOptionText("edited", false))
	if err != nil || text != "edited" {
		t.Fatalf("update = %q %v", text, err)
	}
	m, ok := f.Message("C1", root)
	if !ok || m.Text != "edited" || m.Updates != 1 || !strings.Contains(string(m.Blocks), "*root*") {
		t.Errorf("root after a text-only update: %+v", m)
	}
	// An update with blocks but no text keeps the text.
	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Done", false, false))
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", root, slack.MsgOptionBlocks(header)); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", root); m.Text != "edited" || m.Updates != 2 || !strings.Contains(string(m.Blocks), `"header"`) {
		t.Errorf("root after a blocks-only update: %+v", m)
	}
	if up := f.CallsTo("chat.update"); len(up) != 2 || up[0].TS != root || up[0].Channel != "C1" {
		t.Errorf("updates: %+v", up)
	}

	ms := f.Messages("C1")
	if len(ms) != 3 || ms[0].TS != root || ms[1].TS != reply || !ms[1].Broadcast || ms[2].TS != nested || ms[0].Broadcast {
		t.Errorf("messages: %+v", ms)
	}
	if ms := f.Messages("C2"); len(ms) != 0 {
		t.Errorf("C2 has messages: %+v", ms)
	}

	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false), slack.MsgOptionTS("1.2"))
	if slackError(err) != "thread_not_found" {
		t.Errorf("unknown thread: %v", err)
	}
	// A thread is looked up in the channel it was posted to.
	_, _, err = api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false), slack.MsgOptionTS(root))
	if slackError(err) != "thread_not_found" {
		t.Errorf("thread of another channel: %v", err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", "9.9", slack.MsgOptionText("x", false))
	if slackError(err) != "message_not_found" {
		t.Errorf("unknown message: %v", err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C2", root, slack.MsgOptionText("x", false))
	if slackError(err) != "message_not_found" {
		t.Errorf("message of another channel: %v", err)
	}
	_, _, err = api.PostMessageContext(ctx, "", slack.MsgOptionText("x", false))
	if slackError(err) != "channel_not_found" {
		t.Errorf("no channel: %v", err)
	}
	_, _, err = api.PostMessageContext(ctx, "C1")
	if slackError(err) != "no_text" {
		t.Errorf("no text: %v", err)
	}
}

func TestTSAreMonotonicAcrossTheServer(t *testing.T) {
	f := New(t)
	f.AddChannel("C1", "C2")
	f.AddMembers("C1", "U1")
	api := client(f)
	ctx := context.Background()
	var got []string
	post := func(channel string, opts ...slack.MsgOption) {
		_, ts, err := api.PostMessageContext(ctx, channel, append(opts, slack.MsgOptionText("x", false))...)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ts)
	}
	post("C1")
	post("C2")
	// A refused post takes no ts.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false), slack.MsgOptionTS("nope")); err == nil {
		t.Fatal("a reply to no thread was accepted")
	}
	ts, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("psst", false))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, ts)
	post("C1", slack.MsgOptionTS(got[0]))
	want := []string{"1700000000.000001", "1700000000.000002", "1700000000.000003", "1700000000.000004"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ts = %v, want %v", got, want)
	}
}

func TestEphemeral(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	f.AddMembers("C1", "U1")
	ts, err := client(f).PostEphemeralContext(context.Background(), "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil || ts != "1700000000.000001" {
		t.Fatalf("ephemeral = %q %v", ts, err)
	}
	calls := f.CallsTo("chat.postEphemeral")
	if len(calls) != 1 || calls[0].User != "U1" || calls[0].Channel != "C1" || calls[0].Text != "only you" || calls[0].TS != ts || calls[0].Status != http.StatusOK {
		t.Errorf("calls: %+v", calls)
	}
	if ms := f.Messages("C1"); len(ms) != 0 {
		t.Errorf("an ephemeral message is kept: %+v", ms)
	}
	if _, err := client(f).PostEphemeralContext(context.Background(), "C1", "", slack.MsgOptionText("x", false)); err == nil {
		t.Error("an ephemeral message to no user was accepted")
	}
}

func modal(title string) slack.ModalViewRequest {
	input := slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "reason_input"))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		CallbackID:      "reject",
		PrivateMetadata: "42",
		Blocks:          slack.Blocks{BlockSet: []slack.Block{input}},
	}
}

func TestViewsOpen(t *testing.T) {
	f := New(t)
	api := client(f)
	ctx := context.Background()
	resp, err := api.OpenViewContext(ctx, "trig-1", modal("Reject the request"))
	if err != nil || resp.ID != "V0001" || resp.CallbackID != "reject" || resp.PrivateMetadata != "42" || resp.Type != slack.VTModal || len(resp.Blocks.BlockSet) != 1 {
		t.Fatalf("views.open = %+v %v", resp, err)
	}
	calls := f.CallsTo("views.open")
	if len(calls) != 1 || calls[0].TriggerID != "trig-1" || calls[0].Form != nil {
		t.Fatalf("calls: %+v", calls)
	}
	var sent slack.ModalViewRequest
	if err := json.Unmarshal(calls[0].View, &sent); err != nil || sent.CallbackID != "reject" || sent.Title.Text != "Reject the request" {
		t.Errorf("recorded view %s: %v", calls[0].View, err)
	}
	if resp, err := api.OpenViewContext(ctx, "trig-2", modal("Again")); err != nil || resp.ID != "V0002" {
		t.Errorf("second view = %+v %v", resp, err)
	}
	// Slack refuses a modal title over 24 characters.
	if _, err := api.OpenViewContext(ctx, "trig-3", modal(strings.Repeat("x", 25))); slackError(err) != "invalid_arguments" {
		t.Errorf("long title: %v", err)
	}
	if code, _, body := raw(t, f, "views.open", url.Values{"view": {mustJSON(t, modal("x"))}}); code != http.StatusOK || errorOf(body) != "invalid_arguments" {
		t.Errorf("no trigger_id: %d %v", code, body)
	}
}

func TestUserGroups(t *testing.T) {
	f := New(t)
	api := client(f)
	f.SetUserGroup("S1", "U1", "U2")
	f.SetUserGroup("S2")
	if users, err := api.GetUserGroupMembersContext(context.Background(), "S1"); err != nil || strings.Join(users, ",") != "U1,U2" {
		t.Errorf("S1 = %v %v", users, err)
	}
	if users, err := api.GetUserGroupMembersContext(context.Background(), "S2"); err != nil || len(users) != 0 {
		t.Errorf("S2 = %v %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(context.Background(), "S9"); slackError(err) != "no_such_subteam" {
		t.Errorf("unknown group: %v", err)
	}
	if c := f.CallsTo("usergroups.users.list"); len(c) != 3 || c[2].Form.Get("usergroup") != "S9" || c[2].Error != "no_such_subteam" {
		t.Errorf("calls: %+v", c)
	}
}

func TestAuth(t *testing.T) {
	f := New(t, WithBotToken("xoxb-mine"))
	api := slack.New("xoxb-mine", slack.OptionAPIURL(f.APIURL()))
	got, err := api.AuthTestContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := slack.AuthTestResponse{URL: "https://fake.slack.test/", Team: "Fake", User: "shipgate", TeamID: "T0001", UserID: "U0BOT", BotID: "B0001"}
	got.Header = nil
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("auth.test = %+v, want %+v", *got, want)
	}
	for _, tok := range []string{"xoxb-test", "xapp-test"} {
		_, err := slack.New(tok, slack.OptionAPIURL(f.APIURL())).AuthTestContext(context.Background())
		if slackError(err) != "invalid_auth" {
			t.Errorf("token %s: %v", tok, err)
		}
	}
	if c := f.Calls(); len(c) != 3 || c[1].Error != "invalid_auth" || c[1].Status != http.StatusOK {
		t.Errorf("calls: %+v", c)
	}
	resp, err := http.PostForm(f.APIURL()+"auth.test", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"error":"not_authed"`) {
		t.Errorf("no token: %s", b)
	}
	// The Authorization header works for form calls too.
	req, _ := http.NewRequest(http.MethodPost, f.APIURL()+"auth.test", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer xoxb-mine")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"ok":true`) {
		t.Errorf("bearer header: %s", b)
	}
	if _, _, body := raw(t, f, "no.such.method", url.Values{"token": {"xoxb-mine"}}); errorOf(body) != "unknown_method" {
		t.Errorf("unknown method: %v", body)
	}
}

func TestFailures(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	f.AddMembers("C1", "U1")
	api := client(f)
	ctx := context.Background()
	post := func() error {
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
		return err
	}

	f.FailNext("chat.postMessage", 2, Failure{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	for i := range 2 {
		var rl *slack.RateLimitedError
		if err := post(); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Errorf("429 #%d: %v, want a RateLimitedError of 2s (1.5s rounded up)", i, err)
		}
	}
	if err := post(); err != nil {
		t.Errorf("after the failures: %v", err)
	}
	posts := f.CallsTo("chat.postMessage")
	if len(posts) != 3 || posts[0].Status != 429 || posts[0].Error != "ratelimited" || posts[1].Status != 429 || posts[2].Status != 200 || posts[2].Error != "" {
		t.Errorf("posts: %+v", posts)
	}
	if posts[2].TS != "1700000000.000001" {
		t.Errorf("a refused post took a ts: %s", posts[2].TS)
	}

	// The raw answer is Slack's: 429, Retry-After in whole seconds, ok:false ratelimited.
	f.FailNext("chat.postMessage", 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	code, h, body := raw(t, f, "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}})
	if code != 429 || h.Get("Retry-After") != "3" || errorOf(body) != "ratelimited" {
		t.Errorf("raw 429: %d %v %v", code, h, body)
	}
	// A 429 without a delay still carries Retry-After, so clients can retry at once.
	f.FailNext("chat.postEphemeral", 1, Failure{Status: http.StatusTooManyRequests})
	var rl *slack.RateLimitedError
	if _, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("x", false)); !errors.As(err, &rl) || rl.RetryAfter != 0 {
		t.Errorf("429 without delay: %v", err)
	}

	f.FailNext("chat.update", 1, Failure{Status: http.StatusInternalServerError})
	_, _, _, err := api.UpdateMessageContext(ctx, "C1", "1700000000.000001", slack.MsgOptionText("x", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 500 {
		t.Errorf("500: %v", err)
	}
	if up := f.CallsTo("chat.update"); len(up) != 1 || up[0].Status != 500 || up[0].Error != "internal_error" {
		t.Errorf("update calls: %+v", up)
	}

	// Queued failures come in order; a call with a wrong token does not use one up.
	f.FailNext("chat.postMessage", 1, Failure{Error: "not_in_channel"})
	f.FailNext("chat.postMessage", 1, Failure{Error: "channel_not_found"})
	_, _, err = slack.New("xoxb-wrong", slack.OptionAPIURL(f.APIURL())).PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	if slackError(err) != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	for _, want := range []string{"not_in_channel", "channel_not_found", ""} {
		err := post()
		if slackError(err) != want || (want == "") != (err == nil) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	last := f.CallsTo("chat.postMessage")
	if c := last[len(last)-3]; c.Status != 200 || c.Error != "not_in_channel" {
		t.Errorf("ok:false call: %+v", c)
	}

	f.FailNext("views.open", 1, Failure{Error: "expired_trigger_id"})
	if _, err := api.OpenViewContext(ctx, "trig", modal("x")); slackError(err) != "expired_trigger_id" {
		t.Errorf("views.open failure: %v", err)
	}
}

func blocksJSON(t *testing.T, blocks ...any) string { return mustJSON(t, blocks) }

func section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func fields(n, size int) map[string]any {
	fs := make([]any, n)
	for i := range fs {
		fs[i] = map[string]any{"type": "mrkdwn", "text": strings.Repeat("f", size)}
	}
	return map[string]any{"type": "section", "fields": fs}
}

func header(text string) map[string]any {
	return map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": text}}
}

func button(actionID, value string) map[string]any {
	return map[string]any{"type": "button", "action_id": actionID, "value": value, "text": map[string]any{"type": "plain_text", "text": "Go"}}
}

func actions(els ...any) map[string]any { return map[string]any{"type": "actions", "elements": els} }

func dividers(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"type": "divider"}
	}
	return out
}

func TestLimits(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	f.AddMembers("C1", "U1")
	_, root, err := client(f).PostMessageContext(context.Background(), "C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tt := range []struct {
		name, method string
		form         url.Values
		want         string
	}{
		{"50 blocks", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, dividers(50)...)}}, ""},
		{"51 blocks", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, dividers(51)...)}}, "invalid_blocks"},
		{"section of 3000", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, section(long(3000)))}}, ""},
		{"section of 3000 characters in more bytes", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, section(strings.Repeat("é", 3000)))}}, ""},
		{"section of 3001", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, section(long(3001)))}}, "invalid_blocks"},
		{"10 fields", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, fields(10, 2000))}}, ""},
		{"11 fields", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, fields(11, 1))}}, "invalid_blocks"},
		{"field of 2001", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, fields(1, 2001))}}, "invalid_blocks"},
		{"header of 150", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, header(long(150)))}}, ""},
		{"header of 151", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, header(long(151)))}}, "invalid_blocks"},
		{"button value of 2000", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, actions(button("a", long(2000))))}}, ""},
		{"button value of 2001", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, actions(button("a", long(2001))))}}, "invalid_blocks"},
		{"accessory button value of 2001", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, map[string]any{
			"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "x"}, "accessory": button("a", long(2001))})}}, "invalid_blocks"},
		{"action_id of 255", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, actions(button(long(255), "v")))}}, ""},
		{"action_id of 256", "chat.postMessage", url.Values{"blocks": {blocksJSON(t, actions(button(long(256), "v")))}}, "invalid_blocks"},
		{"blocks not JSON", "chat.postMessage", url.Values{"blocks": {`[{"type":"section"`}}, "invalid_blocks"},
		{"blocks not an array", "chat.postMessage", url.Values{"blocks": {`{"type":"divider"}`}}, "invalid_blocks"},
		{"block without type", "chat.postMessage", url.Values{"blocks": {`[{"text":"x"}]`}}, "invalid_blocks"},
		{"duplicate block_id", "chat.postMessage", url.Values{"blocks": {`[{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}]`}}, "invalid_blocks"},
		{"text of 40000", "chat.postMessage", url.Values{"text": {long(40000)}}, ""},
		{"text of 40001", "chat.postMessage", url.Values{"text": {long(40001)}}, "msg_too_long"},
		{"ephemeral text of 40001", "chat.postEphemeral", url.Values{"user": {"U1"}, "text": {long(40001)}}, "msg_too_long"},
		{"ephemeral section of 3001", "chat.postEphemeral", url.Values{"user": {"U1"}, "blocks": {blocksJSON(t, section(long(3001)))}}, "invalid_blocks"},
		{"update text of 4000", "chat.update", url.Values{"ts": {root}, "text": {long(4000)}}, ""},
		{"update text of 4001", "chat.update", url.Values{"ts": {root}, "text": {long(4001)}}, "msg_too_long"},
		{"update with 51 blocks", "chat.update", url.Values{"ts": {root}, "blocks": {blocksJSON(t, dividers(51)...)}}, "invalid_blocks"},
		{"update header of 151", "chat.update", url.Values{"ts": {root}, "blocks": {blocksJSON(t, header(long(151)))}}, "invalid_blocks"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("channel", "C1")
			code, _, body := raw(t, f, tt.method, tt.form)
			if code != http.StatusOK || errorOf(body) != tt.want {
				t.Errorf("%s: %d %v, want error %q", tt.method, code, errorOf(body), tt.want)
			}
			calls := f.Calls()
			if c := calls[len(calls)-1]; c.Error != tt.want || (tt.want != "" && c.Detail == "") {
				t.Errorf("recorded %+v", c)
			}
		})
	}
	if m, _ := f.Message("C1", root); m.Text != long(4000) || m.Updates != 1 {
		t.Errorf("refused updates changed the message: %d updates", m.Updates)
	}
}

// The limits reach the client as the ok:false error slack-go reports, with Slack's reason.
func TestLimitsThroughTheClient(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	_, _, err := client(f).PostMessageContext(context.Background(), "C1", slack.MsgOptionBlocks(long))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_blocks" || len(se.ResponseMetadata.Messages) != 1 || !strings.Contains(se.ResponseMetadata.Messages[0], "/blocks/0/text/text") {
		t.Errorf("long section: %#v", err)
	}
	blocks := make([]slack.Block, 51)
	for i := range blocks {
		blocks[i] = slack.NewDividerBlock()
	}
	if _, _, err := client(f).PostMessageContext(context.Background(), "C1", slack.MsgOptionBlocks(blocks...)); slackError(err) != "invalid_blocks" {
		t.Errorf("51 blocks: %v", err)
	}
	if _, _, err := client(f).PostMessageContext(context.Background(), "C1", slack.MsgOptionText(strings.Repeat("x", 40001), false)); slackError(err) != "msg_too_long" {
		t.Errorf("long text: %v", err)
	}
}

func TestRejectTableBlocks(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	table := blocksJSON(t, map[string]any{"type": "table", "rows": []any{[]any{map[string]any{"type": "raw_text", "text": "p95"}}}})
	post := func() string {
		_, _, body := raw(t, f, "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {table}})
		return errorOf(body)
	}
	if got := post(); got != "" {
		t.Fatalf("table refused while allowed: %s", got)
	}
	root := f.CallsTo("chat.postMessage")[0].TS
	f.RejectTableBlocks(true)
	if got := post(); got != "invalid_blocks" {
		t.Errorf("table while rejected: %q", got)
	}
	_, _, body := raw(t, f, "chat.update", url.Values{"channel": {"C1"}, "ts": {root}, "blocks": {table}})
	if errorOf(body) != "invalid_blocks" {
		t.Errorf("update with a table while rejected: %v", body)
	}
	_, _, body = raw(t, f, "chat.update", url.Values{"channel": {"C1"}, "ts": {root}, "blocks": {blocksJSON(t, section("fields instead"))}})
	if errorOf(body) != "" {
		t.Errorf("update without a table while rejected: %v", body)
	}
	f.RejectTableBlocks(false)
	if got := post(); got != "" {
		t.Errorf("table refused after allowing again: %s", got)
	}
}

func TestWaitForWakesOnACallFromAnotherGoroutine(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	api := client(f)
	// The post starts only once WaitFor has looked at the calls and found none, so WaitFor can
	// succeed only by waking on the call.
	looked := make(chan struct{})
	var once sync.Once
	posted := make(chan error, 1)
	go func() {
		<-looked
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("from afar", false))
		posted <- err
	}()
	calls := f.WaitFor(t, wait, "the post", func(calls []Call) bool {
		once.Do(func() { close(looked) })
		return len(filterCalls(calls, "chat.postMessage")) == 1
	})
	if len(calls) != 1 || calls[0].Text != "from afar" {
		t.Errorf("calls: %+v", calls)
	}
	if err := <-posted; err != nil {
		t.Error(err)
	}
}

// fatalTB records Fatalf instead of stopping the test, to test a failing wait.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitForTimesOutWithTheCalls(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	if _, _, err := client(f).PostMessage("C1", slack.MsgOptionText("the only post", false)); err != nil {
		t.Fatal(err)
	}
	tb := &fatalTB{TB: t}
	if got := f.WaitFor(tb, time.Millisecond, "a second post", func(calls []Call) bool { return len(calls) == 2 }); got != nil {
		t.Errorf("WaitFor returned %v", got)
	}
	if !strings.Contains(tb.msg, "a second post") || !strings.Contains(tb.msg, "chat.postMessage") || !strings.Contains(tb.msg, "the only post") {
		t.Errorf("failure message: %s", tb.msg)
	}
	tb = &fatalTB{TB: t}
	f.WaitAck(tb, "nope", time.Millisecond)
	if !strings.Contains(tb.msg, "nope") {
		t.Errorf("WaitAck failure message: %s", tb.msg)
	}
}

func TestResponseURL(t *testing.T) {
	f := New(t)
	ctx := context.Background()
	err := slack.PostWebhookContext(ctx, f.ResponseURL("trig-1"), &slack.WebhookMessage{Text: "done", ResponseType: "ephemeral", ReplaceOriginal: true})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.CallsTo("response_url")
	if len(calls) != 1 || calls[0].ResponseID != "trig-1" || calls[0].Text != "done" || calls[0].Status != 200 || !strings.Contains(string(calls[0].Body), `"replace_original":true`) {
		t.Fatalf("calls: %+v", calls)
	}
	// slack-go's response_url sender parses the answer too.
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*done*", false, false), nil, nil)
	_, _, err = client(f).PostMessageContext(ctx, "", slack.MsgOptionResponseURL(f.ResponseURL("trig-2"), slack.ResponseTypeInChannel), slack.MsgOptionBlocks(section))
	if err != nil {
		t.Fatal(err)
	}
	if c := f.CallsTo("response_url")[1]; c.ResponseID != "trig-2" || !strings.Contains(string(c.Blocks), "*done*") {
		t.Errorf("call: %+v", c)
	}

	f.FailNext("response_url", 1, Failure{Status: http.StatusNotFound, Error: "expired_url"})
	err = slack.PostWebhookContext(ctx, f.ResponseURL("trig-3"), &slack.WebhookMessage{Text: "late"})
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 404 {
		t.Errorf("expired: %v", err)
	}
	// Slack refuses a bad response with a 4xx, the only thing PostWebhook checks.
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	err = slack.PostWebhookContext(ctx, f.ResponseURL("trig-4"), &slack.WebhookMessage{Blocks: &slack.Blocks{BlockSet: []slack.Block{long}}})
	if !errors.As(err, &sc) || sc.Code != 400 {
		t.Errorf("long section: %v", err)
	}
	if c := f.CallsTo("response_url"); len(c) != 4 || c[2].Error != "expired_url" || c[3].Error != "invalid_blocks" {
		t.Errorf("calls: %+v", c)
	}
}

func TestSocketMode(t *testing.T) {
	f := New(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(f.APIURL()), slack.OptionAppLevelToken("xapp-test"))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	payload := map[string]string{}
	for k, v := range f.CommandForm("C1", "U1", "help", "trig-1") {
		payload[k] = v[0]
	}
	sent := make(chan error, 1)
	go func() {
		sent <- f.SendEnvelope(t, map[string]any{"type": "slash_commands", "envelope_id": "e1", "payload": payload, "accepts_response_payload": true})
	}()

	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	var sawHello bool
	for acked := false; !acked; {
		select {
		case evt := <-sm.Events:
			switch evt.Type {
			case socketmode.EventTypeHello:
				sawHello = evt.Request != nil && evt.Request.ConnectionInfo.AppID == "A0001" && evt.Request.NumConnections == 1
			case socketmode.EventTypeSlashCommand:
				cmd, ok := evt.Data.(slack.SlashCommand)
				if !ok || cmd.Command != "/deliver" || cmd.Text != "help" || cmd.UserID != "U1" || cmd.ResponseURL != f.ResponseURL("trig-1") || !evt.Request.AcceptsResponsePayload {
					t.Fatalf("slash command: %+v", evt.Data)
				}
				if err := sm.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "pong"}); err != nil {
					t.Fatal(err)
				}
				acked = true
			case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeInvalidAuth:
				t.Fatalf("event %s: %+v", evt.Type, evt.Data)
			}
		case <-timeout.C:
			t.Fatal("no slash command event")
		}
	}
	if !sawHello {
		t.Error("no hello from the fake before the command")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	var ack struct {
		EnvelopeID string         `json:"envelope_id"`
		Payload    map[string]any `json:"payload"`
	}
	got := f.WaitAck(t, "e1", wait)
	if err := json.Unmarshal(got, &ack); err != nil || ack.EnvelopeID != "e1" || ack.Payload["text"] != "pong" || ack.Payload["response_type"] != "ephemeral" {
		t.Errorf("ack %s: %v", got, err)
	}
	if c := f.CallsTo("apps.connections.open"); len(c) != 1 || c[0].Status != 200 || c[0].Error != "" {
		t.Errorf("apps.connections.open calls: %+v", c)
	}
}

func TestSocketModeNeedsTheAppToken(t *testing.T) {
	f := New(t)
	_, _, err := slack.New("xoxb-test", slack.OptionAPIURL(f.APIURL()), slack.OptionAppLevelToken("xoxb-test")).StartSocketModeContext(context.Background())
	if slackError(err) != "invalid_auth" {
		t.Errorf("bot token: %v", err)
	}
	info, u, err := slack.New("xoxb-test", slack.OptionAPIURL(f.APIURL()), slack.OptionAppLevelToken("xapp-test")).StartSocketModeContext(context.Background())
	if err != nil || u != "ws"+strings.TrimPrefix(f.URL, "http")+"/ws" || info.URL != u || !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Errorf("app token: %v %q %v", info, u, err)
	}
}

// dial connects to the fake's Socket Mode URL as slack-go does, reads the hello and answers
// pings; it returns the connection and a channel of every message read after the hello.
func dial(t *testing.T, f *Server, pings chan<- struct{}) (*websocket.Conn, <-chan []byte) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.URL, "http")+"/ws", http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		t.Fatalf("hello %v: %v", hello, err)
	}
	conn.SetPingHandler(func(data string) error {
		if pings != nil {
			select {
			case pings <- struct{}{}:
			default:
			}
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wait))
	})
	msgs := make(chan []byte, 10)
	go func() {
		defer close(msgs)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			msgs <- data
		}
	}()
	return conn, msgs
}

// One connection at a time: a new one replaces the old, and envelopes go to the new one.
func TestSocketModeOneConnection(t *testing.T) {
	f := New(t)
	_, first := dial(t, f, nil)
	second, msgs := dial(t, f, nil)
	if _, open := <-first; open {
		t.Error("the first connection got a message instead of being closed")
	}
	if err := f.SendEnvelope(t, `{"type":"slash_commands","envelope_id":"e2","payload":{}}`); err != nil {
		t.Fatal(err)
	}
	if got := <-msgs; !strings.Contains(string(got), `"envelope_id":"e2"`) {
		t.Errorf("second connection got %s", got)
	}
	if err := second.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"e2"}`)); err != nil {
		t.Fatal(err)
	}
	if got := f.WaitAck(t, "e2", wait); string(got) != `{"envelope_id":"e2"}` {
		t.Errorf("ack %s", got)
	}
}

// The fake pings as Slack does, or slack-go would drop the connection after its ping interval.
func TestSocketModePings(t *testing.T) {
	f := New(t, WithPingInterval(time.Millisecond))
	pings := make(chan struct{}, 1)
	dial(t, f, pings)
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for i := range 3 {
		select {
		case <-pings:
		case <-timeout.C:
			t.Fatalf("%d pings within %v", i, wait)
		}
	}
}

// A closed fake says so at once instead of waiting for a client that cannot connect.
func TestSendEnvelopeAfterClose(t *testing.T) {
	f := New(t)
	f.close()
	if err := f.SendEnvelope(t, map[string]any{"type": "hello"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("sent on a closed fake: %v", err)
	}
}

// The example from Slack's "Verifying requests from Slack".
func TestSignMatchesSlacksExample(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := http.Header{}
	Sign(h, "8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), []byte(body))
	if got, want := h.Get("X-Slack-Signature"), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if got := h.Get("X-Slack-Request-Timestamp"); got != "1531420618" {
		t.Errorf("timestamp %s", got)
	}
}

// SignedRequest signs as Slack does: slack-go's verifier accepts it, and refuses it once the
// body changed, or when it was signed too long ago.
func TestSignedRequestVerifies(t *testing.T) {
	f := New(t)
	verify := func(req *http.Request, change string) error {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		sv, err := slack.NewSecretsVerifier(req.Header, "secret")
		if err != nil {
			return err
		}
		if _, err := sv.Write(append(body, change...)); err != nil {
			t.Fatal(err)
		}
		return sv.Ensure()
	}
	form := f.CommandForm("C1", "U1", "help", "trig-1")
	req := SignedRequest(t, "http://shipgate.test/slack/commands", "secret", time.Now(), form)
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %s %v", req.Method, req.Header)
	}
	if err := verify(req, ""); err != nil {
		t.Errorf("signed request refused: %v", err)
	}
	if err := verify(SignedRequest(t, "http://shipgate.test/", "secret", time.Now(), form), "&x=1"); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Errorf("changed body: %v", err)
	}
	if err := verify(SignedRequest(t, "http://shipgate.test/", "other", time.Now(), form), ""); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Errorf("other secret: %v", err)
	}
	if err := verify(SignedRequest(t, "http://shipgate.test/", "secret", time.Now().Add(-10*time.Minute), form), ""); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Errorf("old signature: %v", err)
	}
}

func TestCommandFormParses(t *testing.T) {
	f := New(t)
	cmd, err := slack.SlashCommandParse(SignedRequest(t, "http://shipgate.test/", "secret", time.Now(), f.CommandForm("C1", "U1", "helloservice img:v1", "trig-1")))
	want := slack.SlashCommand{
		Token: VerificationToken, TeamID: "T0001", TeamDomain: "fake", ChannelID: "C1", ChannelName: ChannelName,
		UserID: "U1", UserName: "u1", Command: "/deliver", Text: "helloservice img:v1", APIAppID: "A0001",
		ResponseURL: f.ResponseURL("trig-1"), TriggerID: "trig-1",
	}
	if err != nil || cmd != want {
		t.Errorf("parsed %+v %v, want %+v", cmd, err, want)
	}
}

func TestBlockActionPayloadParses(t *testing.T) {
	f := New(t)
	f.AddChannel("C1")
	api := client(f)
	_, root, err := api.PostMessage("C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	approve := slack.NewButtonBlockElement("deliver.approve", "approval-7", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("approve?", false), slack.MsgOptionTS(root), slack.MsgOptionBlocks(slack.NewActionBlock("approval", approve)))
	if err != nil {
		t.Fatal(err)
	}
	payload := f.BlockActionPayload("C1", "U2", ts, root, "deliver.approve", "approval", "approval-7", "trig-9")
	ic, err := slack.InteractionCallbackParse(SignedRequest(t, "http://shipgate.test/", "secret", time.Now(), InteractionForm(payload)))
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U2" || ic.User.TeamID != "T0001" || ic.Team.ID != "T0001" || ic.Channel.ID != "C1" ||
		ic.TriggerID != "trig-9" || ic.ResponseURL != f.ResponseURL("trig-9") || ic.APIAppID != "A0001" {
		t.Errorf("callback %+v", ic)
	}
	if c := ic.Container; c.Type != "message" || c.MessageTs != ts || c.ThreadTs != root || c.ChannelID != "C1" || c.IsEphemeral {
		t.Errorf("container %+v", c)
	}
	if m := ic.Message; m.Timestamp != ts || m.ThreadTimestamp != root || m.Text != "approve?" || len(m.Blocks.BlockSet) != 1 {
		t.Errorf("message %+v", m)
	}
	if as := ic.ActionCallback.BlockActions; len(as) != 1 || as[0].ActionID != "deliver.approve" || as[0].BlockID != "approval" || as[0].Value != "approval-7" || as[0].Type != "button" || as[0].ActionTs == "" {
		t.Errorf("actions %+v", as)
	}
	// Each click has its own action_ts.
	again := f.BlockActionPayload("C1", "U2", ts, root, "deliver.approve", "approval", "approval-7", "trig-10")
	if a, b := payload["actions"].([]any)[0].(map[string]any)["action_ts"], again["actions"].([]any)[0].(map[string]any)["action_ts"]; a == b {
		t.Errorf("action_ts repeated: %v", a)
	}
	// A message the fake does not hold still makes a well-formed payload.
	ic, err = slack.InteractionCallbackParse(SignedRequest(t, "http://shipgate.test/", "secret", time.Now(),
		InteractionForm(f.BlockActionPayload("C1", "U2", "1.1", "", "a", "b", "v", "t"))))
	if err != nil || ic.Message.Timestamp != "1.1" || ic.Container.ThreadTs != "" {
		t.Errorf("unknown message: %+v %v", ic, err)
	}
}

func TestViewSubmissionPayloadParses(t *testing.T) {
	payload := ViewSubmissionPayload("U2", "reject", "42", "trig-1", map[string]map[string]string{"reason": {"reason_input": "p95 regressed"}})
	ic, err := slack.InteractionCallbackParse(SignedRequest(t, "http://shipgate.test/", "secret", time.Now(), InteractionForm(payload)))
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "U2" || ic.Team.ID != "T0001" || ic.TriggerID != "trig-1" ||
		ic.View.Type != slack.VTModal || ic.View.CallbackID != "reject" || ic.View.PrivateMetadata != "42" || ic.View.ID == "" {
		t.Errorf("callback %+v", ic)
	}
	if ic.View.State == nil || ic.View.State.Values["reason"]["reason_input"].Value != "p95 regressed" || ic.View.State.Values["reason"]["reason_input"].Type != "plain_text_input" {
		t.Errorf("state %+v", ic.View.State)
	}
}

func TestInteractionFormTakesJSON(t *testing.T) {
	for _, p := range []any{`{"type":"block_actions"}`, []byte(`{"type":"block_actions"}`), json.RawMessage(`{"type":"block_actions"}`), map[string]any{"type": "block_actions"}} {
		if got := InteractionForm(p).Get("payload"); got != `{"type":"block_actions"}` {
			t.Errorf("%T: payload %s", p, got)
		}
	}
}
