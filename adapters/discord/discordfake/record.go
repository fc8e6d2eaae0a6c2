package discordfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/adapters/chatfake"
	"github.com/shipgate/shipgate/truncate"
)

// Route names, for Call.Route, CallsTo and FailNext.
const (
	RouteMessageCreate       = "messages.create"        // POST   channels/{cid}/messages
	RouteMessageEdit         = "messages.edit"          // PATCH  channels/{cid}/messages/{mid}
	RouteMessageGet          = "messages.get"           // GET    channels/{cid}/messages/{mid}
	RouteMessageDelete       = "messages.delete"        // DELETE channels/{cid}/messages/{mid}
	RouteChannelGet          = "channels.get"           // GET    channels/{cid}
	RouteThreadCreate        = "threads.create"         // POST   channels/{cid}/messages/{mid}/threads
	RouteCommandsOverwrite   = "commands.overwrite"     // PUT    applications/{app}[/guilds/{gid}]/commands
	RouteCommandsList        = "commands.list"          // GET    applications/{app}[/guilds/{gid}]/commands
	RouteGuildRoles          = "guilds.roles"           // GET    guilds/{gid}/roles
	RouteInteractionCallback = "interactions.callback"  // POST   interactions/{id}/{token}/callback
	RouteWebhookFollowup     = "webhooks.followup"      // POST   webhooks/{app}/{token}
	RouteWebhookEditOriginal = "webhooks.edit_original" // PATCH  webhooks/{app}/{token}/messages/@original
	RouteWebhookGetOriginal  = "webhooks.get_original"  // GET    webhooks/{app}/{token}/messages/@original
	RouteWebhookEdit         = "webhooks.edit"          // PATCH  webhooks/{app}/{token}/messages/{mid}
	RouteWebhookGet          = "webhooks.get"           // GET    webhooks/{app}/{token}/messages/{mid}
	// RouteInteractionInline records an answer a handler wrote in the HTTP response to an interaction,
	// handed to RespondInline: Discord takes it as it takes a POST to the callback route.
	RouteInteractionInline = "interactions.inline"
	RouteUnknown           = "unknown" // anything else: 404
)

// Call is one recorded request.
type Call struct {
	// Route is one of the Route* names; RouteUnknown for a path the fake does not serve.
	Route string
	// Method and Path are the request's HTTP method and URL path; Query its query.
	Method, Path string
	Query        url.Values
	// ChannelID and MessageID are the ids in the path. For a successful messages.create,
	// webhooks.followup or message-creating callback, MessageID is the id the fake assigned
	// and ChannelID the channel the message went to.
	ChannelID, MessageID string
	// ThreadID is the thread a successful threads.create made.
	ThreadID string
	// ApplicationID and GuildID are the ids in an applications/… or webhooks/… path.
	ApplicationID, GuildID string
	// InteractionID and InteractionToken identify the interaction of a callback or webhook
	// route (InteractionID is "" when the token was never issued).
	InteractionID, InteractionToken string
	// Body is the decoded JSON body when it is an object (for multipart requests, the
	// payload_json part); Array when it is an array (commands.overwrite). Raw is the body as
	// sent. Files names the files of a multipart request.
	Body  map[string]any
	Array []any
	Raw   []byte
	Files []string
	// Content is Body's "content" (for a callback, data.content).
	Content string
	// Status is the HTTP status the fake answered; Code the Discord error code (0 when ok or
	// for errors without one); Error the error's message, "" when ok.
	Status int
	Code   int
	Error  string
	// Detail lists the fields a 50035 "Invalid Form Body" refused, one "path: message (CODE)"
	// each, joined by "; ".
	Detail string
	// Time is the fake's clock when the call arrived.
	Time time.Time
}

// OK reports whether the fake answered the call with a 2xx status.
func (c Call) OK() bool { return c.Status >= 200 && c.Status < 300 }

// Calls returns every recorded call in arrival order. The slice is a copy.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded calls of route, in arrival order.
func (s *Server) CallsTo(route string) []Call { return FilterCalls(s.Calls(), route) }

// FilterCalls returns the calls of route, for WaitFor conditions.
func FilterCalls(calls []Call, route string) []Call {
	var out []Call
	for _, c := range calls {
		if c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor blocks until cond, given every call so far, returns true, and returns those calls.
// It re-evaluates cond on each new call, so it returns as soon as the awaited call has been
// answered. If timeout passes first it fails the test with t.Fatalf and a dump of the calls;
// like t.Fatalf it must then be called from the test's goroutine. cond runs without the fake's
// lock held, so it may call the fake's other methods.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Call) bool) []Call {
	t.Helper()
	return chatfake.WaitFor(t, timeout, "discordfake", what, func() ([]Call, <-chan struct{}) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.Clone(s.calls), s.changed
	}, cond, DumpCalls)
}

// DumpCalls formats calls one per line for failure messages.
func DumpCalls(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "  #%d %s %s %s status=%d", i, c.Route, c.Method, c.Path, c.Status)
		if c.Code != 0 || c.Error != "" {
			fmt.Fprintf(&b, " code=%d error=%q", c.Code, c.Error)
		}
		for _, f := range []struct{ k, v string }{
			{"channel", c.ChannelID}, {"message", c.MessageID}, {"thread", c.ThreadID},
			{"guild", c.GuildID}, {"interaction", c.InteractionID},
		} {
			if f.v != "" {
				fmt.Fprintf(&b, " %s=%s", f.k, f.v)
			}
		}
		if c.Detail != "" {
			fmt.Fprintf(&b, " detail=%q", c.Detail)
		}
		if len(c.Raw) > 0 {
			fmt.Fprintf(&b, " body=%s", truncate.Excerpt(string(c.Raw), 200))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// notify wakes every waiter. The caller holds s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// record appends c and wakes waiters. The caller holds s.mu. Calls are recorded before they
// are answered, so a client that has its answer always finds its call recorded.
func (s *Server) record(c Call) {
	s.calls = append(s.calls, c)
	s.notify()
}

// message is the stored state of one message; the JSON-valued fields are kept as sent.
type message struct {
	id, channelID  string
	content        string
	embeds         json.RawMessage // a JSON array, or nil for none
	components     json.RawMessage // a JSON array, or nil for none
	flags          int64
	edits          int
	created        time.Time
	edited         *time.Time
	webhookID      string // the application id, for messages an interaction made
	interactionID  string
	interactionTok string
	attachments    []Attachment
}

// Message is the current state of a stored message: after edits, its latest content, embeds
// and components.
type Message struct {
	ID, ChannelID string
	Content       string
	// Embeds and Components are decoded with discordgo's types; EmbedsJSON and ComponentsJSON
	// are the same as the client sent them (nil when it sent none), for golden files.
	Embeds         []*discordgo.MessageEmbed
	Components     []discordgo.MessageComponent
	EmbedsJSON     json.RawMessage
	ComponentsJSON json.RawMessage
	Flags          discordgo.MessageFlags
	// Edits counts the successful edits: messages.edit, webhook edits and type 7 callbacks.
	Edits int
	// WebhookID is the application id for a message an interaction made (response or
	// follow-up), InteractionID that interaction's id; both "" for a bot message.
	WebhookID, InteractionID string
	// ThreadID is the thread started on the message, "" if none.
	ThreadID string
	// Timestamp is when it was posted, on the fake's clock; EditedTimestamp when last edited.
	Timestamp       time.Time
	EditedTimestamp *time.Time
	// Attachments are the files uploaded with the message, in files[n] order.
	Attachments []Attachment
}

// Ephemeral reports whether only the interaction's user sees the message.
func (m Message) Ephemeral() bool { return m.Flags&discordgo.MessageFlagsEphemeral != 0 }

// export converts m for a caller. The caller holds s.mu.
func (s *Server) export(m *message) Message {
	out := Message{
		ID: m.id, ChannelID: m.channelID, Content: m.content,
		EmbedsJSON: bytes.Clone(m.embeds), ComponentsJSON: bytes.Clone(m.components),
		Flags: discordgo.MessageFlags(m.flags), Edits: m.edits,
		WebhookID: m.webhookID, InteractionID: m.interactionID,
		ThreadID: s.threadOf[m.id], Timestamp: m.created, Attachments: slices.Clone(m.attachments),
	}
	if m.edited != nil {
		t := *m.edited
		out.EditedTimestamp = &t
	}
	out.Embeds, out.Components = decodeEmbeds(m.embeds), decodeComponents(m.components)
	return out
}

// decodeEmbeds decodes an embeds array the fake has already validated; nil when there is none.
func decodeEmbeds(raw json.RawMessage) []*discordgo.MessageEmbed {
	var out []*discordgo.MessageEmbed
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	return out
}

// decodeComponents decodes a components array with discordgo's component types.
func decodeComponents(raw json.RawMessage) []discordgo.MessageComponent {
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []discordgo.MessageComponent
	for _, it := range items {
		if c, err := discordgo.MessageComponentFromJSON(it); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Message returns the current state of the message messageID in channelID (a thread's
// messages are in the thread's id).
func (s *Server) Message(channelID, messageID string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[msgKey{channelID, messageID}]
	if !ok {
		return Message{}, false
	}
	return s.export(m), true
}

// Messages returns the messages in channelID in post order, ephemeral ones included (check
// Message.Ephemeral).
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channelID] {
		out = append(out, s.export(m))
	}
	return out
}

// Thread is a thread started on a message.
type Thread struct {
	// ID is the thread's channel id. As in Discord, a thread started on a message has the
	// message's id.
	ID string
	// GuildID is its guild; ParentID is the channel of the message, MessageID the message.
	GuildID, ParentID, MessageID string
	Name                         string
	AutoArchiveDuration          int
	Created                      time.Time
}

// Thread returns the id of the thread started on messageID.
func (s *Server) Thread(messageID string) (threadID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	threadID, ok = s.threadOf[messageID]
	return threadID, ok
}

// ThreadChannel returns the thread threadID.
func (s *Server) ThreadChannel(threadID string) (Thread, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	th, ok := s.threads[threadID]
	if !ok {
		return Thread{}, false
	}
	return *th, true
}

// Commands returns the application commands last registered with a bulk overwrite for guildID
// ("" for the global commands), as the fake answered them (with ids). It is nil before any
// overwrite. The commands are copies.
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	raw := s.commands[guildID]
	s.mu.Unlock()
	if raw == nil {
		return nil
	}
	var out []*discordgo.ApplicationCommand
	_ = json.Unmarshal(raw, &out)
	return out
}

// Callback is the recorded response to an interaction (its one successful callback).
type Callback struct {
	InteractionID, Token string
	Type                 discordgo.InteractionResponseType
	// Data is the response's data as sent, nil when there was none; the fields below are
	// decoded from it.
	Data       json.RawMessage
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	Flags      discordgo.MessageFlags
	// CustomID and Title are a modal's (type 9).
	CustomID, Title string
	// Choices are an autocomplete result's (type 8).
	Choices []*discordgo.ApplicationCommandOptionChoice
	// Time is when it arrived, on the fake's clock.
	Time time.Time
}

// Callback returns the response recorded for the interaction interactionID, if it has had one.
func (s *Server) Callback(interactionID string) (Callback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[interactionID]
	if !ok || in.callback == nil {
		return Callback{}, false
	}
	return *in.callback, true
}

// Original returns the current state of the @original message of interactionID: the message
// its type 4 or 5 callback made, or the component's message for a type 6 or 7 callback.
func (s *Server) Original(interactionID string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[interactionID]
	if !ok || in.original == nil {
		return Message{}, false
	}
	m, ok := s.messages[*in.original]
	if !ok {
		return Message{}, false
	}
	return s.export(m), true
}

// Followups returns the current state of the follow-up messages of interactionID, in order.
func (s *Server) Followups(interactionID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[interactionID]
	if !ok {
		return nil
	}
	var out []Message
	for _, k := range in.followups {
		if m, ok := s.messages[k]; ok {
			out = append(out, s.export(m))
		}
	}
	return out
}

// Failure is how FailNext makes a call fail.
type Failure struct {
	// Status is the HTTP status to answer. 0 means 400 when Code is set and 500 otherwise.
	Status int
	// RetryAfter is the 429 body's retry_after, in seconds (Discord sends fractions, e.g.
	// 0.25); the Retry-After header carries it in whole seconds, rounded up.
	RetryAfter float64
	// Global marks a 429 as the global rate limit ("global": true, X-RateLimit-Global,
	// X-RateLimit-Scope: global) instead of the route's (scope user).
	Global bool
	// Code and Message are the error body's code and message. An empty Message is Discord's
	// for the status: "You are being rate limited." for 429, "500: Internal Server Error", ….
	Code    int
	Message string
}

// FailNext makes the next n calls of route (a Route* name) fail as f says; after them the
// route behaves normally again. Failures queued for the same route are used in the order they
// were queued. A call refused for its token (401, or 404 Unknown Webhook) is refused before,
// and does not use up, a failure.
func (s *Server) FailNext(route string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[route] = append(s.failures[route], f)
	}
}

// takeFailure pops the next queued failure of route. The caller holds s.mu.
func (s *Server) takeFailure(route string) (Failure, bool) {
	q := s.failures[route]
	if len(q) == 0 {
		return Failure{}, false
	}
	s.failures[route] = q[1:]
	return q[0], true
}
