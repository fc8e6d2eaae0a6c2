// Package discordfake is a local fake of the parts of Discord's REST API (v9) that shipgate
// calls. It serves real HTTP on 127.0.0.1 (httptest), so tests drive the real discordgo client
// against it without touching discordgo's package-global Endpoint variables:
//
//	fake := discordfake.New(t)
//	s, _ := discordgo.New("Bot " + discordfake.DefaultToken)
//	s.Client = fake.Client() // rewrites scheme and host to the fake, keeps the path
//
// shipgate itself is pointed at the fake through its configuration: discord.api_url set to
// fake.URL() makes the Discord adapter send every request through a transport that rewrites
// the request's scheme and host to that base and keeps discordgo's path, exactly as
// NewTransport does here. A base with a path ("http://127.0.0.1:4000/proxy") has the path put
// in front of discordgo's; a base ending in /api/v9 is taken as the API root itself.
//
// The fake follows Discord's documentation, not what shipgate's code assumes; each behaviour cites the
// page it follows beside its code. When the documentation is unclear the fake is stricter than Discord.
// What it does, like Discord:
//
//   - knows the channels that exist (AddChannel) and the bot's permissions in them (BotPermissions by
//     default, SetBotPermissions): an unknown channel is 404 {"code":10003,"message":"Unknown
//     Channel"}, an unknown message 404 code 10008, no View Channel 403 code 50001, a missing Send
//     Messages (in a thread: Send Messages in Threads), Embed Links, Create Public Threads or Read
//     Message History 403 code 50013 (channels.go);
//   - treats a thread as the channel it is: a thread started on a message has the message's id, is a
//     channel of type 11 whose parent_id is the channel, is listed by GET /channels/{id}, and a thread
//     cannot be started in a thread (400 code 50024);
//   - sends interactions as Discord does (Slash, Click, SubmitModal): a click on a message in a thread,
//     or a command typed in one, carries the thread's id as channel_id and a channel object of type 11
//     with parent_id, and RespondInline refuses an answer to a payload that says otherwise;
//   - checks every body field by field against the route's documented fields (schema.go): a field of the
//     wrong type, null where the documentation allows none (null for an array), or a field the route does
//     not document is refused with 400 code 50035, naming the field;
//   - checks "Authorization: Bot <token>" on bot routes (401 otherwise) and, on webhook and
//     callback routes, that the interaction token was issued by IssueInteraction and is at most
//     TokenLifetime (15 minutes) old on the fake's clock: otherwise webhook routes answer 404
//     {"code":10015,"message":"Unknown Webhook"} and the callback route, as Discord does,
//     404 {"code":10062,"message":"Unknown interaction"};
//   - answers with Discord's JSON shapes and monotonically increasing snowflake ids;
//   - enforces the message, embed, component, modal, thread and application-command limits
//     with Discord's 400 {"code":50035,"message":"Invalid Form Body","errors":{…}}, whose
//     errors name the offending field by path ("embeds.0.title");
//   - acknowledges an interaction once (a second callback gets 400 code 40060);
//   - fails calls on request (FailNext): 429 with retry_after and rate-limit headers, 5xx, or
//     any Discord error code;
//   - records every call, and keeps the current state of every message, thread, command set
//     and interaction callback for assertions.
//
// A handler that answers an interaction inline, in the HTTP response, never reaches the fake;
// hand that answer to RespondInline so that the fake checks and acknowledges it, creates or
// updates @original as Discord would, and records it (RouteInteractionInline) for the contract
// test, which type-checks every recorded body against Discord's published types.
//
// inbound.go builds the interaction payloads Discord posts to an application's interactions
// endpoint (Ping, Command, Autocomplete, Component, ModalSubmit, for a text channel the caller
// names) and signs them with Ed25519 exactly as Discord does, for tests of shipgate's inbound
// handler; interact.go builds them from the fake's own state, threads included.
package discordfake
