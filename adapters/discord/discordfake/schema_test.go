package discordfake

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// null is only accepted where Discord's documentation marks a field nullable
// (https://discord.com/developers/docs/reference#nullable-and-optional-resource-fields). The create-message
// params have no nullable field (https://discord.com/developers/docs/resources/message#create-message-jsonform-params),
// so null for one of its arrays is 400 code 50035 naming the field with BASE_TYPE_ARRAY; so are a
// follow-up's (https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message)
// and a message response's (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-messages).
// Every edit-message param is nullable (https://discord.com/developers/docs/resources/message#edit-message-jsonform-params):
// null there clears the field.
func TestNullArrayRefused(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	for _, k := range []string{"sticker_ids", "embeds", "components", "attachments"} {
		_, err := sendMessage(s, "C1", object{"content": "x", k: nil})
		wantFormError(t, err, k, "BASE_TYPE_ARRAY")
		if c := f.CallsTo(RouteMessageCreate); !strings.Contains(c[len(c)-1].Detail, k+": This field cannot be null (BASE_TYPE_ARRAY)") {
			t.Errorf("detail = %q", c[len(c)-1].Detail)
		}
	}
	// A wrong type is refused the same way.
	_, err := sendMessage(s, "C1", object{"content": "x", "embeds": object{}})
	wantFormError(t, err, "embeds", "BASE_TYPE_ARRAY")
	_, err = sendMessage(s, "C1", object{"content": 42})
	wantFormError(t, err, "content", "BASE_TYPE_STRING")
	if len(f.Messages("C1")) != 0 {
		t.Error("a refused message was stored")
	}

	tok := f.IssueInteractionFor("I1", "C1", "")
	_, err = followup(s, tok, true, object{"content": "x", "components": nil})
	wantFormError(t, err, "components", "BASE_TYPE_ARRAY")
	err = respond(s, "I1", tok, object{"type": discordgo.InteractionResponseChannelMessageWithSource, "data": object{"content": "x", "embeds": nil}})
	wantFormError(t, err, "data.embeds", "BASE_TYPE_ARRAY")
	if _, ok := f.Callback("I1"); ok {
		t.Error("a refused response acknowledged the interaction")
	}

	// On an edit null clears: the embeds go, the content stays.
	m, err := sendMessage(s, "C1", createBody{Content: "root", Embeds: []*discordgo.MessageEmbed{{Type: discordgo.EmbedTypeRich, Title: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	edited, err := editMessage(s, "C1", m.ID, object{"embeds": nil})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != "root" || len(edited.Embeds) != 0 {
		t.Errorf("edited = %+v", edited)
	}
	if got, _ := f.Message("C1", m.ID); got.Edits != 1 || got.EmbedsJSON != nil || got.Content != "root" {
		t.Errorf("stored = %+v", got)
	}
}

// A key the route does not document is refused with 50035 naming it: discordgo's untagged "ID" and
// "Channel" on a message edit (https://discord.com/developers/docs/resources/message#edit-message-jsonform-params),
// "invitable" on a thread started from a message, which only threads started without one take
// (https://discord.com/developers/docs/resources/channel#start-thread-from-message-json-params), and tts,
// content or embeds in a modal's data
// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal).
// Discord ignores unknown keys; the fake is stricter on purpose, so a body no published type has fails.
func TestUndocumentedKeysRefused(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	m, err := sendText(s, "C1", "root")
	if err != nil {
		t.Fatal(err)
	}
	_, err = editMessage(s, "C1", m.ID, object{"content": "y", "ID": m.ID, "Channel": "C1"})
	wantFormError(t, err, "ID", "UNKNOWN_FIELD")
	wantFormError(t, err, "Channel", "UNKNOWN_FIELD")
	if got, _ := f.Message("C1", m.ID); got.Edits != 0 || got.Content != "root" {
		t.Errorf("a refused edit changed the message: %+v", got)
	}

	_, err = startThread(s, "C1", m.ID, object{"name": "t", "auto_archive_duration": 60, "invitable": false})
	wantFormError(t, err, "invitable", "UNKNOWN_FIELD")
	if _, ok := f.Thread(m.ID); ok {
		t.Error("a refused thread was started")
	}
	if _, err := startThread(s, "C1", m.ID, threadBody("t", 60)); err != nil {
		t.Errorf("the thread without invitable: %v", err)
	}

	tok := f.IssueInteractionFor("I1", "C1", m.ID)
	modal := object{"custom_id": "reject:42", "title": "Reject", "tts": false, "content": "", "embeds": []any{},
		"components": []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "reason", Label: "Reason", Style: discordgo.TextInputShort}}}}}
	err = respond(s, "I1", tok, object{"type": discordgo.InteractionResponseModal, "data": modal})
	for _, k := range []string{"data.tts", "data.content", "data.embeds"} {
		wantFormError(t, err, k, "UNKNOWN_FIELD")
	}
	// A deferred update (type 6) takes no data at all.
	err = respond(s, "I1", tok, object{"type": discordgo.InteractionResponseDeferredMessageUpdate, "data": object{"content": "x"}})
	wantFormError(t, err, "data", "UNKNOWN_FIELD")
	if _, ok := f.Callback("I1"); ok {
		t.Error("a refused response acknowledged the interaction")
	}
}

// allowed_mentions may not both list users (or roles) and parse them: Discord refuses the two as
// mutually exclusive (https://discord.com/developers/docs/resources/message#allowed-mentions-object).
func TestAllowedMentions(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	for _, list := range []string{"users", "roles"} {
		_, err := sendMessage(s, "C1", object{"content": "hi <@123>", "allowed_mentions": object{"parse": []string{list}, list: []string{"123"}}})
		wantFormError(t, err, "allowed_mentions.parse", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE")
	}
	_, err := sendMessage(s, "C1", object{"content": "hi", "allowed_mentions": object{"parse": []string{"channels"}}})
	wantFormError(t, err, "allowed_mentions.parse.0", "BASE_TYPE_CHOICES")
	if len(f.Messages("C1")) != 0 {
		t.Error("a refused message was stored")
	}
	// What shipgate sends: parse nothing, name whom the message notifies.
	if _, err := sendMessage(s, "C1", object{"content": "hi <@123>", "allowed_mentions": object{"parse": []string{}, "users": []string{"123"}}}); err != nil {
		t.Errorf("users listed, nothing parsed: %v", err)
	}
	// The same check applies to a response's data.
	tok := f.IssueInteractionFor("I1", "C1", "")
	err = respond(s, "I1", tok, object{"type": discordgo.InteractionResponseChannelMessageWithSource,
		"data": object{"content": "hi", "allowed_mentions": object{"parse": []string{"users"}, "users": []string{"123"}}}})
	wantFormError(t, err, "data.allowed_mentions.parse", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE")
}

// discordgo v0.29.0's own request structs do not send Discord's documented bodies, which is why shipgate
// builds its own (adapters/discord/wire.go): MessageSend sends "sticker_ids": null, "embeds": null and
// "components": null (https://discord.com/developers/docs/resources/message#create-message-jsonform-params),
// MessageEdit its untagged ID and Channel (https://discord.com/developers/docs/resources/message#edit-message-jsonform-params),
// ThreadStart "invitable" (https://discord.com/developers/docs/resources/channel#start-thread-from-message-json-params),
// InteractionResponseData tts, content and embeds with a modal
// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal)
// and WebhookParams "components": null
// (https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message).
func TestDiscordgoRequestStructsRefused(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)

	_, err := s.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: "x"})
	wantFormError(t, err, "sticker_ids", "BASE_TYPE_ARRAY")
	wantFormError(t, err, "embeds", "BASE_TYPE_ARRAY")
	wantFormError(t, err, "components", "BASE_TYPE_ARRAY")
	if c := f.CallsTo(RouteMessageCreate); len(c) != 1 || !strings.Contains(string(c[0].Raw), `"sticker_ids":null`) {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	_, err = s.ChannelMessageSend("C1", "x")
	wantFormError(t, err, "sticker_ids", "BASE_TYPE_ARRAY")
	if len(f.Messages("C1")) != 0 {
		t.Error("a refused message was stored")
	}

	m, err := sendText(s, "C1", "root")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ChannelMessageEditComplex(discordgo.NewMessageEdit("C1", m.ID).SetContent("y"))
	wantFormError(t, err, "ID", "UNKNOWN_FIELD")
	wantFormError(t, err, "Channel", "UNKNOWN_FIELD")
	_, err = s.MessageThreadStartComplex("C1", m.ID, &discordgo.ThreadStart{Name: "t", AutoArchiveDuration: 60})
	wantFormError(t, err, "invitable", "UNKNOWN_FIELD")

	i := &discordgo.Interaction{ID: "I1", AppID: DefaultAppID, Token: f.IssueInteractionFor("I1", "C1", m.ID)}
	err = s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: "reject:42", Title: "Reject", Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "reason", Label: "Reason", Style: discordgo.TextInputShort}}}},
	}})
	wantFormError(t, err, "data.tts", "UNKNOWN_FIELD")
	// A refused response does not acknowledge the interaction: deferring it with a documented body goes.
	if err := respond(s, "I1", i.Token, object{"type": discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	_, err = s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "x"})
	wantFormError(t, err, "components", "BASE_TYPE_ARRAY")
	if len(f.Followups("I1")) != 0 {
		t.Error("a refused follow-up was stored")
	}
	if _, ok := f.Thread(m.ID); ok {
		t.Error("a refused thread was started")
	}
	if got, _ := f.Message("C1", m.ID); got.Edits != 0 {
		t.Errorf("a refused edit changed the message: %+v", got)
	}
}
