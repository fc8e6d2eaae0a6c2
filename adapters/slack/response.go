package slack

import (
	"github.com/slack-go/slack"
)

// commandAnswer is the message a slash command is answered with in the HTTP response (or a Socket Mode
// ack), as Slack documents it (https://docs.slack.dev/interactivity/implementing-slash-commands#responding_to_commands):
// response_type, text and blocks. slack-go's Msg would also send replace_original, delete_original and an
// empty metadata object, none of which belong to this answer.
type commandAnswer struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

// responseMessage is what a response_url takes (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses):
// an ephemeral message to the person who acted, which does not replace the message they clicked.
func responseMessage(blocks []slack.Block, text string) *slack.WebhookMessage {
	msg := &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false}
	if len(blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	return msg
}
