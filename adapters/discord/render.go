package discord

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/truncate"
)

// Discord's message limits (spec/chat-platforms.md D10-D14, and Discord's embed limits). Lengths are
// counted in bytes, which is never less than the characters Discord counts, so a message measured
// here is never too long there.
const (
	maxContent      = 2000
	maxEmbedTotal   = 6000 // title, description, field names and values, and footer of all embeds
	maxTitle        = 256
	maxDescription  = 4096
	maxFields       = 25
	maxFieldName    = 256
	maxFieldValue   = 1024
	maxFooter       = 2048
	maxActionRows   = 5
	maxRowButtons   = 5
	maxButtonLabel  = 80
	maxCustomID     = 100
	maxModalTitle   = 45
	maxInputLabel   = 45
	maxPlaceholder  = 100
	maxReasonLength = 1000
	maxThreadName   = 100
)

// Sizes the renderer gives the parts of an embed that compete for room.
const (
	maxStatusLine = 1024 // the stage status line
	maxSummary    = 512  // the line under a score table
	maxLinks      = 1024
	noteRoom      = 192 // cut notes and the newlines between the parts of the description
	minTextRoom   = 1024
	minTableRoom  = 1024
	maxCellWidth  = 24 // characters of a table cell; longer cells are cut so that rows stay readable
	inlineField   = 40 // characters up to which a field value sits beside others
)

// Embed colours: by the overall state of a delivery's stages.
const (
	colourPass    = 0x57F287
	colourFail    = 0xED4245
	colourWaiting = 0xFAA61A
	colourOther   = 0x99AAB5
)

// discordMessage is a bot message as Discord shows it: one embed (title, description, fields, footer)
// and its buttons, and in its content the mentions of whom it notifies. The helpers below put it in the
// shape of each call that sends or edits a message.
type discordMessage struct {
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	// mentions are the users and roles the content pings; nobody else is.
	mentions allowedMentions
	// dropped says why buttons were left out, for the caller to log.
	dropped []string
	// files are attachments: a code block too long for the embed.
	files []*discordgo.File
}

// allowed is the message's allowed_mentions: exactly the users and roles its content names (a bot
// message's Notify), never @everyone, and nobody a task's output or a quoted reason names.
func (d discordMessage) allowed() *allowedMentions {
	return &allowedMentions{Parse: []string{}, Users: d.mentions.Users, Roles: d.mentions.Roles}
}

// create is the message for POST /channels/{id}/messages.
func (d discordMessage) create() *messageCreate {
	mc := &messageCreate{Content: d.Content, Embeds: d.Embeds, Components: d.Components, AllowedMentions: d.allowed(), files: d.files}
	// Each file is described by the attachment whose id is its files[n] index
	// (https://discord.com/developers/docs/reference#uploading-files).
	for i, f := range d.files {
		mc.Attachments = append(mc.Attachments, attachment{ID: i, Filename: f.Name})
	}
	return mc
}

// edit replaces a message entirely: content, embeds and buttons are all sent, so that a decided approval
// loses its buttons.
func (d discordMessage) edit() *messageEdit {
	e := &messageEdit{Content: d.Content, Embeds: d.Embeds, Components: d.Components, AllowedMentions: d.allowed()}
	if e.Embeds == nil {
		e.Embeds = []*discordgo.MessageEmbed{}
	}
	if e.Components == nil {
		e.Components = []discordgo.MessageComponent{}
	}
	return e
}

// callback is the message as an interaction's response data; the caller sets
// discordgo.MessageFlagsEphemeral in Flags for an answer only the asker sees.
func (d discordMessage) callback() *messageCallback {
	return &messageCallback{Content: d.Content, Embeds: d.Embeds, Components: d.Components, AllowedMentions: d.allowed()}
}

// maxMentions is how many users, and how many roles, allowed_mentions may name.
const maxMentions = 100

// snowflake matches the ids Discord gives users and roles; anything else in a Notify list is not a
// Discord id and is not mentioned.
var snowflake = regexp.MustCompile(`^[0-9]{1,20}$`)

// notifyLine writes the mentions of whom a message notifies, users as <@id> and roles as <@&id>, and
// returns them with the allowed_mentions that let exactly them ping.
func notifyLine(notify []bot.Mention) (string, allowedMentions) {
	var words []string
	var am allowedMentions
	for _, n := range notify {
		switch {
		case !snowflake.MatchString(n.ID):
		case n.Group && len(am.Roles) < maxMentions:
			am.Roles = append(am.Roles, n.ID)
			words = append(words, "<@&"+n.ID+">")
		case !n.Group && len(am.Users) < maxMentions:
			am.Users = append(am.Users, n.ID)
			words = append(words, "<@"+n.ID+">")
		}
	}
	if len(words) == 0 {
		return "", am
	}
	return truncate.Bytes("🔔 "+strings.Join(words, " "), maxContent), am
}

// renderMessage lays a bot message out as one embed: the header as its title; the stage status line,
// the text, the score table (a code block), the table's summary and the links as its description; the
// fields as embed fields; the context lines as its footer; and the buttons in action rows. Whatever does
// not fit Discord's limits is cut with a visible ✂️ note: a message is never refused for its size.
//
// Buttons' Confirm dialogs are not shown: Discord has no confirmation on buttons. Reject asks for a
// reason in a modal, which serves as its confirmation; Approve acts at once.
func renderMessage(m bot.Message) discordMessage {
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Color: stageColour(m.Stages)}
	e.Title = truncate.Bytes(escape(m.Header), maxTitle)
	if len(m.Context) > 0 {
		// Footers show no markdown, so the context is not escaped, only kept from pinging.
		e.Footer = &discordgo.MessageEmbedFooter{Text: truncate.Bytes(neutralise(strings.Join(m.Context, "\n")), maxFooter)}
	}
	budget := maxEmbedTotal - len(e.Title) - footerLen(e)

	var status, summary, links string
	if len(m.Stages) > 0 {
		status = truncate.Bytes(escape(bot.StatusLine(m.Stages)), maxStatusLine)
	}
	if m.Table != nil && m.Table.Summary != "" {
		summary = "**" + truncate.Bytes(escape(m.Table.Summary), maxSummary-4) + "**"
	}
	links = renderLinks(m.Links)
	code, file := renderCode(m.Code)
	fixed := len(status) + len(summary) + len(links) + len(code) + noteRoom
	text := escape(m.Text)
	var table *tableLayout
	tableNeed := 0
	if m.Table != nil && (len(m.Table.Columns) > 0 || len(m.Table.Rows) > 0) {
		table = layoutTable(m.Table)
		tableNeed = table.size(len(table.rows))
	}

	// Fields first, but never at the cost of the room the text and the table need at least.
	room := budget - fixed
	fieldRoom := room - min(len(text), minTextRoom) - min(tableNeed, minTableRoom)
	var notes []string
	used := 0
	for i, f := range m.Fields {
		field := renderField(f)
		size := len(field.Name) + len(field.Value)
		if i == maxFields || used+size > fieldRoom {
			notes = append(notes, fmt.Sprintf("✂️ %d more fields", len(m.Fields)-i))
			break
		}
		e.Fields = append(e.Fields, field)
		used += size
	}

	// The description gets what the fields left, within its own limit.
	descRoom := min(maxDescription-fixed, room-used)
	textRoom := descRoom
	if table != nil {
		textRoom = max(descRoom-tableNeed, min(len(text), descRoom/2))
	}
	if len(text) > textRoom {
		text = cutLines(text, textRoom-len(textCutNote)-1) + "\n" + textCutNote
	}
	var parts []string
	for _, p := range []string{status, text, code} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if table != nil {
		parts = append(parts, table.render(descRoom-len(text)))
	}
	for _, p := range append([]string{summary, links}, notes...) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	e.Description = strings.Join(parts, "\n")
	fit(e)
	if e.Title == "" && e.Description == "" && len(e.Fields) == 0 && e.Footer == nil {
		e.Description = "\u200b" // Discord refuses an empty embed
	}

	d := discordMessage{Embeds: []*discordgo.MessageEmbed{e}}
	d.Content, d.mentions = notifyLine(m.Notify)
	d.Components, d.dropped = renderButtons(m.Buttons)
	if file != nil {
		d.files = []*discordgo.File{file}
	}
	return d
}

// maxInlineCode bounds a code block shown in the embed's description, fences included; a longer one
// is attached to the message as a file, which Discord shows with its own preview.
const maxInlineCode = 3000

// renderCode is a code block for the description, or, when it is too long, a line saying it is
// attached and the file to attach.
func renderCode(c *bot.CodeBlock) (string, *discordgo.File) {
	if c == nil {
		return "", nil
	}
	// A fence inside the text would end the block early; a zero-width space keeps it apart.
	body := strings.ReplaceAll(strings.TrimRight(c.Text, "\n"), "```", "`\u200b``")
	block := "```" + c.Language + "\n" + body + "\n```"
	if len(block) <= maxInlineCode {
		return block, nil
	}
	n := strings.Count(body, "\n") + 1
	return fmt.Sprintf("📎 %d lines, too long for a message: attached as `%s`", n, escape(c.Filename)),
		&discordgo.File{Name: c.Filename, ContentType: "text/plain; charset=utf-8", Reader: strings.NewReader(c.Text)}
}

const textCutNote = "✂️ cut to fit Discord's limits"

func footerLen(e *discordgo.MessageEmbed) int {
	if e.Footer == nil {
		return 0
	}
	return len(e.Footer.Text)
}

// fit enforces the embed limits whatever the layout above decided: it drops fields from the end and
// then cuts the description until the embed is within them.
func fit(e *discordgo.MessageEmbed) {
	e.Description = truncate.Bytes(e.Description, maxDescription)
	for embedSize(e) > maxEmbedTotal && len(e.Fields) > 0 {
		e.Fields = e.Fields[:len(e.Fields)-1]
	}
	if over := embedSize(e) - maxEmbedTotal; over > 0 {
		e.Description = truncate.Bytes(e.Description, max(len(e.Description)-over, len(truncate.Marker)))
	}
}

// embedSize is what Discord counts against the 6,000 characters of a message's embeds.
func embedSize(e *discordgo.MessageEmbed) int {
	n := len(e.Title) + len(e.Description) + footerLen(e)
	if e.Author != nil {
		n += len(e.Author.Name)
	}
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value)
	}
	return n
}

// stageColour colours a delivery's embed: red when a stage failed or timed out, amber when one waits
// for approval, is paused or warned, green when every stage passed, grey while running or when
// aborted. Messages without stages keep Discord's default.
func stageColour(stages []bot.StageStatus) int {
	if len(stages) == 0 {
		return 0
	}
	colour := colourPass
	for _, s := range stages {
		switch s.State {
		case bot.StageFailed, bot.StageTimedOut:
			return colourFail
		case bot.StageWaiting, bot.StagePaused, bot.StageFrozen, bot.StageWarning:
			colour = colourWaiting
		case bot.StagePassed:
		default:
			if colour == colourPass {
				colour = colourOther
			}
		}
	}
	return colour
}

func renderField(f bot.Field) *discordgo.MessageEmbedField {
	name := truncate.Bytes(escape(f.Label), maxFieldName)
	if name == "" {
		name = "\u200b" // Discord refuses empty field names and values
	}
	value := truncate.Bytes(escape(f.Value), maxFieldValue)
	if value == "" {
		value = "—"
	}
	inline := utf8.RuneCountInString(f.Value) <= inlineField && !strings.Contains(f.Value, "\n")
	return &discordgo.MessageEmbedField{Name: name, Value: value, Inline: inline}
}

// renderLinks writes links as markdown links on one line, as many as fit maxLinks.
func renderLinks(links []bot.Link) string {
	var out []string
	size := 0
	for _, l := range links {
		text := escape(l.Text)
		if text == "" {
			text = escape(l.URL)
		}
		// The bot writes the URLs itself; only what would end the link early is encoded.
		link := "[" + text + "](" + linkURL.Replace(l.URL) + ")"
		if size+len(link)+3 > maxLinks {
			break
		}
		out = append(out, link)
		size += len(link) + 3
	}
	return strings.Join(out, " · ")
}

var linkURL = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")

// cutLines cuts text to n bytes, at a line end when there is one in the second half.
func cutLines(text string, n int) string {
	if len(text) <= n {
		return text
	}
	if n < len(truncate.Marker) {
		return ""
	}
	cut := truncate.Bytes(text, n)
	if i := strings.LastIndex(cut, "\n"); i > n/2 {
		return cut[:i]
	}
	return cut
}

// tableLayout is a score table padded into columns for a code block.
type tableLayout struct {
	header    string
	rows      []string
	truncated bool
}

// layoutTable pads every cell to its column's width (in characters, cells cut at maxCellWidth).
// Cells are quoted in a code block, where Discord shows markdown and mentions as they are; only
// backticks, which would end the block, and @everyone are changed.
func layoutTable(t *bot.Table) *tableLayout {
	cols := len(t.Columns)
	for _, r := range t.Rows {
		cols = max(cols, len(r))
	}
	cell := func(row []string, i int) string {
		if i >= len(row) {
			return ""
		}
		return truncate.Runes(tableCell.Replace(row[i]), maxCellWidth)
	}
	widths := make([]int, cols)
	for i := range cols {
		widths[i] = utf8.RuneCountInString(cell(t.Columns, i))
		for _, r := range t.Rows {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell(r, i)))
		}
	}
	line := func(row []string) string {
		var b strings.Builder
		for i := range cols {
			c := cell(row, i)
			b.WriteString(c)
			if i < cols-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		return neutralise(strings.TrimRight(b.String(), " "))
	}
	l := &tableLayout{}
	if len(t.Columns) > 0 {
		rule := make([]string, cols)
		for i, w := range widths {
			rule[i] = strings.Repeat("-", w)
		}
		l.header = line(t.Columns) + "\n" + strings.Join(rule, "  ")
	}
	for _, r := range t.Rows {
		l.rows = append(l.rows, line(r))
	}
	return l
}

var tableCell = strings.NewReplacer("`", "ˋ", "\n", " ", "\r", " ", "\t", " ")

const codeFence = "```"

// size is the length of the code block with the first n rows.
func (l *tableLayout) size(n int) int {
	size := len(codeFence+"\n") + len("\n"+codeFence) + len(l.header)
	for _, r := range l.rows[:n] {
		size += len(r) + 1
	}
	return size
}

// render writes the table as a code block of at most room bytes, with as many rows as fit and a note
// saying how many did not.
func (l *tableLayout) render(room int) string {
	shown := len(l.rows)
	note := ""
	if l.size(shown) > room {
		note = fmt.Sprintf("\n✂️ %d more rows (`shipgate evaluate` prints them all)", len(l.rows))
		room -= len(note) + 2 // the number in the note gets shorter, never longer
		for shown > 0 && l.size(shown) > room {
			shown--
		}
		note = fmt.Sprintf("\n✂️ %d more rows (`shipgate evaluate` prints them all)", len(l.rows)-shown)
		if l.size(shown) > room {
			return strings.TrimPrefix(fmt.Sprintf("\n✂️ the score table (%d rows) did not fit; `shipgate evaluate` prints it", len(l.rows)), "\n")
		}
	}
	lines := make([]string, 0, shown+1)
	if l.header != "" {
		lines = append(lines, l.header)
	}
	lines = append(lines, l.rows[:shown]...)
	return codeFence + "\n" + strings.Join(lines, "\n") + "\n" + codeFence + note
}

// renderButtons puts buttons in action rows of five, up to Discord's five rows. A button Discord would
// refuse (a custom_id over 100 characters, the same custom_id twice, a sixth row) is left out, and why
// is returned for the caller to log; the rest of the message still goes out.
func renderButtons(buttons []bot.Button) ([]discordgo.MessageComponent, []string) {
	var rows []discordgo.MessageComponent
	var row []discordgo.MessageComponent
	var dropped []string
	seen := map[string]bool{}
	flush := func() {
		if len(row) > 0 {
			rows = append(rows, discordgo.ActionsRow{Components: row})
			row = nil
		}
	}
	for _, b := range buttons {
		id := customID(b.ActionID, b.Value)
		switch {
		case len(id) > maxCustomID:
			dropped = append(dropped, fmt.Sprintf("button %q: custom_id of %d characters (Discord allows %d)", b.Label, len(id), maxCustomID))
			continue
		case seen[id]:
			dropped = append(dropped, fmt.Sprintf("button %q: custom_id %q twice in one message", b.Label, id))
			continue
		case len(rows) == maxActionRows:
			dropped = append(dropped, fmt.Sprintf("button %q: more than %d buttons", b.Label, maxActionRows*maxRowButtons))
			continue
		}
		seen[id] = true
		label := truncate.Bytes(b.Label, maxButtonLabel)
		if label == "" {
			label = truncate.Bytes(b.ActionID, maxButtonLabel) // Discord refuses a button without a label or an emoji
		}
		row = append(row, discordgo.Button{Label: label, Style: buttonStyle(b), CustomID: id})
		if len(row) == maxRowButtons {
			flush()
		}
	}
	flush()
	return rows, dropped
}

func buttonStyle(b bot.Button) discordgo.ButtonStyle {
	switch b.Style {
	case bot.StylePrimary:
		if b.ActionID == bot.ActionApprove {
			return discordgo.SuccessButton
		}
		return discordgo.PrimaryButton
	case bot.StyleDanger:
		return discordgo.DangerButton
	}
	return discordgo.SecondaryButton
}

// customID is a button's custom_id: its action and its opaque value, which parseCustomID splits again.
func customID(actionID, value string) string { return actionID + ":" + value }

// parseCustomID splits a clicked button's custom_id into the action and value the bot gave it. The
// value is everything after the first colon; action ids have none.
func parseCustomID(id string) (actionID, value string, ok bool) {
	actionID, value, ok = strings.Cut(id, ":")
	if !ok || actionID == "" {
		return "", "", false
	}
	return actionID, value, true
}

// renderModal asks for a rejection's reason: a modal with one required paragraph input. Modals show no
// text besides their inputs, so the question goes into the input's placeholder.
func renderModal(r *bot.ReasonRequest, customID string) *interactionResponse {
	title := truncate.Bytes(r.Title, maxModalTitle)
	if title == "" {
		title = "Reject"
	}
	input := discordgo.TextInput{
		CustomID:    reasonInputID,
		Label:       truncate.Bytes("Why do you reject it?", maxInputLabel),
		Style:       discordgo.TextInputParagraph,
		Placeholder: truncate.Bytes(r.Summary, maxPlaceholder),
		Required:    true,
		MinLength:   1,
		MaxLength:   maxReasonLength,
	}
	return &interactionResponse{Type: discordgo.InteractionResponseModal, Data: &modalCallback{
		CustomID:   customID,
		Title:      title,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{input}}},
	}}
}

// renderPointer is the one line a broadcast thread reply leaves in the channel: what it is about and a
// link to it (the message when the guild is known, else the thread). It pings the roles the reply
// notifies again: a role mention a bot posts in a thread reaches only the role's members already in
// the thread, whereas a user mention there adds the user to the thread and notifies them, so users are
// pinged by the reply alone and roles here too (twice for members already in the thread).
func renderPointer(m bot.Message, link string) *messageCreate {
	what := m.Header
	if what == "" {
		what, _, _ = strings.Cut(m.Text, "\n")
	}
	if what == "" {
		what = "New in the thread"
	}
	content := "📣 " + truncate.Bytes(escape(what), maxContent/2) + " → " + link
	var roles []bot.Mention
	for _, n := range m.Notify {
		if n.Group {
			roles = append(roles, n)
		}
	}
	line, am := notifyLine(roles)
	if line != "" {
		content += "\n" + line
	}
	d := discordMessage{Content: truncate.Bytes(content, maxContent), mentions: am}
	return d.create()
}

// keep matches what escape leaves alone: the mentions the bot writes (users <@id> and <@!id>, channels
// and threads <#id>), `code` spans (which show their text as it is) and URLs (which Discord links
// before any markdown inside them could apply). Role mentions (<@&id>) are not among them: the bot writes
// every member as <@id> (bot.mention), so a role mention can only come from text it quotes, such as a
// task's output or a rejection reason, and is shown as text.
var keep = regexp.MustCompile("<(?:@!?|#)[0-9A-Za-z]+>|`[^`\n]+`|https?://[^\\s<>`]+")

// escape makes text safe for Discord markdown, as adapters/slack's escape does for mrkdwn: markdown
// characters are backslash-escaped (so that a task's output cannot format, spoil, mask a link or forge
// a mention) except in the mentions, code spans and URLs that keep matches; @everyone and @here never
// ping.
func escape(s string) string {
	var b strings.Builder
	lineStart := true
	last := 0
	for _, loc := range keep.FindAllStringIndex(s, -1) {
		lineStart = escapeMarkdown(&b, s[last:loc[0]], lineStart)
		b.WriteString(s[loc[0]:loc[1]])
		lineStart = false
		last = loc[1]
	}
	escapeMarkdown(&b, s[last:], lineStart)
	return neutralise(b.String())
}

// escapeMarkdown writes s with Discord's markdown characters escaped: everywhere those that format
// inline, and at a line's start those that make quotes, headings and lists. It returns whether s ended
// at a line's start.
func escapeMarkdown(b *strings.Builder, s string, lineStart bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n':
			b.WriteByte('\n')
			lineStart = true
			i += size
			continue
		case lineStart && (r == ' ' || r == '\t'):
			b.WriteRune(r)
			i += size
			continue
		case lineStart && strings.ContainsRune(">#-+", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case lineStart && r >= '0' && r <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString(s[i:j])
			if j < len(s) && s[j] == '.' {
				b.WriteString(`\.`)
				j++
			}
			size = j - i
		case strings.ContainsRune("\\*_~|`[]<", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		lineStart = false
		i += size
	}
	return lineStart
}

var everyone = regexp.MustCompile(`(?i)@(everyone|here)\b`)

// neutralise keeps @everyone and @here from pinging or looking like a ping, with a zero-width space.
func neutralise(s string) string { return everyone.ReplaceAllString(s, "@\u200b$1") }
