package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// consoleMessage is a message of the demo console's channel as /web/state gives it, with its JSON.
type consoleMessage struct {
	ID         string `json:"id"`
	Thread     string `json:"thread"`
	Root       bool   `json:"root"`
	Broadcast  bool   `json:"broadcast"`
	Seq        int64  `json:"seq"`
	Version    int64  `json:"version"`
	Header     string `json:"header"`
	StatusLine string `json:"statusLine"`
	Table      *struct {
		Rows    [][]string `json:"rows"`
		Summary string     `json:"summary"`
	} `json:"table"`
	Buttons []json.RawMessage `json:"buttons"`
	raw     json.RawMessage
}

// consoleState reads the demo channel's messages from the console.
func (d *demoProcess) consoleState(t *testing.T) []consoleMessage {
	t.Helper()
	resp, err := http.Get(d.url + "/web/state?channel=demo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		t.Fatalf("/web/state: %v", err)
	}
	out := make([]consoleMessage, len(state.Messages))
	for i, raw := range state.Messages {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
		out[i].raw = raw
	}
	return out
}

// The demo restarted on the same data shows its channel as it was: the root card, the thread's replies
// in order with the score table, and the approval request, which still takes a click.
func TestDemoConsoleAfterARestart(t *testing.T) {
	d := startDemo(t)
	if code, out := d.post("/web/command", map[string]any{"channel": "demo", "user": "dana", "text": "/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"}); code != http.StatusOK {
		t.Fatalf("/deliver = %d %v", code, out)
	}
	var before []consoleMessage
	deadline := time.Now().Add(2 * time.Minute)
	for {
		before = d.consoleState(t)
		var table, approval, waiting bool
		for _, m := range before {
			table = table || (m.Table != nil && strings.Contains(m.Table.Summary, "PASS"))
			approval = approval || (strings.HasPrefix(m.Header, "Approval:") && len(m.Buttons) == 2)
			waiting = waiting || (m.Root && strings.Contains(m.StatusLine, "production ✋"))
		}
		if table && approval && waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("qa did not pass with its score table and an approval request:\n%+v\nshipgate demo said:\n%s", before, d.out)
		}
		time.Sleep(200 * time.Millisecond) // another process: the test polls its state
	}
	if err := d.stop(); err != nil {
		t.Fatalf("shipgate demo after SIGTERM: %v\n%s", err, d.out)
	}

	d = startDemoIn(t, d.data)
	after := d.consoleState(t)
	if len(after) != len(before) {
		t.Fatalf("%d messages after the restart, want the %d from before:\n%+v", len(after), len(before), after)
	}
	seen := map[string]bool{}
	var approval consoleMessage
	for i, m := range after {
		was := before[i]
		if seen[m.ID] {
			t.Errorf("message %s is there twice", m.ID)
		}
		seen[m.ID] = true
		switch {
		case m.ID != was.ID || m.Seq != was.Seq || m.Thread != was.Thread:
			t.Errorf("message %d is %s (seq %d, thread %s) after the restart, %s (seq %d, thread %s) before", i, m.ID, m.Seq, m.Thread, was.ID, was.Seq, was.Thread)
		case m.Root || m.Broadcast:
			// The card and the approval request may have been edited since: by the last edits before
			// the stop, and the catch-up after the start.
			if m.Version < was.Version {
				t.Errorf("message %s is at version %d after the restart, %d before", m.ID, m.Version, was.Version)
			}
		case !bytes.Equal(m.raw, was.raw):
			t.Errorf("reply %d after the restart\n%s\nbefore\n%s", i, m.raw, was.raw)
		}
		if m.Broadcast {
			approval = m
		}
	}
	if approval.ID == "" {
		t.Fatal("no approval request after the restart")
	}
	var value struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(approval.Buttons[0], &value); err != nil {
		t.Fatal(err)
	}
	code, out := d.post("/web/click", map[string]any{"channel": "demo", "user": "ann", "messageId": approval.ID, "actionId": "deliver.approve", "value": value.Value})
	private, _ := out["private"].(map[string]any)
	if text, _ := private["text"].(string); code != http.StatusOK || !strings.Contains(text, "counted") {
		t.Fatalf("Ann's approval after the restart: %d %v", code, out)
	}
	d.waitForMessage(t, "the approval decided in place", func(text string) bool { return strings.Contains(text, "Approved by <@ann>") })
	final := d.consoleState(t)
	seen = map[string]bool{}
	for _, m := range final {
		if seen[m.ID] {
			t.Errorf("message %s is there twice after the approval", m.ID)
		}
		seen[m.ID] = true
	}
}
