package slackfake

import (
	"context"
	"net/url"
	"testing"

	"github.com/slack-go/slack"
)

// chat.postMessage, "Errors" (https://docs.slack.dev/reference/methods/chat.postMessage):
// channel_not_found for a channel that does not exist, not_in_channel for one the bot is not in.
func TestPostMessageNeedsAChannelTheBotIsIn(t *testing.T) {
	f := New(t)
	f.AddChannel("CIN")
	f.AddChannelWithoutBot("COUT")
	api := client(f)
	ctx := context.Background()
	for channel, want := range map[string]string{"CIN": "", "COUT": "not_in_channel", "CNONE": "channel_not_found", "": "channel_not_found"} {
		_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("hello", false))
		if slackError(err) != want || (want == "") != (err == nil) {
			t.Errorf("post to %q: %v, want %q", channel, err, want)
		}
	}
	if ms := f.Messages("COUT"); len(ms) != 0 {
		t.Errorf("a refused post was kept: %+v", ms)
	}
	// Inviting the bot later makes the channel postable.
	f.AddChannel("COUT")
	if _, _, err := api.PostMessageContext(ctx, "COUT", slack.MsgOptionText("hello", false)); err != nil {
		t.Errorf("post after the bot was invited: %v", err)
	}
}

// chat.postEphemeral, "Errors" (https://docs.slack.dev/reference/methods/chat.postEphemeral):
// channel_not_found, not_in_channel, and user_not_in_channel when the recipient is not in the channel.
func TestPostEphemeralNeedsTheBotAndTheUserInTheChannel(t *testing.T) {
	f := New(t)
	f.AddChannel("CIN")
	f.AddMembers("CIN", "U1")
	f.AddChannelWithoutBot("COUT")
	f.AddMembers("COUT", "U1")
	api := client(f)
	ctx := context.Background()
	for _, tt := range []struct{ channel, user, want string }{
		{"CIN", "U1", ""},
		{"CIN", "U2", "user_not_in_channel"},
		{"CIN", "", "user_not_in_channel"},
		{"COUT", "U1", "not_in_channel"},
		{"CNONE", "U1", "channel_not_found"},
	} {
		_, err := api.PostEphemeralContext(ctx, tt.channel, tt.user, slack.MsgOptionText("psst", false))
		if slackError(err) != tt.want || (tt.want == "") != (err == nil) {
			t.Errorf("ephemeral to %s in %s: %v, want %q", tt.user, tt.channel, err, tt.want)
		}
	}
	if c := f.CallsTo("chat.postEphemeral"); len(c) != 5 || c[1].Error != "user_not_in_channel" || c[3].Error != "not_in_channel" {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
}

// chat.update, "Errors" (https://docs.slack.dev/reference/methods/chat.update) has no not_in_channel:
// a channel that does not exist, or that the bot is not in, is channel_not_found; a message that does
// not exist in a channel the bot is in is message_not_found.
func TestUpdateNeedsAChannelTheBotIsIn(t *testing.T) {
	f := New(t)
	f.AddChannel("CIN")
	f.AddChannelWithoutBot("COUT")
	for _, tt := range []struct{ channel, ts, want string }{
		{"CIN", "1.000001", "message_not_found"},
		{"COUT", "1.000001", "channel_not_found"},
		{"CNONE", "1.000001", "channel_not_found"},
	} {
		_, _, body := raw(t, f, "chat.update", url.Values{"channel": {tt.channel}, "ts": {tt.ts}, "text": {"x"}})
		if errorOf(body) != tt.want {
			t.Errorf("update in %s: %v, want %q", tt.channel, body, tt.want)
		}
	}
}

func TestAddMembersNeedsADeclaredChannel(t *testing.T) {
	f := New(t)
	defer func() {
		if recover() == nil {
			t.Error("AddMembers to an undeclared channel did not panic")
		}
	}()
	f.AddMembers("CNONE", "U1")
}
