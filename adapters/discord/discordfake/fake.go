package discordfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identities and constants the fake answers with. They are fixed so tests can assert on them.
const (
	// DefaultToken is the bot token the fake accepts unless WithToken says otherwise; a session
	// sends it as "Authorization: Bot discord-bot-token".
	DefaultToken = "discord-bot-token"
	// DefaultAppID is the application id the payload builders' Ping uses. Any application id is
	// accepted on the application and webhook routes; it is recorded in Call.ApplicationID.
	DefaultAppID = "200000000000000002"
	// BotUserID and BotUsername are the author of every message the fake stores.
	BotUserID   = "100000000000000001"
	BotUsername = "shipgate"
	// TokenLifetime is how long an interaction token may be used for callbacks, edits of
	// @original and follow-ups (Discord's 15 minutes).
	TokenLifetime = 15 * time.Minute
	// APIPrefix is the path prefix of every route: discordgo speaks API version 9.
	APIPrefix = "/api/v9/"
)

// discordEpoch is the first second of 2015 in milliseconds, where snowflake time starts.
const discordEpoch = 1420070400000

// maxBody bounds what the fake reads from one request; Discord refuses far smaller bodies
// (25 MiB with attachments), so anything larger is a client bug and not worth buffering.
const maxBody = 32 << 20

// Server is a running fake of Discord's REST API. Create it with New; it is closed when the
// test that created it finishes.
type Server struct {
	tb    testing.TB
	srv   *httptest.Server
	token string
	now   func() time.Time

	mu sync.Mutex
	// changed is closed and replaced whenever a call is recorded, so that waiters wake on the
	// change itself instead of polling.
	changed      chan struct{}
	calls        []Call
	lastID       uint64
	messages     map[msgKey]*message
	channels     map[string][]*message // by channel, in post order
	threads      map[string]*Thread    // by thread id
	chans        map[string]*channel   // the guild channels and threads that exist, by id
	threadOf     map[string]string     // message id → thread id
	commands     map[string][]byte     // by guild id ("" global): the stored JSON array
	roles        map[string][]Role     // by guild id
	interactions map[string]*interaction
	byToken      map[string]*interaction
	failures     map[string][]Failure
}

type msgKey struct{ channel, id string }

// Option configures a Server.
type Option func(*Server)

// WithToken sets the bot token the bot routes accept (default DefaultToken). Calls with any
// other Authorization header are answered 401 {"message":"401: Unauthorized","code":0}.
func WithToken(tok string) Option { return func(s *Server) { s.token = tok } }

// WithClock sets the fake's clock (default time.Now). It stamps messages, calls and snowflake
// ids and decides when interaction tokens expire; a Clock's Now is a ready-made one.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts a fake Discord on 127.0.0.1 and closes it in t.Cleanup.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		tb:           t,
		token:        DefaultToken,
		now:          time.Now,
		changed:      make(chan struct{}),
		messages:     map[msgKey]*message{},
		channels:     map[string][]*message{},
		threads:      map[string]*Thread{},
		chans:        map[string]*channel{},
		threadOf:     map[string]string{},
		commands:     map[string][]byte{},
		roles:        map[string][]Role{},
		interactions: map[string]*interaction{},
		byToken:      map[string]*interaction{},
		failures:     map[string][]Failure{},
	}
	for _, o := range opts {
		o(s)
	}
	// httptest.NewServer listens on 127.0.0.1 only.
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL of the fake, e.g. http://127.0.0.1:1234; the routes live under
// URL()+APIPrefix. It is what shipgate's discord.api_url is set to in tests.
func (s *Server) URL() string { return s.srv.URL }

// Token is the bot token the fake accepts.
func (s *Server) Token() string { return s.token }

// Transport is an http.RoundTripper that sends every request to the fake: it rewrites the
// scheme and host and keeps the path, so discordgo's https://discord.com/api/v9/… URLs reach
// the fake unchanged otherwise.
func (s *Server) Transport() http.RoundTripper {
	rt, err := NewTransport(s.srv.URL, s.srv.Client().Transport)
	if err != nil {
		panic(fmt.Sprintf("discordfake: transport: %v", err)) // the httptest URL always parses
	}
	return rt
}

// Client is an *http.Client using Transport, to assign to a discordgo.Session's Client (or to
// pass with discordgo.WithClient for one call).
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.Transport()} }

// NewTransport returns a RoundTripper that sends every request to base through next
// (http.DefaultTransport when nil): the request's scheme and host become base's, and base's
// path, if any, is put in front of the request's path. A base path ending in /api/v9 is taken
// as the API root, so "http://host/api/v9/" and "http://host" both work with discordgo's
// /api/v9/… paths. This is the rewrite shipgate's adapter applies for discord.api_url.
func NewTransport(base string, next http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parse base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host[:port][/path]", base)
	}
	prefix := strings.TrimSuffix(u.Path, "/")
	prefix = strings.TrimSuffix(prefix, strings.TrimSuffix(APIPrefix, "/"))
	if next == nil {
		next = http.DefaultTransport
	}
	return &rewriteTransport{scheme: u.Scheme, host: u.Host, prefix: prefix, next: next}, nil
}

type rewriteTransport struct {
	scheme, host, prefix string
	next                 http.RoundTripper
}

func (rt *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the request it was given.
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rt.scheme, rt.host, rt.host
	if rt.prefix != "" && !strings.HasPrefix(r.URL.Path, rt.prefix+"/") {
		r.URL.Path = rt.prefix + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = rt.prefix + r.URL.RawPath
		}
	}
	return rt.next.RoundTrip(r)
}

// Clock is a manual clock for WithClock: it stands still until Advance or Set moves it. It is
// safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// nextID returns a new snowflake stamped with the fake's clock. Ids grow strictly across the
// whole server, even when the clock stands still or goes back, so they sort in creation order
// as Discord's do. The caller holds s.mu.
func (s *Server) nextID(at time.Time) string {
	id := uint64(max(at.UnixMilli()-discordEpoch, 0)) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return fmt.Sprint(id)
}

// interaction is what the fake knows about one issued interaction token.
type interaction struct {
	id, token            string
	issued               time.Time
	channelID, messageID string // where it happened, when the test said so
	callback             *Callback
	original             *msgKey // the @original message, once there is one
	followups            []msgKey
}

// IssueInteraction returns a fresh interaction token for the interaction id, valid from now on
// the fake's clock for TokenLifetime. Put it in the inbound payload (Command, Component, …):
// the callback, @original and follow-up routes accept only tokens issued here. Messages the
// interaction creates are stored under channel "" because the fake does not know the channel;
// IssueInteractionFor says it.
func (s *Server) IssueInteraction(id string) string {
	return s.IssueInteractionFor(id, "", "")
}

// IssueInteractionFor is IssueInteraction for an interaction that happened in channelID and,
// for a component click or a modal submitted from a message, on the message messageID ("" for
// a slash command). Responses and follow-ups are then stored in channelID, and @original of a
// component interaction answered with type 6 or 7 is that message, as in Discord.
func (s *Server) IssueInteractionFor(id, channelID, messageID string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := "aW50ZXJhY3Rpb246" + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &interaction{id: id, token: tok, issued: s.now(), channelID: channelID, messageID: messageID}
	s.interactions[id] = in
	s.byToken[tok] = in
	return tok
}

// Role is a guild role, as GET /guilds/{id}/roles lists it.
type Role struct{ ID, Name string }

// SetGuildRoles sets the roles a guild has.
func (s *Server) SetGuildRoles(guildID string, roles ...Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[guildID] = append([]Role{}, roles...)
}
