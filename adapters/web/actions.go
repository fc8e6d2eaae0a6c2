package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/truncate"
)

// maxBodyBytes caps a command, click or login: each is a few hundred bytes.
const maxBodyBytes = 64 << 10

// maxReasonBytes bounds a rejection's reason; the page allows 500 characters, as Slack's dialog does.
const maxReasonBytes = 2000

// crossOrigin refuses requests a browser sent from another site (Sec-Fetch-Site, else Origin against
// Host): the session cookie must not let another page act for whoever is logged in.
var crossOrigin = http.NewCrossOriginProtection()

// commandRequest is what the composer sends.
type commandRequest struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	Text    string `json:"text"`
}

// commandReply answers the composer: the bot's reply, shown to the sender only unless Public (then it
// is also posted in the channel).
type commandReply struct {
	Reply  wireMessage `json:"reply"`
	Public bool        `json:"public"`
}

func (c *Console) serveCommand(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if !c.readJSON(w, r, &req) {
		return
	}
	actor, b, ok := c.acting(w, r, req.Channel, req.User)
	if !ok {
		return
	}
	// The bot's work must not end with the request: what it records stands even if the page goes away.
	ctx := context.WithoutCancel(r.Context())
	reply := b.HandleCommand(ctx, bot.CommandRequest{Actor: actor, Channel: req.Channel, Text: commandText(req.Text), RequestID: randomID(16)})
	out := commandReply{Reply: c.private(actor.ID, reply.Message), Public: reply.Public}
	if reply.Public {
		posted, err := c.Post(ctx, req.Channel, reply.Message, bot.PostOptions{})
		if err != nil {
			c.log.Error("post a public reply", "channel", req.Channel, "err", err)
		}
		out.Reply = c.board(req.Channel).find(posted.MessageID, out.Reply)
	}
	writeJSON(w, http.StatusOK, out)
}

// commandText is what follows /deliver, which people may type or leave out.
func commandText(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "/deliver"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		return strings.TrimSpace(rest)
	}
	return s
}

// clickRequest is a button click, or the reason dialog's submission.
type clickRequest struct {
	Channel     string `json:"channel"`
	User        string `json:"user"`
	MessageID   string `json:"messageId"`
	ActionID    string `json:"actionId"`
	Value       string `json:"value"`
	Reason      string `json:"reason"`
	ReasonGiven bool   `json:"reasonGiven"`
}

// clickReply tells the page what to do next: ask for a reason, show a private note, or nothing (the
// message itself changes through /web/events).
type clickReply struct {
	AskReason *reasonRequest `json:"askReason,omitempty"`
	Private   *wireMessage   `json:"private,omitempty"`
}

type reasonRequest struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Value   string `json:"value"`
}

func (c *Console) serveClick(w http.ResponseWriter, r *http.Request) {
	var req clickRequest
	if !c.readJSON(w, r, &req) {
		return
	}
	actor, b, ok := c.acting(w, r, req.Channel, req.User)
	if !ok {
		return
	}
	reply := b.HandleClick(context.WithoutCancel(r.Context()), bot.ClickRequest{Actor: actor, Channel: req.Channel,
		MessageID: truncate.Bytes(req.MessageID, 100), ActionID: truncate.Bytes(req.ActionID, 100), Value: truncate.Bytes(req.Value, 100),
		Reason: truncate.Bytes(strings.TrimSpace(req.Reason), maxReasonBytes), ReasonGiven: req.ReasonGiven, RequestID: randomID(16)})
	var out clickReply
	if a := reply.AskReason; a != nil {
		out.AskReason = &reasonRequest{Title: a.Title, Summary: a.Summary, Value: a.Value}
	}
	if reply.Private != nil {
		p := c.private(actor.ID, *reply.Private)
		out.Private = &p
	}
	writeJSON(w, http.StatusOK, out)
}

// acting checks that a request may act in a channel and that the bot is there to act; otherwise it
// answers the request.
func (c *Console) acting(w http.ResponseWriter, r *http.Request, channel, user string) (bot.Actor, *bot.Bot, bool) {
	if c.board(channel) == nil {
		writeError(w, http.StatusNotFound, "no web channel "+strconv.Quote(channel)+"; channels: "+strings.Join(c.channels, ", "))
		return bot.Actor{}, nil, false
	}
	actor, refused := c.actorFor(r, user)
	if refused != nil {
		if refused.status == http.StatusUnauthorized {
			c.log.Warn("web console request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", refused.msg)
		}
		writeError(w, refused.status, refused.msg)
		return bot.Actor{}, nil, false
	}
	b := c.bot.Load()
	if b == nil {
		writeError(w, http.StatusServiceUnavailable, "shipgate is starting; try again in a moment")
		return bot.Actor{}, nil, false
	}
	return actor, b, true
}

// readJSON checks what every POST must be (from the console's own origin, JSON, small) and decodes
// its body into v; otherwise it answers the request.
func (c *Console) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := crossOrigin.Check(r); err != nil {
		c.log.Warn("web console request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"),
			"reason", "cross-origin")
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send JSON with Content-Type: application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return false
		}
		writeError(w, http.StatusBadRequest, "cannot read request")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body is not valid: "+strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "request body holds more than one JSON value")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
