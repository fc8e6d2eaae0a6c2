package discordfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// interactionChannel is what an interaction payload says about where it happened: channel_id, the
// channel object, and the channel_id of the message it carries.
type interactionChannel struct {
	ChannelID string `json:"channel_id"`
	GuildID   string `json:"guild_id"`
	Channel   struct {
		ID       string                `json:"id"`
		Type     discordgo.ChannelType `json:"type"`
		ParentID string                `json:"parent_id"`
		GuildID  string                `json:"guild_id"`
	} `json:"channel"`
	Message *struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
	} `json:"message"`
}

func channelOf(t *testing.T, payload []byte) interactionChannel {
	t.Helper()
	var ic interactionChannel
	if err := json.Unmarshal(payload, &ic); err != nil {
		t.Fatal(err)
	}
	return ic
}

// threadWithCard posts a root message in C1 of G1, starts a thread on it and posts a card with
// buttons in the thread.
func threadWithCard(t *testing.T, f *Server, s *discordgo.Session) (root, card *discordgo.Message, th *discordgo.Channel) {
	t.Helper()
	root, err := sendText(s, "C1", "deliver D-42")
	if err != nil {
		t.Fatal(err)
	}
	th, err = startThread(s, "C1", root.ID, threadBody("deliver D-42", 1440))
	if err != nil {
		t.Fatal(err)
	}
	card, err = sendMessage(s, th.ID, createBody{Content: "approve?", Components: []discordgo.MessageComponent{buttons("appr:42", "rej:42")}})
	if err != nil {
		t.Fatal(err)
	}
	return root, card, th
}

// Discord sends a click on a message in a thread from the thread: channel_id is the thread's id, and
// the channel object has the thread's type (11, PUBLIC_THREAD) and its parent_id, the channel the
// thread was started in
// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-structure,
// https://discord.com/developers/docs/topics/threads#thread-fields). Server.Click, Slash and
// SubmitModal build their payloads from what the fake holds, and issue working ids and tokens.
func TestClickInThread(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	root, card, th := threadWithCard(t, f, s)

	click := f.Click("G1", alice, card.ID, "appr:42")
	ic := channelOf(t, click)
	if ic.ChannelID != th.ID || ic.Channel.ID != th.ID || ic.Channel.Type != discordgo.ChannelTypeGuildPublicThread ||
		ic.Channel.ParentID != "C1" || ic.Channel.GuildID != "G1" || ic.GuildID != "G1" {
		t.Errorf("click channel = %+v", ic)
	}
	if ic.Message == nil || ic.Message.ID != card.ID || ic.Message.ChannelID != th.ID {
		t.Errorf("click message = %+v", ic.Message)
	}
	i := interactionOf(t, click)
	if i.Type != discordgo.InteractionMessageComponent || i.MessageComponentData().CustomID != "appr:42" || i.Member == nil || i.Member.User.ID != alice.UserID {
		t.Errorf("click = %+v", i)
	}
	if id := InteractionID(click); id != i.ID || id == "" {
		t.Errorf("InteractionID = %q, payload id %q", id, i.ID)
	}
	// The token is issued: an update through the callback route changes the card in the thread.
	err := respond(s, i.ID, i.Token, object{"type": discordgo.InteractionResponseUpdateMessage,
		"data": object{"content": "approved by alice", "components": []any{}}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message(th.ID, card.ID); m.Content != "approved by alice" || len(m.Components) != 0 || m.Edits != 1 {
		t.Errorf("card = %+v", m)
	}
	if o, ok := f.Original(i.ID); !ok || o.ID != card.ID || o.ChannelID != th.ID {
		t.Errorf("@original = %+v %v", o, ok)
	}
	if c := f.CallsTo(RouteInteractionCallback); len(c) != 1 || c[0].ChannelID != th.ID || c[0].MessageID != card.ID {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}

	// A click on the root, in the channel itself, comes from the channel.
	ic = channelOf(t, f.Click("G1", alice, root.ID, "x"))
	if ic.ChannelID != "C1" || ic.Channel.Type != discordgo.ChannelTypeGuildText || ic.Channel.ParentID != "" {
		t.Errorf("click in the channel = %+v", ic)
	}

	// A modal opened from the card is submitted from the thread too.
	submit := f.SubmitModal("G1", alice, card.ID, "reject:42", map[string]string{"reason": "flaky"})
	ic = channelOf(t, submit)
	if ic.ChannelID != th.ID || ic.Channel.Type != discordgo.ChannelTypeGuildPublicThread || ic.Channel.ParentID != "C1" || ic.Message == nil || ic.Message.ID != card.ID {
		t.Errorf("modal submit = %+v", ic)
	}
	if d := interactionOf(t, submit).ModalSubmitData(); d.CustomID != "reject:42" || len(d.Components) != 1 {
		t.Errorf("modal data = %+v", d)
	}

	// A command typed in the thread, and one in the channel; their responses land where they were typed.
	slash := f.Slash("G1", th.ID, alice, "deliver", Subcommand("status"))
	ic = channelOf(t, slash)
	if ic.ChannelID != th.ID || ic.Channel.Type != discordgo.ChannelTypeGuildPublicThread || ic.Channel.ParentID != "C1" || ic.Message != nil {
		t.Errorf("slash in the thread = %+v", ic)
	}
	si := interactionOf(t, slash)
	if si.ApplicationCommandData().Name != "deliver" || si.ApplicationCommandData().Options[0].Name != "status" {
		t.Errorf("slash data = %+v", si.ApplicationCommandData())
	}
	if err := respond(s, si.ID, si.Token, object{"type": discordgo.InteractionResponseChannelMessageWithSource, "data": object{"content": "D-42: canary"}}); err != nil {
		t.Fatal(err)
	}
	if o, ok := f.Original(si.ID); !ok || o.ChannelID != th.ID || o.Content != "D-42: canary" {
		t.Errorf("slash response = %+v %v", o, ok)
	}
	if ic := channelOf(t, f.Slash("G1", "C1", alice, "deliver")); ic.ChannelID != "C1" || ic.Channel.Type != discordgo.ChannelTypeGuildText || ic.Channel.ParentID != "" {
		t.Errorf("slash in the channel = %+v", ic)
	}
	// Every payload has an interaction of its own.
	if InteractionID(slash) == i.ID || InteractionID(submit) == i.ID {
		t.Error("interaction ids repeat")
	}
}

// Building an interaction on something the fake does not hold fails the test that made the fake.
func TestClickUnknownFails(t *testing.T) {
	tb := &fatalTB{TB: t}
	f := New(tb)
	f.Click("G1", alice, "404", "appr:42")
	if !strings.Contains(tb.msg, "no ") {
		t.Errorf("Click on an unknown message: fatal %q", tb.msg)
	}
	tb.msg = ""
	f.Slash("G1", "C9", alice, "deliver")
	if !strings.Contains(tb.msg, `"C9"`) {
		t.Errorf("Slash in an unknown channel: fatal %q", tb.msg)
	}
}

// An answer a handler gives in the HTTP response to an interaction counts as its callback
// (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
// RespondInline records it as a call of RouteInteractionInline, and refuses a payload Discord could
// not have sent: a click on a message in a thread that names the thread's parent as channel_id.
func TestRespondInlineThread(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	_, card, th := threadWithCard(t, f, s)

	tok := f.IssueInteraction("I5")
	wrong := Component("I5", tok, DefaultAppID, "G1", "C1", card.ID, alice, "appr:42")
	update := []byte(`{"type":7,"data":{"content":"approved","components":[]}}`)
	err := f.RespondInline(wrong, update)
	if err == nil || !strings.Contains(err.Error(), card.ID) || !strings.Contains(err.Error(), th.ID) {
		t.Fatalf("a click in a thread sent from its parent: %v", err)
	}
	if m, _ := f.Message(th.ID, card.ID); m.Content != "approve?" || m.Edits != 0 {
		t.Errorf("the refused answer changed the card: %+v", m)
	}
	if _, ok := f.Callback("I5"); ok {
		t.Error("the refused answer acknowledged the interaction")
	}
	calls := f.CallsTo(RouteInteractionInline)
	if len(calls) != 1 || calls[0].Status != http.StatusBadRequest || calls[0].InteractionID != "I5" || calls[0].ChannelID != "C1" || calls[0].Method != http.MethodPost {
		t.Errorf("calls:\n%s", DumpCalls(calls))
	}

	// The same interaction, sent as Discord sends it, goes through: the refusal left nothing behind.
	right := Component("I5", tok, DefaultAppID, "G1", th.ID, card.ID, alice, "appr:42")
	if err := f.RespondInline(right, update); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message(th.ID, card.ID); m.Content != "approved" || m.Edits != 1 {
		t.Errorf("card = %+v", m)
	}
	if o, ok := f.Original("I5"); !ok || o.ID != card.ID || o.ChannelID != th.ID {
		t.Errorf("@original = %+v %v", o, ok)
	}

	// Server.Click builds it right by itself.
	other, err := sendMessage(s, th.ID, createBody{Content: "stage 2?", Components: []discordgo.MessageComponent{buttons("appr:43")}})
	if err != nil {
		t.Fatal(err)
	}
	click := f.Click("G1", alice, other.ID, "appr:43")
	if err := f.RespondInline(click, []byte(`{"type":6}`)); err != nil {
		t.Fatal(err)
	}
	if cb, ok := f.Callback(InteractionID(click)); !ok || cb.Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Errorf("callback = %+v %v", cb, ok)
	}
	calls = f.CallsTo(RouteInteractionInline)
	if len(calls) != 3 {
		t.Fatalf("calls:\n%s", DumpCalls(calls))
	}
	for k, c := range calls[1:] {
		if c.Status != http.StatusOK || c.ChannelID != th.ID || c.Code != 0 {
			t.Errorf("inline call #%d = %+v", k+1, c)
		}
	}
	if calls[2].InteractionID != InteractionID(click) || calls[2].MessageID != other.ID {
		t.Errorf("inline call = %+v", calls[2])
	}
	if len(f.CallsTo(RouteInteractionCallback)) != 0 {
		t.Error("an inline answer was recorded as a REST call")
	}
}
