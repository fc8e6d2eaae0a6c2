package discord

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// The bodies shipgate sends to Discord's REST API and as interaction responses, typed after Discord's
// published types (discord-api-types v10, which the contract test in cmd/shipgate checks every recorded
// body against). discordgo v0.29.0's own request structs do not match them: MessageSend sends
// "sticker_ids": null and "embeds": null, MessageEdit sends its untagged ID and Channel fields as keys,
// ThreadStart sends "invitable", which belongs only to threads started without a message, and
// InteractionResponseData sends tts, content and embeds with every response type, a modal's and an
// autocomplete result's included. The requests still go through the session (requestJSON), so
// discordgo's rate-limit buckets, options and errors apply as before.

// allowedMentions is Discord's allowed_mentions (APIAllowedMentions): parse is always an empty list, so
// that nothing a message quotes pings, and users and roles name exactly whom it notifies.
type allowedMentions struct {
	Parse []string `json:"parse"`
	Users []string `json:"users,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

// messageCreate is the body of POST /channels/{id}/messages (RESTPostAPIChannelMessageJSONBody). Empty
// parts are left out: Discord refuses null for an array.
type messageCreate struct {
	Content         string                       `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed    `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent `json:"components,omitempty"`
	AllowedMentions *allowedMentions             `json:"allowed_mentions"`
	Attachments     []attachment                 `json:"attachments,omitempty"`
	// files are sent as the multipart body's files[n] parts, beside payload_json.
	files []*discordgo.File
}

// attachment describes an uploaded file in a message's payload (a partial APIAttachment): ID is the
// index n of its files[n] part.
type attachment struct {
	ID       int    `json:"id"`
	Filename string `json:"filename"`
}

// messageEdit is the body of PATCH /channels/{id}/messages/{id} (RESTPatchAPIChannelMessageJSONBody) and
// of PATCH /webhooks/{app}/{token}/messages/@original (RESTPatchAPIInteractionOriginalResponseJSONBody).
// Every part is sent, empty lists included, so that an edit replaces the whole message: a decided
// approval loses its buttons, and its mentions.
type messageEdit struct {
	Content         string                       `json:"content"`
	Embeds          []*discordgo.MessageEmbed    `json:"embeds"`
	Components      []discordgo.MessageComponent `json:"components"`
	AllowedMentions *allowedMentions             `json:"allowed_mentions"`
}

// threadStart is the body of POST /channels/{id}/messages/{id}/threads
// (RESTPostAPIChannelMessagesThreadsJSONBody).
type threadStart struct {
	Name                string `json:"name"`
	AutoArchiveDuration int    `json:"auto_archive_duration,omitempty"`
}

// interactionResponse is the answer to an interaction (APIInteractionResponse), written as the HTTP
// response to Discord's request. Data is one of the callback data types below, or nil.
type interactionResponse struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data any                               `json:"data,omitempty"`
}

// messageCallback is the data of a message response, types 4 and 7 (APIInteractionResponseCallbackData).
type messageCallback struct {
	Content         string                       `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed    `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent `json:"components,omitempty"`
	AllowedMentions *allowedMentions             `json:"allowed_mentions,omitempty"`
	Flags           discordgo.MessageFlags       `json:"flags,omitempty"`
}

// deferredCallback is the data of a deferred message response, type 5: only its flags.
type deferredCallback struct {
	Flags discordgo.MessageFlags `json:"flags,omitempty"`
}

// autocompleteCallback is the data of an autocomplete result, type 8
// (APICommandAutocompleteInteractionResponseCallbackData).
type autocompleteCallback struct {
	Choices []*discordgo.ApplicationCommandOptionChoice `json:"choices"`
}

// modalCallback is the data of a modal, type 9 (APIModalInteractionResponseCallbackData).
type modalCallback struct {
	CustomID   string                       `json:"custom_id"`
	Title      string                       `json:"title"`
	Components []discordgo.MessageComponent `json:"components"`
}

// requestJSON sends body to a REST route through the session and decodes the answer into out (when not
// nil). bucket is discordgo's rate-limit bucket for the route, as its own method for it would use.
func (c *Client) requestJSON(ctx context.Context, method, url, bucket string, body, out any) error {
	raw, err := c.session.RequestWithBucketID(method, url, body, bucket, options(ctx)...)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding Discord's answer: %w", err)
	}
	return nil
}

// createMessage posts a message to a channel or thread; a message with files goes as multipart/form-data,
// its JSON in payload_json, as Discord takes uploads.
func (c *Client) createMessage(ctx context.Context, channel string, body *messageCreate) (*discordgo.Message, error) {
	var msg discordgo.Message
	url := discordgo.EndpointChannelMessages(channel)
	if len(body.files) == 0 {
		err := c.requestJSON(ctx, "POST", url, url, body, &msg)
		return &msg, err
	}
	contentType, multipart, err := discordgo.MultipartBodyWithJSON(body, body.files)
	if err != nil {
		return nil, fmt.Errorf("encoding the message's files: %w", err)
	}
	raw, err := c.session.RequestRaw("POST", url, contentType, multipart, url, 0, options(ctx)...)
	if err != nil {
		return &msg, err
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return nil, fmt.Errorf("decoding Discord's answer: %w", err)
	}
	return &msg, nil
}

// editMessage replaces a message posted in a channel or thread.
func (c *Client) editMessage(ctx context.Context, channel, messageID string, body *messageEdit) error {
	return c.requestJSON(ctx, "PATCH", discordgo.EndpointChannelMessage(channel, messageID), discordgo.EndpointChannelMessage(channel, ""), body, nil)
}

// startMessageThread starts a public thread on a message; Discord gives the thread the message's id.
func (c *Client) startMessageThread(ctx context.Context, channel, messageID string, body *threadStart) (*discordgo.Channel, error) {
	var th discordgo.Channel
	url := discordgo.EndpointChannelMessageThread(channel, messageID)
	err := c.requestJSON(ctx, "POST", url, url, body, &th)
	return &th, err
}

// editOriginal replaces an interaction's response with its token (no bot token needed).
func (c *Client) editOriginal(ctx context.Context, appID, token string, body *messageEdit) error {
	url := discordgo.EndpointWebhookMessage(appID, token, "@original")
	return c.requestJSON(ctx, "PATCH", url, discordgo.EndpointWebhookToken("", ""), body, nil)
}

// channel looks a channel (or thread) up.
func (c *Client) channel(ctx context.Context, id string) (*discordgo.Channel, error) {
	var ch discordgo.Channel
	err := c.requestJSON(ctx, "GET", discordgo.EndpointChannel(id), discordgo.EndpointChannel(id), nil, &ch)
	return &ch, err
}

// commandBody is an application command as a bulk overwrite takes it (RESTPutAPIApplicationCommandsJSONBody
// and RESTPutAPIApplicationGuildCommandsJSONBody hold a list of them): discordgo's ApplicationCommandOption
// sends "channel_types", "options" and "choices" as null when empty.
type commandBody struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Options     []commandOption `json:"options,omitempty"`
}

// commandOption is an option of a command (APIApplicationCommandOption).
type commandOption struct {
	Type         discordgo.ApplicationCommandOptionType      `json:"type"`
	Name         string                                      `json:"name"`
	Description  string                                      `json:"description"`
	Required     bool                                        `json:"required,omitempty"`
	Autocomplete bool                                        `json:"autocomplete,omitempty"`
	MinValue     *float64                                    `json:"min_value,omitempty"`
	Choices      []*discordgo.ApplicationCommandOptionChoice `json:"choices,omitempty"`
	Options      []commandOption                             `json:"options,omitempty"`
}

func commandBodies(cmds []*discordgo.ApplicationCommand) []commandBody {
	out := make([]commandBody, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, commandBody{Name: c.Name, Description: c.Description, Options: commandOptions(c.Options)})
	}
	return out
}

func commandOptions(opts []*discordgo.ApplicationCommandOption) []commandOption {
	var out []commandOption
	for _, o := range opts {
		out = append(out, commandOption{Type: o.Type, Name: o.Name, Description: o.Description, Required: o.Required,
			Autocomplete: o.Autocomplete, MinValue: o.MinValue, Choices: o.Choices, Options: commandOptions(o.Options)})
	}
	return out
}

// overwriteCommands replaces the application's commands in a guild, or globally without one.
func (c *Client) overwriteCommands(ctx context.Context, appID, guildID string, cmds []*discordgo.ApplicationCommand) error {
	url := discordgo.EndpointApplicationGlobalCommands(appID)
	if guildID != "" {
		url = discordgo.EndpointApplicationGuildCommands(appID, guildID)
	}
	return c.requestJSON(ctx, "PUT", url, url, commandBodies(cmds), nil)
}
