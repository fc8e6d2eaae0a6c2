package slackfake

import "fmt"

// channel is a conversation the fake knows: whether the bot was invited to it, and which users are in
// it. Slack refuses to post where the bot is not, and refuses an ephemeral message to a user who is not
// in the channel, so a fake that accepted both would hide exactly the failures people meet.
type channel struct {
	bot     bool
	members map[string]bool
}

// AddChannel declares channels that exist with the bot invited (a member): chat.postMessage,
// chat.update and chat.postEphemeral work there. A channel never declared does not exist.
func (s *Server) AddChannel(ids ...string) { s.addChannels(true, ids) }

// AddChannelWithoutBot declares channels that exist but the bot was not invited to: posts there are
// refused with not_in_channel, as Slack refuses them to an app without chat:write.public.
func (s *Server) AddChannelWithoutBot(ids ...string) { s.addChannels(false, ids) }

func (s *Server) addChannels(bot bool, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		ch, ok := s.channels[id]
		if !ok {
			ch = &channel{members: map[string]bool{}}
			s.channels[id] = ch
		}
		ch.bot = bot
	}
}

// AddMembers puts users in a channel declared before, so that chat.postEphemeral may address them
// there. It panics for a channel never declared, which only a test's own mistake can cause.
func (s *Server) AddMembers(channelID string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		panic(fmt.Sprintf("slackfake: AddMembers(%q): declare the channel with AddChannel or AddChannelWithoutBot first", channelID))
	}
	for _, u := range users {
		ch.members[u] = true
	}
}

// postable answers whether the bot may post to channelID, as chat.postMessage and chat.postEphemeral
// document it (https://docs.slack.dev/reference/methods/chat.postMessage and
// https://docs.slack.dev/reference/methods/chat.postEphemeral, "Errors"): channel_not_found for a
// channel that does not exist, not_in_channel for one the bot is not in. The caller holds s.mu.
func (s *Server) postable(channelID string) (*channel, reply, bool) {
	ch, ok := s.channels[channelID]
	if !ok {
		return nil, errReply("channel_not_found", ""), false
	}
	if !ch.bot {
		return nil, errReply("not_in_channel", ""), false
	}
	return ch, reply{}, true
}

// updatable answers whether the bot may edit messages in channelID. chat.update documents no
// not_in_channel (https://docs.slack.dev/reference/methods/chat.update, "Errors"): a channel that
// does not exist, or that the bot cannot see because it is not in it, is channel_not_found there.
// The caller holds s.mu.
func (s *Server) updatable(channelID string) (reply, bool) {
	if ch, ok := s.channels[channelID]; !ok || !ch.bot {
		return errReply("channel_not_found", ""), false
	}
	return reply{}, true
}
