package slack

import (
	"encoding/json"
	"flag"
	"path/filepath"
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
