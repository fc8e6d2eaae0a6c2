package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/adapters/chatlimit"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/truncate"
)

const (
	// serverErrorWait is how long to wait before trying again after Discord failed with a 5xx.
	serverErrorWait = 2 * time.Second
	// requestTimeout bounds one REST call; callers' contexts usually end sooner.
	requestTimeout = 15 * time.Second
	// defaultThreadName names a root card's thread when the bot gives no name.
	defaultThreadName = "delivery"
	// threadArchiveMinutes is a day, one of Discord's allowed values (spec D15); posting in an archived
	// thread unarchives it.
	threadArchiveMinutes = 1440
	// threadStartAttempts and maxThreadWait bound how long Post waits for Discord to let it start a
	// root card's thread, the card being already posted.
	threadStartAttempts = 3
	maxThreadWait       = 5 * time.Second
	// takeBackTimeout bounds deleting a root card whose thread could not be started.
	takeBackTimeout = 5 * time.Second
)

var (
	// errPrivateNeedsInteraction: Discord shows a message to one user only as the answer to that user's
	// interaction (an ephemeral response), so the Discord handler answers privately itself and never
	// calls PostPrivate; neither does the bot core.
	errPrivateNeedsInteraction = errors.New("discord: a private message can only answer an interaction; the Discord handler sends it as an ephemeral response")
	errNoGuild                 = errors.New("discord: the guild is not known (set discord.guild_id) so no message link can be made")
)

// Client sends the bot's messages to Discord over REST with discordgo. It is the bot's Poster for
// Discord. discordgo's own rate-limit sleeps stay off: they would block the caller and ignore its
// context, and the bot's outbox retries instead, channel by channel.
type Client struct {
	session *discordgo.Session
	log     *slog.Logger
	// wait sleeps between attempts to start a thread; tests replace it.
	wait func(ctx context.Context, d time.Duration) bool
	// limits warns in the log about the rate limits Discord imposes, once a minute per method.
	limits *chatlimit.Warner

	// Calls counts each REST call by method and outcome (ok, rate_limited, error); nil counts nothing.
	Calls CallObserver
	// GuildID is the guild shipgate's channels are in (discord.guild_id), for message links and role
	// mentions; empty means neither is available.
	GuildID string

	roles roles
	// known remembers which channels are threads, and of which channel.
	known channelParents
}

// CallObserver counts outbound platform calls (metrics.ChatCalls).
type CallObserver interface {
	Observe(platform, method, outcome string)
}

// NewClient wraps a discordgo session made by NewSession.
func NewClient(s *discordgo.Session, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{session: s, log: log, wait: sleep, limits: chatlimit.New(log, nil)}
}

// NewSession makes a REST-only discordgo session for a bot token (no gateway is opened). apiURL, when
// set, replaces https://discord.com in every request (a local fake in tests, or a proxy); a path in it
// is kept as a prefix, and a trailing /api or /api/v9 is accepted. discordgo's package-level Endpoint
// variables are left alone: the session's HTTP client rewrites each request instead.
func NewSession(token, apiURL string) (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.ShouldRetryOnRateLimit = false
	var transport http.RoundTripper = http.DefaultTransport
	if apiURL != "" {
		if transport, err = newRewriteTransport(apiURL, transport); err != nil {
			return nil, err
		}
	}
	s.Client = &http.Client{Timeout: requestTimeout, Transport: transport}
	return s, nil
}

// rewriteTransport sends discordgo's requests, all addressed to https://discord.com/api/v9/…, to
// another base URL.
type rewriteTransport struct {
	scheme, host, prefix string
	next                 http.RoundTripper
}

func newRewriteTransport(apiURL string, next http.RoundTripper) (*rewriteTransport, error) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord api_url %q: want an http(s) base URL such as https://discord.com", apiURL)
	}
	prefix := strings.TrimSuffix(u.Path, "/")
	prefix = strings.TrimSuffix(prefix, "/api/v"+discordgo.APIVersion)
	prefix = strings.TrimSuffix(prefix, "/api")
	return &rewriteTransport{scheme: u.Scheme, host: u.Host, prefix: prefix, next: next}, nil
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context()) // a RoundTripper must not change the request it is given
	out.URL.Scheme, out.URL.Host, out.Host = t.scheme, t.host, t.host
	if t.prefix != "" {
		out.URL.Path = t.prefix + req.URL.Path
		if req.URL.RawPath != "" {
			out.URL.RawPath = t.prefix + req.URL.RawPath
		}
	}
	return t.next.RoundTrip(out)
}

// options are those of every call: the caller's context, and a 429 returned rather than slept on.
func options(ctx context.Context) []discordgo.RequestOption {
	return []discordgo.RequestOption{discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false)}
}

// observe counts one REST call, warns about a rate limit, and returns its error unchanged.
func (c *Client) observe(method string, err error) error {
	outcome := "ok"
	var rl *discordgo.RateLimitError
	switch {
	case errors.As(err, &rl):
		outcome = "rate_limited"
		c.limits.RateLimited("discord", method, retryAfter(rl))
	case err != nil:
		outcome = "error"
	}
	if c.Calls != nil {
		c.Calls.Observe("discord", method, outcome)
	}
	return err
}

// retryAfter is how long Discord asked to wait: the 429 body's retry_after.
func retryAfter(rl *discordgo.RateLimitError) time.Duration {
	if rl.RateLimit != nil && rl.TooManyRequests != nil {
		return rl.RetryAfter
	}
	return 0
}

// done counts a call and classifies its error for the bot.
func (c *Client) done(method string, err error) error {
	return classify(method, c.observe(method, err))
}

// classify names the call in an error and marks the failures worth retrying: rate limits (with
// Discord's retry_after) and Discord's own server errors.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("discord %s: %w", method, err)
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return &bot.RetryLater{After: retryAfter(rl), Err: wrapped}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= http.StatusInternalServerError {
		return &bot.RetryLater{After: serverErrorWait, Err: wrapped}
	}
	// discordgo v0.29.0 retries a 502 itself (MaxRestRetries) and then gives up with a plain error.
	if strings.HasPrefix(err.Error(), "Exceeded Max retries HTTP 5") {
		return &bot.RetryLater{After: serverErrorWait, Err: wrapped}
	}
	return wrapped
}

// codeThreadExists is Discord's error code for a thread started on a message that has one
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json: 160004).
const codeThreadExists = 160004

// discordCode is the error code of Discord's JSON error answer, 0 for none.
func discordCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// notFound tells whether Discord answered 404 (unknown message or channel).
func notFound(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound
}

// render renders m and logs the buttons Discord would have refused.
func (c *Client) render(m bot.Message) discordMessage {
	r := renderMessage(m)
	for _, why := range r.dropped {
		c.log.Warn("button left out of a Discord message", "reason", why, "header", m.Header)
	}
	return r
}

// Post sends a message to a channel or, with opts.Thread, into a root card's thread: on Discord a
// thread is a channel of its own. A root card (opts.StartThread) gets a thread started on it, named
// opts.ThreadName, and its id comes back as Posted.Thread. If the thread cannot be started the card
// is deleted again and the error returned, so that the bot's retry does not leave two cards.
//
// Discord cannot show a thread reply in the channel too, as Slack's reply_broadcast does. With
// opts.Broadcast, Post leaves a one-line pointer in the channel instead ("📣 <header> → <link>"), with
// no buttons: the buttons stay on the one message that the bot edits when the approval is decided. The
// pointer is best effort; its failure is logged, not returned, since the reply itself was posted.
func (c *Client) Post(ctx context.Context, channel string, m bot.Message, opts bot.PostOptions) (bot.Posted, error) {
	target := channel
	if opts.Thread != "" {
		target = opts.Thread
	}
	msg, err := c.createMessage(ctx, target, c.render(m).create())
	if err := c.done("messages.create", err); err != nil {
		return bot.Posted{}, err
	}
	posted := bot.Posted{MessageID: msg.ID, Thread: opts.Thread}
	switch {
	case opts.Thread == "" && opts.StartThread:
		thread, err := c.startThread(ctx, channel, msg.ID, opts.ThreadName)
		if err != nil {
			c.takeBack(ctx, channel, msg.ID)
			return bot.Posted{}, err
		}
		posted.Thread = thread
	case opts.Thread != "" && opts.Broadcast:
		c.pointTo(ctx, channel, opts.Thread, msg.ID, m)
	}
	return posted, nil
}

// startThread starts a public thread on a message, waiting a little when Discord asks to (a 429) or
// fails for a moment (a 5xx). A thread that already exists on the message is the one an earlier attempt
// started, whose answer was lost: Discord gives a message's thread the message's id.
func (c *Client) startThread(ctx context.Context, channel, messageID, name string) (string, error) {
	name = truncate.Bytes(strings.TrimSpace(name), maxThreadName)
	if name == "" {
		name = defaultThreadName
	}
	for attempt := 1; ; attempt++ {
		th, err := c.startMessageThread(ctx, channel, messageID, &threadStart{Name: name, AutoArchiveDuration: threadArchiveMinutes})
		if discordCode(err) == codeThreadExists {
			c.observe("threads.create", nil)
			return messageID, nil
		}
		err = c.done("threads.create", err)
		if err == nil {
			return th.ID, nil
		}
		var rl *bot.RetryLater
		if attempt == threadStartAttempts || !errors.As(err, &rl) || rl.After > maxThreadWait || !c.wait(ctx, rl.After) {
			return "", err
		}
	}
}

// takeBack deletes a root card whose thread could not be started, even if ctx has ended.
func (c *Client) takeBack(ctx context.Context, channel, messageID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), takeBackTimeout)
	defer cancel()
	err := c.session.ChannelMessageDelete(channel, messageID, options(ctx)...)
	if err := c.done("messages.delete", err); err != nil {
		c.log.Warn("deleting a root card whose thread could not be started; it may show twice", "channel", channel, "message", messageID, "err", err)
	}
}

// pointTo leaves the channel a one-line pointer to a thread reply.
func (c *Client) pointTo(ctx context.Context, channel, thread, messageID string, m bot.Message) {
	link := "<#" + thread + ">"
	if c.GuildID != "" {
		link = messageLink(c.GuildID, thread, messageID)
	}
	_, err := c.createMessage(ctx, channel, renderPointer(m, link))
	if err := c.done("messages.create", err); err != nil {
		c.log.Warn("posting the channel's pointer to a thread reply", "channel", channel, "thread", thread, "err", err)
	}
}

// Update replaces a message in place. Replies live in their thread's channel; the root card lives in
// the channel although its Thread is set (its own thread, whose id Discord makes the card's id), so a
// message whose id is its thread's is edited in the channel. Should a thread not carry its card's id,
// a 404 in the thread is tried again in the channel.
func (c *Client) Update(ctx context.Context, channel, thread, messageID string, m bot.Message) error {
	r := c.render(m)
	where := channel
	if thread != "" && thread != messageID {
		where = thread
	}
	err := c.edit(ctx, where, messageID, r)
	if where != channel && notFound(err) {
		err = c.edit(ctx, channel, messageID, r)
	}
	return err
}

func (c *Client) edit(ctx context.Context, channel, messageID string, r discordMessage) error {
	return c.done("messages.edit", c.editMessage(ctx, channel, messageID, r.edit()))
}

// PostPrivate is not available on Discord outside an interaction: see errPrivateNeedsInteraction.
func (c *Client) PostPrivate(context.Context, string, string, bot.Message) error {
	return errPrivateNeedsInteraction
}

// Permalink is a link to a posted message in Discord's web client. Discord's links name the guild,
// which comes from the configuration (GuildID); without it there is no link.
func (c *Client) Permalink(_ context.Context, channel, messageID string) (string, error) {
	if c.GuildID == "" {
		return "", errNoGuild
	}
	return messageLink(c.GuildID, channel, messageID), nil
}

func messageLink(guild, channel, messageID string) string {
	return "https://discord.com/channels/" + guild + "/" + channel + "/" + messageID
}

// sleep waits d unless ctx ends first, and tells whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Compile-time checks that Client is what the bot needs.
var (
	_ bot.Poster      = (*Client)(nil)
	_ bot.Permalinker = (*Client)(nil)
)
