package slack

import (
	"regexp"
	"strings"

	"github.com/shipgate/shipgate/bot"
)

// slackID matches the ids Slack issues (users U… or W…, user groups S…); anything else in a role list
// is shown as text, never written into a mention's markup.
var slackID = regexp.MustCompile(`^[A-Z0-9]+$`)

// notifyLine is the line that asks a message's Notify to act: a bell and their mentions, users as
// <@U…> and user groups as <!subteam^S…>, which is what makes Slack notify them; "" for nobody.
func notifyLine(ns []bot.Mention) string {
	if len(ns) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		switch {
		case !slackID.MatchString(n.ID):
			parts = append(parts, escapeRaw(n.ID))
		case n.Group:
			parts = append(parts, "<!subteam^"+n.ID+">")
		default:
			parts = append(parts, "<@"+n.ID+">")
		}
	}
	return "🔔 " + strings.Join(parts, " ")
}

// fallbackText is a message's top-level text. Slack shows it in notifications, and notifies whom it
// mentions, so it is escaped like the blocks: text from a task cannot ping a channel from there. A
// message with Notify opens with the same line as its blocks, and mentions nobody else: the rest is
// escaped whole, the bot's own mentions too.
func fallbackText(m bot.Message, notify string) string {
	if notify == "" {
		return cutMrkdwn(escape(m.Fallback()), maxFallbackText)
	}
	return cutMrkdwn(notify+"\n"+escapeRaw(m.Fallback()), maxFallbackText)
}
