package web

import (
	"slices"
	"time"

	"github.com/shipgate/shipgate/bot"
)

// wireMessage is a message as the page receives it: the bot's message model in JSON, with where the
// message is (its id, its thread, whether it is a root card) and its version, which grows with each
// edit so that a page keeps the newest of what it hears from /web/state and /web/events.
type wireMessage struct {
	ID     string `json:"id"`
	Thread string `json:"thread"`
	// Root marks a top-level message: a root card, whose thread has the same id, or a message without
	// a thread.
	Root bool `json:"root"`
	// Broadcast marks a thread reply that is also shown in the channel (an approval request).
	Broadcast bool       `json:"broadcast"`
	Seq       int64      `json:"seq"` // order of posting in the channel
	Version   int64      `json:"version"`
	At        time.Time  `json:"at"`
	Edited    *time.Time `json:"edited,omitempty"`

	Header     string       `json:"header"`
	Text       string       `json:"text"`
	Fields     []wireField  `json:"fields"`
	Stages     []wireStage  `json:"stages"`
	StatusLine string       `json:"statusLine"`
	Table      *wireTable   `json:"table"`
	Buttons    []wireButton `json:"buttons"`
	Context    []string     `json:"context"`
	Links      []wireLink   `json:"links"`
	Code       *wireCode    `json:"code,omitempty"` // absent on messages without one

	// Private marks a message shown to one person only, To.
	Private bool   `json:"private"`
	To      string `json:"to"`
}

type wireField struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

type wireStage struct {
	Stage  string `json:"stage"`
	State  string `json:"state"`
	Emoji  string `json:"emoji"`
	Detail string `json:"detail"`
}

type wireTable struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	Summary string     `json:"summary"`
	// Status is each row's status (pass, warning, fail, info, or ""), read from the Status column, for
	// the row's colour.
	Status []string `json:"status"`
}

type wireButton struct {
	ActionID string       `json:"actionId"`
	Label    string       `json:"label"`
	Value    string       `json:"value"`
	Style    string       `json:"style"`
	Confirm  *wireConfirm `json:"confirm"`
}

type wireConfirm struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	Yes   string `json:"yes"`
	No    string `json:"no"`
}

// wireCode is preformatted text, such as a diff; the page shows it whole, in a block that scrolls.
type wireCode struct {
	Language string `json:"language"`
	Text     string `json:"text"`
	Filename string `json:"filename"`
}

type wireLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// render turns the bot's message into the page's, without its place (id, thread, version).
func render(m bot.Message) wireMessage {
	w := wireMessage{Header: m.Header, Text: m.Text, Context: slices.Clone(m.Context)}
	for _, f := range m.Fields {
		w.Fields = append(w.Fields, wireField{Label: f.Label, Value: f.Value})
	}
	for _, s := range m.Stages {
		w.Stages = append(w.Stages, wireStage{Stage: s.Stage, State: string(s.State), Emoji: s.State.Emoji(), Detail: s.Detail})
	}
	if len(m.Stages) > 0 {
		w.StatusLine = bot.StatusLine(m.Stages)
	}
	if t := m.Table; t != nil {
		w.Table = &wireTable{Columns: slices.Clone(t.Columns), Rows: make([][]string, 0, len(t.Rows)), Summary: t.Summary,
			Status: make([]string, 0, len(t.Rows))}
		status := slices.Index(t.Columns, "Status")
		for _, row := range t.Rows {
			w.Table.Rows = append(w.Table.Rows, slices.Clone(row))
			s := ""
			if status >= 0 && status < len(row) {
				switch row[status] {
				case "pass", "warning", "fail", "info":
					s = row[status]
				}
			}
			w.Table.Status = append(w.Table.Status, s)
		}
	}
	for _, b := range m.Buttons {
		wb := wireButton{ActionID: b.ActionID, Label: b.Label, Value: b.Value, Style: string(b.Style)}
		if c := b.Confirm; c != nil {
			wb.Confirm = &wireConfirm{Title: c.Title, Text: c.Text, Yes: c.Yes, No: c.No}
		}
		w.Buttons = append(w.Buttons, wb)
	}
	for _, l := range m.Links {
		w.Links = append(w.Links, wireLink{Text: l.Text, URL: l.URL})
	}
	if c := m.Code; c != nil {
		w.Code = &wireCode{Language: c.Language, Text: c.Text, Filename: c.Filename}
	}
	return w.normalized()
}

// normalized gives the lists their empty value rather than null, so that the page can walk them as
// they are.
func (w wireMessage) normalized() wireMessage {
	if w.Fields == nil {
		w.Fields = []wireField{}
	}
	if w.Stages == nil {
		w.Stages = []wireStage{}
	}
	if w.Buttons == nil {
		w.Buttons = []wireButton{}
	}
	if w.Context == nil {
		w.Context = []string{}
	}
	if w.Links == nil {
		w.Links = []wireLink{}
	}
	return w
}
