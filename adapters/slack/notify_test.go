package slack

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/shipgate/shipgate/bot"
)

// liveMention matches what makes Slack notify someone: a user, a user group, or a broadcast.
var liveMention = regexp.MustCompile(`<@[A-Z0-9]+>|<!subteam\^[A-Z0-9]+>|<!(channel|here|everyone)>`)

// A message with Notify notifies exactly them: its top-level text, which Slack notifies from, mentions
// them and nobody else, even when the message's text mentions others; and its blocks open with the same
// line, so what people see matches the notification.
func TestNotifyMentionsExactlyWhomItNames(t *testing.T) {
	m := bot.Message{Header: "Approval: helloservice v2 to production", Text: "Requested by <@UDEV1> <!channel>",
		Notify: []bot.Mention{{ID: "UOPS1"}, {ID: "UQA1"}, {ID: "SREL1", Group: true}, {ID: "<!channel>"}}}
	blocks, text := render(m, true)
	const line = "🔔 <@UOPS1> <@UQA1> <!subteam^SREL1> &lt;!channel&gt;"
	if got := liveMention.FindAllString(text, -1); !slices.Equal(got, []string{"<@UOPS1>", "<@UQA1>", "<!subteam^SREL1>"}) {
		t.Errorf("text %q mentions %v", text, got)
	}
	if want := line + "\nApproval: helloservice v2 to production\nRequested by &lt;@UDEV1&gt; &lt;!channel&gt;"; text != want {
		t.Errorf("text\n%q, want\n%q", text, want)
	}
	var first struct {
		Type    string `json:"type"`
		BlockID string `json:"block_id"`
		Text    struct{ Type, Text string }
	}
	raw, _ := json.Marshal(blocks[0])
	if err := json.Unmarshal(raw, &first); err != nil || first.Type != "section" || first.BlockID != "notify" || first.Text.Type != "mrkdwn" || first.Text.Text != line {
		t.Errorf("first block %s: %v", raw, err)
	}
	// The blocks still show the message's own mention (Slack shows it; it is not whom the message asks).
	all, _ := json.Marshal(blocks)
	if !regexp.MustCompile(`Requested by <@UDEV1> &lt;!channel&gt;`).Match([]byte(unescapeJSON.Replace(string(all)))) {
		t.Errorf("blocks: %s", all)
	}
}

// Without Notify a message opens with its header, as before, and its text keeps the bot's own mentions.
func TestNoNotifyNoLine(t *testing.T) {
	blocks, text := render(bot.Message{Header: "Delivery #1", Text: "✅ Approved by <@UOPS1>"}, true)
	if len(blocks) == 0 || blocks[0].BlockType() != "header" {
		t.Errorf("first block %v", blocks)
	}
	if text != "Delivery #1\n✅ Approved by <@UOPS1>" {
		t.Errorf("text %q", text)
	}
}
