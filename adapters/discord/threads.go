package discord

import (
	"context"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// threadLookupTimeout bounds the one REST call that finds a thread's parent channel; it runs before
// Discord gets its answer, within the ack deadline.
const threadLookupTimeout = time.Second

// maxKnownChannels bounds the remembered channel parents; past it the memory starts over.
const maxKnownChannels = 10000

// channelRef is the channel object Discord puts in an interaction ("channel": a partial channel).
type channelRef struct {
	ID       string                `json:"id"`
	Type     discordgo.ChannelType `json:"type"`
	ParentID string                `json:"parent_id"`
}

// isThread tells the thread channel types apart: announcement (10), public (11) and private (12)
// threads (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
func isThread(t discordgo.ChannelType) bool {
	return t == discordgo.ChannelTypeGuildNewsThread || t == discordgo.ChannelTypeGuildPublicThread ||
		t == discordgo.ChannelTypeGuildPrivateThread
}

// place is where an interaction happened, as the bot binds channels: the channel, and the thread when
// it came from one.
type place struct{ channel, thread string }

// placeOf finds where an interaction happened. Discord sends an interaction from a message in a thread,
// or a command typed in one, with the thread's id as channel_id: a thread is a channel of its own, and
// the interaction's channel object says so with a thread type and parent_id, the channel the thread was
// started in (https://discord.com/developers/docs/topics/threads#thread-fields). A thread of a bound
// channel counts as that channel, so its parent is the place's channel and the thread is kept beside it.
// When the channel object is missing, the channel is looked up with the bot token and its parent
// remembered: a thread never moves to another channel. If Discord cannot be asked, the interaction's
// channel is taken as it is, and the bot refuses it as unbound.
func (h *Handler) placeOf(ctx context.Context, i *discordgo.Interaction, from *channelRef) place {
	switch {
	case from != nil && from.ID == i.ChannelID && isThread(from.Type) && from.ParentID != "":
		h.client.known.remember(i.ChannelID, from.ParentID)
		return place{channel: from.ParentID, thread: i.ChannelID}
	case from != nil && from.ID == i.ChannelID && !isThread(from.Type):
		return place{channel: i.ChannelID}
	case i.ChannelID == "":
		return place{}
	}
	parent, err := h.client.parentOf(ctx, i.ChannelID)
	if err != nil {
		h.log.Warn("finding the channel of an interaction", "interaction", i.ID, "channel", i.ChannelID, "err", err)
		return place{channel: i.ChannelID}
	}
	if parent == "" {
		return place{channel: i.ChannelID}
	}
	return place{channel: parent, thread: i.ChannelID}
}

// channelParents remembers the parent channel of the threads seen, and "" for channels that are not
// threads.
type channelParents struct {
	mu     sync.Mutex
	parent map[string]string
}

func (k *channelParents) lookup(id string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.parent[id]
	return p, ok
}

func (k *channelParents) remember(id, parent string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.parent == nil || len(k.parent) >= maxKnownChannels {
		k.parent = map[string]string{}
	}
	k.parent[id] = parent
}

// parentOf returns the channel a thread was started in, or "" when id is not a thread, asking Discord
// (GET /channels/{id}) the first time.
func (c *Client) parentOf(ctx context.Context, id string) (string, error) {
	if p, ok := c.known.lookup(id); ok {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, threadLookupTimeout)
	defer cancel()
	ch, err := c.channel(ctx, id)
	if err := c.done("channels.get", err); err != nil {
		return "", err
	}
	parent := ""
	if isThread(ch.Type) {
		parent = ch.ParentID
	}
	c.known.remember(id, parent)
	return parent, nil
}
