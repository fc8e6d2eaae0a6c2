// Package bot is shipgate's chat-neutral brain: it parses /deliver commands, decides who may do what in
// which channel, turns engine events into chat messages (one root card per delivery, edited in place,
// and its thread), and turns button clicks into approval votes. It knows no platform's wire format; the
// adapters under adapters/ verify requests, call HandleCommand and HandleClick, and render Messages.
package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Poster sends messages to one chat platform. Errors worth retrying are *RetryLater; the bot owns the
// retries, as alertmanager's notifiers leave them to their caller.
type Poster interface {
	// Post sends m to a channel, or into a thread when opts.Thread is set. For a root card
	// (opts.StartThread) the platform returns where its replies go in Posted.Thread.
	Post(ctx context.Context, channel string, m Message, opts PostOptions) (Posted, error)
	// Update replaces a message posted before; thread is the Thread it was posted in, if any.
	Update(ctx context.Context, channel, thread, messageID string, m Message) error
	// PostPrivate shows m to one user in a channel only.
	PostPrivate(ctx context.Context, channel, user string, m Message) error
}

// PostOptions say where a message goes.
type PostOptions struct {
	// Thread is the Posted.Thread of the root card this message replies to; empty for a top-level message.
	Thread string
	// Broadcast also shows a thread reply in the channel (approval requests, so that nobody misses them).
	Broadcast bool
	// StartThread asks the platform for a thread under this message (the root card); ThreadName names it
	// on platforms whose threads have names.
	StartThread bool
	ThreadName  string
}

// Posted identifies a sent message.
type Posted struct {
	MessageID string
	// Thread is where replies to this message go: on Slack the message's own ts, on Discord the id of the
	// thread started on it.
	Thread string
}

// RetryLater is an error a Poster returns when sending may succeed if tried again after a while: the
// platform asked it to wait (HTTP 429 Retry-After), or had a passing failure.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string { return "retry after " + e.After.String() + ": " + e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }

// Options configure a Bot.
type Options struct {
	Config   *config.Config
	Projects []*config.Project
	Engine   *engine.Engine
	Store    *store.Store
	// Posters send messages, by platform; a platform without one is not posted to.
	Posters map[engine.Platform]Poster
	// Directories resolve platform groups in role member lists, by platform.
	Directories map[engine.Platform]Directory
	// GroupTTL is how long fetched group members count as fresh; they are fetched again before it ends
	// (see groups.go). 0 means DefaultGroupTTL.
	GroupTTL time.Duration
	// EditInterval is the least time between two edits of one message; 0 means DefaultEditInterval.
	EditInterval time.Duration
	// Now is the clock for message times; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultEditInterval keeps edits of one message to one a second, which Slack's chat.update (Tier 3,
// 50+ a minute) and Discord's per-route limits allow for many deliveries at once.
const DefaultEditInterval = time.Second

// Bot answers commands and clicks and posts deliveries' progress. Create it with New, start the
// notifier with Start, stop with Close.
type Bot struct {
	cfg      *config.Config
	projects map[string]*config.Project
	eng      *engine.Engine
	st       *store.Store
	posters  map[engine.Platform]Poster
	dirs     map[engine.Platform]Directory
	groups   *groupCache
	now      func() time.Time
	log      *slog.Logger

	notifier *notifier
	outbox   *outbox
	stopOnce sync.Once
}

// New returns a bot that is not yet posting; Start subscribes it to the engine.
func New(opts Options) (*Bot, error) {
	if opts.Config == nil || opts.Engine == nil || opts.Store == nil {
		return nil, errors.New("bot: config, engine and store are required")
	}
	b := &Bot{cfg: opts.Config, projects: map[string]*config.Project{}, eng: opts.Engine, st: opts.Store,
		posters: opts.Posters, dirs: opts.Directories, now: opts.Now, log: opts.Logger}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.posters == nil {
		b.posters = map[engine.Platform]Poster{}
	}
	ttl := opts.GroupTTL
	if ttl <= 0 {
		ttl = DefaultGroupTTL
	}
	b.groups = newGroupCache(ttl, b.now, b.dirs, b.log)
	for _, p := range opts.Projects {
		b.projects[p.Name] = p
	}
	interval := opts.EditInterval
	if interval <= 0 {
		interval = DefaultEditInterval
	}
	b.outbox = newOutbox(b, interval)
	b.notifier = newNotifier(b)
	return b, nil
}

// Start subscribes to the engine's events and brings the cards of live deliveries up to date, in case
// the previous process stopped between a transition and its message. It also starts fetching, in the
// background, the members of every platform group the channel bindings name, and keeps them fresh.
func (b *Bot) Start(ctx context.Context) error {
	b.groups.start(b.boundGroups)
	b.notifier.start()
	return b.notifier.catchUp(ctx)
}

// Close stops taking events and sends what is queued (edits waiting for their turn included) until ctx
// ends. Close the engine first: its last events are then handled before the bot stops taking them.
func (b *Bot) Close(ctx context.Context) error {
	var err error
	b.stopOnce.Do(func() {
		b.notifier.stop()
		err = b.outbox.close(ctx)
		b.groups.close()
	})
	return err
}

// Permalinker is implemented by Posters that can link to a posted message (Slack's chat.getPermalink), so
// that /deliver history can point at each delivery's thread.
type Permalinker interface {
	Permalink(ctx context.Context, channel, messageID string) (string, error)
}
