package discordfake

import (
	"net/http"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// A channel the fake was not told about is Discord's 404 {"code":10003,"message":"Unknown Channel"} on
// every route that names it
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes, 10003).
func TestUnknownChannel(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	m, err := sendText(s, "C1", "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sendText(s, "C9", "x")
	wantError(t, "post", err, http.StatusNotFound, 10003)
	_, err = editMessage(s, "C9", m.ID, object{"content": "y"})
	wantError(t, "edit", err, http.StatusNotFound, 10003)
	_, err = s.ChannelMessage("C9", m.ID)
	wantError(t, "get message", err, http.StatusNotFound, 10003)
	_, err = startThread(s, "C9", m.ID, threadBody("t", 60))
	wantError(t, "thread", err, http.StatusNotFound, 10003)
	err = s.ChannelMessageDelete("C9", m.ID)
	wantError(t, "delete", err, http.StatusNotFound, 10003)
	_, err = s.Channel("C9")
	wantError(t, "get channel", err, http.StatusNotFound, 10003)

	for _, c := range f.Calls()[1:] {
		if c.ChannelID != "C9" || c.Status != http.StatusNotFound || c.Code != 10003 || c.Error != "Unknown Channel" {
			t.Errorf("call = %+v", c)
		}
	}
	if len(f.Messages("C9")) != 0 {
		t.Error("a message was stored in an unknown channel")
	}
	if m, _ := f.Message("C1", m.ID); m.Content != "x" || m.Edits != 0 {
		t.Errorf("the message in C1 changed: %+v", m)
	}
	if _, ok := f.Channel("C9"); ok {
		t.Error("C9 exists")
	}
}

// A message id the known channel does not hold is 404 {"code":10008,"message":"Unknown Message"} on
// edit, get, thread start and delete
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes, 10008).
func TestUnknownMessage(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1", "C2")
	s := session(t, f)
	inC2, err := sendText(s, "C2", "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	// "1" is no message at all; inC2 is one, but not in C1.
	for _, id := range []string{"1", inC2.ID} {
		_, err = editMessage(s, "C1", id, object{"content": "y"})
		wantError(t, "edit "+id, err, http.StatusNotFound, 10008)
		_, err = s.ChannelMessage("C1", id)
		wantError(t, "get "+id, err, http.StatusNotFound, 10008)
		_, err = startThread(s, "C1", id, threadBody("t", 60))
		wantError(t, "thread on "+id, err, http.StatusNotFound, 10008)
		err = s.ChannelMessageDelete("C1", id)
		wantError(t, "delete "+id, err, http.StatusNotFound, 10008)
	}
	for _, c := range f.Calls()[1:] {
		if c.ChannelID != "C1" || c.Status != http.StatusNotFound || c.Code != 10008 || c.Error != "Unknown Message" {
			t.Errorf("call = %+v", c)
		}
	}
	if m, ok := f.Message("C2", inC2.ID); !ok || m.Content != "elsewhere" || m.Edits != 0 || m.ThreadID != "" {
		t.Errorf("the message in C2 = %+v %v", m, ok)
	}
}

// Without View Channel the bot cannot see the channel at all: every route answers 403
// {"code":50001,"message":"Missing Access"}
// (https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags, VIEW_CHANNEL;
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes, 50001). A
// thread has its parent's permissions (https://discord.com/developers/docs/topics/threads#permissions).
func TestMissingAccess(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1", "C2")
	s := session(t, f)
	m, err := sendText(s, "C1", "x")
	if err != nil {
		t.Fatal(err)
	}
	th, err := startThread(s, "C1", m.ID, threadBody("t", 60))
	if err != nil {
		t.Fatal(err)
	}
	inThread, err := sendText(s, th.ID, "in thread")
	if err != nil {
		t.Fatal(err)
	}
	f.SetBotPermissions("C1", BotPermissions&^PermViewChannel)

	_, err = sendText(s, "C1", "x")
	wantError(t, "post", err, http.StatusForbidden, 50001)
	_, err = editMessage(s, "C1", m.ID, object{"content": "y"})
	wantError(t, "edit", err, http.StatusForbidden, 50001)
	_, err = s.ChannelMessage("C1", m.ID)
	wantError(t, "get message", err, http.StatusForbidden, 50001)
	err = s.ChannelMessageDelete("C1", m.ID)
	wantError(t, "delete", err, http.StatusForbidden, 50001)
	_, err = s.Channel("C1")
	wantError(t, "get channel", err, http.StatusForbidden, 50001)
	_, err = sendText(s, th.ID, "x")
	wantError(t, "post in its thread", err, http.StatusForbidden, 50001)
	_, err = startThread(s, th.ID, inThread.ID, threadBody("t", 60))
	wantError(t, "thread in its thread", err, http.StatusForbidden, 50001)
	if c := f.CallsTo(RouteMessageCreate); c[len(c)-1].Error != "Missing Access" {
		t.Errorf("call = %+v", c[len(c)-1])
	}
	if ms := f.Messages("C1"); len(ms) != 1 || ms[0].Content != "x" || ms[0].Edits != 0 {
		t.Errorf("C1 = %+v", ms)
	}
	// Another channel is not affected.
	if _, err := sendText(s, "C2", "x"); err != nil {
		t.Errorf("post in C2: %v", err)
	}
}

// What the bot may see but lacks the permission for is 403 {"code":50013,"message":"Missing
// Permissions"} (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes,
// 50013; the flags: https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags):
// posting needs Send Messages in a channel (https://discord.com/developers/docs/resources/message#create-message)
// and Send Messages in Threads in a thread (https://discord.com/developers/docs/topics/threads#permissions),
// a bot's embeds need Embed Links, starting a thread needs Create Public Threads
// (https://discord.com/developers/docs/resources/channel#start-thread-from-message), and fetching a
// message needs Read Message History (https://discord.com/developers/docs/resources/message#get-channel-message).
func TestMissingPermissions(t *testing.T) {
	embed := []*discordgo.MessageEmbed{{Type: discordgo.EmbedTypeRich, Title: "deliver D-42"}}
	setup := func(t *testing.T) (*Server, *discordgo.Session, *discordgo.Message, *discordgo.Channel) {
		f := New(t)
		f.AddChannel("G1", "C1")
		s := session(t, f)
		root, err := sendText(s, "C1", "root")
		if err != nil {
			t.Fatal(err)
		}
		th, err := startThread(s, "C1", root.ID, threadBody("t", 60))
		if err != nil {
			t.Fatal(err)
		}
		return f, s, root, th
	}
	refused := func(t *testing.T, f *Server, what string, err error) {
		t.Helper()
		wantError(t, what, err, http.StatusForbidden, 50013)
		if c := f.Calls(); c[len(c)-1].Error != "Missing Permissions" {
			t.Errorf("%s: call = %+v", what, c[len(c)-1])
		}
	}

	t.Run("send messages", func(t *testing.T) {
		f, s, _, th := setup(t)
		f.SetBotPermissions("C1", BotPermissions&^PermSendMessages)
		_, err := sendText(s, "C1", "x")
		refused(t, f, "post in the channel", err)
		if len(f.Messages("C1")) != 1 {
			t.Error("a refused message was stored")
		}
		// A thread wants Send Messages in Threads instead.
		if _, err := sendText(s, th.ID, "x"); err != nil {
			t.Errorf("post in the thread: %v", err)
		}
	})
	t.Run("send messages in threads", func(t *testing.T) {
		f, s, _, th := setup(t)
		f.SetBotPermissions("C1", BotPermissions&^PermSendMessagesInThreads)
		_, err := sendText(s, th.ID, "x")
		refused(t, f, "post in the thread", err)
		if len(f.Messages(th.ID)) != 0 {
			t.Error("a refused message was stored")
		}
		if _, err := sendText(s, "C1", "x"); err != nil {
			t.Errorf("post in the channel: %v", err)
		}
	})
	t.Run("embed links", func(t *testing.T) {
		f, s, root, th := setup(t)
		f.SetBotPermissions("C1", BotPermissions&^PermEmbedLinks)
		_, err := sendMessage(s, "C1", createBody{Content: "x", Embeds: embed})
		refused(t, f, "embeds in the channel", err)
		_, err = sendMessage(s, th.ID, createBody{Content: "x", Embeds: embed})
		refused(t, f, "embeds in the thread", err)
		_, err = editMessage(s, "C1", root.ID, object{"embeds": embed})
		refused(t, f, "edit to embeds", err)
		if m, _ := f.Message("C1", root.ID); m.Edits != 0 || len(m.Embeds) != 0 {
			t.Errorf("root = %+v", m)
		}
		// Without embeds the same message goes.
		if _, err := sendMessage(s, "C1", createBody{Content: "x"}); err != nil {
			t.Errorf("content only: %v", err)
		}
		if _, err := editMessage(s, "C1", root.ID, object{"content": "y", "embeds": []any{}}); err != nil {
			t.Errorf("edit without embeds: %v", err)
		}
	})
	t.Run("create public threads", func(t *testing.T) {
		f, s, _, _ := setup(t)
		other, _ := sendText(s, "C1", "other")
		f.SetBotPermissions("C1", BotPermissions&^PermCreatePublicThreads)
		_, err := startThread(s, "C1", other.ID, threadBody("t", 60))
		refused(t, f, "thread", err)
		if _, ok := f.Thread(other.ID); ok {
			t.Error("a refused thread was started")
		}
	})
	t.Run("read message history", func(t *testing.T) {
		f, s, root, th := setup(t)
		f.SetBotPermissions("C1", BotPermissions&^PermReadMessageHistory)
		_, err := s.ChannelMessage("C1", root.ID)
		refused(t, f, "get message", err)
		// Posting and the channel itself need no history.
		if _, err := sendText(s, "C1", "x"); err != nil {
			t.Errorf("post: %v", err)
		}
		if _, err := s.Channel(th.ID); err != nil {
			t.Errorf("get thread: %v", err)
		}
	})
}

// A thread cannot be started inside a thread: 400 {"code":50024,"message":"Cannot execute action on this
// channel type"} (https://discord.com/developers/docs/resources/channel#start-thread-from-message starts
// threads in text and announcement channels;
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes, 50024).
func TestThreadInThread(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	root, _ := sendText(s, "C1", "root")
	th, err := startThread(s, "C1", root.ID, threadBody("deliver D-42", 60))
	if err != nil {
		t.Fatal(err)
	}
	stage, err := sendText(s, th.ID, "canary")
	if err != nil {
		t.Fatal(err)
	}
	_, err = startThread(s, th.ID, stage.ID, threadBody("nested", 60))
	wantError(t, "thread in a thread", err, http.StatusBadRequest, 50024)
	if c := f.CallsTo(RouteThreadCreate); len(c) != 2 || c[1].ChannelID != th.ID || c[1].ThreadID != "" {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	if _, ok := f.Thread(stage.ID); ok {
		t.Error("a thread was started in a thread")
	}
	if _, ok := f.Channel(stage.ID); ok {
		t.Error("the refused thread is a channel")
	}
}

// GET /channels/{id} answers the channel object; a thread started on a message is a channel of type 11
// (PUBLIC_THREAD) whose parent_id is the channel it was started in
// (https://discord.com/developers/docs/resources/channel#get-channel,
// https://discord.com/developers/docs/resources/channel#channel-object-channel-types,
// https://discord.com/developers/docs/topics/threads#thread-fields).
func TestGetChannel(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	ch, err := s.Channel("C1")
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != "C1" || ch.Type != discordgo.ChannelTypeGuildText || ch.GuildID != "G1" || ch.ParentID != "" {
		t.Errorf("channel = %+v", ch)
	}
	root, _ := sendText(s, "C1", "root")
	if _, err := startThread(s, "C1", root.ID, threadBody("deliver D-42", 4320)); err != nil {
		t.Fatal(err)
	}
	th, err := s.Channel(root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != root.ID || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != "C1" || th.Name != "deliver D-42" ||
		th.ThreadMetadata == nil || th.ThreadMetadata.AutoArchiveDuration != 4320 {
		t.Errorf("thread = %+v", th)
	}
	if c := f.CallsTo(RouteChannelGet); len(c) != 2 || c[1].ChannelID != root.ID || c[1].Status != http.StatusOK || c[1].Method != http.MethodGet {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	if got, ok := f.Channel(root.ID); !ok || got.Type != discordgo.ChannelTypeGuildPublicThread || got.ParentID != "C1" || got.GuildID != "G1" {
		t.Errorf("Channel(thread) = %+v %v", got, ok)
	}
}

// DELETE /channels/{id}/messages/{id} removes a message the bot posted and answers 204
// (https://discord.com/developers/docs/resources/message#delete-message); the message is then unknown.
func TestDeleteMessage(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	gone, _ := sendText(s, "C1", "gone")
	kept, _ := sendText(s, "C1", "kept")
	if err := s.ChannelMessageDelete("C1", gone.ID); err != nil {
		t.Fatal(err)
	}
	if c := f.CallsTo(RouteMessageDelete); len(c) != 1 || c[0].Status != http.StatusNoContent || c[0].ChannelID != "C1" || c[0].MessageID != gone.ID || c[0].Method != http.MethodDelete {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
	if _, ok := f.Message("C1", gone.ID); ok {
		t.Error("the deleted message is still there")
	}
	if ms := f.Messages("C1"); len(ms) != 1 || ms[0].ID != kept.ID {
		t.Errorf("C1 = %+v", ms)
	}
	_, err := s.ChannelMessage("C1", gone.ID)
	wantError(t, "get after delete", err, http.StatusNotFound, 10008)
	_, err = editMessage(s, "C1", gone.ID, object{"content": "back"})
	wantError(t, "edit after delete", err, http.StatusNotFound, 10008)
	err = s.ChannelMessageDelete("C1", gone.ID)
	wantError(t, "second delete", err, http.StatusNotFound, 10008)
	if got, err := s.ChannelMessage("C1", kept.ID); err != nil || got.Content != "kept" {
		t.Errorf("the other message = %+v %v", got, err)
	}
}
