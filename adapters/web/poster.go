package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/shipgate/shipgate/bot"
)

// errUnknownChannel is a message for a channel the console was not given: a binding with platform web
// that is missing from Options.Channels.
func errUnknownChannel(channel string) error {
	return fmt.Errorf("web: channel %q is not one of the console's channels", channel)
}

// Post adds a message to a channel, keeps it, and shows it on the open pages. A root card
// (opts.StartThread) is its own thread, as on Slack; a message with opts.Thread is a reply in that thread.
//
// The message is kept before Post returns, and so before the bot records its id: a restart in between
// leaves a message the bot does not know of (it posts the card again, as it would on Slack), not an id
// the bot knows and the console has lost. Only a failed save does that; the bot's next edit of the
// message then adds it again (Update).
func (c *Console) Post(ctx context.Context, channel string, m bot.Message, opts bot.PostOptions) (bot.Posted, error) {
	b := c.board(channel)
	if b == nil {
		return bot.Posted{}, errUnknownChannel(channel)
	}
	w := render(m)
	w.ID = c.nextID()
	switch {
	case opts.Thread != "":
		w.Thread, w.Broadcast = opts.Thread, opts.Broadcast
	case opts.StartThread:
		w.Thread, w.Root = w.ID, true
	default:
		w.Root = true
	}
	rootKept := c.keptOutside(ctx, channel, b, opts.Thread) != nil
	posted, changed := b.post(w, opts.Thread, c.now(), rootKept)
	c.keep(ctx, channel, b, changed)
	return bot.Posted{MessageID: posted.ID, Thread: posted.Thread}, nil
}

// Update replaces what a message shows, keeps the new version in place of the old, and shows it on the
// open pages.
func (c *Console) Update(ctx context.Context, channel, thread, messageID string, m bot.Message) error {
	b := c.board(channel)
	if b == nil {
		return errUnknownChannel(channel)
	}
	kept := c.keptOutside(ctx, channel, b, messageID)
	rootKept := false
	if kept == nil && thread != "" && thread != messageID {
		rootKept = c.keptOutside(ctx, channel, b, thread) != nil
	}
	_, changed := b.update(messageID, thread, render(m), c.now(), kept, rootKept)
	c.keep(ctx, channel, b, changed)
	return nil
}

// PostPrivate shows a message on the pages of one user only; it is not kept, in memory or in the
// database, so a page opened later does not show it.
func (c *Console) PostPrivate(_ context.Context, channel, user string, m bot.Message) error {
	b := c.board(channel)
	if b == nil {
		return errUnknownChannel(channel)
	}
	if b.publishPrivate(user, c.private(user, m)) == 0 {
		c.log.Debug("private message not shown: the user has no page open", "channel", channel, "user", user)
	}
	return nil
}

// private is a message for one person.
func (c *Console) private(user string, m bot.Message) wireMessage {
	w := render(m)
	w.ID, w.Private, w.To, w.At = c.nextID(), true, user, c.now()
	return w
}

// Permalink links to a message on the console: the channel's page, scrolled to the message.
func (c *Console) Permalink(_ context.Context, channel, messageID string) (string, error) {
	if c.board(channel) == nil {
		return "", errUnknownChannel(channel)
	}
	return strings.TrimSuffix(c.public, "/") + "/?channel=" + url.QueryEscape(channel) + "#m-" + url.PathEscape(messageID), nil
}
