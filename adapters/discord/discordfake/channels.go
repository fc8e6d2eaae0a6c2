package discordfake

import (
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// Permission bits the fake checks on the bot's own requests
// (https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags).
const (
	PermViewChannel           int64 = 1 << 10
	PermSendMessages          int64 = 1 << 11
	PermEmbedLinks            int64 = 1 << 14
	PermReadMessageHistory    int64 = 1 << 16
	PermCreatePublicThreads   int64 = 1 << 35
	PermSendMessagesInThreads int64 = 1 << 38
)

// BotPermissions are what shipgate's README asks a server to grant the bot in its channels: view the
// channel, send messages (also in threads), embed links (a bot's embeds need it), create public threads
// and read the message history. AddChannel grants them.
const BotPermissions = PermViewChannel | PermSendMessages | PermEmbedLinks | PermReadMessageHistory |
	PermCreatePublicThreads | PermSendMessagesInThreads

// channel is a guild text channel or a thread the fake knows, with the bot's permissions there.
type channel struct {
	id, guildID, parentID, name string
	typ                         discordgo.ChannelType
	perms                       int64 // the bot's; a thread has its parent's
}

func (c *channel) isThread() bool {
	return c.typ == discordgo.ChannelTypeGuildPublicThread || c.typ == discordgo.ChannelTypeGuildPrivateThread ||
		c.typ == discordgo.ChannelTypeGuildNewsThread
}

// AddChannel makes guild text channels exist, the bot holding BotPermissions in them. Requests to a
// channel the fake does not know are answered 404 {"code":10003,"message":"Unknown Channel"}, as Discord
// answers for a channel id that does not exist or that the bot cannot see
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json).
func (s *Server) AddChannel(guildID string, channelIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range channelIDs {
		s.chans[id] = &channel{id: id, guildID: guildID, name: "channel-" + id, typ: discordgo.ChannelTypeGuildText, perms: BotPermissions}
	}
}

// SetBotPermissions sets what the bot may do in a known channel and its threads; a request it lacks the
// permission for is answered as Discord answers it (see permitted).
func (s *Server) SetBotPermissions(channelID string, perms int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chans[channelID]; c != nil {
		c.perms = perms
	}
}

// Channel describes a channel or thread the fake knows, as an interaction's channel object does.
type Channel struct {
	ID, GuildID, Name string
	Type              discordgo.ChannelType
	// ParentID is a thread's channel, "" for a channel.
	ParentID string
}

// Channel returns the channel or thread id.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[id]
	if c == nil {
		return Channel{}, false
	}
	return Channel{ID: c.id, GuildID: c.guildID, Name: c.name, Type: c.typ, ParentID: c.parentID}, true
}

// permissions returns the bot's permissions in c: a thread's are its parent channel's
// (https://discord.com/developers/docs/topics/threads#permissions). The caller holds s.mu.
func (s *Server) permissions(c *channel) int64 {
	if p := s.chans[c.parentID]; c.isThread() && p != nil {
		return p.perms
	}
	return c.perms
}

var (
	errUnknownChannel     = func() reply { return apiError(http.StatusNotFound, 10003, "Unknown Channel") }
	errMissingAccess      = func() reply { return apiError(http.StatusForbidden, 50001, "Missing Access") }
	errMissingPermissions = func() reply { return apiError(http.StatusForbidden, 50013, "Missing Permissions") }
	errThreadInThread     = func() reply {
		return apiError(http.StatusBadRequest, 50024, "Cannot execute action on this channel type")
	}
)

// permitted checks that the bot may use channelID for a request needing need, answering as Discord
// does: 404 code 10003 for a channel it does not know, 403 code 50001 "Missing Access" without View
// Channel, and 403 code 50013 "Missing Permissions" without the rest of need. The caller holds s.mu.
func (s *Server) permitted(channelID string, need int64) (*channel, reply, bool) {
	c := s.chans[channelID]
	if c == nil {
		return nil, errUnknownChannel(), false
	}
	perms := s.permissions(c)
	if perms&PermViewChannel == 0 {
		return c, errMissingAccess(), false
	}
	if perms&need != need {
		return c, errMissingPermissions(), false
	}
	return c, reply{}, true
}

// sendPermissions is what posting a message in c needs: Send Messages in a channel, Send Messages in
// Threads in a thread (https://discord.com/developers/docs/resources/message#create-message), and Embed
// Links when the message has embeds, without which Discord refuses a bot's embeds.
func sendPermissions(c *channel, embeds bool) int64 {
	need := PermSendMessages
	if c != nil && c.isThread() {
		need = PermSendMessagesInThreads
	}
	if embeds {
		need |= PermEmbedLinks
	}
	return need
}

// channelJSON is the channel object GET /channels/{id} answers
// (https://discord.com/developers/docs/resources/channel#channel-object). The caller holds s.mu.
func (s *Server) channelJSON(c *channel) map[string]any {
	if th := s.threads[c.id]; th != nil {
		return threadJSON(th)
	}
	return map[string]any{
		"id": c.id, "type": c.typ, "guild_id": c.guildID, "name": c.name, "position": 0,
		"permission_overwrites": []any{}, "nsfw": false, "parent_id": nil, "last_message_id": nil,
		"rate_limit_per_user": 0, "topic": nil, "flags": 0,
	}
}

// getChannel answers GET /channels/{id}: the channel, if the bot can see it.
func (s *Server) getChannel(rt route) reply {
	c, rep, ok := s.permitted(rt.channelID, 0)
	if !ok {
		return rep
	}
	return okReply(s.channelJSON(c))
}

// deleteMessage answers DELETE /channels/{id}/messages/{id}: a bot may delete its own messages
// (https://discord.com/developers/docs/resources/message#delete-message). The caller holds s.mu.
func (s *Server) deleteMessage(rt route) reply {
	if _, rep, ok := s.permitted(rt.channelID, 0); !ok {
		return rep
	}
	key := msgKey{rt.channelID, rt.messageID}
	m := s.messages[key]
	if m == nil || m.flags&flagEphemeral != 0 {
		return errUnknownMessage()
	}
	delete(s.messages, key)
	posts := s.channels[rt.channelID]
	for i, p := range posts {
		if p == m {
			s.channels[rt.channelID] = append(posts[:i:i], posts[i+1:]...)
			break
		}
	}
	return noContent()
}
