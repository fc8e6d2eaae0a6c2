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

// A code block too long for a message goes into the thread as a file, through the three calls of
// files.uploadV2, before the message that says where it is; a short one stays in the message.
func TestPostUploadsLongCode(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddChannel("C0DIFF")
	c := NewClient(slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL())), nil)
	root, err := c.Post(t.Context(), "C0DIFF", bot.Message{Text: "root card"}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("-  key: old & <value>\n+  key: new & <value>\n", 400)
	m := bot.Message{Text: "production · what changes", Code: &bot.CodeBlock{Language: "diff", Text: long, Filename: "delivery-7-production.diff"}}
	if _, err := c.Post(t.Context(), "C0DIFF", m, bot.PostOptions{Thread: root.Thread}); err != nil {
		t.Fatal(err)
	}
	files := fake.Files("C0DIFF")
	if len(files) != 1 || string(files[0].Content) != long || files[0].ThreadTS != root.Thread || files[0].Name != "delivery-7-production.diff" ||
		files[0].SnippetType != "diff" || files[0].Length != len(long) {
		t.Fatalf("files %+v", files)
	}
	var methods []string
	for _, call := range fake.Calls() {
		methods = append(methods, call.Method)
	}
	if got, want := strings.Join(methods, " "), "chat.postMessage files.getUploadURLExternal upload files.completeUploadExternal chat.postMessage"; got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
	msgs := fake.Messages("C0DIFF")
	if last := msgs[len(msgs)-1]; !strings.Contains(string(last.Blocks), "the file `delivery-7-production.diff` in this thread") || strings.Contains(string(last.Blocks), "key: old") {
		t.Fatalf("message %s", last.Blocks)
	}

	short := bot.Message{Text: "short", Code: &bot.CodeBlock{Language: "diff", Text: "-a\n+b\n", Filename: "x.diff"}}
	if _, err := c.Post(t.Context(), "C0DIFF", short, bot.PostOptions{Thread: root.Thread}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Files("C0DIFF")); n != 1 {
		t.Fatalf("%d files after a short code block, want 1", n)
	}
}
