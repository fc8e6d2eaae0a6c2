// Package web is the web console: a chat surface in the browser beside Slack and Discord. It keeps each
// web channel's messages in memory, pushes every change to the open pages over server-sent events, and
// turns the page's commands and button clicks into bot calls. The page is plain HTML, CSS and JavaScript
// embedded in the binary, with nothing loaded from elsewhere.
//
// The console is a bot.Poster from New on, since bot.New needs its posters; the bot it dispatches to is
// attached afterwards with Attach.
package web

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shipgate/shipgate/bot"
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

	// boot starts every message id: ids must not repeat across restarts, since the bot stores them and
	// edits its messages by id.
	boot string
	seq  atomic.Int64

	done      chan struct{} // closed by Close: streams end
	closeOnce sync.Once
}

// New returns a console that takes messages at once and acts once a bot is attached.
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
		c.boards[ch] = newBoard()
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
