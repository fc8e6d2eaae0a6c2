package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/bot"
)

func newConsole(t *testing.T) *Console {
	t.Helper()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	return New(Options{Channels: []string{channel}, Now: func() time.Time { return now }})
}

// A root card is its own thread; replies go under it; an update replaces a message and bumps its
// version, wherever it is.
func TestPostThreadsAndUpdates(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	root, err := c.Post(ctx, channel, bot.Message{Header: "Delivery #1: helloservice v1"}, bot.PostOptions{StartThread: true, ThreadName: "x"})
	if err != nil || root.MessageID == "" || root.Thread != root.MessageID {
		t.Fatalf("root card posted as %+v, %v", root, err)
	}
	reply, err := c.Post(ctx, channel, bot.Message{Text: "qa · `deployment` started"}, bot.PostOptions{Thread: root.Thread})
	if err != nil || reply.Thread != root.Thread || reply.MessageID == root.MessageID {
		t.Fatalf("reply posted as %+v, %v", reply, err)
	}
	approval, err := c.Post(ctx, channel, bot.Message{Header: "Approval"}, bot.PostOptions{Thread: root.Thread, Broadcast: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, channel, root.Thread, approval.MessageID, bot.Message{Header: "Approval", Text: "✅ Approved"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, channel, root.Thread, root.MessageID, bot.Message{Header: "Delivery #1: helloservice v1", Text: "done"}); err != nil {
		t.Fatal(err)
	}
	msgs := c.board(channel).messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	r, q, a := msgs[0], msgs[1], msgs[2]
	if !r.Root || r.ID != root.MessageID || r.Version != 2 || r.Text != "done" || r.Seq != 1 || r.Edited == nil {
		t.Errorf("root %+v", r)
	}
	if q.Root || q.Thread != root.Thread || q.Version != 1 || q.Broadcast {
		t.Errorf("reply %+v", q)
	}
	if a.Root || !a.Broadcast || a.Version != 2 || a.Text != "✅ Approved" || a.Seq != 3 {
		t.Errorf("approval %+v", a)
	}
	top, err := c.Post(ctx, channel, bot.Message{Text: "hello"}, bot.PostOptions{})
	if err != nil || top.Thread != "" {
		t.Errorf("top-level message posted as %+v, %v", top, err)
	}
}

// After a restart the bot edits and replies to messages this process never saw: they come back where
// the bot says they are.
func TestMessagesFromBeforeARestart(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	if _, err := c.Post(ctx, channel, bot.Message{Text: "qa · `release` started"}, bot.PostOptions{Thread: "old-1"}); err != nil {
		t.Fatal(err)
	}
	msgs := c.board(channel).messages()
	if len(msgs) != 2 || !msgs[0].Root || msgs[0].ID != "old-1" || msgs[0].Text != placeholderText || msgs[0].Version != 0 || msgs[1].Thread != "old-1" {
		t.Fatalf("reply to an unknown card: %+v", msgs)
	}
	if err := c.Update(ctx, channel, "old-1", "old-1", bot.Message{Header: "Delivery #7: helloservice v3"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, channel, "old-1", "old-2", bot.Message{Header: "Approval"}); err != nil {
		t.Fatal(err)
	}
	msgs = c.board(channel).messages()
	if len(msgs) != 3 || msgs[0].Header != "Delivery #7: helloservice v3" || msgs[0].Version != 1 || msgs[0].Text != "" {
		t.Fatalf("card after its update: %+v", msgs)
	}
	if m := msgs[2]; m.ID != "old-2" || m.Root || m.Thread != "old-1" || m.Version != 1 {
		t.Errorf("updated unknown reply %+v", m)
	}
	if err := c.Update(ctx, channel, "", "old-3", bot.Message{Text: "top"}); err != nil {
		t.Fatal(err)
	}
	if m := c.board(channel).find("old-3", wireMessage{}); !m.Root {
		t.Errorf("updated unknown top-level message %+v", m)
	}
}

// Message ids of two processes differ, since the bot keeps them across restarts.
func TestIDsDifferAcrossProcesses(t *testing.T) {
	a, _ := newConsole(t).Post(context.Background(), channel, bot.Message{}, bot.PostOptions{StartThread: true})
	b, _ := newConsole(t).Post(context.Background(), channel, bot.Message{}, bot.PostOptions{StartThread: true})
	if a.MessageID == b.MessageID {
		t.Errorf("two consoles both posted %s", a.MessageID)
	}
}

// A channel keeps its newest root cards and threads; the oldest go with their replies.
func TestChannelsAreBounded(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	first, _ := c.Post(ctx, channel, bot.Message{Text: "first"}, bot.PostOptions{StartThread: true})
	firstReply, _ := c.Post(ctx, channel, bot.Message{Text: "reply"}, bot.PostOptions{Thread: first.Thread})
	var last bot.Posted
	for range maxRoots {
		last, _ = c.Post(ctx, channel, bot.Message{}, bot.PostOptions{StartThread: true})
	}
	b := c.board(channel)
	if len(b.roots) != maxRoots || b.find(first.MessageID, wireMessage{}).ID != "" || b.find(firstReply.MessageID, wireMessage{}).ID != "" {
		t.Errorf("%d roots; the oldest card or its reply is still there", len(b.roots))
	}
	for range maxReplies + 1 {
		_, _ = c.Post(ctx, channel, bot.Message{}, bot.PostOptions{Thread: last.Thread})
	}
	if n := len(b.byID[last.MessageID].replies); n != maxReplies {
		t.Errorf("thread keeps %d replies, want %d", n, maxReplies)
	}
	if len(b.byID) != maxRoots+maxReplies {
		t.Errorf("%d messages indexed, want %d", len(b.byID), maxRoots+maxReplies)
	}
}

// A page that does not keep up is dropped, not waited for.
func TestSlowPagesAreDropped(t *testing.T) {
	c := newConsole(t)
	b := c.board(channel)
	s := b.subscribe("")
	for range subscriberBuffer + 1 {
		if _, err := c.Post(context.Background(), channel, bot.Message{}, bot.PostOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-s.lost:
	default:
		t.Fatal("a page that fell behind is still subscribed")
	}
	if len(b.subs) != 0 {
		t.Errorf("%d subscribers left", len(b.subs))
	}
	b.unsubscribe(s) // the stream handler still unsubscribes; that must be harmless
}

func TestUnknownChannels(t *testing.T) {
	c := newConsole(t)
	ctx := context.Background()
	if _, err := c.Post(ctx, "general", bot.Message{}, bot.PostOptions{}); err == nil || !strings.Contains(err.Error(), `"general"`) {
		t.Errorf("post to an unknown channel: %v", err)
	}
	if err := c.Update(ctx, "general", "", "x", bot.Message{}); err == nil {
		t.Error("update in an unknown channel succeeded")
	}
	if err := c.PostPrivate(ctx, "general", dev, bot.Message{}); err == nil {
		t.Error("private message in an unknown channel succeeded")
	}
	if _, err := c.Permalink(ctx, "general", "x"); err == nil {
		t.Error("link into an unknown channel")
	}
}

func TestPermalink(t *testing.T) {
	ctx := context.Background()
	c := New(Options{Channels: []string{"team a"}})
	if link, err := c.Permalink(ctx, "team a", "c0ffee-4"); err != nil || link != "/?channel=team+a#m-c0ffee-4" {
		t.Errorf("relative link %q, %v", link, err)
	}
	c = New(Options{Channels: []string{channel}, PublicURL: "https://shipgate.example.com/"})
	if link, _ := c.Permalink(ctx, channel, "c0ffee-4"); link != "https://shipgate.example.com/?channel=demo#m-c0ffee-4" {
		t.Errorf("absolute link %q", link)
	}
}

func TestCommandText(t *testing.T) {
	for in, want := range map[string]string{
		"/deliver helloservice ghcr.io/x/y:v1": "helloservice ghcr.io/x/y:v1",
		"  /deliver   status  ":                "status",
		"/deliver":                             "",
		"status":                               "status",
		"/deliverx status":                     "/deliverx status",
		"history /deliver":                     "history /deliver",
	} {
		if got := commandText(in); got != want {
			t.Errorf("commandText(%q) = %q, want %q", in, got, want)
		}
	}
}
