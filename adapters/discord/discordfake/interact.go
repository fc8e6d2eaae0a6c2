package discordfake

import (
	"encoding/json"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// The interactions Discord sends when a person acts on what the fake holds. Unlike the package's plain
// builders (Command, Component, ModalSubmit), which describe a text channel the caller names, these
// take the channel from the fake's own state, as Discord does: a click on a message in a thread, or a
// command typed in a thread, comes with the thread's id as channel_id and a channel object of the
// thread's type (11 for a public thread) whose parent_id is the channel the thread was started in
// (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-structure
// and https://discord.com/developers/docs/topics/threads#thread-fields). Each issues a fresh interaction
// id and token, accepted by the callback and webhook routes for TokenLifetime. They fail the test that
// created the fake when the channel or message is not one it knows.

// Slash is the APPLICATION_COMMAND interaction of member running the slash command name, with options,
// in channelID of guildID: a channel added with AddChannel, or a thread the fake started.
func (s *Server) Slash(guildID, channelID string, member Member, name string, options ...CommandOption) []byte {
	ch := s.knownChannel(channelID)
	id, tok := s.newInteraction(channelID, "")
	return mustJSON(interactionIn(discordgo.InteractionApplicationCommand, id, tok, DefaultAppID, guildID, ch, member,
		commandData(guildID, name, options)))
}

// Click is the MESSAGE_COMPONENT interaction of member clicking the button customID on the message
// messageID, wherever the fake holds that message.
func (s *Server) Click(guildID string, member Member, messageID, customID string) []byte {
	ch := s.knownChannel(s.channelOfMessage(messageID))
	id, tok := s.newInteraction(ch.ID, messageID)
	j := interactionIn(discordgo.InteractionMessageComponent, id, tok, DefaultAppID, guildID, ch, member,
		map[string]any{"custom_id": customID, "component_type": discordgo.ButtonComponent})
	j["message"] = componentMessage(ch.ID, messageID)
	return mustJSON(j)
}

// SubmitModal is the MODAL_SUBMIT interaction of member submitting the modal customID that a click on
// messageID opened; Discord sends it from the clicked message's channel, with that message. fields
// holds the text inputs' values by custom_id.
func (s *Server) SubmitModal(guildID string, member Member, messageID, customID string, fields map[string]string) []byte {
	ch := s.knownChannel(s.channelOfMessage(messageID))
	id, tok := s.newInteraction(ch.ID, messageID)
	j := interactionIn(discordgo.InteractionModalSubmit, id, tok, DefaultAppID, guildID, ch, member,
		map[string]any{"custom_id": customID, "components": modalRows(fields)})
	j["message"] = componentMessage(ch.ID, messageID)
	return mustJSON(j)
}

// newInteraction issues an interaction id (a snowflake) and its token.
func (s *Server) newInteraction(channelID, messageID string) (id, token string) {
	s.mu.Lock()
	id = s.nextID(s.now())
	s.mu.Unlock()
	return id, s.IssueInteractionFor(id, channelID, messageID)
}

// knownChannel returns the channel or thread id, failing the test when the fake does not know it.
func (s *Server) knownChannel(id string) Channel {
	ch, ok := s.Channel(id)
	if !ok {
		s.tb.Helper()
		s.tb.Fatalf("discordfake: no channel or thread %q: add it with AddChannel, or start the thread first", id)
	}
	return ch
}

// channelOfMessage returns the channel or thread a message is in, failing the test when the fake holds
// no such message.
func (s *Server) channelOfMessage(messageID string) string {
	s.mu.Lock()
	where, ok := s.channelOf(messageID)
	s.mu.Unlock()
	if !ok {
		s.tb.Helper()
		s.tb.Fatalf("discordfake: no message %s", messageID)
	}
	return where
}

// channelOf returns the channel or thread the message messageID is in: ids are unique across
// channels, as Discord's snowflakes are. The caller holds s.mu.
func (s *Server) channelOf(messageID string) (string, bool) {
	for k := range s.messages {
		if k.id == messageID {
			return k.channel, true
		}
	}
	return "", false
}

// InteractionID returns the id of an interaction payload built here, for Callback and Original.
func InteractionID(payload []byte) string {
	var in struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &in); err != nil {
		panic(fmt.Sprintf("discordfake: not an interaction payload: %v", err))
	}
	return in.ID
}
