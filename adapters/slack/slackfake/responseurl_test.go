package slackfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// respond posts text to a response_url as slack-go's webhook sender does and returns the HTTP status it
// got, 200 when it succeeded.
func respond(t *testing.T, url, text string) int {
	t.Helper()
	err := slack.PostWebhookContext(context.Background(), url, &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral})
	if err == nil {
		return http.StatusOK
	}
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) {
		t.Fatalf("response_url: %v", err)
	}
	return sc.Code
}

// "You can use response_url up to 5 times within 30 minutes"
// (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses): a sixth use is
// refused with used_url.
func TestResponseURLWorksFiveTimes(t *testing.T) {
	f := New(t)
	u := f.ResponseURL("trig-1")
	for i := range 5 {
		if code := respond(t, u, "answer"); code != http.StatusOK {
			t.Fatalf("use %d: %d", i+1, code)
		}
	}
	if code := respond(t, u, "one too many"); code != http.StatusNotFound {
		t.Errorf("sixth use: %d, want 404", code)
	}
	if c := f.Responses("trig-1"); len(c) != 6 || c[5].Error != "used_url" || c[5].Text != "one too many" || c[4].Error != "" {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	// Each response_url counts its own uses.
	if code := respond(t, f.ResponseURL("trig-2"), "fresh"); code != http.StatusOK {
		t.Errorf("another response_url: %d", code)
	}
}

// ... "within 30 minutes" (same page): after them the URL answers expired_url.
func TestResponseURLExpiresAfterThirtyMinutes(t *testing.T) {
	var elapsed atomic.Int64
	start := time.Unix(1700000000, 0)
	f := New(t, WithClock(func() time.Time { return start.Add(time.Duration(elapsed.Load())) }))
	u := f.ResponseURL("trig-1")
	elapsed.Store(int64(30 * time.Minute))
	if code := respond(t, u, "just in time"); code != http.StatusOK {
		t.Fatalf("at 30 minutes: %d", code)
	}
	// Issuing the same URL again does not renew it.
	if f.ResponseURL("trig-1") != u {
		t.Fatal("the same id issued another URL")
	}
	elapsed.Store(int64(30*time.Minute + time.Second))
	if code := respond(t, u, "too late"); code != http.StatusNotFound {
		t.Errorf("after 30 minutes: %d, want 404", code)
	}
	if c := f.Responses("trig-1"); len(c) != 2 || c[1].Error != "expired_url" {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
}

// Only URLs the fake issued work: any other is a webhook that does not exist, 404 no_service ("Handling
// errors" in https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks).
func TestResponseURLMustBeIssued(t *testing.T) {
	f := New(t)
	if code := respond(t, f.URL+"/response/forged", "hi"); code != http.StatusNotFound {
		t.Errorf("forged response_url: %d, want 404", code)
	}
	if c := f.Responses("forged"); len(c) != 1 || c[0].Error != "no_service" {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	// The inbound builders issue the response_urls they put in payloads.
	cmd := f.CommandForm("C1", "U1", "help", "trig-cmd").Get("response_url")
	click, _ := f.BlockActionPayload("C1", "U1", "1.000001", "", "a", "b", "v", "trig-click")["response_url"].(string)
	for _, u := range []string{cmd, click} {
		if code := respond(t, u, "answer"); code != http.StatusOK {
			t.Errorf("%s: %d", u, code)
		}
	}
}

// A response's fields are recorded for tests to assert on: response_type, replace_original, text and
// blocks, whichever sender posted it.
func TestResponseURLRecordsTheMessage(t *testing.T) {
	f := New(t)
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*refused*", false, false), nil, nil)
	_, _, err := client(f).PostMessageContext(context.Background(), "",
		slack.MsgOptionResponseURL(f.ResponseURL("trig-1"), slack.ResponseTypeEphemeral), slack.MsgOptionBlocks(section), slack.MsgOptionText("refused", false))
	if err != nil {
		t.Fatal(err)
	}
	err = slack.PostWebhookContext(context.Background(), f.ResponseURL("trig-2"), &slack.WebhookMessage{Text: "replaced", ResponseType: slack.ResponseTypeInChannel, ReplaceOriginal: true})
	if err != nil {
		t.Fatal(err)
	}
	first, second := f.Responses("trig-1"), f.Responses("trig-2")
	if len(first) != 1 || first[0].ResponseType != "ephemeral" || first[0].ReplaceOriginal || first[0].Text != "refused" || !strings.Contains(string(first[0].Blocks), "*refused*") {
		t.Errorf("ephemeral response:\n%s", DumpCalls(first))
	}
	if len(second) != 1 || second[0].ResponseType != "in_channel" || !second[0].ReplaceOriginal || second[0].Text != "replaced" || second[0].Blocks != nil {
		t.Errorf("replacing response:\n%s", DumpCalls(second))
	}
}
