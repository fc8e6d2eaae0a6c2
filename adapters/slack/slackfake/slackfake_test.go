package slackfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestFakeWithTheRealClient(t *testing.T) {
	s := New(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	_, root, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(root), slack.MsgOptionBroadcast())
	if err != nil {
		t.Fatal(err)
	}
	if root != "1700000000.000001" || reply != "1700000000.000002" {
		t.Errorf("ts %s, %s; want monotonic values", root, reply)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", root, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message("C1", root); m.Text != "edited" || m.Updates != 1 {
		t.Errorf("root after update: %+v", m)
	}
	if ms := s.Messages("C1"); len(ms) != 2 || ms[1].ThreadTS != root || !ms[1].Broadcast {
		t.Errorf("messages: %+v", ms)
	}
	for name, err := range map[string]error{
		"unknown thread": second(api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false), slack.MsgOptionTS("1.2"))),
		"unknown message": func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, "C1", "9.9", slack.MsgOptionText("x", false))
			return err
		}(),
		"too many blocks": second(api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(manyBlocks(51)...))),
		"long section":    second(api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)))),
		"wrong token":     second(slack.New("xoxb-other", slack.OptionAPIURL(s.APIURL())).PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s.FailNext("chat.postEphemeral", 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	_, err = api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Errorf("429: %v", err)
	}
	if _, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after the failure: %v", err)
	}
	s.SetUserGroup("S1", "U1", "U2")
	if users, err := api.GetUserGroupMembersContext(ctx, "S1"); err != nil || len(users) != 2 {
		t.Errorf("group members %v %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S9"); err == nil || !strings.Contains(err.Error(), "no_such_subteam") {
		t.Errorf("unknown group: %v", err)
	}
}

func second[T, U any](_ T, _ U, err error) error { return err }

func manyBlocks(n int) []slack.Block {
	out := make([]slack.Block, n)
	for i := range out {
		out[i] = slack.NewDividerBlock()
	}
	return out
}

// SignedRequest signs as Slack does: slack-go's verifier accepts it, and refuses it once the body changed.
func TestSignedRequest(t *testing.T) {
	s := New(t)
	form := s.CommandForm("C1", "U1", "help", "T1")
	req := SignedRequest(t, s.URL+"/x", "secret", time.Now(), form)
	verify := func(body string) error {
		sv, err := slack.NewSecretsVerifier(req.Header, "secret")
		if err != nil {
			return err
		}
		sv.Write([]byte(body))
		return sv.Ensure()
	}
	if err := verify(form.Encode()); err != nil {
		t.Errorf("signed request refused: %v", err)
	}
	if err := verify(form.Encode() + "&x=1"); err == nil {
		t.Error("a changed body was accepted")
	}
	parsed, err := slack.SlashCommandParse(SignedRequest(t, s.URL+"/x", "secret", time.Now(), form))
	if err != nil || parsed.Text != "help" || parsed.TriggerID != "T1" || parsed.ResponseURL != s.ResponseURL("T1") {
		t.Errorf("parsed %+v %v", parsed, err)
	}
}
