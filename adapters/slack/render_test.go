package slack

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

	"github.com/slack-go/slack"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/bot/bottest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/blocks")

// TestGoldenBlocks renders every message shape the bot pins (bot/testdata/messages) as Block Kit and
// compares it with testdata/blocks; score tables also in their section-fields fallback.
func TestGoldenBlocks(t *testing.T) {
	for _, g := range bottest.Messages(t) {
		t.Run(g.Name, func(t *testing.T) {
			blocks, text := render(g.Message, true)
			compareGolden(t, g.Name, blocks, text)
			if g.Message.Table != nil {
				blocks, text := render(g.Message, false)
				compareGolden(t, g.Name+"-fields", blocks, text)
			}
		})
	}
}

func compareGolden(t *testing.T, name string, blocks []slack.Block, text string) {
	t.Helper()
	bottest.CompareJSON(t, filepath.Join("testdata", "blocks", name+".json"), map[string]any{"text": text, "blocks": blocks}, *update)
}

// Whatever the bot sends, Slack's limits hold: at most 50 blocks, sections of at most 3,000 characters
// and 10 fields of 2,000, and a visible note says what was cut.
func TestRenderRespectsLimits(t *testing.T) {
	long := strings.Repeat("lorem ipsum dolor sit amet ", 400) // 10,800 characters
	rows := make([][]string, 300)
	for i := range rows {
		rows[i] = []string{"objective", "1", "2", "+100%", "<=1", "<=2", "fail", "0/1"}
	}
	fields := make([]bot.Field, 25)
	for i := range fields {
		fields[i] = bot.Field{Label: "label", Value: strings.Repeat("v", 2500)}
	}
	m := bot.Message{Header: strings.Repeat("h", 200), Text: long, Fields: fields, Table: &bot.Table{Columns: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, Rows: rows},
		Buttons: []bot.Button{{ActionID: bot.ActionApprove, Label: "Approve", Value: "approval-1"}}}
	for _, tables := range []bool{true, false} {
		blocks, text := render(m, tables)
		if len(blocks) > maxBlocks {
			t.Errorf("tables=%v: %d blocks", tables, len(blocks))
		}
		if len(text) > maxFallbackText {
			t.Errorf("tables=%v: fallback text of %d characters", tables, len(text))
		}
		raw, _ := json.Marshal(blocks)
		var decoded []map[string]any
		_ = json.Unmarshal(raw, &decoded)
		sawCut, sawButtons := false, false
		for _, b := range decoded {
			switch b["type"] {
			case "header":
				if n := len(b["text"].(map[string]any)["text"].(string)); n > maxHeaderText {
					t.Errorf("header of %d characters", n)
				}
			case "section":
				if txt, ok := b["text"].(map[string]any); ok && len(txt["text"].(string)) > maxSectionText {
					t.Errorf("section of %d characters", len(txt["text"].(string)))
				}
				if fs, ok := b["fields"].([]any); ok {
					if len(fs) > maxFields {
						t.Errorf("section with %d fields", len(fs))
					}
					for _, f := range fs {
						if n := len(f.(map[string]any)["text"].(string)); n > maxFieldText {
							t.Errorf("field of %d characters", n)
						}
					}
				}
			case "context":
				if b["block_id"] == "cut" {
					sawCut = true
				}
			case "actions":
				sawButtons = true
			}
		}
		if !sawCut || !sawButtons {
			t.Errorf("tables=%v: cut note %v, buttons %v", tables, sawCut, sawButtons)
		}
		if len(raw) > maxMessageBudget+4000 {
			t.Errorf("tables=%v: %d bytes of blocks", tables, len(raw))
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a < b & c > d":              "a &lt; b &amp; c &gt; d",
		"by <@U123> and <@W9>":       "by <@U123> and <@W9>",
		"<!channel> <http://x|y>":    "&lt;!channel&gt; &lt;http://x|y&gt;",
		"group <!subteam^S123>":      "group <!subteam^S123>",
		"<@U1|forged> not a mention": "&lt;@U1|forged&gt; not a mention",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// entity is an HTML entity, named or numbered.
var entity = regexp.MustCompile(`&[a-zA-Z]+;|&#[0-9]+;`)

// slackUnescaper decodes what Slack decodes in mrkdwn, once.
var slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// checkNoEntityShown fails when a text in rendered Slack JSON would show an HTML entity to people: a
// mrkdwn text (and the top-level text, which Slack reads as mrkdwn) that still holds one after Slack's
// single decoding of &lt; &gt; &amp;, which is what escaping twice produces; or a plain_text or table
// raw_text, which Slack shows as they are, holding one at all.
func checkNoEntityShown(t *testing.T, name string, raw []byte) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			text, _ := v["text"].(string)
			switch v["type"] {
			case "mrkdwn":
				if e := entity.FindString(slackUnescaper.Replace(text)); e != "" {
					t.Errorf("%s%s: mrkdwn shows %s: %q", name, path, e, text)
				}
			case "plain_text", "raw_text":
				if e := entity.FindString(text); e != "" {
					t.Errorf("%s%s: %s shows %s: %q", name, path, v["type"], e, text)
				}
			}
			for k, child := range v {
				walk(path+"/"+k, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s/%d", path, i), child)
			}
		}
	}
	walk("", doc)
	if top, ok := doc.(map[string]any); ok {
		if text, ok := top["text"].(string); ok {
			if e := entity.FindString(slackUnescaper.Replace(text)); e != "" {
				t.Errorf("%s: the top-level text shows %s: %q", name, e, text)
			}
		}
	}
}

// No Slack golden shows an HTML entity: what people read is what the bot wrote.
func TestGoldensShowNoEntities(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "blocks", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkNoEntityShown(t, filepath.Base(path), raw)
	}
}

// Every path from the bot's text into Slack escapes it exactly once: the header, status line, text,
// fields, table (as a table and as fields), its summary, buttons and their confirmation, context,
// links, the notify line and the rejection dialog. Decoded once, each shows the text as written.
func TestEveryPathEscapesOnce(t *testing.T) {
	const nasty = "p95 < 600 && err > 1"
	m := bot.Message{
		Header: "Header " + nasty, Text: "Text " + nasty,
		Stages: []bot.StageStatus{{Stage: "qa", State: bot.StagePassed, Detail: "detail " + nasty}},
		Fields: []bot.Field{{Label: "Label " + nasty, Value: "Value " + nasty}},
		Table:  &bot.Table{Columns: []string{"Column " + nasty}, Rows: [][]string{{"Cell " + nasty}}, Summary: "Summary " + nasty},
		Buttons: []bot.Button{{ActionID: bot.ActionApprove, Label: "Go " + nasty, Value: "approval-1",
			Confirm: &bot.Confirm{Title: "Sure?", Text: "Confirm " + nasty, Yes: "Yes", No: "No"}}},
		Context: []string{"Context " + nasty},
		Links:   []bot.Link{{Text: "Link " + nasty, URL: "https://shipgate.example/d/1"}},
		Notify:  []bot.Mention{{ID: "UOPS1"}, {ID: "not an id <&>"}},
	}
	for _, tables := range []bool{true, false} {
		blocks, text := render(m, tables)
		raw := marshalUnescaped(t, map[string]any{"text": text, "blocks": blocks})
		checkNoEntityShown(t, fmt.Sprintf("tables=%v", tables), raw)
		shown := slackUnescaper.Replace(unescapeJSON.Replace(string(raw)))
		for _, want := range []string{"Header ", "Text ", "detail ", "Label ", "Value ", "Summary ", "Go ", "Confirm ", "Context ", "Link "} {
			if !strings.Contains(shown, want+nasty) {
				t.Errorf("tables=%v: %q is not shown as written", tables, want+nasty)
			}
		}
	}
	view := rejectDialog(&bot.ReasonRequest{Value: "approval-1", Title: "Reject " + nasty, Summary: "Summary " + nasty}, "{}")
	raw := marshalUnescaped(t, view)
	checkNoEntityShown(t, "rejection dialog", raw)
	if !strings.Contains(slackUnescaper.Replace(unescapeJSON.Replace(string(raw))), "Summary "+nasty) {
		t.Errorf("rejection dialog: %s", raw)
	}
}

// marshalUnescaped is v as JSON without encoding/json's own HTML escaping where it can (slack-go's
// blocks marshal themselves, with it; unescapeJSON undoes that), so that what a test reads is what
// Slack reads.
func marshalUnescaped(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Long text is split into sections that together are the whole escaped text, byte for byte: no
// character, entity or mention is cut in two or lost between sections.
func TestLongTextSplitsWhole(t *testing.T) {
	for _, unit := range []string{"a&b ", "é<ü>", "<@U1> & ", "x"} {
		text := strings.Repeat(unit, 4000/len(unit)) // over 6,000 bytes once escaped, under the budget
		blocks, _ := render(bot.Message{Text: text}, true)
		var got strings.Builder
		for _, b := range blocks {
			s, ok := b.(*slack.SectionBlock)
			if !ok {
				t.Fatalf("%q: block %T", unit, b)
			}
			if len(s.Text.Text) > maxSectionText {
				t.Errorf("%q: section of %d bytes", unit, len(s.Text.Text))
			}
			got.WriteString(s.Text.Text)
		}
		if got.String() != escape(text) {
			t.Errorf("%q: the sections do not add up to the text", unit)
		}
	}
}

func TestCutMrkdwnKeepsMarkupWhole(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abc &amp; def", 8, "abc …"},       // would end in "&a"
		{"abc &amp; def", 12, "abc &amp;…"}, // the entity fits
		{"hi <@U123> there", 10, "hi …"},    // would end in "<@U1"
		{"éééé", 6, "é…"},                   // never inside a character
	} {
		if got := cutMrkdwn(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("cutMrkdwn(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// A code block in the message is split into fenced sections within Slack's section limit, escaped,
// and never cut inside an entity; one too long for a message is left to the file upload.
func TestRenderCodeBlock(t *testing.T) {
	text := strings.Repeat("-  a: x & <y>\n", 400) // 9,600 bytes once escaped: a file
	blocks, _ := render(bot.Message{Text: "t", Code: &bot.CodeBlock{Language: "diff", Text: text, Filename: "d.diff"}}, true)
	if raw, _ := json.Marshal(blocks); strings.Contains(string(raw), "a: x") || !strings.Contains(string(raw), "the file `d.diff` in this thread") {
		t.Fatalf("long code block: %s", raw)
	}
	text = strings.Repeat("-  a: x & <y>\n", 200) // 4,800 bytes escaped: in the message, in two sections
	blocks, _ = render(bot.Message{Text: "t", Code: &bot.CodeBlock{Language: "diff", Text: text, Filename: "d.diff"}}, true)
	var joined strings.Builder
	for _, b := range blocks[1:] {
		s := b.(*slack.SectionBlock).Text.Text
		if len(s) > maxSectionText || !strings.HasPrefix(s, "```\n") || !strings.HasSuffix(s, "\n```") {
			t.Fatalf("section of %d bytes: %q…", len(s), s[:min(len(s), 40)])
		}
		joined.WriteString(strings.TrimSuffix(strings.TrimPrefix(s, "```\n"), "\n```") + "\n")
	}
	if len(blocks) != 3 || joined.String() != escapeRaw(text) {
		t.Fatalf("%d blocks; the sections do not add up to the escaped text", len(blocks))
	}
}
