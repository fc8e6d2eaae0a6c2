// Package slack connects shipgate to a Slack workspace: it verifies Slack's requests (slash commands,
// interactivity, events) over HTTP or Socket Mode, hands them to the bot, renders the bot's messages as
// Block Kit within Slack's limits, and sends them through slack-go.
package slack

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/truncate"
)

// Slack's Block Kit limits (spec/chat-platforms.md S18-S22).
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxFields        = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxContextItems  = 10
	maxTableRows     = 100 // the table block's own limit, header row included
	maxFallbackText  = 3000
	maxMessageBudget = 12000 // msg_blocks_too_long was seen at about 13.2k characters of blocks
	jsonOverhead     = 50    // the JSON around each block and text object, counted against the budget
)

// render turns a bot message into blocks and the fallback text. With tables false, a score table
// becomes one section of fields per row, for workspaces that reject the table block. Whatever does not
// fit Slack's limits is cut, with a visible note saying so: a message is never rejected for its size.
// Plain text goes into plain_text and table cells as it is, and into mrkdwn escaped once (escape).
func render(m bot.Message, tables bool) ([]slack.Block, string) {
	r := &renderer{budget: maxMessageBudget}
	notify := notifyLine(m.Notify)
	if notify != "" {
		// First, so that the message opens as its notification does; and never cut.
		r.add(slack.NewSectionBlock(mrkdwn(notify), nil, nil, slack.SectionBlockOptionBlockID("notify")), len(notify))
	}
	if m.Header != "" {
		r.add(slack.NewHeaderBlock(plain(truncate.Bytes(m.Header, maxHeaderText))), len(m.Header))
	}
	if len(m.Stages) > 0 {
		r.section(escape(bot.StatusLine(m.Stages)))
	}
	if m.Text != "" {
		r.section(escape(m.Text))
	}
	if len(m.Fields) > 0 {
		r.fields(m.Fields)
	}
	if m.Code != nil {
		r.code(m.Code)
	}
	if m.Table != nil {
		if tables {
			r.table(m.Table)
		} else {
			r.tableAsFields(m.Table)
		}
		if m.Table.Summary != "" {
			r.section("*" + escape(m.Table.Summary) + "*")
		}
	}
	if len(m.Buttons) > 0 {
		r.buttons(m.Buttons)
	}
	var ctx []string
	for _, c := range m.Context {
		ctx = append(ctx, escape(c))
	}
	for _, l := range m.Links {
		ctx = append(ctx, fmt.Sprintf("<%s|%s>", l.URL, escape(l.Text)))
	}
	if len(ctx) > 0 {
		r.context(ctx)
	}
	if r.cutNote != "" {
		r.blocks = append(r.blocks, slack.NewContextBlock("cut", mrkdwn("✂️ "+r.cutNote)))
	}
	return r.blocks, fallbackText(m, notify)
}

// renderer adds blocks while there is room, keeping one block and some characters for the cut note.
type renderer struct {
	blocks  []slack.Block
	budget  int
	cutNote string
}

func (r *renderer) room(size int) bool {
	return len(r.blocks) < maxBlocks-1 && size <= r.budget
}

func (r *renderer) add(b slack.Block, size int) bool {
	size += jsonOverhead
	if !r.room(size) {
		r.cut("the message was too long for Slack; the rest is in shipgate (`/deliver status`)")
		return false
	}
	r.blocks = append(r.blocks, b)
	r.budget -= size
	return true
}

func (r *renderer) cut(note string) {
	if r.cutNote == "" {
		r.cutNote = note
	}
}

// section adds mrkdwn text (escaped by the caller) as sections of at most maxSectionText bytes, split
// at line ends where it can be, and nowhere inside a character or markup: the next section goes on
// where the previous one stopped.
func (r *renderer) section(text string) {
	for text != "" {
		var part string
		part, text = splitMrkdwn(text, maxSectionText)
		if !r.add(slack.NewSectionBlock(mrkdwn(part), nil, nil), len(part)) {
			return
		}
	}
}

// maxInlineCode bounds a code block shown in the message itself, escaped; a longer one goes as a file
// in the thread (Client.Post, files.uploadV2), where Slack shows it as a snippet with its own viewer.
const maxInlineCode = 6000

// codeInline reports whether c is shown in the message rather than uploaded as a file.
func codeInline(c *bot.CodeBlock) bool { return len(escapeRaw(c.Text)) <= maxInlineCode }

// code adds a code block as fenced sections (a section holds at most maxSectionText, so a long block
// is split at line ends into several), or, when it goes as a file, a line saying where it is.
func (r *renderer) code(c *bot.CodeBlock) {
	if !codeInline(c) {
		n := strings.Count(strings.TrimRight(c.Text, "\n"), "\n") + 1
		r.section(fmt.Sprintf("📎 %d lines, too long for a message: the file `%s` in this thread has them all", n, escapeRaw(c.Filename)))
		return
	}
	const fence = "```\n"
	body := escapeRaw(strings.TrimRight(c.Text, "\n"))
	for body != "" {
		part, rest := splitMrkdwn(body, maxSectionText-2*len(fence))
		if !r.add(slack.NewSectionBlock(mrkdwn(fence+part+"\n```"), nil, nil), len(part)+2*len(fence)) {
			return
		}
		body = strings.TrimPrefix(rest, "\n")
	}
}

func (r *renderer) fields(fields []bot.Field) {
	for start := 0; start < len(fields); start += maxFields {
		var objs []*slack.TextBlockObject
		size := 0
		for _, f := range fields[start:min(start+maxFields, len(fields))] {
			text := cutMrkdwn("*"+escape(f.Label)+"*\n"+escape(f.Value), maxFieldText)
			objs = append(objs, mrkdwn(text))
			size += len(text) + jsonOverhead
		}
		if !r.add(slack.NewSectionBlock(nil, objs, nil), size) {
			return
		}
	}
}

func (r *renderer) table(t *bot.Table) {
	tb := slack.NewTableBlock("score")
	settings := make([]slack.ColumnSetting, len(t.Columns))
	for i := range settings {
		settings[i] = slack.ColumnSetting{Align: slack.ColumnAlignmentLeft, IsWrapped: true}
	}
	tb.WithColumnSettings(settings...)
	tb.AddRow(textCells(t.Columns)...)
	size := rowSize(t.Columns)
	shown := 0
	for _, row := range t.Rows {
		if 1+shown >= maxTableRows || size+rowSize(row) > r.budget-500 {
			break
		}
		tb.AddRow(textCells(row)...)
		size += rowSize(row)
		shown++
	}
	r.add(tb, size)
	if shown < len(t.Rows) {
		r.cut(fmt.Sprintf("%d of %d objectives shown; `shipgate evaluate` prints them all", shown, len(t.Rows)))
	}
}

// tableAsFields renders a table without the table block: a section per row, one field per column.
func (r *renderer) tableAsFields(t *bot.Table) {
	for i, row := range t.Rows {
		fields := make([]bot.Field, 0, len(row))
		for j, cell := range row {
			label := fmt.Sprintf("column %d", j+1)
			if j < len(t.Columns) {
				label = t.Columns[j]
			}
			fields = append(fields, bot.Field{Label: label, Value: cell})
		}
		before := len(r.blocks)
		r.fields(fields)
		if len(r.blocks) == before {
			r.cutNote = fmt.Sprintf("%d of %d objectives shown; `shipgate evaluate` prints them all", i, len(t.Rows))
			return
		}
		if i < len(t.Rows)-1 && !r.add(slack.NewDividerBlock(), 0) {
			return
		}
	}
}

func (r *renderer) buttons(buttons []bot.Button) {
	var els []slack.BlockElement
	for _, b := range buttons {
		btn := slack.NewButtonBlockElement(b.ActionID, b.Value, plain(truncate.Bytes(b.Label, maxButtonText)))
		switch b.Style {
		case bot.StylePrimary:
			btn = btn.WithStyle(slack.StylePrimary)
		case bot.StyleDanger:
			btn = btn.WithStyle(slack.StyleDanger)
		}
		if c := b.Confirm; c != nil {
			btn = btn.WithConfirm(slack.NewConfirmationBlockObject(plain(c.Title), mrkdwn(escape(c.Text)), plain(c.Yes), plain(c.No)))
		}
		els = append(els, btn)
	}
	// Buttons are what the message is for: they go in even if text had to be cut for them.
	r.blocks = append(r.blocks, slack.NewActionBlock("approval", els...))
}

// context adds a context block of mrkdwn lines, escaped by the caller.
func (r *renderer) context(lines []string) {
	var els []slack.MixedElement
	size := 0
	for _, l := range lines[:min(len(lines), maxContextItems)] {
		l = cutMrkdwn(l, maxSectionText)
		els = append(els, mrkdwn(l))
		size += len(l)
	}
	r.add(slack.NewContextBlock("context", els...), size)
}

func textCells(row []string) []slack.TableCell {
	cells := make([]slack.TableCell, len(row))
	for i, c := range row {
		if c == "" {
			c = " "
		}
		cells[i] = slack.NewTableRawTextCell(c)
	}
	return cells
}

func rowSize(row []string) int {
	n := 0
	for _, c := range row {
		n += len(c) + 30 // the JSON around each cell
	}
	return n
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
