package discord

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/bot"
)

// thread starts a thread in the fixture's channel the way the bot does, on a root card.
func (f *handlerFixture) thread() string {
	f.t.Helper()
	posted, err := f.h.client.Post(context.Background(), hChannel, bot.Message{Header: "Delivery #9"}, bot.PostOptions{StartThread: true, ThreadName: "Delivery #9"})
	if err != nil {
		f.t.Fatal(err)
	}
	return posted.Thread
}

// An interaction from a thread counts as its parent channel: from the channel object Discord sends
// (type 11, parent_id), or, when a payload lacks it, from the thread looked up once and remembered.
func TestPlaceOfThread(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	thread := f.thread()
	ctx := context.Background()
	in := &discordgo.Interaction{ID: "1", ChannelID: thread}

	if got := f.h.placeOf(ctx, in, &channelRef{ID: thread, Type: discordgo.ChannelTypeGuildPublicThread, ParentID: hChannel}); got != (place{channel: hChannel, thread: thread}) {
		t.Errorf("from the channel object: %+v", got)
	}
	if got := f.h.placeOf(ctx, &discordgo.Interaction{ID: "2", ChannelID: hChannel}, &channelRef{ID: hChannel, Type: discordgo.ChannelTypeGuildText}); got != (place{channel: hChannel}) {
		t.Errorf("a text channel: %+v", got)
	}
	if n := len(f.fake.CallsTo(discordfake.RouteChannelGet)); n != 0 {
		t.Errorf("%d channel lookups with the channel object at hand", n)
	}

	// Without the channel object: one lookup, then the memory.
	f.h.client.known = channelParents{}
	for range 2 {
		if got := f.h.placeOf(ctx, in, nil); got != (place{channel: hChannel, thread: thread}) {
			t.Errorf("looked up: %+v", got)
		}
	}
	if n := len(f.fake.CallsTo(discordfake.RouteChannelGet)); n != 1 {
		t.Errorf("%d channel lookups, want 1", n)
	}
	// A channel Discord does not know is taken as it is (and the bot refuses it as unbound).
	if got := f.h.placeOf(ctx, &discordgo.Interaction{ID: "3", ChannelID: "999"}, nil); got != (place{channel: "999"}) {
		t.Errorf("an unknown channel: %+v", got)
	}
}

// /deliver typed in a thread of the bound channel is answered as in the channel, not refused as unbound.
func TestCommandInThread(t *testing.T) {
	f := newHandlerFixture(t, ackDeadline)
	thread := f.thread()
	body := f.fake.Slash(hGuild, thread, dev(), "deliver", discordfake.Subcommand("status"))
	rec, out := f.send(body, *f.now.Load())
	text := strings.ToLower(rec.Body.String())
	if out["type"] != float64(discordgo.InteractionResponseChannelMessageWithSource) || strings.Contains(text, "not bound") || !strings.Contains(text, "no deliveries yet") {
		t.Errorf("/deliver status in a thread: %s", rec.Body)
	}
	if err := f.fake.RespondInline(body, rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
}

// A message that notifies pings exactly its Notify list: users and roles in the content, named again in
// allowed_mentions with nothing parsed, so that a mention quoted from a task's output pings nobody.
func TestNotifyMentions(t *testing.T) {
	m := bot.Message{Header: "Approval: web v2 to production", Text: "output said <@&666> and @everyone",
		Notify: []bot.Mention{{ID: "111"}, {ID: "222", Group: true}, {ID: "UNOTDISCORD"}}}
	d := renderMessage(m)
	if d.Content != "🔔 <@111> <@&222>" {
		t.Errorf("content %q", d.Content)
	}
	am := d.allowed()
	if len(am.Parse) != 0 || strings.Join(am.Users, ",") != "111" || strings.Join(am.Roles, ",") != "222" {
		t.Errorf("allowed_mentions %+v", am)
	}
	if e := d.edit(); e.Content != d.Content || e.AllowedMentions.Roles[0] != "222" {
		t.Errorf("edit %+v", e)
	}
	// The channel's pointer pings the roles only: the users are pinged by the reply in the thread.
	p := renderPointer(m, "<#1>")
	if !strings.Contains(p.Content, "<@&222>") || strings.Contains(p.Content, "<@111>") || len(p.AllowedMentions.Users) != 0 ||
		strings.Join(p.AllowedMentions.Roles, ",") != "222" {
		t.Errorf("pointer %q %+v", p.Content, p.AllowedMentions)
	}
	// Without Notify nobody is pinged.
	if d := renderMessage(bot.Message{Text: "<@111>"}); d.Content != "" || len(d.allowed().Users) != 0 {
		t.Errorf("a message without Notify: %q %+v", d.Content, d.allowed())
	}
}
