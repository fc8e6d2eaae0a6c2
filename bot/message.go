package bot

import "strings"

// Message is a chat message in no platform's format: the Slack, Discord and web adapters each render it.
// Text may hold user mentions written <@ID>, which Slack and Discord both understand, and `code`
// spans; any other formatting is the renderer's.
type Message struct {
	// Header is the title line.
	Header string
	// Text is the body, one or more lines.
	Text string
	// Fields are label/value pairs that renderers lay out side by side.
	Fields []Field
	// Stages is the status line of a delivery: one entry per stage of its shipyard, in order.
	Stages []StageStatus
	// Table is a score table.
	Table *Table
	// Buttons are the actions the message offers; each click comes back with its ActionID and Value.
	Buttons []Button
	// Context lines are small print under the message.
	Context []string
	// Links point to shipgate's own pages and the like.
	Links []Link
	// Code is preformatted text, such as a diff, shown as a code block after the text.
	Code *CodeBlock `json:",omitempty"`
	// Notify names whom the message asks to act, such as a pending approval's approvers. Platforms notify
	// exactly these: Slack through mentions in the message's text, Discord through the content's mentions
	// and allowed_mentions. Other mentions in the message are shown without notifying anyone where the
	// platform can tell the two apart (Discord); a message without Notify notifies nobody there.
	Notify []Mention `json:",omitempty"`
}

// CodeBlock is preformatted text. A platform shows it as a code block when it fits in a message, and
// otherwise as a file named Filename (Slack's file upload, a Discord attachment) or cut with a note.
type CodeBlock struct {
	// Language names the syntax for highlighting: "diff".
	Language string
	Text     string
	// Filename is the file's name when the text goes as a file.
	Filename string
}

// Mention is a person, or a platform group (a Slack user group, a Discord role), to notify.
type Mention struct {
	ID    string
	Group bool
}

// Field is one label/value pair.
type Field struct {
	Label string
	Value string
}

// StageState is how far a delivery got in one stage.
type StageState string

// Stage states, as the root card shows them.
const (
	StageNotReached StageState = "not-reached"
	StageQueued     StageState = "queued"
	StageRunning    StageState = "running"
	StageWaiting    StageState = "waiting-for-approval"
	StagePaused     StageState = "paused"
	StageFrozen     StageState = "frozen"
	StagePassed     StageState = "passed"
	StageWarning    StageState = "warning"
	StageFailed     StageState = "failed"
	StageAborted    StageState = "aborted"
	StageTimedOut   StageState = "timed-out"
)

// StageStates returns every stage state, in the order a delivery may meet them: the one list of them.
func StageStates() []StageState {
	return []StageState{StageNotReached, StageQueued, StageFrozen, StageRunning, StageWaiting, StagePaused, StagePassed,
		StageWarning, StageFailed, StageAborted, StageTimedOut}
}

// Emoji is the state's mark on the status line.
func (s StageState) Emoji() string {
	switch s {
	case StageQueued:
		return "🕓"
	case StageRunning:
		return "⏳"
	case StageWaiting:
		return "✋"
	case StagePaused:
		return "⏸️"
	case StageFrozen:
		return "❄️"
	case StagePassed:
		return "✅"
	case StageWarning:
		return "⚠️"
	case StageFailed:
		return "❌"
	case StageAborted:
		return "🛑"
	case StageTimedOut:
		return "⌛"
	}
	return "·"
}

// StageStatus is one stage on a delivery's status line.
type StageStatus struct {
	Stage string
	State StageState
	// Detail is a short note such as "rollback ✅" or "1 of 2 approvals".
	Detail string
}

// String is the stage as the status line shows it: "qa ✅", "production ✋ 1 of 2 approvals".
func (s StageStatus) String() string {
	out := s.Stage + " " + s.State.Emoji()
	if s.Detail != "" {
		out += " " + s.Detail
	}
	return out
}

// StatusLine joins stages as the root card shows them: "qa ✅ · production ⏳".
func StatusLine(stages []StageStatus) string {
	parts := make([]string, len(stages))
	for i, s := range stages {
		parts[i] = s.String()
	}
	return strings.Join(parts, " · ")
}

// Table is a table with a header row, such as an evaluation's score table.
type Table struct {
	Columns []string
	Rows    [][]string
	// Summary is the line under the table (the total score and result).
	Summary string
}

// ButtonStyle colours a button.
type ButtonStyle string

// Button styles.
const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an action on a message. Value is an opaque id that the bot looks up when the button is
// clicked; it never holds a command.
type Button struct {
	ActionID string
	Label    string
	Value    string
	Style    ButtonStyle
	// Confirm, when set, asks the clicker to confirm first (platforms that can).
	Confirm *Confirm
}

// Confirm is a confirmation dialog before a button's action.
type Confirm struct {
	Title, Text, Yes, No string
}

// Link is a labelled URL.
type Link struct {
	Text string
	URL  string
}

// Action ids of the buttons shipgate renders; they are stable so that platforms can route on them.
const (
	ActionApprove = "deliver.approve"
	ActionReject  = "deliver.reject"
)

// Fallback is the message as one plain text, for notifications and clients that show no blocks.
func (m Message) Fallback() string {
	var parts []string
	if m.Header != "" {
		parts = append(parts, m.Header)
	}
	if len(m.Stages) > 0 {
		parts = append(parts, StatusLine(m.Stages))
	}
	if m.Text != "" {
		parts = append(parts, m.Text)
	}
	if m.Table != nil && m.Table.Summary != "" {
		parts = append(parts, m.Table.Summary)
	}
	return strings.Join(parts, "\n")
}
