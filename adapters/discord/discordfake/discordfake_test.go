package discordfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// wait bounds every wait in these tests; they return as soon as what they wait for happens.
const wait = 10 * time.Second

func session(t *testing.T, f *Server) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + DefaultToken)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = f.Client()
	return s
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

func buttons(ids ...string) discordgo.ActionsRow {
	var row discordgo.ActionsRow
	for _, id := range ids {
		row.Components = append(row.Components, discordgo.Button{Label: id, Style: discordgo.PrimaryButton, CustomID: id})
	}
	return row
}

func TestSendEditAndGet(t *testing.T) {
	f := New(t)
	s := session(t, f)
	embed := &discordgo.MessageEmbed{Title: "deliver D-42", Description: "api 1.4.2 → prod",
		Fields: []*discordgo.MessageEmbedField{{Name: "stage", Value: "canary"}}}
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: "appr:42"},
		discordgo.Button{Label: "Reject", Style: discordgo.DangerButton, CustomID: "rej:42"},
	}}
	msg, err := s.ChannelMessageSendComplex("C1", &discordgo.MessageSend{
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
	done := &discordgo.MessageEmbed{Title: "deliver D-42", Description: "done"}
	edited, err := s.ChannelMessageEditComplex(discordgo.NewMessageEdit("C1", msg.ID).SetEmbeds([]*discordgo.MessageEmbed{done}))
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
	empty := []discordgo.MessageComponent{}
	if _, err := s.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: "C1", ID: msg.ID, Components: &empty}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message("C1", msg.ID); m.Edits != 2 || len(m.Components) != 0 || string(m.ComponentsJSON) != "[]" || m.Content != "root" {
		t.Errorf("after removing components: %+v", m)
	}

	got, err := s.ChannelMessage("C1", msg.ID)
	if err != nil || got.ID != msg.ID || got.Embeds[0].Description != "done" {
		t.Errorf("get = %+v %v", got, err)
	}

	_, err = s.ChannelMessageEditComplex(discordgo.NewMessageEdit("C1", "1").SetContent("x"))
	if st, code, _ := restError(err); st != http.StatusNotFound || code != 10008 {
		t.Errorf("edit of an unknown message: %v", err)
	}
	_, err = s.ChannelMessageEditComplex(discordgo.NewMessageEdit("C2", msg.ID).SetContent("x"))
	if _, code, _ := restError(err); code != 10008 {
		t.Errorf("edit in another channel: %v", err)
	}
	_, err = s.ChannelMessageSendComplex("C1", &discordgo.MessageSend{})
	if st, code, _ := restError(err); st != http.StatusBadRequest || code != 50006 {
		t.Errorf("empty message: %v", err)
	}
	// Editing everything away is refused too.
	blank := ""
	none := []*discordgo.MessageEmbed{}
	_, err = s.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: "C1", ID: msg.ID, Content: &blank, Embeds: &none})
	if _, code, _ := restError(err); code != 50006 {
		t.Errorf("edit to an empty message: %v", err)
	}
}

func TestIDsGrowAcrossChannels(t *testing.T) {
	clock := NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	f := New(t, WithClock(clock.Now))
	s := session(t, f)
	var prev uint64
	for i, ch := range []string{"C1", "C2", "C1", "C3"} {
		m, err := s.ChannelMessageSend(ch, "x")
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
	s := session(t, f)
	root, err := s.ChannelMessageSend("C1", "deliver D-42")
	if err != nil {
		t.Fatal(err)
	}
	th, err := s.MessageThreadStartComplex("C1", root.ID, &discordgo.ThreadStart{Name: "deliver D-42", AutoArchiveDuration: 1440})
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
	stage, err := s.ChannelMessageSendComplex(th.ID, &discordgo.MessageSend{Content: "canary 10%"})
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

	_, err = s.MessageThreadStartComplex("C1", root.ID, &discordgo.ThreadStart{Name: "again"})
	if st, code, body := restError(err); st != http.StatusBadRequest || code != 160004 || !strings.Contains(body, "already been created") {
		t.Errorf("second thread: %v", err)
	}
	_, err = s.MessageThreadStartComplex("C1", "404", &discordgo.ThreadStart{Name: "x"})
	if _, code, _ := restError(err); code != 10008 {
		t.Errorf("thread on an unknown message: %v", err)
	}
	// A refused thread does not use the message up.
	other, _ := s.ChannelMessageSend("C1", "other")
	for _, ts := range []discordgo.ThreadStart{{Name: strings.Repeat("n", 101)}, {Name: ""}, {Name: "ok", AutoArchiveDuration: 30}} {
		_, err = s.MessageThreadStartComplex("C1", other.ID, &ts)
		if _, code, _ := restError(err); code != 50035 {
			t.Errorf("thread %+v: %v", ts, err)
		}
	}
	if _, err := s.MessageThreadStart("C1", other.ID, "ok", 60); err != nil {
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
		msg  discordgo.MessageSend
		path string // the errors path that must appear in the body and in Call.Detail
	}{
		{"content", discordgo.MessageSend{Content: long(2001)}, "content"},
		{"eleven embeds", discordgo.MessageSend{Embeds: elevenEmbeds}, "embeds"},
		{"embed title", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: long(257)}}}, "embeds.0.title"},
		{"embed description", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4097)}}}, "embeds.0.description"},
		{"embed fields", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Fields: fields}}}, "embeds.0.fields"},
		{"field name", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: long(257), Value: "v"}}}}}, "embeds.0.fields.0.name"},
		{"field value", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: "n", Value: long(1025)}}}}}, "embeds.0.fields.0.value"},
		{"empty field value", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Fields: []*discordgo.MessageEmbedField{{Name: "n"}}}}}, "embeds.0.fields.0.value"},
		{"footer", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Footer: &discordgo.MessageEmbedFooter{Text: long(2049)}}}}, "embeds.0.footer.text"},
		{"embeds total", discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4000)}, {Description: long(2001)}}}, "embeds"},
		{"six rows", discordgo.MessageSend{Components: sixRows}, "components"},
		{"six buttons", discordgo.MessageSend{Components: []discordgo.MessageComponent{buttons("a", "b", "c", "d", "e", "f")}}, "components.0.components"},
		{"empty row", discordgo.MessageSend{Components: []discordgo.MessageComponent{discordgo.ActionsRow{}}}, "components.0.components"},
		{"button label", discordgo.MessageSend{Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: long(81), CustomID: "a"}}}}}, "components.0.components.0.label"},
		{"custom_id 101", discordgo.MessageSend{Components: []discordgo.MessageComponent{buttons(long(101))}}, "components.0.components.0.custom_id"},
		{"no custom_id", discordgo.MessageSend{Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "a"}}}}}, "components.0.components.0.custom_id"},
		{"duplicate custom_id", discordgo.MessageSend{Components: []discordgo.MessageComponent{buttons("a"), buttons("b", "a")}}, "components.1.components.1.custom_id"},
		{"select with a button", discordgo.MessageSend{Components: []discordgo.MessageComponent{selectAndButton}}, "components.0.components"},
		{"button outside a row", discordgo.MessageSend{Components: []discordgo.MessageComponent{discordgo.Button{Label: "a", CustomID: "a"}}}, "components.0.type"},
	}
	f := New(t)
	s := session(t, f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.msg
			if msg.Content == "" {
				msg.Content = "x"
			}
			_, err := s.ChannelMessageSendComplex("C1", &msg)
			st, code, body := restError(err)
			if st != http.StatusBadRequest || code != 50035 {
				t.Fatalf("err = %v", err)
			}
			var answer struct {
				Code    int            `json:"code"`
				Message string         `json:"message"`
				Errors  map[string]any `json:"errors"`
			}
			if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Message != "Invalid Form Body" {
				t.Fatalf("body %s: %v", body, err)
			}
			node := answer.Errors
			for seg := range strings.SplitSeq(tt.path, ".") {
				next, ok := node[seg].(map[string]any)
				if !ok {
					t.Fatalf("errors %s have no %s", body, tt.path)
				}
				node = next
			}
			if errs, _ := node["_errors"].([]any); len(errs) == 0 {
				t.Errorf("errors %s: no _errors at %s", body, tt.path)
			}
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
	ok := discordgo.MessageSend{
		Content: long(2000),
		Embeds:  []*discordgo.MessageEmbed{{Title: long(256), Description: long(3000)}, {Description: long(2744)}},
		Components: append(five[:4], discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: long(80), CustomID: long(100)}}}),
	}
	if _, err := s.ChannelMessageSendComplex("C1", &ok); err != nil {
		t.Errorf("a message at the limits was refused: %v", err)
	}
}

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
	got, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, "G1", []*discordgo.ApplicationCommand{deliver})
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
	again, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, "G1", []*discordgo.ApplicationCommand{deliver, {Name: "rollback", Description: "Roll back"}})
	if err != nil || len(again) != 2 || again[0].ID != got[0].ID || again[1].ID == got[0].ID {
		t.Errorf("second overwrite = %+v %v", again, err)
	}
	global, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, "", []*discordgo.ApplicationCommand{deliver})
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
	if len(calls) != 3 || calls[0].GuildID != "G1" || calls[2].GuildID != "" || len(calls[0].Array) != 1 || calls[0].Method != http.MethodPut {
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
			_, err := s.ApplicationCommandBulkOverwrite(DefaultAppID, "G1", []*discordgo.ApplicationCommand{tt.cmd})
			if _, code, _ := restError(err); code != 50035 {
				t.Fatalf("err = %v", err)
			}
			calls := f.CallsTo(RouteCommandsOverwrite)
			if d := calls[len(calls)-1].Detail; !strings.Contains(d, tt.path+": ") {
				t.Errorf("detail = %q, want %s", d, tt.path)
			}
		})
	}
	_, err = s.ApplicationCommandBulkOverwrite(DefaultAppID, "G1", []*discordgo.ApplicationCommand{deliver, deliver})
	if _, code, _ := restError(err); code != 50035 {
		t.Errorf("duplicate commands: %v", err)
	}
	if g := f.Commands("G1"); len(g) != 2 {
		t.Errorf("a refused overwrite changed the commands: %+v", g)
	}
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
	s := session(t, f)
	tok := f.IssueInteractionFor("I1", "C1", "")
	i := interactionOf(t, Command("I1", tok, DefaultAppID, "G1", "C1", alice, "deliver", Subcommand("start", StringOption("service", "api"))))

	err := s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	})
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

	err = s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "again"}})
	if st, code, _ := restError(err); st != http.StatusBadRequest || code != 40060 {
		t.Errorf("second callback: %v", err)
	}
	if cb, _ := f.Callback("I1"); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("the second callback replaced the first: %+v", cb)
	}

	clock.Advance(14 * time.Minute)
	content := "delivery D-42 started"
	edited, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content})
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

	fu, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "stage 1 done",
		Components: []discordgo.MessageComponent{buttons("appr:42", "rej:42")}})
	if err != nil {
		t.Fatal(err)
	}
	if fu == nil || fu.ChannelID != "C1" || fu.Content != "stage 1 done" || len(fu.Components) != 1 {
		t.Fatalf("follow-up = %+v", fu)
	}
	if nowait, err := s.FollowupMessageCreate(i, false, &discordgo.WebhookParams{Content: "fire and forget"}); err != nil || nowait != nil {
		t.Errorf("follow-up without wait = %+v %v", nowait, err)
	}
	changed := "stage 1 approved"
	if _, err := s.FollowupMessageEdit(i, fu.ID, &discordgo.WebhookEdit{Content: &changed}); err != nil {
		t.Fatal(err)
	}
	fus := f.Followups("I1")
	if len(fus) != 2 || fus[0].Content != changed || fus[0].Edits != 1 || fus[1].Content != "fire and forget" {
		t.Errorf("follow-ups = %+v", fus)
	}
	// A token reaches only its own interaction's messages.
	other, _ := s.ChannelMessageSend("C1", "bot message")
	if _, err := s.FollowupMessageEdit(i, other.ID, &discordgo.WebhookEdit{Content: &changed}); err == nil {
		t.Error("a webhook token edited a bot message")
	}

	// Fifteen minutes after the token was issued, it is gone.
	clock.Advance(time.Minute + time.Second)
	_, err = s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content})
	if st, code, _ := restError(err); st != http.StatusNotFound || code != 10015 {
		t.Errorf("edit after 15 minutes: %v", err)
	}
	_, err = s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "late"})
	if st, code, _ := restError(err); st != http.StatusNotFound || code != 10015 {
		t.Errorf("follow-up after 15 minutes: %v", err)
	}
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
	content := "x"
	never := &discordgo.Interaction{ID: "I9", AppID: DefaultAppID, Token: "never-issued"}
	if _, err := s.InteractionResponseEdit(never, &discordgo.WebhookEdit{Content: &content}); err == nil {
		t.Error("edit with a token never issued")
	} else if _, code, _ := restError(err); code != 10015 {
		t.Errorf("never issued: %v", err)
	}
	err := s.InteractionRespond(never, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	if st, code, _ := restError(err); st != http.StatusNotFound || code != 10062 {
		t.Errorf("callback with a token never issued: %v", err)
	}
	// A token belongs to its interaction.
	tok := f.IssueInteraction("I1")
	err = s.InteractionRespond(&discordgo.Interaction{ID: "I2", Token: tok}, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	if _, code, _ := restError(err); code != 10062 {
		t.Errorf("callback for another interaction's token: %v", err)
	}
	// Before any response there is no @original.
	i := &discordgo.Interaction{ID: "I1", AppID: DefaultAppID, Token: tok}
	if _, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content}); err == nil {
		t.Error("edited @original before responding")
	} else if _, code, _ := restError(err); code != 10008 {
		t.Errorf("@original before responding: %v", err)
	}
	// Webhook routes need no bot token.
	bare, _ := discordgo.New("")
	bare.Client = f.Client()
	if err := bare.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "hello"}}); err != nil {
		t.Errorf("callback without a bot token: %v", err)
	}
	// Without IssueInteractionFor the fake does not know the channel.
	if o, ok := f.Original("I1"); !ok || o.ChannelID != "" || o.Content != "hello" {
		t.Errorf("original = %+v %v", o, ok)
	}
}

func TestComponentUpdateAndModal(t *testing.T) {
	f := New(t)
	s := session(t, f)
	msg, err := s.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: "approve?", Components: []discordgo.MessageComponent{buttons("appr:42", "rej:42")}})
	if err != nil {
		t.Fatal(err)
	}
	tok := f.IssueInteractionFor("I1", "C1", msg.ID)
	i := interactionOf(t, Component("I1", tok, DefaultAppID, "G1", "C1", msg.ID, alice, "appr:42"))
	disabled := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approved", Style: discordgo.SuccessButton, CustomID: "appr:42", Disabled: true},
	}}
	err = s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "approved by alice", Components: []discordgo.MessageComponent{disabled}}})
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

	modal := func(title, label string) *discordgo.InteractionResponse {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
			CustomID: "reject:42", Title: title,
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{CustomID: "reason", Label: label, Style: discordgo.TextInputParagraph},
			}}},
		}}
	}
	i2 := &discordgo.Interaction{ID: "I2", Token: f.IssueInteractionFor("I2", "C1", msg.ID)}
	err = s.InteractionRespond(i2, modal(strings.Repeat("t", 46), "Reason"))
	if _, code, body := restError(err); code != 50035 || !strings.Contains(body, `"title"`) {
		t.Errorf("modal title of 46: %v", err)
	}
	err = s.InteractionRespond(i2, modal("Reject", strings.Repeat("l", 46)))
	if _, code, _ := restError(err); code != 50035 {
		t.Errorf("text input label of 46: %v", err)
	}
	if d := f.CallsTo(RouteInteractionCallback); !strings.Contains(d[len(d)-1].Detail, "data.components.0.components.0.label: ") {
		t.Errorf("detail = %q", d[len(d)-1].Detail)
	}
	// A refused response does not acknowledge the interaction.
	if err := s.InteractionRespond(i2, modal("Reject D-42", "Reason")); err != nil {
		t.Fatal(err)
	}
	if cb, _ := f.Callback("I2"); cb.Type != discordgo.InteractionResponseModal || cb.Title != "Reject D-42" || cb.CustomID != "reject:42" {
		t.Errorf("modal callback = %+v", cb)
	}
	// A response message is checked like any message.
	i3 := &discordgo.Interaction{ID: "I3", Token: f.IssueInteraction("I3")}
	err = s.InteractionRespond(i3, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: strings.Repeat("c", 2001)}})
	if _, code, body := restError(err); code != 50035 || !strings.Contains(body, `"data"`) {
		t.Errorf("response of 2001 characters: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := New(t)
	s := session(t, f)
	s.ShouldRetryOnRateLimit = false
	f.FailNext(RouteMessageCreate, 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 0.25})
	_, err := s.ChannelMessageSend("C1", "x")
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
	if _, err := s.ChannelMessageSend("C1", "x"); err != nil {
		t.Errorf("after the failure: %v", err)
	}

	// The raw answer, headers included.
	f.FailNext(RouteMessageCreate, 1, Failure{Status: http.StatusTooManyRequests, RetryAfter: 1.5, Global: true})
	req, _ := http.NewRequest(http.MethodPost, "https://discord.com/api/v9/channels/C1/messages", strings.NewReader(`{"content":"x"}`))
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
	i := &discordgo.Interaction{ID: "I1", AppID: DefaultAppID, Token: f.IssueInteraction("I1")}
	if _, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "x"}); err != nil {
		t.Errorf("retried follow-up: %v", err)
	}
	if c := f.CallsTo(RouteWebhookFollowup); len(c) != 2 || c[0].Status != 429 || c[1].Status != 200 {
		t.Errorf("follow-up calls = %+v", c)
	}
}

func TestFailures(t *testing.T) {
	f := New(t)
	s := session(t, f)
	// discordgo retries a 502 by itself.
	f.FailNext(RouteMessageEdit, 1, Failure{Status: http.StatusBadGateway})
	m, _ := s.ChannelMessageSend("C1", "x")
	if _, err := s.ChannelMessageEdit("C1", m.ID, "y"); err != nil {
		t.Errorf("edit after one 502: %v", err)
	}
	if c := f.CallsTo(RouteMessageEdit); len(c) != 2 || c[0].Status != 502 || c[0].Error != "502: Bad Gateway" {
		t.Errorf("calls = %+v", c)
	}
	// Failures are used in order, then the route works again.
	f.FailNext(RouteThreadCreate, 1, Failure{Code: 50001, Message: "Missing Access"})
	f.FailNext(RouteThreadCreate, 1, Failure{Status: 500})
	_, err := s.MessageThreadStart("C1", m.ID, "t", 60)
	if st, code, body := restError(err); st != 400 || code != 50001 || !strings.Contains(body, "Missing Access") {
		t.Errorf("first failure: %v", err)
	}
	_, err = s.MessageThreadStart("C1", m.ID, "t", 60)
	if st, _, _ := restError(err); st != 500 {
		t.Errorf("second failure: %v", err)
	}
	if _, err := s.MessageThreadStart("C1", m.ID, "t", 60); err != nil {
		t.Errorf("after the failures: %v", err)
	}
}

func TestAuth(t *testing.T) {
	f := New(t, WithToken("right"))
	s := session(t, f) // sends DefaultToken
	f.FailNext(RouteMessageCreate, 1, Failure{Status: 500})
	_, err := s.ChannelMessageSend("C1", "x")
	if st, code, body := restError(err); st != http.StatusUnauthorized || code != 0 || !strings.Contains(body, "401: Unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
	s.Token = "Bot right"
	// The refused call did not use up the failure.
	if _, err := s.ChannelMessageSend("C1", "x"); err == nil {
		t.Error("the queued failure was lost")
	}
	if _, err := s.ChannelMessageSend("C1", "x"); err != nil {
		t.Errorf("right token: %v", err)
	}
	if c := f.Calls(); len(c) != 3 || c[0].Status != 401 || c[1].Status != 500 || c[2].Status != 200 {
		t.Errorf("calls:\n%s", DumpCalls(c))
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := New(t)
	s := session(t, f)
	_, err := s.User("@me")
	if st, _, body := restError(err); st != http.StatusNotFound || !strings.Contains(body, "404: Not Found") {
		t.Errorf("unknown route: %v", err)
	}
	err = s.ChannelMessageDelete("C1", "1")
	if st, _, _ := restError(err); st != http.StatusMethodNotAllowed {
		t.Errorf("unserved method: %v", err)
	}
	c := f.CallsTo(RouteUnknown)
	if len(c) != 2 || c[0].Path != "/api/v9/users/@me" || c[1].Method != http.MethodDelete || c[1].ChannelID != "C1" {
		t.Errorf("calls = %+v", c)
	}
}

func TestWaitFor(t *testing.T) {
	f := New(t)
	s := session(t, f)
	go func() {
		root, err := s.ChannelMessageSend("C1", "root")
		if err != nil {
			return
		}
		_, _ = s.MessageThreadStart("C1", root.ID, "deliver", 60)
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
	for _, base := range []string{f.URL(), f.URL() + "/", f.URL() + "/api/v9", f.URL() + "/api/v9/"} {
		rt, err := NewTransport(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := session(t, f)
		s.Client = &http.Client{Transport: rt}
		if _, err := s.ChannelMessageSend("C1", base); err != nil {
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
	s := session(t, f)
	card, err := s.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: "approve?", Components: []discordgo.MessageComponent{buttons("appr:42")}})
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
	if m, err := s.InteractionResponseEdit(interactionOf(t, cmd), &discordgo.WebhookEdit{Content: &content}); err != nil || m.ChannelID != "C1" || m.Content != content {
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
}
