package web

import (
	"context"
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// The page is served from the binary with every hook the browser test uses, and loads nothing from
// elsewhere.
func TestPageIsServedWithItsAssets(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	page := f.do(nil, http.MethodGet, "/", nil)
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", page.status, page.header.Get("Content-Type"))
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("page CSP %q", csp)
	}
	var all strings.Builder
	all.Write(page.body)
	for _, name := range []string{"app.js", "style.css"} {
		res := f.do(nil, http.MethodGet, "/static/"+name, nil)
		if res.status != http.StatusOK || len(res.body) == 0 {
			t.Fatalf("GET /static/%s = %d", name, res.status)
		}
		all.Write(res.body)
	}
	for _, id := range []string{"composer-input", "composer-send", "user-picker", "card", "status-line", "thread-open", "thread-panel",
		"reply", "score-table", "approve", "reject", "toast", "reason-dialog", "reason-input", "reason-submit", "confirm-dialog",
		"confirm-submit", "confirm-cancel", "composer-note", "stage", "message-link", "thread-close"} {
		if !strings.Contains(all.String(), id) {
			t.Errorf("no data-testid %s in the page or its script", id)
		}
	}
	if !strings.Contains(string(page.body), `placeholder="/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"`) {
		t.Error("composer placeholder missing")
	}
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := static.ReadFile(path)
		if err != nil {
			return err
		}
		for _, scheme := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(string(raw), scheme) {
				t.Errorf("%s refers to %q: the console loads nothing from elsewhere", path, scheme)
			}
		}
		if strings.Contains(string(raw), "innerHTML") {
			t.Errorf("%s uses innerHTML: message content must go in as text", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := f.do(nil, http.MethodGet, "/nothing-here", nil); res.status != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d: the console must not take every path", res.status)
	}
}

// A /deliver from the composer starts a delivery; its root card, thread replies (with the score table)
// and approval request reach the pages following the channel, and the card is edited in place.
func TestCommandStartsADeliveryAndStreamsIt(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	s := f.open(guest) // anyone watching sees the channel

	out := f.deliver("v0.1.1")
	if out.Public || !out.Reply.Private || out.Reply.To != dev || !strings.Contains(out.Reply.Text, "Delivery #1: helloservice v0.1.1 starts in qa") {
		t.Errorf("command answered %+v", out)
	}

	root := s.waitFor("the root card", func(m wireMessage) bool { return m.Root })
	if root.Header != "Delivery #1: helloservice v0.1.1" || root.Thread != root.ID || root.Version != 1 || len(root.Stages) != 2 ||
		root.Stages[0].Stage != "qa" || root.StatusLine == "" {
		t.Errorf("root card %+v", root)
	}
	if who := field(root, "Triggered by"); who != "<@dev>" {
		t.Errorf("triggered by %q, want a mention of dev", who)
	}
	got := s.waitAll(map[string]func(wireMessage) bool{
		"reply":    func(m wireMessage) bool { return strings.Contains(m.Text, "`deployment` ✅ pass") },
		"table":    func(m wireMessage) bool { return m.Table != nil },
		"approval": func(m wireMessage) bool { return strings.HasPrefix(m.Header, "Approval:") && len(m.Buttons) == 2 },
		"edited": func(m wireMessage) bool {
			return m.ID == root.ID && len(m.Stages) == 2 && m.Stages[1].State == string(bot.StageWaiting)
		},
	})
	reply, table, approval, edited := got["reply"], got["table"], got["approval"], got["edited"]
	if reply.Root || reply.Thread != root.ID || reply.Broadcast {
		t.Errorf("reply %+v is not in the card's thread", reply)
	}
	// The binding's thread_detail is the default, results: a task's finish is posted, its start is not
	// (it would have come before the finish, in the same channel's order).
	for _, data := range s.seen {
		if strings.Contains(data, "` started") {
			t.Errorf("a task's start reached the page at thread_detail results: %s", data)
		}
	}
	if table.Thread != root.ID || len(table.Table.Rows) != 2 || !slices.Equal(table.Table.Status, []string{"pass", "pass"}) ||
		!strings.Contains(table.Table.Summary, "PASS") {
		t.Errorf("score table %+v", table.Table)
	}
	if approval.Thread != root.ID || !approval.Broadcast || approval.Root {
		t.Errorf("approval request %+v is not a broadcast reply in the card's thread", approval)
	}
	approve, reject := approval.Buttons[0], approval.Buttons[1]
	if approve.ActionID != bot.ActionApprove || approve.Style != "primary" || approve.Confirm == nil || approve.Confirm.Title != "Approve?" ||
		reject.ActionID != bot.ActionReject || reject.Style != "danger" || reject.Confirm != nil || approve.Value != reject.Value || approve.Value == "" {
		t.Errorf("buttons %+v", approval.Buttons)
	}
	if edited.Version <= root.Version || edited.Seq != root.Seq || edited.Edited == nil || !strings.Contains(edited.StatusLine, "production ✋ 0 of 2 approvals") {
		t.Errorf("edited root card %+v", edited)
	}
}

// A click by someone without the role is refused privately; an approver's counts, and the request and
// the card show it.
func TestApprovalClicks(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	s := f.open(ops)
	f.deliver("v0.1.1")
	approval := s.approvalRequest()
	click := clickRequest{MessageID: approval.ID, ActionID: bot.ActionApprove, Value: approval.Buttons[0].Value}

	for user, want := range map[string]string{
		guest: "⛔ You need the role approver in this channel to decide this approval.",
		dev:   "⛔ You triggered this delivery, so someone else has to approve it.",
	} {
		res := f.click(user, click)
		var out clickReply
		res.json(t, &out)
		if res.status != http.StatusOK || out.Private == nil || out.Private.Text != want || out.AskReason != nil {
			t.Errorf("%s's click answered %d %s, want private %q", user, res.status, res.body, want)
		}
	}

	res := f.click(ops, click)
	var out clickReply
	res.json(t, &out)
	if out.Private == nil || !strings.Contains(out.Private.Text, "Your approval counted: 1 of 2") || !out.Private.Private || out.Private.To != ops {
		t.Fatalf("ops's click answered %s", res.body)
	}
	got := s.waitAll(map[string]func(wireMessage) bool{
		"request": func(m wireMessage) bool {
			return m.ID == approval.ID && strings.HasPrefix(field(m, "Approvals"), "1 of 2")
		},
		"card": func(m wireMessage) bool { return m.Root && strings.Contains(m.StatusLine, "1 of 2 approvals") },
	})
	if updated := got["request"]; updated.Version <= approval.Version || field(updated, "Approvals") != "1 of 2: <@ops>" ||
		len(updated.Buttons) != 2 || updated.Thread != approval.Thread {
		t.Errorf("approval after one vote %+v", updated)
	}

	res = f.click(qa, click)
	res.json(t, &out)
	if out.Private == nil || !strings.Contains(out.Private.Text, "2 of 2") {
		t.Fatalf("qa's click answered %s", res.body)
	}
	got = s.waitAll(map[string]func(wireMessage) bool{
		"request": func(m wireMessage) bool { return m.ID == approval.ID && len(m.Buttons) == 0 },
		"card":    func(m wireMessage) bool { return m.Root && strings.Contains(m.StatusLine, "production ✅") },
	})
	if text := got["request"].Text; !strings.HasPrefix(text, "✅ Approved by <@ops>, <@qa>") {
		t.Errorf("decided request says %q", text)
	}
}

// Reject asks for a reason first, then rejects with it.
func TestRejectAsksForAReason(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	s := f.open(ops)
	f.deliver("v0.1.1")
	approval := s.approvalRequest()
	click := clickRequest{MessageID: approval.ID, ActionID: bot.ActionReject, Value: approval.Buttons[1].Value}

	var out clickReply
	f.click(guest, click).json(t, &out)
	if out.Private == nil || out.AskReason != nil || !strings.Contains(out.Private.Text, "need the role approver") {
		t.Errorf("guest's reject: %+v; someone who may not reject is told at once", out)
	}

	out = clickReply{}
	res := f.click(ops, click)
	res.json(t, &out)
	if out.AskReason == nil || out.AskReason.Value != click.Value || out.AskReason.Title != "Reject helloservice" ||
		!strings.Contains(out.AskReason.Summary, "delivery #1") || out.Private != nil {
		t.Fatalf("reject answered %s, want a reason dialog", res.body)
	}

	click.Reason, click.ReasonGiven = "  p95 is too slow  ", true
	out = clickReply{}
	f.click(ops, click).json(t, &out)
	if out.Private == nil || out.Private.Text != "❌ You rejected delivery #1 in production." {
		t.Fatalf("reject with a reason answered %+v", out)
	}
	rejected := s.waitFor("the rejected request", func(m wireMessage) bool { return m.ID == approval.ID && len(m.Buttons) == 0 })
	if !strings.HasPrefix(rejected.Text, "❌ Rejected by <@ops>") || !strings.HasSuffix(rejected.Text, ": p95 is too slow") {
		t.Errorf("rejected request says %q", rejected.Text)
	}
}

// In demo mode people act only as the listed users.
func TestDemoRefusesUnknownUsers(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	for _, user := range []string{"mallory", ""} {
		res := f.command(user, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1")
		if res.status != http.StatusForbidden || !strings.Contains(res.errorText(), "not one of the console's demo users") {
			t.Errorf("command as %q: %d %s", user, res.status, res.body)
		}
		res = f.click(user, clickRequest{ActionID: bot.ActionApprove, Value: "approval-1"})
		if res.status != http.StatusForbidden {
			t.Errorf("click as %q: %d %s", user, res.status, res.body)
		}
	}
	if res := f.do(nil, http.MethodPost, "/web/login", map[string]string{"token": "x", "name": dev}); res.status != http.StatusBadRequest {
		t.Errorf("login in demo mode: %d %s", res.status, res.body)
	}
	ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
	audit, _ := f.st.ListAudit(context.Background(), store.AuditQuery{})
	if len(ds) != 0 || len(audit) != 0 {
		t.Errorf("refused requests reached the bot: %d deliveries, %d audit entries", len(ds), len(audit))
	}
}

// Without demo mode and without an access token, the console only shows.
func TestReadOnlyWithoutToken(t *testing.T) {
	f := newFixture(t, Options{})
	for path, body := range map[string]any{
		"/web/command": commandRequest{Channel: channel, User: dev, Text: "status"},
		"/web/click":   clickRequest{Channel: channel, User: ops, ActionID: bot.ActionApprove, Value: "approval-1"},
		"/web/login":   map[string]string{"token": "", "name": dev},
	} {
		res := f.do(nil, http.MethodPost, path, body)
		if res.status != http.StatusForbidden || res.errorText() != "the console is read-only; set web.access_token" {
			t.Errorf("%s: %d %s", path, res.status, res.body)
		}
	}
	var state stateReply
	f.do(nil, http.MethodGet, "/web/state", nil).json(t, &state)
	if state.Mode != modeReadOnly || len(state.Users) != 0 || state.Me != nil {
		t.Errorf("state %+v", state)
	}
}

// With an access token, people log in with it and the id they act as; scripts may send it as a bearer
// token instead.
func TestTokenLogin(t *testing.T) {
	const token = "correct horse battery staple"
	f := newFixture(t, Options{AccessToken: token})

	res := f.command(dev, "status")
	if res.status != http.StatusForbidden || res.errorText() != msgLogin {
		t.Errorf("command before login: %d %s", res.status, res.body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for name, body := range map[string]map[string]string{
		"wrong token": {"token": "guess", "name": dev},
		"no token":    {"name": dev},
	} {
		if res := f.do(browser, http.MethodPost, "/web/login", body); res.status != http.StatusUnauthorized {
			t.Errorf("login with %s: %d %s", name, res.status, res.body)
		}
	}
	if res := f.do(browser, http.MethodPost, "/web/login", map[string]string{"token": token, "name": "<@dev>"}); res.status != http.StatusBadRequest {
		t.Errorf("login with a mention as name: %d %s", res.status, res.body)
	}
	res = f.do(browser, http.MethodPost, "/web/login", map[string]string{"token": token, "name": dev})
	if res.status != http.StatusOK || !strings.Contains(res.header.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(res.header.Get("Set-Cookie"), "SameSite=Strict") {
		t.Fatalf("login: %d %s %q", res.status, res.body, res.header.Get("Set-Cookie"))
	}

	var state stateReply
	f.do(browser, http.MethodGet, "/web/state", nil).json(t, &state)
	if state.Mode != modeToken || state.Me == nil || state.Me.ID != dev {
		t.Errorf("state after login %+v", state)
	}
	res = f.do(browser, http.MethodPost, "/web/command", commandRequest{Channel: channel, Text: "/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), "Delivery #1") {
		t.Fatalf("command after login: %d %s", res.status, res.body)
	}
	ds, err := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
	if err != nil || len(ds) != 1 || ds[0].Actor != dev || ds[0].Source != string(engine.PlatformWeb) {
		t.Errorf("deliveries %+v %v", ds, err)
	}
	if res := f.do(browser, http.MethodPost, "/web/command", commandRequest{Channel: channel, User: ops, Text: "status"}); res.status != http.StatusForbidden {
		t.Errorf("acting as someone else than the login: %d %s", res.status, res.body)
	}

	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	if res := f.command(ops, "status", bearer(token)); res.status != http.StatusOK {
		t.Errorf("bearer command: %d %s", res.status, res.body)
	}
	if res := f.command(ops, "status", bearer("guess")); res.status != http.StatusUnauthorized {
		t.Errorf("wrong bearer command: %d %s", res.status, res.body)
	}

	if res := f.do(browser, http.MethodPost, "/web/logout", struct{}{}); res.status != http.StatusNoContent {
		t.Errorf("logout: %d %s", res.status, res.body)
	}
	if res := f.do(browser, http.MethodPost, "/web/command", commandRequest{Channel: channel, Text: "status"}); res.status != http.StatusForbidden {
		t.Errorf("command after logout: %d %s", res.status, res.body)
	}
}

// A session cookie is only as good as its MAC, its expiry and the token it was made with.
func TestSessionCookies(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	c := New(Options{Channels: []string{channel}, AccessToken: "t0ken", Now: func() time.Time { return now }})
	other := New(Options{Channels: []string{channel}, AccessToken: "other", Now: func() time.Time { return now }})
	valid := c.sessionValue(dev, now.Add(time.Hour))
	tampered := strings.Replace(valid, base64.RawURLEncoding.EncodeToString([]byte(dev)), base64.RawURLEncoding.EncodeToString([]byte(ops)), 1)
	for _, tc := range []struct {
		name  string
		value string
		by    *Console
		want  string
	}{
		{"valid", valid, c, dev},
		{"other name", tampered, c, ""},
		{"expired", c.sessionValue(dev, now), c, ""},
		{"another token", valid, other, ""},
		{"garbage", "a.b.c", c, ""},
		{"empty", "", c, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/web/state", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.value})
		if got, _ := tc.by.session(r); got != tc.want {
			t.Errorf("%s: session %q, want %q", tc.name, got, tc.want)
		}
	}
}

// POSTs must come from the console's own page, as JSON, small, and for one of its channels.
func TestRequestsAreChecked(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	body := commandRequest{Channel: channel, User: dev, Text: "status"}
	for _, tc := range []struct {
		name string
		edit func(*http.Request)
		body any
		want int
	}{
		{"cross-site origin", func(r *http.Request) { r.Header.Del("Sec-Fetch-Site"); r.Header.Set("Origin", "https://evil.example") }, body, http.StatusForbidden},
		{"cross-site fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, body, http.StatusForbidden},
		{"same-site fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, body, http.StatusForbidden},
		{"form post", func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, body, http.StatusUnsupportedMediaType},
		{"text post", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, body, http.StatusUnsupportedMediaType},
		{"too big", nil, commandRequest{Channel: channel, User: dev, Text: strings.Repeat("x", maxBodyBytes)}, http.StatusRequestEntityTooLarge},
		{"unknown field", nil, map[string]string{"channel": channel, "user": dev, "txt": "status"}, http.StatusBadRequest},
		{"unknown channel", nil, commandRequest{Channel: "general", User: dev, Text: "status"}, http.StatusNotFound},
		{"no origin headers (a script)", func(r *http.Request) { r.Header.Del("Sec-Fetch-Site"); r.Header.Del("Origin") }, body, http.StatusOK},
		{"same origin", nil, body, http.StatusOK},
	} {
		var edits []func(*http.Request)
		if tc.edit != nil {
			edits = append(edits, tc.edit)
		}
		res := f.do(nil, http.MethodPost, "/web/command", tc.body, edits...)
		if res.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.want)
		}
	}
	if res := f.do(nil, http.MethodGet, "/web/state?channel=general", nil); res.status != http.StatusNotFound {
		t.Errorf("state of an unknown channel: %d", res.status)
	}
	if res := f.do(nil, http.MethodGet, "/web/events?channel=general", nil); res.status != http.StatusNotFound {
		t.Errorf("events of an unknown channel: %d", res.status)
	}
}

// Until a bot is attached, the console shows but does not act.
func TestActingNeedsTheBot(t *testing.T) {
	c := New(Options{Channels: []string{channel}, Demo: true, Users: demoUsers})
	mux := http.NewServeMux()
	c.Register(mux)
	req := httptest.NewRequest(http.MethodPost, "/web/command", strings.NewReader(`{"channel":"demo","user":"dev","text":"status"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("command without a bot: %d %s", rec.Code, rec.Body)
	}
}

// A fresh page loads the channel as it is now: each root card followed by its thread.
func TestState(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	s := f.open("")
	f.deliver("v0.1.1")
	approval := s.approvalRequest()

	var state stateReply
	res := f.do(nil, http.MethodGet, "/web/state", nil) // the first channel when none is named
	res.json(t, &state)
	if state.Channel != channel || !slices.Equal(state.Channels, []string{channel}) || state.Mode != modeDemo || state.Boot == "" {
		t.Errorf("state %+v", state)
	}
	if len(state.Users) != len(demoUsers) || state.Users[0] != (userOut{ID: dev, Name: "Dana (deployer)", Note: demoUsers[0].Note}) {
		t.Errorf("users %+v", state.Users)
	}
	if len(state.Messages) < 3 || !state.Messages[0].Root || state.Messages[0].Header != "Delivery #1: helloservice v0.1.1" {
		t.Fatalf("messages %+v", state.Messages)
	}
	root := state.Messages[0]
	found := false
	for i, m := range state.Messages[1:] {
		if m.Root || m.Thread != root.ID || m.Seq <= state.Messages[i].Seq {
			t.Errorf("message %d %+v is not the next reply in the card's thread", i+1, m)
		}
		found = found || (m.ID == approval.ID && len(m.Buttons) == 2)
	}
	if !found {
		t.Errorf("the approval request %s is not in the state", approval.ID)
	}
	if res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("state may be cached: %q", res.header.Get("Cache-Control"))
	}
}

// A private message reaches only the pages of the person it is for.
func TestPrivateMessagesReachOnlyTheirUser(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	forOps, forDev, forNobody := f.open(ops), f.open(dev), f.open("")
	ctx := context.Background()
	if err := f.console.PostPrivate(ctx, channel, ops, bot.Message{Text: "only for ops"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.console.Post(ctx, channel, bot.Message{Text: "for everyone"}, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	got := forOps.waitFor("the private message", func(wireMessage) bool { return true })
	if !got.Private || got.To != ops || got.Text != "only for ops" {
		t.Errorf("ops got %+v first", got)
	}
	// Events arrive in order: the public message coming first means the private one never came.
	for name, s := range map[string]*stream{"dev": forDev, "a page without a user": forNobody} {
		if m := s.waitFor("a message", func(wireMessage) bool { return true }); m.Private || m.Text != "for everyone" {
			t.Errorf("%s got %+v", name, m)
		}
	}
	var state stateReply
	f.do(nil, http.MethodGet, "/web/state", nil).json(t, &state)
	for _, m := range state.Messages {
		if m.Private {
			t.Errorf("a private message is kept for every page: %+v", m)
		}
	}
}

// With an access token, a page gets the private messages of whom it logged in as, whatever user its
// stream URL names.
func TestPrivateMessagesFollowTheLogin(t *testing.T) {
	f := newFixture(t, Options{AccessToken: "t0ken"})
	cookie := &http.Cookie{Name: sessionCookie, Value: f.console.sessionValue(ops, time.Now().Add(time.Hour))}
	withCookie := func(r *http.Request) { r.AddCookie(cookie) }
	asOps, claimsOps := f.open(dev, withCookie), f.open(ops)
	if err := f.console.PostPrivate(context.Background(), channel, ops, bot.Message{Text: "psst"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.console.Post(context.Background(), channel, bot.Message{Text: "hello"}, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := asOps.waitFor("a message", func(wireMessage) bool { return true }); m.Text != "psst" {
		t.Errorf("the logged-in page got %+v first", m)
	}
	if m := claimsOps.waitFor("a message", func(wireMessage) bool { return true }); m.Text != "hello" {
		t.Errorf("a page that only claims to be ops got %+v", m)
	}
}

// Close ends the streams, so that the HTTP server can shut down, and refuses new ones.
func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	a, b := f.open(dev), f.open("")
	f.console.Close()
	for _, s := range []*stream{a, b} {
		if ev, ok := s.next(); ok {
			t.Errorf("stream went on after Close: %+v", ev)
		}
	}
	if res := f.do(nil, http.MethodGet, "/web/events?channel="+channel, nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("events after Close: %d", res.status)
	}
	f.console.Close() // twice is fine
}

// No cookie value but one the console made opens a session, and none makes it panic.
func FuzzSession(f *testing.F) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	c := New(Options{Channels: []string{channel}, AccessToken: "t0ken", Now: func() time.Time { return now }})
	valid := c.sessionValue(dev, now.Add(time.Hour))
	f.Add(valid)
	f.Add("ZGV2.1741946400.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+value)
		cookie, err := r.Cookie(sessionCookie)
		if err != nil {
			return
		}
		if name, ok := c.session(r); ok && cookie.Value != valid {
			t.Errorf("cookie %q opened a session for %q", value, name)
		}
	})
}
