package slack

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/shipgate/shipgate/adapters/chatlimit"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/bot"
)

// A rate limit is logged, once a minute per method, with the Retry-After Slack gave; the call is
// handed back to the bot to retry after it.
func TestRateLimitWarning(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddChannel("C0RATE")
	var buf bytes.Buffer
	c := NewClient(slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL())), nil)
	c.limits = chatlimit.New(slog.New(slog.NewTextHandler(&buf, nil)), nil)
	fake.FailNext("chat.postMessage", 3, slackfake.Failure{Status: 429, RetryAfter: 3 * time.Second})
	for range 3 {
		_, err := c.Post(t.Context(), "C0RATE", bot.Message{Text: "hello"}, bot.PostOptions{})
		var rl *bot.RetryLater
		if !errors.As(err, &rl) || rl.After != 3*time.Second {
			t.Fatalf("err = %v, want a retry after 3s", err)
		}
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 || !strings.Contains(buf.String(), "platform=slack method=chat.postMessage retry_after=3s") {
		t.Errorf("%d warnings:\n%s", n, buf.String())
	}
}
