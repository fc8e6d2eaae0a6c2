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
// What the fake does, like Discord:
//
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
// hand that answer to RespondInline so that the fake acknowledges the interaction and creates
// or updates @original as Discord would.
//
// inbound.go builds the interaction payloads Discord posts to an application's interactions
// endpoint (Ping, Command, Autocomplete, Component, ModalSubmit) and signs them with Ed25519
// exactly as Discord does, for tests of shipgate's inbound handler.
package discordfake
