// Package web is the web console: a chat surface in the browser beside Slack and Discord. It keeps each
// web channel's messages in shipgate's database and the newest of them in memory, pushes every change to
// the open pages over server-sent events, and turns the page's commands and button clicks into bot calls.
// The page is plain HTML, CSS and JavaScript embedded in the binary, with nothing loaded from elsewhere.
//
// The console is a bot.Poster from New (or Open) on, since bot.New needs its posters; the bot it
// dispatches to is attached afterwards with Attach.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/store"
)

// User is someone the console lets people act as in demo mode.
type User struct {
	ID   string // the actor id role member lists name, such as "dev"
	Name string // shown in the picker and for mentions, such as "Dana (deployer)"
	Note string // a line under the picker saying what this person may do
}

// Options configure a Console.
type Options struct {
	// Channels are the web channel ids the console shows: the channels bound with platform web.
	Channels []string
	// Demo lets anyone act as any of Users, chosen in a picker; the access token is not asked for.
	Demo  bool
	Users []User
	// AccessToken, outside demo mode, lets people act after logging in with it and the id they act as
	// (or, for scripts, with Authorization: Bearer and the id in each request). Without one the console
	// is read-only.
	AccessToken string
	// PublicURL, when set, makes Permalink's links absolute (config public_url); otherwise they are
	// paths on the console's own host.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock for message times and login expiry; nil means time.Now.
	Now func() time.Time
}

//go:embed static
var static embed.FS

// Console is the web console. Create it with New, give it to bot.New as the web Poster, Attach the bot,
// Register its endpoints, and Close it before shutting the HTTP server down.
type Console struct {
	channels []string
	boards   map[string]*board
	demo     bool
	users    []User
	userByID map[string]User
	token    *[sha256.Size]byte // digest of the access token; nil without one
	public   string
	log      *slog.Logger
	now      func() time.Time

	bot atomic.Pointer[bot.Bot]

	// st keeps the channels' messages (Open); nil keeps them in memory only (New).
	st *store.Store

	// boot starts every message id: ids must not repeat across restarts, since the bot stores them and
	// edits its messages by id. Open makes sure that no kept message has it.
	boot string
	seq  atomic.Int64
	// order is the order of posting across the channels, each message's seq: Open goes on from the
	// highest kept, so that a page shows what came after a restart after what came before.
	order atomic.Int64

	done      chan struct{} // closed by Close: streams end
	closeOnce sync.Once
}

// New returns a console that keeps its messages in memory only, takes messages at once and acts once a
// bot is attached.
func New(opts Options) *Console {
	c := &Console{channels: slices.Clone(opts.Channels), boards: map[string]*board{}, demo: opts.Demo, users: slices.Clone(opts.Users),
		userByID: map[string]User{}, public: opts.PublicURL, log: opts.Logger, now: opts.Now, boot: randomID(4), done: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, ch := range c.channels {
		c.boards[ch] = newBoard(&c.order)
	}
	for _, u := range c.users {
		if u.Name == "" {
			u.Name = u.ID
		}
		c.userByID[u.ID] = u
	}
	if opts.AccessToken != "" {
		d := sha256.Sum256([]byte(opts.AccessToken))
		c.token = &d
	}
	return c
}

// bootAttempts bounds how many message id prefixes Open draws before it gives up finding one that no kept
// message has: each is 4 random bytes, so a second draw is already rare.
const bootAttempts = 8

// Open returns a console that keeps its messages in st, shipgate's database, and shows again what it
// kept: the newest root cards of each channel (maxRoots) with the newest replies of each (maxReplies),
// as they were last edited.
func Open(ctx context.Context, st *store.Store, opts Options) (*Console, error) {
	c := New(opts)
	c.st = st
	last, err := st.LastWebSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("web console: %w", err)
	}
	c.order.Store(last)
	for _, ch := range c.channels {
		if err := c.load(ctx, ch); err != nil {
			return nil, fmt.Errorf("web console: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		taken, err := c.bootTaken(ctx)
		if err != nil {
			return nil, fmt.Errorf("web console: %w", err)
		}
		if !taken {
			return c, nil
		}
		if attempt == bootAttempts {
			return nil, fmt.Errorf("web console: %d message id prefixes drawn, each taken by a kept message", bootAttempts)
		}
		c.boot = randomID(4)
	}
}

// load adds a channel's kept messages to its board.
func (c *Console) load(ctx context.Context, channel string) error {
	roots, err := c.st.ListWebRoots(ctx, channel, maxRoots)
	if err != nil {
		return err
	}
	b := c.boards[channel]
	for _, r := range roots {
		root, ok := c.decode(r)
		if !ok {
			continue
		}
		var replies []wireMessage
		if r.ThreadID != "" {
			kept, err := c.st.ListWebReplies(ctx, channel, r.ThreadID, maxReplies)
			if err != nil {
				return err
			}
			for _, k := range kept {
				if m, ok := c.decode(k); ok {
					replies = append(replies, m)
				}
			}
		}
		b.restore(root, replies)
	}
	return nil
}

// bootTaken reports whether a kept message's id starts with this process's prefix.
func (c *Console) bootTaken(ctx context.Context) (bool, error) {
	for _, ch := range c.channels {
		if taken, err := c.st.WebMessageIDTaken(ctx, ch, c.boot+"-"); err != nil || taken {
			return taken, err
		}
	}
	return false, nil
}

// decode reads a kept message back; the row says where it is. One this shipgate cannot read (written by
// another version) is logged and left out, rather than keeping the console from starting.
func (c *Console) decode(k *store.WebMessage) (wireMessage, bool) {
	var m wireMessage
	if err := json.Unmarshal(k.Body, &m); err != nil {
		c.log.Warn("web console: a kept message cannot be read and is not shown", "channel", k.Channel, "message", k.MessageID, "err", err)
		return wireMessage{}, false
	}
	m.ID, m.Thread, m.Root, m.Seq, m.Version = k.MessageID, k.ThreadID, k.Root, k.Seq, k.Version
	m.Private, m.To = false, ""
	return m.normalized(), true
}

// keep writes the messages a post or an edit changed to the database, with those of the channel whose
// earlier save failed. A failed save (a full disk) is logged, not returned: the message is shown all the
// same, and written again with the channel's next save, so that once the disk has room again the
// database holds what the channel showed meanwhile.
func (c *Console) keep(ctx context.Context, channel string, b *board, changed []wireMessage) {
	if c.st == nil || len(changed) == 0 {
		return
	}
	ms := append(changed, b.unsavedMessages()...)
	rows := make([]*store.WebMessage, 0, len(ms))
	for _, m := range ms {
		body, _ := json.Marshal(m) // plain data: it always encodes
		rows = append(rows, &store.WebMessage{Seq: m.Seq, Channel: channel, MessageID: m.ID, ThreadID: m.Thread, Root: m.Root,
			Version: m.Version, Body: body})
	}
	// What the pages were shown is kept even when the bot's request ends meanwhile.
	ctx = context.WithoutCancel(ctx)
	err := c.st.Update(ctx, func(tx *store.Tx) error {
		for _, r := range rows {
			if err := tx.SaveWebMessage(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.log.Error("web console: message shown but not kept; it is written again with the channel's next message",
			"channel", channel, "message", changed[len(changed)-1].ID, "err", err)
	}
	b.saved(ms, err)
}

// keptOutside returns a message the channel does not hold but the database keeps (it is older than what
// the channel holds), or nil.
func (c *Console) keptOutside(ctx context.Context, channel string, b *board, id string) *wireMessage {
	if c.st == nil || id == "" || b.holds(id) {
		return nil
	}
	k, err := c.st.GetWebMessage(ctx, channel, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Warn("web console: look up a message", "channel", channel, "message", id, "err", err)
		}
		return nil
	}
	m, ok := c.decode(k)
	if !ok {
		return nil
	}
	return &m
}

// Attach gives the console the bot that answers its commands and clicks. Until then they are refused
// with 503.
func (c *Console) Attach(b *bot.Bot) { c.bot.Store(b) }

// Register adds the console's page and endpoints to mux.
func (c *Console) Register(mux *http.ServeMux) {
	assets, _ := fs.Sub(static, "static") // "static" is embedded, so Sub cannot fail
	files := http.StripPrefix("/static/", http.FileServerFS(assets))
	mux.HandleFunc("GET /{$}", c.servePage)
	mux.Handle("GET /static/", pageHeaders(files))
	mux.HandleFunc("GET /web/state", c.serveState)
	mux.HandleFunc("GET /web/events", c.serveEvents)
	mux.HandleFunc("POST /web/command", c.serveCommand)
	mux.HandleFunc("POST /web/click", c.serveClick)
	mux.HandleFunc("POST /web/login", c.serveLogin)
	mux.HandleFunc("POST /web/logout", c.serveLogout)
}

// Close ends the event streams, so that http.Server.Shutdown does not wait for pages that stay open.
// The console keeps taking messages; pages reconnect to the next process.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.done) }) }

func (c *Console) servePage(w http.ResponseWriter, r *http.Request) {
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// pageHeaders keeps the page to its own origin: its scripts, styles and connections, no framing.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// The assets change with the binary and are small: always ask whether they did.
	h.Set("Cache-Control", "no-cache")
}

// board returns a channel's messages, or nil for a channel the console does not show.
func (c *Console) board(channel string) *board { return c.boards[channel] }

// nextID is a message id unique in this process and unlikely to repeat in the next.
func (c *Console) nextID() string {
	return c.boot + "-" + strconv.FormatInt(c.seq.Add(1), 10)
}

// randomID is n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
