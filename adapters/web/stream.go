package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// heartbeat is how often an idle event stream gets a comment, so that proxies keep it open and a page
// whose network went away is noticed.
const heartbeat = 15 * time.Second

// writeTimeout bounds each write to an event stream: each event and heartbeat must leave within it, so
// that a page that stopped reading is dropped rather than holding its handler and connection forever.
const writeTimeout = 2 * heartbeat

// userOut is a person as the page shows them.
type userOut struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

// stateReply is what a fresh page needs: the channel's messages and who may act, as what.
type stateReply struct {
	Channel  string   `json:"channel"`
	Channels []string `json:"channels"`
	// Boot changes when shipgate restarts: message versions start again, so the page starts afresh.
	Boot string `json:"boot"`
	// Mode is demo (act as any of Users), token (log in to act) or read-only.
	Mode  string    `json:"mode"`
	Users []userOut `json:"users"`
	// Me is who the page acts as after logging in with the access token.
	Me       *userOut      `json:"me"`
	Messages []wireMessage `json:"messages"`
}

// channelOf is the channel a page asks for, the first one when it names none.
func (c *Console) channelOf(w http.ResponseWriter, r *http.Request) (string, *board, bool) {
	channel := r.URL.Query().Get("channel")
	if channel == "" && len(c.channels) > 0 {
		channel = c.channels[0]
	}
	b := c.board(channel)
	if b == nil {
		writeError(w, http.StatusNotFound, "no web channel "+strconv.Quote(channel)+"; channels: "+strings.Join(c.channels, ", "))
		return "", nil, false
	}
	return channel, b, true
}

func (c *Console) serveState(w http.ResponseWriter, r *http.Request) {
	channel, b, ok := c.channelOf(w, r)
	if !ok {
		return
	}
	out := stateReply{Channel: channel, Channels: c.channels, Boot: c.boot, Mode: c.mode(), Users: []userOut{}, Messages: b.messages()}
	if c.demo {
		for _, u := range c.users {
			out.Users = append(out.Users, userOut{ID: u.ID, Name: c.userByID[u.ID].Name, Note: u.Note})
		}
	}
	if name, ok := c.session(r); ok {
		out.Me = &userOut{ID: name, Name: name}
	}
	writeJSON(w, http.StatusOK, out)
}

// serveEvents streams a channel's changes to a page as server-sent events, one JSON event per change,
// until the page goes away or the console closes. The page loads /web/state each time it connects, so
// it misses nothing between two connections.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	_, b, ok := c.channelOf(w, r)
	if !ok {
		return
	}
	select {
	case <-c.done:
		writeError(w, http.StatusServiceUnavailable, "shipgate is shutting down")
		return
	default:
	}
	// The stream outlives the server's write timeout, which bounds a whole answer: send gives each
	// chunk a deadline of its own instead.
	rc := http.NewResponseController(w)
	s := b.subscribe(c.streamUser(r))
	defer b.unsubscribe(s)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	if !send(w, rc, "retry: 2000\n\n") {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var chunk string
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case <-s.lost:
			return
		case raw := <-s.events:
			chunk = "data: " + string(raw) + "\n\n"
		case <-tick.C:
			chunk = ": ping\n\n"
		}
		if !send(w, rc, chunk) {
			return
		}
	}
}

// send writes one chunk of a stream within writeTimeout and reports whether the page took it.
func send(w http.ResponseWriter, rc *http.ResponseController, chunk string) bool {
	// Without a deadline of its own, the write would keep the server's, long past by now.
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(w, chunk); err != nil {
		return false
	}
	return rc.Flush() == nil
}
