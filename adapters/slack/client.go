package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/shipgate/shipgate/adapters/chatlimit"
	"github.com/shipgate/shipgate/bot"
)

// serverErrorWait is how long to wait before trying again after Slack failed with a 5xx.
const serverErrorWait = 2 * time.Second

// responseTimeout bounds one answer sent to a response_url; callers' contexts usually end sooner.
const responseTimeout = 15 * time.Second

// Client sends the bot's messages to Slack through slack-go and resolves user groups. It is the bot's
// Poster and Directory for Slack.
type Client struct {
	api *slack.Client
	log *slog.Logger
	// tablesRejected is set once the workspace refused a table block; from then on score tables are
	// sent as section fields.
	tablesRejected atomic.Bool

	// http sends the answers to response_urls.
	http *http.Client
	// limits warns in the log about the rate limits Slack imposes, once a minute per method.
	limits *chatlimit.Warner

	// Calls counts each Web API call by method and outcome (ok, rate_limited, error); nil counts nothing.
	Calls CallObserver

	checkMu   sync.Mutex // guards the last readiness check's answer
	checkedAt time.Time
	checkErr  error
}

// NewClient wraps a slack-go client. slack-go's own retries stay off: they would block the caller,
// and the bot's outbox retries instead, channel by channel.
func NewClient(api *slack.Client, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{api: api, log: log, http: &http.Client{Timeout: responseTimeout}, limits: chatlimit.New(log, nil)}
}

// CallObserver counts outbound platform calls (metrics.ChatCalls).
type CallObserver interface {
	Observe(platform, method, outcome string)
}

// observe counts one outbound call (a Web API method, or "response_url") and returns its error
// unchanged. Every call goes through it, so it is where a rate-limited call is seen, with Slack's
// Retry-After in rl.RetryAfter.
func (c *Client) observe(method string, err error) error {
	outcome := "ok"
	var rl *slack.RateLimitedError
	switch {
	case errors.As(err, &rl):
		outcome = "rate_limited"
		c.limits.RateLimited("slack", method, rl.RetryAfter)
	case err != nil:
		outcome = "error"
	}
	if c.Calls != nil {
		c.Calls.Observe("slack", method, outcome)
	}
	return err
}

// API is the underlying slack-go client.
func (c *Client) API() *slack.Client { return c.api }

// Post sends a message to a channel or, with opts.Thread, into a root card's thread. A root card's
// replies thread on its own ts.
func (c *Client) Post(ctx context.Context, channel string, m bot.Message, opts bot.PostOptions) (bot.Posted, error) {
	if m.Code != nil && !codeInline(m.Code) {
		// The file goes first, so that the message saying it is in the thread is never there without it;
		// a retry after a failed post uploads it again rather than leaving the message without a file.
		if err := c.upload(ctx, channel, opts.Thread, m.Code); err != nil {
			return bot.Posted{}, err
		}
	}
	var ts string
	err := c.withTables(m, func(blocks []slack.Block, text string) error {
		msgOpts := []slack.MsgOption{slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false)}
		if opts.Thread != "" {
			msgOpts = append(msgOpts, slack.MsgOptionTS(opts.Thread))
			if opts.Broadcast {
				msgOpts = append(msgOpts, slack.MsgOptionBroadcast())
			}
		}
		var err error
		_, ts, err = c.api.PostMessageContext(ctx, channel, msgOpts...)
		return c.observe("chat.postMessage", err)
	})
	if err != nil {
		return bot.Posted{}, err
	}
	thread := opts.Thread
	if thread == "" {
		thread = ts
	}
	return bot.Posted{MessageID: ts, Thread: thread}, nil
}

// upload shares a code block as a file in the channel, in the thread when there is one, through the
// files.uploadV2 flow (files.getUploadURLExternal, the upload, files.completeUploadExternal); Slack
// shows it as a snippet with its own viewer. The app needs the files:write scope.
func (c *Client) upload(ctx context.Context, channel, thread string, code *bot.CodeBlock) error {
	_, err := c.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Channel: channel, ThreadTimestamp: thread, Filename: code.Filename, Title: code.Filename,
		Content: code.Text, FileSize: len(code.Text), SnippetType: code.Language,
	})
	return c.observe("files.uploadV2", err)
}

// Update replaces a message in place (chat.update).
func (c *Client) Update(ctx context.Context, channel, _, messageID string, m bot.Message) error {
	return c.withTables(m, func(blocks []slack.Block, text string) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, messageID, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
		return c.observe("chat.update", err)
	})
}

// PostPrivate shows a message to one user in a channel (chat.postEphemeral), as bot.Poster asks.
// The bot core does not call it, and the handler answers clicks with Respond instead: an ephemeral
// post needs the bot and the user in the channel.
func (c *Client) PostPrivate(ctx context.Context, channel, user string, m bot.Message) error {
	return c.withTables(m, func(blocks []slack.Block, text string) error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
		return c.observe("chat.postEphemeral", err)
	})
}

// Respond answers an interaction through its response_url: visible to the person who acted only
// (response_type ephemeral), without replacing the message they clicked (replace_original false).
// A response_url needs no membership in the channel and no token. Slack refuses it past 5 uses or 30
// minutes; the answer then is lost, and the error says so.
func (c *Client) Respond(ctx context.Context, responseURL string, m bot.Message) error {
	// Sent as a webhook: a response_url takes no token, and slack-go's chat options would add keys
	// (metadata) that do not belong to its body.
	err := c.withTables(m, func(blocks []slack.Block, text string) error {
		return c.observe("response_url", slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.http, responseMessage(blocks, text)))
	})
	if err != nil {
		return fmt.Errorf("answer through response_url: %w", err)
	}
	return nil
}

// withTables renders m and sends it with send; if the workspace rejects the table block, it remembers
// that and sends the table as section fields instead.
func (c *Client) withTables(m bot.Message, send func([]slack.Block, string) error) error {
	tables := m.Table != nil && !c.tablesRejected.Load()
	blocks, text := render(m, tables)
	err := send(blocks, text)
	if tables && slackError(err) == "invalid_blocks" {
		c.tablesRejected.Store(true)
		c.log.Warn("slack rejected the table block; score tables are sent as section fields from now on")
		blocks, text = render(m, false)
		err = send(blocks, text)
	}
	return classify(err)
}

// slackError is the error code of an ok:false answer, or "".
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// classify marks the failures worth retrying for the bot: rate limits (with Slack's Retry-After) and
// Slack's own server errors.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &bot.RetryLater{After: rl.RetryAfter, Err: err}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= http.StatusInternalServerError {
		return &bot.RetryLater{After: serverErrorWait, Err: err}
	}
	return err
}

// IsGroup reports whether a role member is a user group: Slack's user-group ids start with S, user
// ids with U or W.
func (c *Client) IsGroup(id string) bool { return strings.HasPrefix(id, "S") }

// GroupMembers lists a user group's members (usergroups.users.list).
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	members, err := c.api.GetUserGroupMembersContext(ctx, groupID)
	return members, c.observe("usergroups.users.list", err)
}

// checkTTL is how long a readiness check's answer is reused: /readyz is probed every few seconds, and
// auth.test needs no more.
const checkTTL = 30 * time.Second

// Check tells whether Slack answers with the bot token (auth.test), reusing an answer for checkTTL.
func (c *Client) Check(ctx context.Context) error {
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	if !c.checkedAt.IsZero() && time.Since(c.checkedAt) < checkTTL {
		return c.checkErr
	}
	_, err := c.api.AuthTestContext(ctx)
	c.checkedAt, c.checkErr = time.Now(), c.observe("auth.test", err)
	return err
}

// Permalink is a link to a posted message in Slack's web client (chat.getPermalink).
func (c *Client) Permalink(ctx context.Context, channel, messageID string) (string, error) {
	link, err := c.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: messageID})
	return link, c.observe("chat.getPermalink", err)
}

// Compile-time checks that Client is what the bot needs.
var (
	_ bot.Poster      = (*Client)(nil)
	_ bot.Directory   = (*Client)(nil)
	_ bot.Permalinker = (*Client)(nil)
)
