package discord

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/bot/bottest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/messages")

// TestGoldenMessages renders every message shape the bot pins (bot/testdata/messages) as the
// message body shipgate posts, and compares it with testdata/messages.
func TestGoldenMessages(t *testing.T) {
	for _, g := range bottest.Messages(t) {
		t.Run(g.Name, func(t *testing.T) {
			send := renderMessage(g.Message).create()
			checkLimits(t, send)
			bottest.CompareJSON(t, filepath.Join("testdata", "messages", g.Name+".json"), send, *updateGolden)
		})
	}
}

// checkLimits fails the test if Discord would refuse the message: content, embed and component limits
// as spec/chat-platforms.md section 2 and Discord's embed limits give them.
func checkLimits(t *testing.T, m *messageCreate) {
	t.Helper()
	if n := len(m.Content); n > maxContent {
		t.Errorf("content of %d characters", n)
	}
	if m.Content == "" && len(m.Embeds) == 0 {
		t.Error("empty message")
	}
	if len(m.Embeds) > 10 {
		t.Errorf("%d embeds", len(m.Embeds))
	}
	total := 0
	for _, e := range m.Embeds {
		if e.Title == "" && e.Description == "" && len(e.Fields) == 0 && e.Footer == nil {
			t.Error("empty embed")
		}
		limit := func(what string, s string, n int) {
			if len(s) > n {
				t.Errorf("%s of %d characters, Discord allows %d", what, len(s), n)
			}
		}
		limit("title", e.Title, maxTitle)
		limit("description", e.Description, maxDescription)
		if len(e.Fields) > maxFields {
			t.Errorf("%d fields", len(e.Fields))
		}
		for _, f := range e.Fields {
			limit("field name", f.Name, maxFieldName)
			limit("field value", f.Value, maxFieldValue)
			if f.Name == "" || f.Value == "" {
				t.Errorf("empty field %q: %q", f.Name, f.Value)
			}
		}
		if e.Footer != nil {
			limit("footer", e.Footer.Text, maxFooter)
		}
		total += embedSize(e)
	}
	if total > maxEmbedTotal {
		t.Errorf("embeds of %d characters in all, Discord allows %d", total, maxEmbedTotal)
	}
	if len(m.Components) > maxActionRows {
		t.Errorf("%d action rows", len(m.Components))
	}
	ids := map[string]bool{}
	for _, c := range m.Components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			t.Errorf("component %T outside an action row", c)
			continue
		}
		if len(row.Components) == 0 || len(row.Components) > maxRowButtons {
			t.Errorf("action row of %d buttons", len(row.Components))
		}
		for _, c := range row.Components {
			b, ok := c.(discordgo.Button)
			if !ok {
				t.Errorf("component %T in an action row", c)
				continue
			}
			if b.Label == "" || len(b.Label) > maxButtonLabel {
				t.Errorf("button label %q", b.Label)
			}
			if b.CustomID == "" || len(b.CustomID) > maxCustomID || ids[b.CustomID] {
				t.Errorf("custom_id %q empty, too long or repeated", b.CustomID)
			}
			ids[b.CustomID] = true
		}
	}
}

func approveButtons() []bot.Button {
	return []bot.Button{
		{ActionID: bot.ActionApprove, Label: "✅ Approve", Value: "approval-1", Style: bot.StylePrimary, Confirm: &bot.Confirm{Title: "Approve?"}},
		{ActionID: bot.ActionReject, Label: "❌ Reject", Value: "approval-1", Style: bot.StyleDanger},
	}
}

// Whatever the bot sends stays within Discord's limits, shows a note where something was cut, and keeps
// its buttons.
func TestRenderLimits(t *testing.T) {
	long := strings.Repeat("lorem ipsum dolor sit amet ", 185) // 4,995 characters
	fields := make([]bot.Field, 40)
	for i := range fields {
		fields[i] = bot.Field{Label: fmt.Sprintf("label %d", i), Value: strings.Repeat("v", 300)}
	}
	rows := make([][]string, 200)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("objective %d", i), "900", "500", "+80.0%", "<=+10% (550) ✗, <600 ✗", "<=800 ✗", "fail", "0/1"}
	}
	table := &bot.Table{Columns: []string{"Objective", "Value", "Baseline", "Change", "Pass criteria", "Warning criteria", "Status", "Score"},
		Rows: rows, Summary: "Score 0 of 100: FAIL"}
	header := strings.Repeat("h", 300)
	stages := []bot.StageStatus{{Stage: "qa", State: bot.StagePassed}, {Stage: "production", State: bot.StageWaiting, Detail: "0 of 2 approvals"}}
	context := []string{strings.Repeat("c", 3000)}

	rowsCut := func(t *testing.T, e *discordgo.MessageEmbed) {
		t.Helper()
		if !strings.Contains(e.Description, "more rows (`shipgate evaluate` prints them all)") || !strings.Contains(e.Description, "Score 0 of 100") {
			t.Errorf("no rows note or no summary:\n%s", e.Description)
		}
		if strings.Count(e.Description, "```") != 2 {
			t.Errorf("the table is not one code block:\n%s", e.Description)
		}
	}
	for _, tt := range []struct {
		name  string
		m     bot.Message
		check func(t *testing.T, e *discordgo.MessageEmbed)
	}{
		{"long text", bot.Message{Text: long}, func(t *testing.T, e *discordgo.MessageEmbed) {
			if !strings.HasSuffix(e.Description, textCutNote) || len(e.Description) < 3500 {
				t.Errorf("description of %d characters ends %q", len(e.Description), e.Description[len(e.Description)-50:])
			}
		}},
		{"40 fields", bot.Message{Fields: fields}, func(t *testing.T, e *discordgo.MessageEmbed) {
			if len(e.Fields) == 0 || !strings.Contains(e.Description, fmt.Sprintf("✂️ %d more fields", 40-len(e.Fields))) {
				t.Errorf("%d fields, description %q", len(e.Fields), e.Description)
			}
		}},
		{"200-row table", bot.Message{Header: "qa evaluation: FAIL", Table: table}, rowsCut},
		{"300-char header", bot.Message{Header: header}, func(t *testing.T, e *discordgo.MessageEmbed) {
			if !strings.HasSuffix(e.Title, "…") {
				t.Errorf("title %q", e.Title)
			}
		}},
		{"everything at once", bot.Message{Header: header, Text: long, Fields: fields, Stages: stages, Table: table, Buttons: approveButtons(),
			Context: context, Links: []bot.Link{{Text: "delivery", URL: "https://shipgate.example/deliveries/1"}}},
			func(t *testing.T, e *discordgo.MessageEmbed) {
				rowsCut(t, e)
				for _, want := range []string{"qa ✅ · production ✋ 0 of 2 approvals", textCutNote, "more fields", "[delivery](https://shipgate.example/deliveries/1)"} {
					if !strings.Contains(e.Description, want) {
						t.Errorf("description lacks %q:\n%s", want, e.Description)
					}
				}
				if len(e.Fields) < 3 {
					t.Errorf("only %d fields kept", len(e.Fields))
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := renderMessage(tt.m)
			send := r.create()
			checkLimits(t, send)
			tt.check(t, send.Embeds[0])
			if len(tt.m.Buttons) > 0 && len(send.Components) != 1 {
				t.Errorf("buttons lost: %d rows", len(send.Components))
			}
		})
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, 2000-01-01 (delivery #1)": "plain words, 2000-01-01 (delivery #1)",
		"**bold** _it_ ~~s~~ ||spoiler||":       `\*\*bold\*\* \_it\_ \~\~s\~\~ \|\|spoiler\|\|`,
		"[click](https://evil.example)":         `\[click\](https://evil.example)`,
		"> quote\n# heading\n- item\n1. first":  "\\> quote\n\\# heading\n\\- item\n1\\. first",
		"a > b - c # d":                         "a > b - c # d",
		`back\slash`:                            `back\\slash`,
		"by <@123> and <@!456> in <#789>":       "by <@123> and <@!456> in <#789>",
		"role <@&123> <:e:1> <t:1:R> </x:1>":    `role \<@&123> \<:e:1> \<t:1:R> \</x:1>`,
		"ping @everyone and @here":              "ping @\u200beveryone and @\u200bhere",
		"`code *kept* <@&1>` after":             "`code *kept* <@&1>` after",
		"`@everyone` in code":                   "`@\u200beveryone` in code",
		"a lone ` backtick":                     "a lone \\` backtick",
		"see https://x.example/a_b*c for more":  "see https://x.example/a_b*c for more",
		"the <error budget> is spent & more":    `the \<error budget> is spent & more`,
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// A task's output quoted in a message cannot ping a role or everyone, nor format the message, while the
// mentions the bot writes itself still show as mentions.
func TestRenderNeutralisesQuotedOutput(t *testing.T) {
	output := "deploy failed <@&123456> @everyone **look** [here](https://evil.example)"
	m := bot.Message{
		Header: "Approval: web v2 to production",
		Text:   "✅ Approved by <@111> at 2000-01-01 00:00 UTC\nqa · `test` ❌ fail: " + output,
		Fields: []bot.Field{{Label: "Approvers", Value: "role approver: <@111>, <@222>"}},
	}
	send := renderMessage(m).create()
	e := send.Embeds[0]
	for _, want := range []string{"Approved by <@111>", `\<@&123456>`, "@\u200beveryone", `\*\*look\*\*`, `\[here\]`, "`test`"} {
		if !strings.Contains(e.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, e.Description)
		}
	}
	if strings.Contains(strings.ReplaceAll(e.Description, `\<@&`, ""), "<@&") {
		t.Errorf("a role mention survived:\n%s", e.Description)
	}
	if e.Fields[0].Value != "role approver: <@111>, <@222>" {
		t.Errorf("approvers field = %q", e.Fields[0].Value)
	}
	if am := send.AllowedMentions; am == nil || len(am.Parse) != 0 || len(am.Roles) != 0 || len(am.Users) != 0 {
		t.Errorf("allowed mentions %+v, want none", am)
	}
}

func TestRenderButtons(t *testing.T) {
	long := strings.Repeat("x", 100)
	buttons := append(approveButtons(),
		bot.Button{ActionID: "deliver.other", Label: "Other", Value: "v", Style: bot.StylePrimary},
		bot.Button{ActionID: "deliver.plain", Label: strings.Repeat("l", 100), Value: "v"},
		bot.Button{ActionID: bot.ActionApprove, Label: "Too long", Value: long},
		bot.Button{ActionID: bot.ActionApprove, Label: "Again", Value: "approval-1"},
		bot.Button{ActionID: "a", Label: "5", Value: "1"},
		bot.Button{ActionID: "a", Label: "6", Value: "2"},
	)
	r := renderMessage(bot.Message{Text: "x", Buttons: buttons})
	checkLimits(t, r.create())
	if len(r.Components) != 2 {
		t.Fatalf("%d action rows, want 2", len(r.Components))
	}
	var got []discordgo.Button
	for _, row := range r.Components {
		for _, c := range row.(discordgo.ActionsRow).Components {
			got = append(got, c.(discordgo.Button))
		}
	}
	want := []struct {
		id    string
		style discordgo.ButtonStyle
	}{
		{"deliver.approve:approval-1", discordgo.SuccessButton},
		{"deliver.reject:approval-1", discordgo.DangerButton},
		{"deliver.other:v", discordgo.PrimaryButton},
		{"deliver.plain:v", discordgo.SecondaryButton},
		{"a:1", discordgo.SecondaryButton},
		{"a:2", discordgo.SecondaryButton},
	}
	if len(got) != len(want) {
		t.Fatalf("buttons %+v", got)
	}
	for i, w := range want {
		if got[i].CustomID != w.id || got[i].Style != w.style {
			t.Errorf("button %d = %q style %d, want %q style %d", i, got[i].CustomID, got[i].Style, w.id, w.style)
		}
	}
	if len(got[3].Label) > maxButtonLabel {
		t.Errorf("label of %d characters", len(got[3].Label))
	}
	if len(r.dropped) != 2 || !strings.Contains(r.dropped[0], "custom_id of 116 characters") || !strings.Contains(r.dropped[1], "twice") {
		t.Errorf("dropped = %q", r.dropped)
	}
}

func TestParseCustomID(t *testing.T) {
	for _, tt := range []struct {
		in            string
		action, value string
		ok            bool
	}{
		{"deliver.approve:approval-12", bot.ActionApprove, "approval-12", true},
		{"deliver.reject:a:b", bot.ActionReject, "a:b", true},
		{"deliver.approve:", bot.ActionApprove, "", true},
		{"no-colon", "", "", false},
		{":value", "", "", false},
		{"", "", "", false},
	} {
		action, value, ok := parseCustomID(tt.in)
		if action != tt.action || value != tt.value || ok != tt.ok {
			t.Errorf("parseCustomID(%q) = %q, %q, %v", tt.in, action, value, ok)
		}
	}
}

// What a button carries comes back from parseCustomID as it was.
func FuzzParseCustomID(f *testing.F) {
	f.Add("deliver.approve", "approval-12")
	f.Add("deliver.reject", "a:b")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, action, value string) {
		id := customID(action, value)
		a, v, ok := parseCustomID(id)
		if strings.Contains(action, ":") || action == "" {
			if ok && a == action {
				t.Errorf("parseCustomID(%q) accepted action %q", id, a)
			}
			return
		}
		if !ok || a != action || v != value {
			t.Errorf("parseCustomID(%q) = %q, %q, %v", id, a, v, ok)
		}
	})
}

func TestRenderModal(t *testing.T) {
	r := renderModal(&bot.ReasonRequest{Value: "approval-1", Title: "Reject a-service-with-a-rather-long-name-indeed",
		Summary: "Reject helloservice v0.1.1 in production (delivery #1)?"}, "deliver.reject.modal:approval-1")
	data, ok := r.Data.(*modalCallback)
	if r.Type != discordgo.InteractionResponseModal || !ok || data.CustomID != "deliver.reject.modal:approval-1" || len(data.Title) > maxModalTitle {
		t.Fatalf("modal %+v", r.Data)
	}
	in := data.Components[0].(discordgo.ActionsRow).Components[0].(discordgo.TextInput)
	if in.CustomID != reasonInputID || in.Style != discordgo.TextInputParagraph || !in.Required || in.MaxLength != 1000 ||
		len(in.Label) > maxInputLabel || in.Placeholder != "Reject helloservice v0.1.1 in production (delivery #1)?" {
		t.Errorf("input %+v", in)
	}
}

func TestStageColour(t *testing.T) {
	st := func(states ...bot.StageState) []bot.StageStatus {
		var out []bot.StageStatus
		for _, s := range states {
			out = append(out, bot.StageStatus{Stage: "s", State: s})
		}
		return out
	}
	for _, tt := range []struct {
		stages []bot.StageStatus
		want   int
	}{
		{nil, 0},
		{st(bot.StagePassed, bot.StagePassed), colourPass},
		{st(bot.StageFailed, bot.StageNotReached), colourFail},
		{st(bot.StagePassed, bot.StageTimedOut), colourFail},
		{st(bot.StagePassed, bot.StageWaiting), colourWaiting},
		{st(bot.StagePassed, bot.StagePaused), colourWaiting},
		{st(bot.StagePassed, bot.StageRunning), colourOther},
		{st(bot.StagePassed, bot.StageAborted), colourOther},
	} {
		if got := stageColour(tt.stages); got != tt.want {
			t.Errorf("stageColour(%v) = %#x, want %#x", tt.stages, got, tt.want)
		}
	}
}

// An edit sends everything, so that a decided approval loses its buttons and an emptied field its value.
func TestEditReplacesEverything(t *testing.T) {
	r := renderMessage(bot.Message{Header: "Approval: decided"})
	raw, err := json.Marshal(r.edit())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"components":[]`, `"content":""`, `"embeds":[{`, `"allowed_mentions":{"parse":[]`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("edit lacks %s: %s", want, raw)
		}
	}
}

func TestRenderPointer(t *testing.T) {
	p := renderPointer(bot.Message{Header: "Approval: web *v2* to production", Buttons: approveButtons()}, "<#42>")
	if p.Content != `📣 Approval: web \*v2\* to production → <#42>` || len(p.Components) != 0 {
		t.Errorf("pointer %q with %d components", p.Content, len(p.Components))
	}
	if p := renderPointer(bot.Message{Text: "first line\nsecond"}, "<#42>"); p.Content != "📣 first line → <#42>" {
		t.Errorf("pointer %q", p.Content)
	}
}

// Whatever text the bot is given, the message stays within Discord's limits.
func FuzzRenderLimits(f *testing.F) {
	f.Add("Delivery #1", "qa · `test` ✅ <@&1> @everyone **x**", "Image", "`ghcr.io/x:v1`", "a,b", 3)
	f.Fuzz(func(t *testing.T, header, text, label, value, cells string, n int) {
		n = min(max(n, 0), 300)
		for _, s := range []*string{&header, &text, &label, &value, &cells} {
			*s = (*s)[:min(len(*s), 512)] // a few megabytes of message at most: the limits, not the fuzzer's memory, are under test
		}
		fields := make([]bot.Field, n%40)
		for i := range fields {
			fields[i] = bot.Field{Label: label, Value: strings.Repeat(value, i%4)}
		}
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = strings.Split(cells, ",")
		}
		m := bot.Message{Header: strings.Repeat(header, n%8), Text: strings.Repeat(text, n), Fields: fields,
			Table: &bot.Table{Columns: strings.Split(cells, ","), Rows: rows, Summary: text}, Context: []string{strings.Repeat(label, n)},
			Buttons: approveButtons()}
		checkLimits(t, renderMessage(m).create())
	})
}

// Nothing a task prints reaches Discord as @everyone or @here, or as a role mention outside code.
func FuzzEscape(f *testing.F) {
	f.Add("@everyone <@&1> `<@&2>` **x** https://a.example/_b_")
	f.Add("@@here\n> q\n1. x [a](b)")
	f.Fuzz(func(t *testing.T, s string) {
		out := escape(s)
		if everyone.MatchString(out) {
			t.Errorf("escape(%q) = %q pings", s, out)
		}
		outside := keep.ReplaceAllStringFunc(out, func(k string) string {
			if strings.HasPrefix(k, "`") {
				return ""
			}
			return k
		})
		if strings.Contains(strings.ReplaceAll(outside, `\<`, ""), "<@&") {
			t.Errorf("escape(%q) = %q keeps a role mention", s, out)
		}
	})
}

// htmlEntity matches an HTML character reference, which Discord shows as it is: &gt; reads "&gt;".
var htmlEntity = regexp.MustCompile(`&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);`)

// No golden message shows an HTML entity: Discord decodes none, so every text is sent as people read it.
func TestGoldenMessagesShowNoEntities(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "messages", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		walkStrings(v, "", func(at, s string) {
			if m := htmlEntity.FindString(s); m != "" {
				t.Errorf("%s: %s shows %q literally: %q", path, at, m, s)
			}
		})
	}
	// The check itself: an escaped comparison would be caught.
	found := false
	walkStrings(map[string]any{"embeds": []any{map[string]any{"description": "pass &gt;= 90"}}}, "", func(string, string) { found = true })
	if !found || htmlEntity.FindString("pass &gt;= 90") == "" {
		t.Fatal("the entity check finds nothing")
	}
}

// walkStrings calls fn with every string in a decoded JSON value and its path.
func walkStrings(v any, at string, fn func(at, s string)) {
	switch x := v.(type) {
	case string:
		fn(at, x)
	case []any:
		for i, e := range x {
			walkStrings(e, fmt.Sprintf("%s[%d]", at, i), fn)
		}
	case map[string]any:
		for k, e := range x {
			walkStrings(e, at+"."+k, fn)
		}
	}
}
