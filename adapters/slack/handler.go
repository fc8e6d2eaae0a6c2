package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/shipgate/shipgate/adapters/chathttp"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/truncate"
)

// MaxBodyBytes caps an inbound request. Slack's payloads are a few kilobytes; a block_actions payload
// carries the whole message it came from, which Slack caps well below this.
const MaxBodyBytes = 256 << 10

// followUpTimeout bounds the work a handler does after answering Slack: a private answer, a dialog.
const followUpTimeout = 10 * time.Second

// Callback and block ids of the rejection dialog.
const (
	rejectCallbackID = "deliver.reject"
	reasonBlockID    = "reason"
	reasonActionID   = "reason"
)

// Handler serves Slack's HTTP endpoints and Socket Mode, both feeding the bot.
type Handler struct {
	bot     *bot.Bot
	client  *Client
	secret  string
	log     *slog.Logger
	metrics *chathttp.Metrics

	wg sync.WaitGroup // follow-up work after answering
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Bot           *bot.Bot
	Client        *Client
	SigningSecret string // required for the HTTP endpoints
	Logger        *slog.Logger
	// Registerer receives the request counters and ack latency histogram; nil registers nothing.
	Registerer prometheus.Registerer
}

// NewHandler returns the Slack side of the bot.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	if opts.Bot == nil || opts.Client == nil {
		return nil, errors.New("slack: bot and client are required")
	}
	h := &Handler{bot: opts.Bot, client: opts.Client, secret: opts.SigningSecret, log: opts.Logger, metrics: newMetrics(opts.Registerer)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Register adds the Slack endpoints to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", h.serveCommand)
	mux.HandleFunc("POST /slack/interactions", h.serveInteraction)
	mux.HandleFunc("POST /slack/events", h.serveEvent)
}

// Wait waits for the work handlers started after answering (private answers, dialogs).
func (h *Handler) Wait() { h.wg.Wait() }

// verified reads a request's body and checks Slack's signature over it before anything else looks at
// the request. On failure it answers 401 (413 for an oversized body, 503 when too many unverified
// bodies are being read already), counts it, and returns false.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request, endpoint string) ([]byte, bool) {
	body, ok := chathttp.ReadBody(w, r, MaxBodyBytes, func(outcome string) { h.metrics.Request(endpoint, outcome) })
	if !ok {
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.secret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.metrics.Request(endpoint, "unauthorized")
		h.log.Warn("slack request refused", "endpoint", endpoint, "remote", r.RemoteAddr, "reason", verifyReason(err))
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// verifyReason names a verification failure for the log, without the signature itself.
func verifyReason(err error) string {
	switch {
	case errors.Is(err, slack.ErrMissingHeaders):
		return "missing signature headers"
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "timestamp outside the 5 minute window"
	case errors.Is(err, slack.ErrInvalidConfiguration):
		return "no signing secret configured"
	}
	return "invalid signature"
}

func (h *Handler) serveCommand(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if _, ok := h.verified(w, r, "commands"); !ok {
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		h.metrics.Request("commands", "bad_request")
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	msg, dup := h.command(r.Context(), sc)
	h.metrics.Request("commands", chathttp.Outcome(dup))
	chathttp.WriteJSON(w, msg)
	h.metrics.Ack("commands", time.Since(start))
}

// command answers a slash command with the bot's reply, as the immediate response message.
func (h *Handler) command(ctx context.Context, sc slack.SlashCommand) (*commandAnswer, bool) {
	reply := h.bot.HandleCommand(ctx, bot.CommandRequest{
		Actor:     bot.Actor{Platform: engine.PlatformSlack, ID: sc.UserID, Name: sc.UserName},
		Channel:   sc.ChannelID,
		Text:      unescapeText(sc.Text),
		RequestID: sc.TriggerID,
	})
	blocks, text := render(reply.Message, true)
	msg := &commandAnswer{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: blocks}
	if reply.Public {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	return msg, reply.Duplicate
}

// textUnescaper undoes the escaping Slack applies to &, < and > in slash command text (its markup, such
// as <http://x|x> links, arrives unescaped and the parser unwraps it).
var textUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func unescapeText(s string) string { return textUnescaper.Replace(s) }

func (h *Handler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if _, ok := h.verified(w, r, "interactions"); !ok {
		return
	}
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		h.metrics.Request("interactions", "bad_request")
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	followUp, dup := h.interaction(r.Context(), cb)
	h.metrics.Request("interactions", chathttp.Outcome(dup))
	w.WriteHeader(http.StatusOK)
	h.metrics.Ack("interactions", time.Since(start))
	h.later(followUp)
}

// interaction applies a click or a dialog submission and returns what to do once Slack has its
// answer: a private answer, or the dialog for a rejection's reason.
func (h *Handler) interaction(ctx context.Context, cb slack.InteractionCallback) (func(context.Context), bool) {
	actor := bot.Actor{Platform: engine.PlatformSlack, ID: cb.User.ID, Name: cb.User.Name}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		at := clickOrigin{Channel: cb.Channel.ID, Thread: cb.Message.ThreadTimestamp, Message: cb.Container.MessageTs, ResponseURL: cb.ResponseURL}
		if at.Channel == "" {
			at.Channel = cb.Container.ChannelID
		}
		if at.Thread == "" {
			at.Thread = cb.Container.ThreadTs
		}
		for _, a := range cb.ActionCallback.BlockActions {
			if a.ActionID != bot.ActionApprove && a.ActionID != bot.ActionReject {
				continue
			}
			reply := h.bot.HandleClick(ctx, bot.ClickRequest{Actor: actor, Channel: at.Channel, Thread: at.Thread, MessageID: at.Message,
				ActionID: a.ActionID, Value: a.Value, RequestID: cb.TriggerID})
			if reply.Duplicate {
				return nil, true
			}
			return h.clickFollowUp(reply, at, cb.User.ID, cb.TriggerID), false
		}
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID != rejectCallbackID {
			return nil, false
		}
		var at clickOrigin
		if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &at); err != nil {
			h.log.Warn("rejection dialog with unreadable metadata", "err", err)
			return nil, false
		}
		reason := ""
		if cb.View.State != nil {
			reason = strings.TrimSpace(cb.View.State.Values[reasonBlockID][reasonActionID].Value)
		}
		reply := h.bot.HandleClick(ctx, bot.ClickRequest{Actor: actor, Channel: at.Channel, Thread: at.Thread, MessageID: at.Message,
			ActionID: bot.ActionReject, Value: at.Value, Reason: reason, ReasonGiven: true, RequestID: cb.TriggerID + "/" + cb.View.ID})
		if reply.Duplicate {
			return nil, true
		}
		return h.clickFollowUp(reply, at, cb.User.ID, ""), false
	}
	return nil, false
}

// clickOrigin is where a click happened and how to answer it. The rejection dialog carries it as its
// private_metadata, with the approval's Value: a view_submission has no response_url of its own, and
// the click's stays valid long enough (5 uses in 30 minutes) to answer the submission through it.
type clickOrigin struct {
	Value       string `json:"v,omitempty"`
	Channel     string `json:"c"`
	Thread      string `json:"t,omitempty"`
	Message     string `json:"m"`
	ResponseURL string `json:"r,omitempty"`
}

func (h *Handler) clickFollowUp(reply bot.ClickReply, at clickOrigin, user, triggerID string) func(context.Context) {
	return func(ctx context.Context) {
		if reply.AskReason != nil {
			at.Value = reply.AskReason.Value
			meta, _ := json.Marshal(at)
			_, err := h.client.api.OpenViewContext(ctx, triggerID, rejectDialog(reply.AskReason, string(meta)))
			if err := h.client.observe("views.open", err); err != nil {
				h.log.Error("open rejection dialog", "user", user, "err", err)
			}
		}
		if reply.Private != nil {
			h.answerPrivately(ctx, at, user, *reply.Private)
		}
	}
}

// answerPrivately shows the clicker the bot's answer through the click's response_url, not
// chat.postEphemeral: that needs the bot in the channel, and a click can come from one it is not in (a
// channel the approval was shared to), where the refusal would reach nobody (not_in_channel).
func (h *Handler) answerPrivately(ctx context.Context, at clickOrigin, user string, m bot.Message) {
	if at.ResponseURL == "" {
		h.log.Warn("no response_url to answer a click through; the answer is dropped", "user", user, "channel", at.Channel)
		return
	}
	if err := h.client.Respond(ctx, at.ResponseURL, m); err != nil {
		h.log.Error("private answer", "user", user, "channel", at.Channel, "err", err)
	}
}

// rejectDialog is the modal that asks why someone rejects.
func rejectDialog(req *bot.ReasonRequest, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("What is wrong with this build?"), reasonActionID)
	input.Multiline = true
	input.MaxLength = 500
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(truncate.Bytes(req.Title, 24)),
		Submit:          plain("Reject"),
		Close:           plain("Cancel"),
		CallbackID:      rejectCallbackID,
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(escape(req.Summary)), nil, nil),
			slack.NewInputBlock(reasonBlockID, plain("Reason"), nil, input),
		}},
	}
}

// later runs follow-up work after the answer, with a context of its own: the request's ends when the
// handler returns.
func (h *Handler) later(fn func(context.Context)) {
	if fn == nil {
		return
	}
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), followUpTimeout)
		defer cancel()
		fn(ctx)
	})
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.verified(w, r, "events")
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		h.metrics.Request("events", "bad_request")
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil {
			h.metrics.Request("events", "bad_request")
			http.Error(w, "malformed url_verification", http.StatusBadRequest)
			return
		}
		h.metrics.Request("events", "ok")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
		return
	}
	// shipgate acts on no event yet; callbacks are acknowledged so Slack keeps the subscription healthy.
	h.metrics.Request("events", "ok")
	w.WriteHeader(http.StatusOK)
	h.metrics.Ack("events", time.Since(start))
}

// newMetrics counts Slack requests by endpoint and outcome (ok, duplicate, unauthorized, too_large,
// bad_request, busy) and times the answers by endpoint.
func newMetrics(reg prometheus.Registerer) *chathttp.Metrics {
	return chathttp.NewMetrics(reg, chathttp.MetricsOpts{
		RequestsName:  "shipgate_slack_requests_total",
		RequestsHelp:  "Requests from Slack by endpoint and outcome (ok, duplicate, unauthorized, too_large, bad_request, busy).",
		RequestLabels: []string{"endpoint", "outcome"},
		AckName:       "shipgate_slack_ack_seconds",
		AckHelp:       "Time from a verified Slack request to its answer.",
		AckLabel:      "endpoint",
	})
}
