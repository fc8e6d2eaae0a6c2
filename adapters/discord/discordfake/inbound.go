package discordfake

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// GenerateKey returns a fresh Ed25519 key pair, standing in for a Discord application's
// public key (give PublicKeyHex(pub) to the handler, as discord.public_key) and Discord's
// private signing key (give priv to Sign and SignedRequest).
func GenerateKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatalf("discordfake: generate key: %v", err)
	}
	return pub, priv
}

// PublicKeyHex is pub as the Developer Portal shows it: 64 hexadecimal characters.
func PublicKeyHex(pub ed25519.PublicKey) string { return hex.EncodeToString(pub) }

// Sign returns the X-Signature-Ed25519 Discord sends with body at timestamp (the
// X-Signature-Timestamp header, Unix seconds): hex(Ed25519(priv, timestamp + body)).
func Sign(priv ed25519.PrivateKey, timestamp string, body []byte) string {
	msg := make([]byte, 0, len(timestamp)+len(body))
	msg = append(append(msg, timestamp...), body...)
	return hex.EncodeToString(ed25519.Sign(priv, msg))
}

// SignedRequest builds the POST Discord sends to an interactions endpoint url: body as
// application/json, signed with priv at time at (X-Signature-Timestamp is at in Unix
// seconds). It can be sent with an http.Client or served to a handler directly.
func SignedRequest(t testing.TB, url string, priv ed25519.PrivateKey, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("discordfake: signed request: %v", err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", Sign(priv, ts, body))
	return req
}

// Member is the guild member who triggers an interaction.
type Member struct {
	UserID, Username string
	// Roles are role ids.
	Roles []string
	// Permissions are the member's computed permissions in the channel; 0 means
	// DefaultPermissions.
	Permissions int64
}

// DefaultPermissions are an ordinary member's channel permissions: view the channel, read its
// history, send messages (also in threads), create public threads, embed links, attach files,
// add reactions and use application commands.
const DefaultPermissions int64 = 1<<6 | 1<<10 | 1<<11 | 1<<14 | 1<<15 | 1<<16 | 1<<31 | 1<<35 | 1<<38

// appPermissions is what the bot itself may do in the channel, as sent in app_permissions.
const appPermissions int64 = DefaultPermissions | 1<<13 | 1<<34 | 1<<36

func (m Member) userJSON() map[string]any {
	return map[string]any{
		"id": m.UserID, "username": m.Username, "global_name": m.Username, "discriminator": "0",
		"avatar": nil, "avatar_decoration_data": nil, "public_flags": 0,
	}
}

func (m Member) memberJSON() map[string]any {
	perms := m.Permissions
	if perms == 0 {
		perms = DefaultPermissions
	}
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{
		"user": m.userJSON(), "roles": roles, "permissions": strconv.FormatInt(perms, 10),
		"nick": nil, "avatar": nil, "banner": nil, "flags": 0, "pending": false,
		"deaf": false, "mute": false, "premium_since": nil, "communication_disabled_until": nil,
		"joined_at": "2024-01-01T00:00:00.000000+00:00",
	}
}

// CommandOption is an option of a slash command as the user filled it in. Build them with
// StringOption, IntegerOption, BooleanOption, Subcommand and SubcommandGroup.
type CommandOption struct {
	Name  string
	Type  discordgo.ApplicationCommandOptionType
	Value any
	// Focused marks the option the user is typing in, for Autocomplete.
	Focused bool
	// Options are a subcommand's or group's own options.
	Options []CommandOption
}

// StringOption is a string option (type 3) with its value.
func StringOption(name, value string) CommandOption {
	return CommandOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: value}
}

// IntegerOption is an integer option (type 4) with its value.
func IntegerOption(name string, value int64) CommandOption {
	return CommandOption{Name: name, Type: discordgo.ApplicationCommandOptionInteger, Value: value}
}

// BooleanOption is a boolean option (type 5) with its value.
func BooleanOption(name string, value bool) CommandOption {
	return CommandOption{Name: name, Type: discordgo.ApplicationCommandOptionBoolean, Value: value}
}

// Subcommand is a subcommand (type 1), e.g. "start" of /deliver start, with its options nested.
func Subcommand(name string, opts ...CommandOption) CommandOption {
	return CommandOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
}

// SubcommandGroup is a subcommand group (type 2) holding one subcommand.
func SubcommandGroup(name string, subs ...CommandOption) CommandOption {
	return CommandOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommandGroup, Options: subs}
}

// Focus returns o marked as the option being typed in (autocomplete).
func (o CommandOption) Focus() CommandOption {
	o.Focused = true
	return o
}

func (o CommandOption) isGroup() bool {
	return o.Type == discordgo.ApplicationCommandOptionSubCommand || o.Type == discordgo.ApplicationCommandOptionSubCommandGroup
}

func optionsJSON(opts []CommandOption) []any {
	out := make([]any, 0, len(opts))
	for _, o := range opts {
		j := map[string]any{"name": o.Name, "type": o.Type}
		if o.isGroup() {
			j["options"] = optionsJSON(o.Options)
		} else {
			j["value"] = o.Value
		}
		if o.Focused {
			j["focused"] = true
		}
		out = append(out, j)
	}
	return out
}

// focusLast marks the last value option (depth first) focused unless one already is.
func focusLast(opts []CommandOption) []CommandOption {
	var anyFocused func([]CommandOption) bool
	anyFocused = func(os []CommandOption) bool {
		return slices.ContainsFunc(os, func(o CommandOption) bool { return o.Focused || anyFocused(o.Options) })
	}
	if anyFocused(opts) || len(opts) == 0 {
		return opts
	}
	out := slices.Clone(opts)
	last := &out[len(out)-1]
	if last.isGroup() {
		last.Options = focusLast(last.Options)
	} else {
		last.Focused = true
	}
	return out
}

// commandID is a stable snowflake-shaped id for the command name, standing in for the id
// Discord gave the registered command.
func commandID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return strconv.FormatUint(1<<60|h.Sum64()>>4, 10)
}

// textChannel is the channel object of a guild text channel the fake need not know.
func textChannel(guildID, channelID string) Channel {
	return Channel{ID: channelID, GuildID: guildID, Type: discordgo.ChannelTypeGuildText}
}

// channelJSON is the partial channel object an interaction carries in "channel"
// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object):
// a thread's has its thread type and parent_id, the channel it was started in.
func (c Channel) interactionJSON() map[string]any {
	j := map[string]any{"id": c.ID, "type": c.Type}
	if c.GuildID != "" {
		j["guild_id"] = c.GuildID
	}
	if c.Name != "" {
		j["name"] = c.Name
	}
	if c.ParentID != "" {
		j["parent_id"] = c.ParentID
		j["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440, "locked": false,
			"archive_timestamp": "2024-01-01T00:00:00.000000+00:00"}
	}
	return j
}

// interactionJSON is the envelope every interaction shares. An empty guildID makes it a DM:
// "user" instead of "member", no guild.
func interactionJSON(typ discordgo.InteractionType, id, token, appID, guildID, channelID string, member Member, data any) map[string]any {
	return interactionIn(typ, id, token, appID, guildID, textChannel(guildID, channelID), member, data)
}

// interactionIn is interactionJSON for an interaction in ch, a text channel or a thread: channel_id is
// ch's id, and the channel object says which.
func interactionIn(typ discordgo.InteractionType, id, token, appID, guildID string, ch Channel, member Member, data any) map[string]any {
	channelID := ch.ID
	j := map[string]any{
		"id": id, "application_id": appID, "type": typ, "token": token, "version": 1,
		"channel_id": channelID, "locale": "en-US", "app_permissions": strconv.FormatInt(appPermissions, 10),
		"entitlements": []any{}, "attachment_size_limit": 10485760,
	}
	if data != nil {
		j["data"] = data
	}
	if guildID != "" {
		j["guild_id"] = guildID
		j["guild_locale"] = "en-US"
		j["guild"] = map[string]any{"id": guildID, "locale": "en-US", "features": []any{}}
		j["member"] = member.memberJSON()
		j["context"] = discordgo.InteractionContextGuild
		j["authorizing_integration_owners"] = map[string]any{"0": guildID}
		j["channel"] = ch.interactionJSON()
	} else {
		j["user"] = member.userJSON()
		j["context"] = discordgo.InteractionContextBotDM
		j["authorizing_integration_owners"] = map[string]any{"0": "0"}
		j["channel"] = map[string]any{"id": channelID, "type": discordgo.ChannelTypeDM}
	}
	return j
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("discordfake: payload: %v", err)) // only maps of plain values go in
	}
	return b
}

// Ping is the PING (type 1) Discord sends to check an interactions endpoint; the answer must
// be 200 {"type":1}.
func Ping(id string) []byte {
	return mustJSON(map[string]any{
		"id": id, "application_id": DefaultAppID, "type": discordgo.InteractionPing,
		"token": "aW50ZXJhY3Rpb246cGluZw" + id, "version": 1, "entitlements": []any{},
		"user": Member{UserID: "643945264868098049", Username: "discord"}.userJSON(),
	})
}

func commandData(guildID, name string, opts []CommandOption) map[string]any {
	d := map[string]any{"id": commandID(name), "name": name, "type": discordgo.ChatApplicationCommand}
	if len(opts) > 0 {
		d["options"] = optionsJSON(opts)
	}
	if guildID != "" {
		d["guild_id"] = guildID
	}
	return d
}

// Command is the APPLICATION_COMMAND (type 2) interaction of member running the slash command
// name with options in channelID of guildID ("" for a DM). Subcommands nest their options:
//
//	Command(id, tok, app, guild, channel, m, "deliver",
//		Subcommand("start", StringOption("service", "api"), StringOption("version", "1.4.2")))
func Command(id, token, appID, guildID, channelID string, member Member, name string, options ...CommandOption) []byte {
	return mustJSON(interactionJSON(discordgo.InteractionApplicationCommand, id, token, appID, guildID, channelID, member,
		commandData(guildID, name, options)))
}

// Autocomplete is the APPLICATION_COMMAND_AUTOCOMPLETE (type 4) interaction sent while member
// types in an option of the slash command name. The option marked with Focus is the one being
// typed in (its Value is the partial text); when none is marked, the last one is.
func Autocomplete(id, token, appID, guildID, channelID string, member Member, name string, options ...CommandOption) []byte {
	return mustJSON(interactionJSON(discordgo.InteractionApplicationCommandAutocomplete, id, token, appID, guildID, channelID, member,
		commandData(guildID, name, focusLast(options))))
}

// componentMessage is the message a component sits on, as the interaction carries it.
func componentMessage(channelID, messageID string) map[string]any {
	return map[string]any{
		"id": messageID, "channel_id": channelID, "type": 0, "content": "", "author": botUser(),
		"timestamp": "2024-01-01T00:00:00.000000+00:00", "edited_timestamp": nil, "tts": false,
		"mention_everyone": false, "mentions": []any{}, "mention_roles": []any{}, "attachments": []any{},
		"embeds": []any{}, "components": []any{}, "pinned": false, "flags": 0,
		"application_id": nil, "webhook_id": nil,
	}
}

// Component is the MESSAGE_COMPONENT (type 3) interaction of member clicking the button
// customID on the message messageID in channelID.
func Component(id, token, appID, guildID, channelID, messageID string, member Member, customID string) []byte {
	j := interactionJSON(discordgo.InteractionMessageComponent, id, token, appID, guildID, channelID, member,
		map[string]any{"custom_id": customID, "component_type": discordgo.ButtonComponent})
	j["message"] = componentMessage(channelID, messageID)
	return mustJSON(j)
}

// SelectComponent is Component for a string select menu customID with the chosen values.
func SelectComponent(id, token, appID, guildID, channelID, messageID string, member Member, customID string, values ...string) []byte {
	if values == nil {
		values = []string{}
	}
	j := interactionJSON(discordgo.InteractionMessageComponent, id, token, appID, guildID, channelID, member,
		map[string]any{"custom_id": customID, "component_type": discordgo.SelectMenuComponent, "values": values})
	j["message"] = componentMessage(channelID, messageID)
	return mustJSON(j)
}

// ModalSubmit is the MODAL_SUBMIT (type 5) interaction of member submitting the modal
// customID. fields holds the text inputs' values by custom_id; each sits in its own action
// row, as Discord sends them, in custom_id order.
func ModalSubmit(id, token, appID, guildID, channelID string, member Member, customID string, fields map[string]string) []byte {
	return mustJSON(interactionJSON(discordgo.InteractionModalSubmit, id, token, appID, guildID, channelID, member,
		map[string]any{"custom_id": customID, "components": modalRows(fields)}))
}

// modalRows are a submitted modal's text inputs with their values, each in its own action row, in
// custom_id order.
func modalRows(fields map[string]string) []any {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rows := make([]any, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, map[string]any{"type": discordgo.ActionsRowComponent, "components": []any{
			map[string]any{"type": discordgo.TextInputComponent, "custom_id": k, "value": fields[k]},
		}})
	}
	return rows
}
