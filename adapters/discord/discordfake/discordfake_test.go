package discordfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// wait bounds every wait in these tests; they return as soon as what they wait for happens.
const wait = 10 * time.Second

// The requests these tests make carry the bodies Discord documents for each route (discord-api-types
// v10), built as shipgate's adapter builds them (adapters/discord/wire.go): discordgo v0.29.0's own
// request structs send keys and nulls the routes do not document, which the fake refuses (see
// TestDiscordgoRequestStructsRefused). They still go through the session's RequestWithBucketID, so over
// real HTTP through Server.Client, with discordgo's rate limiting, retries and error values. Calls
// without a body (GET, DELETE) and the command overwrite, whose body discordgo builds as documented,
// use discordgo's own methods.

// object is a JSON object body.
type object = map[string]any

// createBody is the body of POST /channels/{id}/messages (RESTPostAPIChannelMessageJSONBody) as
// shipgate sends it: empty parts are left out, since Discord refuses null for an array.
type createBody struct {
	Content    string                       `json:"content,omitempty"`
	Embeds     []*discordgo.MessageEmbed    `json:"embeds,omitempty"`
	Components []discordgo.MessageComponent `json:"components,omitempty"`
	Flags      discordgo.MessageFlags       `json:"flags,omitempty"`
}

func session(t *testing.T, f *Server) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + DefaultToken)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = f.Client()
	return s
}

// rest sends body (nil for none) to url through the session, the url without its query being
// discordgo's rate-limit bucket, and decodes a non-empty answer into out when out is not nil.
func rest(s *discordgo.Session, method, url string, body, out any) error {
	bucket, _, _ := strings.Cut(url, "?")
	raw, err := s.RequestWithBucketID(method, url, body, bucket)
	if err != nil || out == nil || len(raw) == 0 {
		return err
	}
	return json.Unmarshal(raw, out)
}

// sendMessage posts body to a channel or thread.
func sendMessage(s *discordgo.Session, channelID string, body any) (*discordgo.Message, error) {
	var m discordgo.Message
	err := rest(s, http.MethodPost, discordgo.EndpointChannelMessages(channelID), body, &m)
	return &m, err
}

// sendText posts a message of only content.
func sendText(s *discordgo.Session, channelID, content string) (*discordgo.Message, error) {
	return sendMessage(s, channelID, object{"content": content})
}

// editMessage edits a message with the bot token.
func editMessage(s *discordgo.Session, channelID, messageID string, body any) (*discordgo.Message, error) {
	var m discordgo.Message
	err := rest(s, http.MethodPatch, discordgo.EndpointChannelMessage(channelID, messageID), body, &m)
	return &m, err
}

// startThread starts a thread on a message.
func startThread(s *discordgo.Session, channelID, messageID string, body any) (*discordgo.Channel, error) {
	var ch discordgo.Channel
	err := rest(s, http.MethodPost, discordgo.EndpointChannelMessageThread(channelID, messageID), body, &ch)
	return &ch, err
}

// threadBody is a start-thread-from-message body; 0 minutes leaves auto_archive_duration out.
func threadBody(name string, minutes int) object {
	b := object{"name": name}
	if minutes != 0 {
		b["auto_archive_duration"] = minutes
	}
	return b
}

// respond posts an interaction response to the callback route.
func respond(s *discordgo.Session, interactionID, token string, body any) error {
	return rest(s, http.MethodPost, discordgo.EndpointInteractionResponse(interactionID, token), body, nil)
}

// editOriginal edits @original with the interaction's token.
func editOriginal(s *discordgo.Session, token string, body any) (*discordgo.Message, error) {
	var m discordgo.Message
	err := rest(s, http.MethodPatch, discordgo.EndpointInteractionResponseActions(DefaultAppID, token), body, &m)
	return &m, err
}

// followup posts a follow-up; with wait, Discord answers the message, else 204 and followup returns nil.
func followup(s *discordgo.Session, token string, wait bool, body any) (*discordgo.Message, error) {
	url := discordgo.EndpointFollowupMessage(DefaultAppID, token)
	if wait {
		url += "?wait=true"
	}
	var m *discordgo.Message
	err := rest(s, http.MethodPost, url, body, &m)
	return m, err
}

// editFollowup edits a message of the interaction by id with its token.
func editFollowup(s *discordgo.Session, token, messageID string, body any) (*discordgo.Message, error) {
	var m discordgo.Message
	err := rest(s, http.MethodPatch, discordgo.EndpointFollowupMessageActions(DefaultAppID, token, messageID), body, &m)
	return &m, err
}

// restError is the Discord error in err: HTTP status, code and body; zero when err is not one.
func restError(err error) (status, code int, body string) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return 0, 0, ""
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code, string(re.ResponseBody)
}

// formErrorCodes returns the codes the errors of a 50035 answer body list at path ("embeds.0.title";
// "" for the body itself), and whether the body has that path at all.
func formErrorCodes(body, path string) ([]string, bool) {
	var answer struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Errors  map[string]any `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &answer) != nil || answer.Code != 50035 || answer.Message != "Invalid Form Body" {
		return nil, false
	}
	node := answer.Errors
	if path != "" {
		for seg := range strings.SplitSeq(path, ".") {
			next, ok := node[seg].(map[string]any)
			if !ok {
				return nil, false
			}
			node = next
		}
	}
	var codes []string
	errs, _ := node["_errors"].([]any)
	for _, e := range errs {
		if c, ok := e.(map[string]any)["code"].(string); ok {
			codes = append(codes, c)
		}
	}
	return codes, true
}

// wantFormError fails the test unless err is Discord's 400 {"code":50035,"message":"Invalid Form
// Body"} naming path, with the error code code among its errors there (any code when code is "").
func wantFormError(t *testing.T, err error, path, code string) {
	t.Helper()
	st, c, body := restError(err)
	if st != http.StatusBadRequest || c != 50035 {
		t.Errorf("want 400 code 50035 at %s, got %v", path, err)
		return
	}
	codes, ok := formErrorCodes(body, path)
	if !ok || len(codes) == 0 {
		t.Errorf("errors %s: no _errors at %s", body, path)
		return
	}
	if code != "" && !slices.Contains(codes, code) {
		t.Errorf("errors at %s = %v, want %s (body %s)", path, codes, code, body)
	}
}

// wantError fails the test unless err is Discord's answer status with the error code code.
func wantError(t *testing.T, what string, err error, status, code int) {
	t.Helper()
	if st, c, body := restError(err); st != status || c != code {
		t.Errorf("%s: got %v (status %d code %d %s), want %d code %d", what, err, st, c, body, status, code)
	}
}

func buttons(ids ...string) discordgo.ActionsRow {
	var row discordgo.ActionsRow
	for _, id := range ids {
		row.Components = append(row.Components, discordgo.Button{Label: id, Style: discordgo.PrimaryButton, CustomID: id})
	}
	return row
}

func TestSendEditAndGet(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1", "C2")
	s := session(t, f)
	embed := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: "deliver D-42", Description: "api 1.4.2 → prod",
		Fields: []*discordgo.MessageEmbedField{{Name: "stage", Value: "canary"}}}
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: "appr:42"},
		discordgo.Button{Label: "Reject", Style: discordgo.DangerButton, CustomID: "rej:42"},
	}}
	msg, err := sendMessage(s, "C1", createBody{
		Content: "root", Embeds: []*discordgo.MessageEmbed{embed}, Components: []discordgo.MessageComponent{row},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID == "" || msg.ChannelID != "C1" || msg.Content != "root" || msg.Author == nil || !msg.Author.Bot || msg.Author.ID != BotUserID {
		t.Fatalf("message = %+v", msg)
	}
	if len(msg.Embeds) != 1 || msg.Embeds[0].Title != "deliver D-42" || msg.Embeds[0].Type != discordgo.EmbedTypeRich {
		t.Errorf("embeds = %+v", msg.Embeds)
	}
	if len(msg.Components) != 1 {
		t.Fatalf("components = %+v", msg.Components)
	}
	if r, ok := msg.Components[0].(*discordgo.ActionsRow); !ok || len(r.Components) != 2 || r.Components[1].(*discordgo.Button).CustomID != "rej:42" {
		t.Errorf("row = %#v", msg.Components[0])
	}
	if msg.Timestamp.IsZero() {
		t.Error("no timestamp")
	}

	calls := f.CallsTo(RouteMessageCreate)
	if len(calls) != 1 || calls[0].ChannelID != "C1" || calls[0].MessageID != msg.ID || calls[0].Content != "root" || calls[0].Status != http.StatusOK || calls[0].Method != http.MethodPost {
		t.Fatalf("calls = %+v", calls)
	}
	if es, _ := calls[0].Body["embeds"].([]any); len(es) != 1 {
		t.Errorf("recorded body = %v", calls[0].Body)
	}

	// An edit with only embeds keeps the content and the components.
	done := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: "deliver D-42", Description: "done"}
	edited, err := editMessage(s, "C1", msg.ID, object{"embeds": []*discordgo.MessageEmbed{done}})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != "root" || edited.Embeds[0].Description != "done" || len(edited.Components) != 1 || edited.EditedTimestamp == nil {
		t.Errorf("edited = %+v", edited)
	}
	m, ok := f.Message("C1", msg.ID)
	if !ok || m.Edits != 1 || m.Content != "root" || len(m.Embeds) != 1 || m.Embeds[0].Description != "done" || len(m.Components) != 1 {
		t.Errorf("stored = %+v", m)
	}
	// Components sent replace the old ones whole; an empty list removes them.
	if _, err := editMessage(s, "C1", msg.ID, object{"components": []any{}}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", msg.ID); m.Edits != 2 || len(m.Components) != 0 || string(m.ComponentsJSON) != "[]" || m.Content != "root" {
		t.Errorf("after removing components: %+v", m)
	}

	got, err := s.ChannelMessage("C1", msg.ID)
	if err != nil || got.ID != msg.ID || got.Embeds[0].Description != "done" {
		t.Errorf("get = %+v %v", got, err)
	}

	_, err = editMessage(s, "C1", "1", object{"content": "x"})
	wantError(t, "edit of an unknown message", err, http.StatusNotFound, 10008)
	_, err = editMessage(s, "C2", msg.ID, object{"content": "x"})
	wantError(t, "edit in another channel", err, http.StatusNotFound, 10008)
	_, err = sendMessage(s, "C1", object{})
	wantError(t, "empty message", err, http.StatusBadRequest, 50006)
	// Editing everything away is refused too.
	_, err = editMessage(s, "C1", msg.ID, object{"content": "", "embeds": []any{}})
	wantError(t, "edit to an empty message", err, http.StatusBadRequest, 50006)
}

func TestIDsGrowAcrossChannels(t *testing.T) {
	clock := NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	f := New(t, WithClock(clock.Now))
	f.AddChannel("G1", "C1", "C2", "C3")
	s := session(t, f)
	var prev uint64
	for i, ch := range []string{"C1", "C2", "C1", "C3"} {
		m, err := sendText(s, ch, "x")
		if err != nil {
			t.Fatal(err)
		}
		var id uint64
		if err := json.Unmarshal([]byte(m.ID), &id); err != nil || id <= prev {
			t.Fatalf("id #%d = %s after %d", i, m.ID, prev)
		}
		prev = id
		if i == 0 {
			// Ids are real snowflakes: they carry the fake's clock.
			if at, err := discordgo.SnowflakeTimestamp(m.ID); err != nil || !at.Equal(clock.Now()) {
				t.Errorf("snowflake time = %v %v, want %v", at, err, clock.Now())
			}
			if !m.Timestamp.Equal(clock.Now()) {
				t.Errorf("timestamp = %v", m.Timestamp)
			}
		}
	}
	if ms := f.Messages("C1"); len(ms) != 2 || ms[0].Content != "x" {
		t.Errorf("C1 = %+v", ms)
	}
}

func TestThreads(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	root, err := sendText(s, "C1", "deliver D-42")
	if err != nil {
		t.Fatal(err)
	}
	th, err := startThread(s, "C1", root.ID, threadBody("deliver D-42", 1440))
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != root.ID || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != "C1" || th.Name != "deliver D-42" ||
		th.ThreadMetadata == nil || th.ThreadMetadata.AutoArchiveDuration != 1440 {
		t.Fatalf("thread = %+v", th)
	}
	if id, ok := f.Thread(root.ID); !ok || id != th.ID {
		t.Errorf("Thread(root) = %q %v", id, ok)
	}
	if tc, ok := f.ThreadChannel(th.ID); !ok || tc.ParentID != "C1" || tc.MessageID != root.ID {
		t.Errorf("ThreadChannel = %+v %v", tc, ok)
	}
	if c := f.CallsTo(RouteThreadCreate); len(c) != 1 || c[0].ThreadID != th.ID || c[0].MessageID != root.ID || c[0].Status != http.StatusCreated {
		t.Errorf("calls = %+v", c)
	}

	// The thread is a channel.
	stage, err := sendMessage(s, th.ID, createBody{Content: "canary 10%"})
	if err != nil || stage.ChannelID != th.ID {
		t.Fatalf("post in thread = %+v %v", stage, err)
	}
	if ms := f.Messages(th.ID); len(ms) != 1 || ms[0].Content != "canary 10%" {
		t.Errorf("thread messages = %+v", ms)
	}
	if m, _ := f.Message("C1", root.ID); m.ThreadID != th.ID {
		t.Errorf("root's thread = %q", m.ThreadID)
	}
	if got, _ := s.ChannelMessage("C1", root.ID); got.Thread == nil || got.Thread.ID != th.ID {
		t.Errorf("root as fetched: thread %+v", got.Thread)
	}

	_, err = startThread(s, "C1", root.ID, threadBody("again", 0))
	if st, code, body := restError(err); st != http.StatusBadRequest || code != 160004 || !strings.Contains(body, "already been created") {
		t.Errorf("second thread: %v", err)
	}
	_, err = startThread(s, "C1", "404", threadBody("x", 0))
	wantError(t, "thread on an unknown message", err, http.StatusNotFound, 10008)
	// A refused thread does not use the message up.
	other, _ := sendText(s, "C1", "other")
	for _, body := range []object{threadBody(strings.Repeat("n", 101), 0), threadBody("", 0), threadBody("ok", 30)} {
		_, err = startThread(s, "C1", other.ID, body)
		if _, code, _ := restError(err); code != 50035 {
			t.Errorf("thread %v: %v", body, err)
		}
	}
	if _, err := startThread(s, "C1", other.ID, threadBody("ok", 60)); err != nil {
		t.Errorf("valid thread after refusals: %v", err)
	}
}

func TestLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	var sixRows []discordgo.MessageComponent
	for range 6 {
		sixRows = append(sixRows, buttons("a"+long(len(sixRows))))
	}
	var elevenEmbeds []*discordgo.MessageEmbed
	for range 11 {
		elevenEmbeds = append(elevenEmbeds, &discordgo.MessageEmbed{Title: "t"})
	}
	var fields []*discordgo.MessageEmbedField
	for range 26 {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "n", Value: "v"})
	}
	selectAndButton := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.SelectMenu{CustomID: "pick", Options: []discordgo.SelectMenuOption{{Label: "a", Value: "a"}}},
		discordgo.Button{Label: "b", CustomID: "b"},
	}}
	tests := []struct {
		name string
		msg  createBody
		path string // the errors path that must appear in the body and in Call.Detail
	}{
		{"content", createBody{Content: long(2001)}, "content"},
		{"eleven embeds", createBody{Embeds: elevenEmbeds}, "embeds"},
		{"embed title", createBody{Embeds: []*discordgo.MessageEmbed{{Title: long(257)}}}, "embeds.0.title"},
		{"embed description", createBody{Embeds: []*discordgo.MessageEmbed{{Description: long(4097)}}}, "embeds.0.description"},
		{"embed fields", createBody{Embeds: []*discordgo.MessageEmbed{{Fields: fields}}}, "embeds.0.fields"},
		{"field name", createBody{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: long(257), Value: "v"}}}}}, "embeds.0.fields.0.name"},
		{"field value", createBody{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: "n", Value: long(1025)}}}}}, "embeds.0.fields.0.value"},
		{"empty field value", createBody{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: "n"}}}}}, "embeds.0.fields.0.value"},
		{"footer", createBody{Embeds: []*discordgo.MessageEmbed{{Footer: &discordgo.MessageEmbedFooter{Text: long(2049)}}}}, "embeds.0.footer.text"},
		{"embeds total", createBody{Embeds: []*discordgo.MessageEmbed{{Description: long(4000)}, {Description: long(2001)}}}, "embeds"},
		{"six rows", createBody{Components: sixRows}, "components"},
		{"six buttons", createBody{Components: []discordgo.MessageComponent{buttons("a", "b", "c", "d", "e", "f")}}, "components.0.components"},
		{"empty row", createBody{Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{}}}}, "components.0.components"},
		{"button label", createBody{Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: long(81), CustomID: "a"}}}}}, "components.0.components.0.label"},
		{"custom_id 101", createBody{Components: []discordgo.MessageComponent{buttons(long(101))}}, "components.0.components.0.custom_id"},
		{"no custom_id", createBody{Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "a"}}}}}, "components.0.components.0.custom_id"},
		{"duplicate custom_id", createBody{Components: []discordgo.MessageComponent{buttons("a"), buttons("b", "a")}}, "components.1.components.1.custom_id"},
		{"select with a button", createBody{Components: []discordgo.MessageComponent{selectAndButton}}, "components.0.components"},
		{"button outside a row", createBody{Components: []discordgo.MessageComponent{discordgo.Button{Label: "a", CustomID: "a"}}}, "components.0.type"},
	}
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.msg
			if msg.Content == "" {
				msg.Content = "x"
			}
			_, err := sendMessage(s, "C1", msg)
			wantFormError(t, err, tt.path, "")
			calls := f.CallsTo(RouteMessageCreate)
			if last := calls[len(calls)-1]; last.Code != 50035 || !strings.Contains(last.Detail, tt.path+": ") {
				t.Errorf("recorded detail = %q", last.Detail)
			}
		})
	}
	if ms := f.Messages("C1"); len(ms) != 0 {
		t.Errorf("refused messages were stored: %+v", ms)
	}

	// At the limits, everything passes.
	var five []discordgo.MessageComponent
	for i := range 5 {
		five = append(five, buttons("r"+string(rune('a'+i))+"1", "r"+string(rune('a'+i))+"2", "r"+string(rune('a'+i))+"3", "r"+string(rune('a'+i))+"4", "r"+string(rune('a'+i))+"5"))
	}
	ok := createBody{
		Content: long(2000),
		Embeds:  []*discordgo.MessageEmbed{{Title: long(256), Description: long(3000)}, {Description: long(2744)}},
		Components: append(five[:4], discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: long(80), CustomID: long(100)}}}),
	}
	if _, err := sendMessage(s, "C1", ok); err != nil {
		t.Errorf("a message at the limits was refused: %v", err)
	}
}

// TestCommandsOverwrite registers commands with discordgo's own ApplicationCommandBulkOverwrite, as
// shipgate's handler does, to prove the fake takes that body. The fake checks the commands' names,
// descriptions, options and limits, not their keys: discordgo's ApplicationCommandOption sends
// "channel_types", "options" and "choices" as null when empty, which discord-api-types v10 does not
// allow (RESTPutAPIApplicationGuildCommandsJSONBody), but which the fake lets through.
func TestCommandsOverwrite(t *testing.T) {
	f := New(t)
	s := session(t, f)
	deliver := &discordgo.ApplicationCommand{
		Name: "deliver", Description: "Deliver a service",
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "start", Description: "Start a delivery", Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "service", Description: "Service", Required: true, Autocomplete: true},
				{Type: discordgo.ApplicationCommandOptionString, Name: "version", Description: "Version"},
			}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "status", Description: "Show a delivery"},
		},
	}
	// discordgo's own body sends null for the options' empty lists, which Discord's types do not allow.
	_, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, "G1", []*discordgo.ApplicationCommand{deliver})
	if _, code, body := restError(err); code != 50035 || !strings.Contains(body, "channel_types") {
		t.Fatalf("discordgo's command body: %v", err)
	}
	got, err := overwrite(s, "G1", deliver)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID == "" || got[0].ApplicationID != DefaultAppID || got[0].GuildID != "G1" || got[0].Type != discordgo.ChatApplicationCommand ||
		len(got[0].Options) != 2 || got[0].Options[0].Options[0].Name != "service" {
		t.Fatalf("overwrite = %+v", got)
	}
	stored := f.Commands("G1")
	if len(stored) != 1 || stored[0].ID != got[0].ID || stored[0].Name != "deliver" {
		t.Errorf("stored = %+v", stored)
	}
	if f.Commands("") != nil {
		t.Error("a guild overwrite registered global commands")
	}
	// Overwriting again keeps the id of a command it keeps.
	again, err := overwrite(s, "G1", deliver, &discordgo.ApplicationCommand{Name: "rollback", Description: "Roll back"})
	if err != nil || len(again) != 2 || again[0].ID != got[0].ID || again[1].ID == got[0].ID {
		t.Errorf("second overwrite = %+v %v", again, err)
	}
	global, err := overwrite(s, "", deliver)
	if err != nil || len(global) != 1 || global[0].GuildID != "" {
		t.Fatalf("global = %+v %v", global, err)
	}
	if g := f.Commands(""); len(g) != 1 || g[0].ID != global[0].ID {
		t.Errorf("stored global = %+v", g)
	}
	if listed, err := s.ApplicationCommands(DefaultAppID, "G1"); err != nil || len(listed) != 2 {
		t.Errorf("list = %+v %v", listed, err)
	}
	calls := f.CallsTo(RouteCommandsOverwrite)
	if len(calls) != 4 || calls[1].GuildID != "G1" || calls[3].GuildID != "" || len(calls[1].Array) != 1 || calls[1].Method != http.MethodPut {
		t.Errorf("calls = %+v", calls)
	}

	opt := func(name string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: "d"}
	}
	var many []*discordgo.ApplicationCommandOption
	for i := range 26 {
		many = append(many, opt("o"+strings.Repeat("x", i)))
	}
	bad := []struct {
		name string
		cmd  *discordgo.ApplicationCommand
		path string
	}{
		{"uppercase", &discordgo.ApplicationCommand{Name: "Deliver", Description: "d"}, "0.name"},
		{"space", &discordgo.ApplicationCommand{Name: "de liver", Description: "d"}, "0.name"},
		{"long name", &discordgo.ApplicationCommand{Name: strings.Repeat("d", 33), Description: "d"}, "0.name"},
		{"no description", &discordgo.ApplicationCommand{Name: "deliver"}, "0.description"},
		{"long description", &discordgo.ApplicationCommand{Name: "deliver", Description: strings.Repeat("d", 101)}, "0.description"},
		{"26 options", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: many}, "0.options"},
		{"mixed subcommand", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "start", Description: "d"}, opt("service")}}, "0.options"},
		{"nested subcommand", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "start", Description: "d", Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "now", Description: "d"}}}}}, "0.options.0.options.0.type"},
		{"required after optional", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: []*discordgo.ApplicationCommandOption{
			opt("a"), {Type: discordgo.ApplicationCommandOptionString, Name: "b", Description: "d", Required: true}}}, "0.options.1.required"},
		{"uppercase option", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: []*discordgo.ApplicationCommandOption{opt("Service")}}, "0.options.0.name"},
		{"duplicate option", &discordgo.ApplicationCommand{Name: "deliver", Description: "d", Options: []*discordgo.ApplicationCommandOption{opt("a"), opt("a")}}, "0.options.1.name"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := overwrite(s, "G1", tt.cmd)
			if _, code, _ := restError(err); code != 50035 {
				t.Fatalf("err = %v", err)
			}
			calls := f.CallsTo(RouteCommandsOverwrite)
			if d := calls[len(calls)-1].Detail; !strings.Contains(d, tt.path+": ") {
				t.Errorf("detail = %q, want %s", d, tt.path)
			}
		})
	}
	_, err = overwrite(s, "G1", deliver, deliver)
	if _, code, _ := restError(err); code != 50035 {
		t.Errorf("duplicate commands: %v", err)
	}
	if g := f.Commands("G1"); len(g) != 2 {
		t.Errorf("a refused overwrite changed the commands: %+v", g)
	}

	// The documented body, without discordgo's nulls, is taken the same way.
	var documented []*discordgo.ApplicationCommand
	err = rest(s, http.MethodPut, discordgo.EndpointApplicationGuildCommands(DefaultAppID, "G2"), []object{{
		"name": "deliver", "description": "Deliver a service",
		"options": []object{{"type": discordgo.ApplicationCommandOptionSubCommand, "name": "status", "description": "Show a delivery"}},
	}}, &documented)
	if err != nil || len(documented) != 1 || documented[0].GuildID != "G2" || len(documented[0].Options) != 1 {
		t.Errorf("documented overwrite = %+v %v", documented, err)
	}
	if g := f.Commands("G2"); len(g) != 1 || g[0].Options[0].Name != "status" {
		t.Errorf("stored G2 = %+v", g)
	}
}

// overwrite registers cmds with a bulk overwrite in guildID ("" globally), sending discordgo's commands
// as Discord documents them: without the nulls discordgo sends for empty lists.
func overwrite(s *discordgo.Session, guildID string, cmds ...*discordgo.ApplicationCommand) ([]*discordgo.ApplicationCommand, error) {
	raw, err := json.Marshal(cmds)
	if err != nil {
		return nil, err
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	url := discordgo.EndpointApplicationGlobalCommands(DefaultAppID)
	if guildID != "" {
		url = discordgo.EndpointApplicationGuildCommands(DefaultAppID, guildID)
	}
	var out []*discordgo.ApplicationCommand
	err = rest(s, http.MethodPut, url, dropNulls(body), &out)
	return out, err
}

// dropNulls removes the null members of every object in v.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

// interactionOf decodes an inbound payload as a handler would.
func interactionOf(t *testing.T, payload []byte) *discordgo.Interaction {
	t.Helper()
	var i discordgo.Interaction
	if err := json.Unmarshal(payload, &i); err != nil {
		t.Fatal(err)
	}
	return &i
}

var alice = Member{UserID: "U1", Username: "alice", Roles: []string{"R1"}}

func TestInteractionLifecycle(t *testing.T) {
	clock := NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	f := New(t, WithClock(clock.Now))
	f.AddChannel("G1", "C1")
	s := session(t, f)
	tok := f.IssueInteractionFor("I1", "C1", "")
	i := interactionOf(t, Command("I1", tok, DefaultAppID, "G1", "C1", alice, "deliver", Subcommand("start", StringOption("service", "api"))))

	err := respond(s, i.ID, i.Token, object{"type": discordgo.InteractionResponseDeferredChannelMessageWithSource,
		"data": object{"flags": discordgo.MessageFlagsEphemeral}})
	if err != nil {
		t.Fatal(err)
	}
	cb, ok := f.Callback("I1")
	if !ok || cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Flags != discordgo.MessageFlagsEphemeral || cb.Token != tok {
		t.Fatalf("callback = %+v %v", cb, ok)
	}
	orig, ok := f.Original("I1")
	if !ok || orig.ChannelID != "C1" || !orig.Ephemeral() || orig.Flags&discordgo.MessageFlagsLoading == 0 || orig.InteractionID != "I1" {
		t.Fatalf("original = %+v %v", orig, ok)
	}
	// Ephemeral messages are not reachable through the channel routes.
	if _, err := s.ChannelMessage("C1", orig.ID); err == nil {
		t.Error("an ephemeral message was fetched through the channel")
	}

	err = respond(s, i.ID, i.Token, object{"type": discordgo.InteractionResponseChannelMessageWithSource, "data": object{"content": "again"}})
	wantError(t, "second callback", err, http.StatusBadRequest, 40060)
	if cb, _ := f.Callback("I1"); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("the second callback replaced the first: %+v", cb)
	}

	clock.Advance(14 * time.Minute)
	content := "delivery D-42 started"
	edited, err := editOriginal(s, i.Token, object{"content": content})
	if err != nil {
		t.Fatal(err)
	}
	if edited.ID != orig.ID || edited.Content != content || edited.Flags&discordgo.MessageFlagsLoading != 0 || edited.WebhookID != DefaultAppID {
		t.Errorf("edited original = %+v", edited)
	}
	if o, _ := f.Original("I1"); o.Content != content || o.Edits != 1 {
		t.Errorf("stored original = %+v", o)
	}
	if got, err := s.InteractionResponse(i); err != nil || got.Content != content {
		t.Errorf("get original = %+v %v", got, err)
	}

	fu, err := followup(s, i.Token, true, createBody{Content: "stage 1 done",
		Components: []discordgo.MessageComponent{buttons("appr:42", "rej:42")}})
	if err != nil {
		t.Fatal(err)
	}
	if fu == nil || fu.ChannelID != "C1" || fu.Content != "stage 1 done" || len(fu.Components) != 1 {
		t.Fatalf("follow-up = %+v", fu)
	}
	if nowait, err := followup(s, i.Token, false, createBody{Content: "fire and forget"}); err != nil || nowait != nil {
		t.Errorf("follow-up without wait = %+v %v", nowait, err)
	}
	changed := "stage 1 approved"
	if _, err := editFollowup(s, i.Token, fu.ID, object{"content": changed}); err != nil {
		t.Fatal(err)
	}
	fus := f.Followups("I1")
	if len(fus) != 2 || fus[0].Content != changed || fus[0].Edits != 1 || fus[1].Content != "fire and forget" {
		t.Errorf("follow-ups = %+v", fus)
	}
	// A token reaches only its own interaction's messages.
	other, _ := sendText(s, "C1", "bot message")
	if _, err := editFollowup(s, i.Token, other.ID, object{"content": changed}); err == nil {
		t.Error("a webhook token edited a bot message")
	}

	// Fifteen minutes after the token was issued, it is gone.
	clock.Advance(time.Minute + time.Second)
	_, err = editOriginal(s, i.Token, object{"content": content})
	wantError(t, "edit after 15 minutes", err, http.StatusNotFound, 10015)
	_, err = followup(s, i.Token, true, createBody{Content: "late"})
	wantError(t, "follow-up after 15 minutes", err, http.StatusNotFound, 10015)
	if len(f.Followups("I1")) != 2 {
		t.Error("a late follow-up was stored")
	}
	late := f.CallsTo(RouteWebhookFollowup)
	if c := late[len(late)-1]; c.InteractionID != "I1" || c.Code != 10015 || c.Error != "Unknown Webhook" {
		t.Errorf("late follow-up call = %+v", c)
	}
}

func TestInteractionTokens(t *testing.T) {
	f := New(t)
	s := session(t, f)
	edit := object{"content": "x"}
	_, err := editOriginal(s, "never-issued", edit)
	if err == nil {
		t.Error("edit with a token never issued")
	} else {
		wantError(t, "never issued", err, http.StatusNotFound, 10015)
	}
	deferred := object{"type": discordgo.InteractionResponseDeferredChannelMessageWithSource}
	err = respond(s, "I9", "never-issued", deferred)
	wantError(t, "callback with a token never issued", err, http.StatusNotFound, 10062)
	// A token belongs to its interaction.
	tok := f.IssueInteraction("I1")
	err = respond(s, "I2", tok, deferred)
	wantError(t, "callback for another interaction's token", err, http.StatusNotFound, 10062)
	// Before any response there is no @original.
	if _, err := editOriginal(s, tok, edit); err == nil {
		t.Error("edited @original before responding")
	} else {
		wantError(t, "@original before responding", err, http.StatusNotFound, 10008)
	}
	// Webhook routes need no bot token.
	bare, _ := discordgo.New("")
	bare.Client = f.Client()
	if err := respond(bare, "I1", tok, object{"type": discordgo.InteractionResponseChannelMessageWithSource,
		"data": object{"content": "hello"}}); err != nil {
		t.Errorf("callback without a bot token: %v", err)
	}
	// Without IssueInteractionFor the fake does not know the channel.
	if o, ok := f.Original("I1"); !ok || o.ChannelID != "" || o.Content != "hello" {
		t.Errorf("original = %+v %v", o, ok)
	}
}

func TestComponentUpdateAndModal(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	msg, err := sendMessage(s, "C1", createBody{Content: "approve?", Components: []discordgo.MessageComponent{buttons("appr:42", "rej:42")}})
	if err != nil {
		t.Fatal(err)
	}
	tok := f.IssueInteractionFor("I1", "C1", msg.ID)
	i := interactionOf(t, Component("I1", tok, DefaultAppID, "G1", "C1", msg.ID, alice, "appr:42"))
	disabled := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approved", Style: discordgo.SuccessButton, CustomID: "appr:42", Disabled: true},
	}}
	err = respond(s, i.ID, i.Token, object{"type": discordgo.InteractionResponseUpdateMessage,
		"data": createBody{Content: "approved by alice", Components: []discordgo.MessageComponent{disabled}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.Message("C1", msg.ID)
	if m.Content != "approved by alice" || m.Edits != 1 || len(m.Components) != 1 || !m.Components[0].(*discordgo.ActionsRow).Components[0].(*discordgo.Button).Disabled {
		t.Errorf("message after update = %+v", m)
	}
	if o, ok := f.Original("I1"); !ok || o.ID != msg.ID {
		t.Errorf("@original of a component interaction = %+v %v", o, ok)
	}
	cb, _ := f.Callback("I1")
	if cb.Type != discordgo.InteractionResponseUpdateMessage || cb.Content != "approved by alice" || len(cb.Components) != 1 {
		t.Errorf("callback = %+v", cb)
	}
	c := f.CallsTo(RouteInteractionCallback)
	if len(c) != 1 || c[0].Status != http.StatusNoContent || c[0].Content != "approved by alice" || c[0].MessageID != msg.ID {
		t.Errorf("calls = %+v", c)
	}

	// A modal's data is custom_id, title and components, nothing else.
	modal := func(title, label string) object {
		return object{"type": discordgo.InteractionResponseModal, "data": object{
			"custom_id": "reject:42", "title": title,
			"components": []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{CustomID: "reason", Label: label, Style: discordgo.TextInputParagraph},
			}}},
		}}
	}
	tok2 := f.IssueInteractionFor("I2", "C1", msg.ID)
	err = respond(s, "I2", tok2, modal(strings.Repeat("t", 46), "Reason"))
	if _, code, body := restError(err); code != 50035 || !strings.Contains(body, `"title"`) {
		t.Errorf("modal title of 46: %v", err)
	}
	err = respond(s, "I2", tok2, modal("Reject", strings.Repeat("l", 46)))
	if _, code, _ := restError(err); code != 50035 {
		t.Errorf("text input label of 46: %v", err)
	}
	if d := f.CallsTo(RouteInteractionCallback); !strings.Contains(d[len(d)-1].Detail, "data.components.0.components.0.label: ") {
		t.Errorf("detail = %q", d[len(d)-1].Detail)
	}
	// A refused response does not acknowledge the interaction.
	if err := respond(s, "I2", tok2, modal("Reject D-42", "Reason")); err != nil {
		t.Fatal(err)
	}
	if cb, _ := f.Callback("I2"); cb.Type != discordgo.InteractionResponseModal || cb.Title != "Reject D-42" || cb.CustomID != "reject:42" {
		t.Errorf("modal callback = %+v", cb)
	}
	// A response message is checked like any message.
	tok3 := f.IssueInteraction("I3")
	err = respond(s, "I3", tok3, object{"type": discordgo.InteractionResponseChannelMessageWithSource,
		"data": object{"content": strings.Repeat("c", 2001)}})
	if _, code, body := restError(err); code != 50035 || !strings.Contains(body, `"data"`) {
		t.Errorf("response of 2001 characters: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	s.ShouldRetryOnRateLimit = false
	f.FailNext(RouteMessageCreate, 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.25})
	_, err := sendText(s, "C1", "x")
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %T %v", err, err)
	}
	if rl.RetryAfter != 250*time.Millisecond || rl.Message != "You are being rate limited." {
		t.Errorf("rate limit = %+v", rl.TooManyRequests)
	}
	c := f.CallsTo(RouteMessageCreate)
	if len(c) != 1 || c[0].Status != http.StatusTooManyRequests || c[0].Error != "You are being rate limited." {
		t.Errorf("calls = %+v", c)
	}
	if len(f.Messages("C1")) != 0 {
		t.Error("a rate-limited message was stored")
	}
	if _, err := sendText(s, "C1", "x"); err != nil {
		t.Errorf("after the failure: %v", err)
	}

	// The raw answer, headers included.
	f.FailNext(RouteMessageCreate, 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 1.5, Global: true})
	req, _ := http.NewRequest(http.MethodPost, discordgo.EndpointChannelMessages("C1"), strings.NewReader(`{"content":"x"}`))
	req.Header.Set("Authorization", "Bot "+DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-RateLimit-Scope") != "global" ||
		resp.Header.Get("X-RateLimit-Global") != "true" || resp.Header.Get("X-RateLimit-Bucket") == "" {
		t.Errorf("429 = %d %v", resp.StatusCode, resp.Header)
	}
	var rlBody map[string]any
	if err := json.Unmarshal(body, &rlBody); err != nil || rlBody["retry_after"] != 1.5 || rlBody["global"] != true || rlBody["message"] != "You are being rate limited." {
		t.Errorf("429 body = %s", body)
	}

	// With retries on, discordgo waits retry_after and tries again.
	s.ShouldRetryOnRateLimit = true
	f.FailNext(RouteWebhookFollowup, 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.01})
	tok := f.IssueInteraction("I1")
	if _, err := followup(s, tok, true, createBody{Content: "x"}); err != nil {
		t.Errorf("retried follow-up: %v", err)
	}
	if c := f.CallsTo(RouteWebhookFollowup); len(c) != 2 || c[0].Status != 429 || c[1].Status != 200 {
		t.Errorf("follow-up calls = %+v", c)
	}
}

func TestFailures(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	// discordgo retries a 502 by itself.
	f.FailNext(RouteMessageEdit, 1, Failure{Status: http.StatusBadGateway})
	m, err := sendText(s, "C1", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := editMessage(s, "C1", m.ID, object{"content": "y"}); err != nil {
		t.Errorf("edit after one 502: %v", err)
	}
	if c := f.CallsTo(RouteMessageEdit); len(c) != 2 || c[0].Status != 502 || c[0].Error != "502: Bad Gateway" {
		t.Errorf("calls = %+v", c)
	}
	// Failures are used in order, then the route works again.
	f.FailNext(RouteThreadCreate, 1, Failure{Code: 50001, Message: "Missing Access"})
	f.FailNext(RouteThreadCreate, 1, Failure{Status: 500})
	_, err = startThread(s, "C1", m.ID, threadBody("t", 60))
	if st, code, body := restError(err); st != 400 || code != 50001 || !strings.Contains(body, "Missing Access") {
		t.Errorf("first failure: %v", err)
	}
	_, err = startThread(s, "C1", m.ID, threadBody("t", 60))
	if st, _, _ := restError(err); st != 500 {
		t.Errorf("second failure: %v", err)
	}
	if _, err := startThread(s, "C1", m.ID, threadBody("t", 60)); err != nil {
		t.Errorf("after the failures: %v", err)
	}
}

func TestAuth(t *testing.T) {
	f := New(t, WithToken("right"))
	f.AddChannel("G1", "C1")
	s := session(t, f) // sends DefaultToken
	f.FailNext(RouteMessageCreate, 1, Failure{Status: 500})
	_, err := sendText(s, "C1", "x")
	if st, code, body := restError(err); st != http.StatusUnauthorized || code != 0 || !strings.Contains(body, "401: Unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
	s.Token = "Bot right"
	// The refused call did not use up the failure.
	if _, err := sendText(s, "C1", "x"); err == nil {
		t.Error("the queued failure was lost")
	}
	if _, err := sendText(s, "C1", "x"); err != nil {
		t.Errorf("right token: %v", err)
	}
	if c := f.Calls(); len(c) != 3 || c[0].Status != 401 || c[1].Status != 500 || c[2].Status != 200 {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	_, err := s.User("@me")
	if st, _, body := restError(err); st != http.StatusNotFound || !strings.Contains(body, "404: Not Found") {
		t.Errorf("unknown route: %v", err)
	}
	// GET is the only method the fake serves on /channels/{id}.
	_, err = s.ChannelDelete("C1")
	if st, _, _ := restError(err); st != http.StatusMethodNotAllowed {
		t.Errorf("unserved method: %v", err)
	}
	c := f.CallsTo(RouteUnknown)
	if len(c) != 2 || c[0].Path != "/api/v9/users/@me" || c[1].Method != http.MethodDelete || c[1].ChannelID != "C1" {
		t.Errorf("calls = %+v", c)
	}
	if _, ok := f.Channel("C1"); !ok {
		t.Error("an unserved DELETE removed the channel")
	}
}

func TestWaitFor(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	go func() {
		root, err := sendText(s, "C1", "root")
		if err != nil {
			return
		}
		_, _ = startThread(s, "C1", root.ID, threadBody("deliver", 60))
	}()
	calls := f.WaitFor(t, wait, "a thread", func(cs []Call) bool { return len(FilterCalls(cs, RouteThreadCreate)) == 1 })
	if len(calls) != 2 || calls[0].Route != RouteMessageCreate {
		t.Errorf("calls:\n%s", DumpCalls(calls))
	}
	if _, ok := f.Thread(calls[0].MessageID); !ok {
		t.Error("the thread awaited is not there")
	}
}

// fatalTB records Fatalf instead of stopping the test, to test WaitFor's timeout.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

func TestWaitForTimeout(t *testing.T) {
	f := New(t)
	tb := &fatalTB{TB: t}
	if got := f.WaitFor(tb, time.Millisecond, "nothing", func([]Call) bool { return false }); got != nil || !strings.HasPrefix(tb.msg, "discordfake: timed out") {
		t.Errorf("WaitFor on timeout = %v, fatal %q", got, tb.msg)
	}
}

func TestNewTransport(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	for _, base := range []string{f.URL(), f.URL() + "/", f.URL() + "/api/v9", f.URL() + "/api/v9/"} {
		rt, err := NewTransport(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := session(t, f)
		s.Client = &http.Client{Transport: rt}
		if _, err := sendText(s, "C1", base); err != nil {
			t.Errorf("base %s: %v", base, err)
		}
	}
	if c := f.CallsTo(RouteMessageCreate); len(c) != 4 {
		t.Errorf("calls:\n%s", DumpCalls(f.Calls()))
	}
	for _, bad := range []string{"", "discord.test", "ftp://x", "http://"} {
		if _, err := NewTransport(bad, nil); err == nil {
			t.Errorf("NewTransport(%q) accepted", bad)
		}
	}
}

func TestRespondInline(t *testing.T) {
	f := New(t)
	f.AddChannel("G1", "C1")
	s := session(t, f)
	card, err := sendMessage(s, "C1", createBody{Content: "approve?", Components: []discordgo.MessageComponent{buttons("appr:42")}})
	if err != nil {
		t.Fatal(err)
	}
	// A click answered inline with an update: the fake learns channel and message from the payload.
	click := Component("I1", f.IssueInteraction("I1"), DefaultAppID, "G1", "C1", card.ID, alice, "appr:42")
	if err := f.RespondInline(click, []byte(`{"type":7,"data":{"content":"approved","components":[]}}`)); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", card.ID); m.Content != "approved" || len(m.Components) != 0 || m.Edits != 1 {
		t.Errorf("card = %+v", m)
	}
	if err := f.RespondInline(click, []byte(`{"type":6}`)); err == nil || !strings.Contains(err.Error(), "40060") {
		t.Errorf("second inline answer: %v", err)
	}

	// A command deferred inline has an @original to edit afterwards.
	tok := f.IssueInteraction("I2")
	cmd := Command("I2", tok, DefaultAppID, "G1", "C1", alice, "deliver", Subcommand("start", StringOption("service", "api")))
	if err := f.RespondInline(cmd, []byte(`{"type":5,"data":{"flags":64}}`)); err != nil {
		t.Fatal(err)
	}
	content := "started"
	if m, err := editOriginal(s, tok, object{"content": content}); err != nil || m.ChannelID != "C1" || m.Content != content {
		t.Errorf("edit after an inline deferral = %+v %v", m, err)
	}
	if cb, ok := f.Callback("I2"); !ok || cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Flags != discordgo.MessageFlagsEphemeral {
		t.Errorf("callback = %+v %v", cb, ok)
	}
	if len(f.CallsTo(RouteInteractionCallback)) != 0 {
		t.Error("an inline answer was recorded as a REST call")
	}

	// Refusals name the field; a token never issued is refused.
	tok3 := f.IssueInteraction("I3")
	err = f.RespondInline(Command("I3", tok3, DefaultAppID, "G1", "C1", alice, "deliver"),
		[]byte(`{"type":4,"data":{"content":"`+strings.Repeat("c", 2001)+`"}}`))
	if err == nil || !strings.Contains(err.Error(), "data.content: ") {
		t.Errorf("too long inline answer: %v", err)
	}
	if err := f.RespondInline(Command("I4", "nope", DefaultAppID, "G1", "C1", alice, "deliver"), []byte(`{"type":5}`)); err == nil {
		t.Error("an unissued token was accepted")
	}

	// Every inline answer is recorded as a call of RouteInteractionInline, refused ones included.
	calls := f.CallsTo(RouteInteractionInline)
	want := []struct {
		id     string
		status int
		code   int
	}{{"I1", 200, 0}, {"I1", 400, 40060}, {"I2", 200, 0}, {"I3", 400, 50035}, {"I4", 404, 10062}}
	if len(calls) != len(want) {
		t.Fatalf("inline calls:\n%s", DumpCalls(calls))
	}
	for k, w := range want {
		if c := calls[k]; c.InteractionID != w.id || c.Status != w.status || c.Code != w.code || c.Method != http.MethodPost || c.ChannelID != "C1" {
			t.Errorf("inline call #%d = %+v, want %s %d code %d", k, c, w.id, w.status, w.code)
		}
	}
	if c := calls[0]; c.MessageID != card.ID || c.InteractionToken == "" || c.Body["type"] != 7.0 || c.Content != "approved" {
		t.Errorf("inline update = %+v", c)
	}
	if !strings.Contains(calls[3].Detail, "data.content: ") {
		t.Errorf("refused inline detail = %q", calls[3].Detail)
	}
}

// An attachment entry must name an uploaded files[n] part; a file part is stored with its bytes.
func TestAttachmentsMustBeUploaded(t *testing.T) {
	p := payload{m: map[string]any{"attachments": []any{map[string]any{"id": 1.0, "filename": "a.txt"}}},
		uploads: map[string]Attachment{"files[0]": {Filename: "a.txt", Content: []byte("x")}}}
	if _, rep, ok := attachments(p); ok || rep.code != 50035 || !strings.Contains(rep.detail, "attachments.0.id") {
		t.Fatalf("attachment naming files[1] with only files[0] uploaded: ok=%v %+v", ok, rep)
	}
	p.m["attachments"] = []any{map[string]any{"id": 0.0, "filename": "a.txt"}}
	got, _, ok := attachments(p)
	if !ok || len(got) != 1 || got[0].ID != "0" || string(got[0].Content) != "x" {
		t.Fatalf("attachments %+v, %v", got, ok)
	}
}
