package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/adapters/chathttp"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// MaxBodyBytes caps an inbound interaction; Discord's are a few kilobytes.
const MaxBodyBytes = 256 << 10

// MaxSignatureAge is how far an interaction's X-Signature-Timestamp may be from shipgate's clock. Discord
// gives no replay window of its own; this bounds how long a captured request could be replayed, and the
// interaction id dedupe covers the window.
const MaxSignatureAge = 5 * time.Minute

// ackDeadline is how long the handler waits for the bot's answer before it answers Discord with a
// deferred response ("thinking…") and edits it in afterwards: Discord drops an interaction whose first
// answer takes more than 3 s.
const ackDeadline = 2 * time.Second

// tokenLifetime is how long an interaction's token may edit its response; after that the handler falls
// back to the bot token and posts in the channel.
const tokenLifetime = 15 * time.Minute

// followUpTimeout bounds the work done after answering Discord.
const followUpTimeout = 10 * time.Second

// reasonInputID is the text input of the rejection modal; rejectModalPrefix starts its custom_id.
const (
	reasonInputID     = "reason"
	rejectModalPrefix = "deliver.reject.modal:"
)

// Handler serves Discord's interactions endpoint, feeding the bot.
type Handler struct {
	bot     *bot.Bot
	client  *Client
	key     ed25519.PublicKey
	appID   string
	guildID string
	log     *slog.Logger
	metrics *chathttp.Metrics
	now     func() time.Time
	ack     time.Duration

	wg sync.WaitGroup // follow-ups after answering

	regMu  sync.Mutex
	regErr error // the last command registration's failure, for readiness
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Bot    *bot.Bot
	Client *Client
	// PublicKey is the application's Ed25519 public key, hex, as the Developer Portal shows it.
	PublicKey     string
	ApplicationID string
	// GuildID registers /deliver in one guild (changes show at once); empty registers it globally.
	GuildID    string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock signature timestamps are checked against; nil means time.Now.
	Now func() time.Time
	// AckDeadline overrides ackDeadline (tests make it 0 to exercise deferred answers).
	AckDeadline *time.Duration
}

// NewHandler returns the Discord side of the bot.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	if opts.Bot == nil || opts.Client == nil {
		return nil, errors.New("discord: bot and client are required")
	}
	key, err := hex.DecodeString(opts.PublicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, errors.New("discord: public_key must be the application's 64-hex-digit Ed25519 key")
	}
	h := &Handler{bot: opts.Bot, client: opts.Client, key: key, appID: opts.ApplicationID,
		guildID: opts.GuildID, log: opts.Logger, metrics: newMetrics(opts.Registerer), now: opts.Now, ack: ackDeadline}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if opts.AckDeadline != nil {
		h.ack = *opts.AckDeadline
	}
	return h, nil
}

// Register adds the interactions endpoint to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /discord/interactions", h.serveInteraction)
}

// Wait waits for the work started after answering.
func (h *Handler) Wait() { h.wg.Wait() }

// RegisterCommands overwrites the application's commands with /deliver, in the guild or globally. The
// bulk overwrite is idempotent, so it runs at every start.
func (h *Handler) RegisterCommands(ctx context.Context) error {
	err := h.client.observe("commands.overwrite", h.client.overwriteCommands(ctx, h.appID, h.guildID, Commands()))
	if err != nil {
		err = fmt.Errorf("discord: registering /deliver: %w", err)
	}
	h.regMu.Lock()
	h.regErr = err
	h.regMu.Unlock()
	return err
}

// Check is Discord's readiness: whether /deliver could be registered with the bot token at start.
func (h *Handler) Check(context.Context) error {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	return h.regErr
}

// verified reads the body and checks Discord's Ed25519 signature and the timestamp's freshness before
// anything else looks at the request; on failure it answers 401 (Discord probes this with bad
// signatures on purpose), 413, or 503 when too many unverified bodies are being read already.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, ok := chathttp.ReadBody(w, r, MaxBodyBytes, func(outcome string) { h.metrics.Request(outcome) })
	if !ok {
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	reason := ""
	switch {
	case !discordgo.VerifyInteraction(r, h.key):
		reason = "invalid signature"
	case !h.fresh(r.Header.Get("X-Signature-Timestamp")):
		reason = "timestamp outside the window"
	}
	if reason != "" {
		h.metrics.Request("unauthorized")
		h.log.Warn("discord request refused", "remote", r.RemoteAddr, "reason", reason)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (h *Handler) fresh(timestamp string) bool {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	now, limit := h.now().Unix(), int64(MaxSignatureAge/time.Second)
	return secs >= now-limit && secs <= now+limit
}

func (h *Handler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	var i discordgo.Interaction
	var from struct {
		// Channel is the interaction's channel object, which discordgo's Interaction leaves out.
		Channel *channelRef `json:"channel"`
	}
	if err := json.Unmarshal(body, &i); err != nil || json.Unmarshal(body, &from) != nil {
		h.metrics.Request("bad_request")
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	resp, dup := h.interaction(r.Context(), &i, from.Channel)
	h.metrics.Request(chathttp.Outcome(dup))
	chathttp.WriteJSON(w, resp)
	h.metrics.Ack(i.Type.String(), time.Since(start))
}

// interaction answers one verified interaction. It returns the response to write and whether the
// interaction was seen before (answered as then, doing nothing again).
func (h *Handler) interaction(ctx context.Context, i *discordgo.Interaction, from *channelRef) (*interactionResponse, bool) {
	if i.Type == discordgo.InteractionPing {
		return &interactionResponse{Type: discordgo.InteractionResponsePong}, false
	}
	at := h.placeOf(ctx, i, from)
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		return h.command(ctx, i, at)
	case discordgo.InteractionApplicationCommandAutocomplete:
		return h.autocomplete(i, at), false
	case discordgo.InteractionMessageComponent:
		return h.click(ctx, i, at)
	case discordgo.InteractionModalSubmit:
		return h.modal(ctx, i, at)
	}
	return ephemeral("shipgate does not handle this kind of interaction."), false
}

// actorOf is who sent an interaction: a guild member, with the guild roles Discord lists for them, or a
// user in a DM.
func actorOf(i *discordgo.Interaction) bot.Actor {
	a := bot.Actor{Platform: engine.PlatformDiscord}
	switch {
	case i.Member != nil && i.Member.User != nil:
		a.ID, a.Name, a.Groups = i.Member.User.ID, i.Member.User.Username, i.Member.Roles
	case i.User != nil:
		a.ID, a.Name = i.User.ID, i.User.Username
	}
	return a
}

// command runs /deliver. The bot usually answers within milliseconds and the answer goes inline; when it
// takes longer than the ack deadline, Discord gets a deferred ephemeral answer at once and the bot's
// answer is edited into it once ready.
func (h *Handler) command(ctx context.Context, i *discordgo.Interaction, at place) (*interactionResponse, bool) {
	data := i.ApplicationCommandData()
	text, err := commandText(data)
	if err != nil {
		return ephemeral("⚠️ " + err.Error()), false
	}
	req := bot.CommandRequest{Actor: actorOf(i), Channel: at.channel, Thread: at.thread, Text: text, RequestID: i.ID}
	done := make(chan bot.Reply, 1)
	// The bot's work must not end with the request: it records the delivery even if Discord hangs up.
	work := context.WithoutCancel(ctx)
	h.wg.Go(func() { done <- h.bot.HandleCommand(work, req) })
	if h.ack > 0 {
		timer := time.NewTimer(h.ack)
		defer timer.Stop()
		select {
		case reply := <-done:
			return replyResponse(reply), reply.Duplicate
		case <-timer.C:
		}
	}
	received := h.now()
	h.wg.Go(func() {
		reply := <-done
		ctx, cancel := context.WithTimeout(context.Background(), followUpTimeout)
		defer cancel()
		h.editAnswer(ctx, i, reply, received)
	})
	return &interactionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &deferredCallback{Flags: discordgo.MessageFlagsEphemeral}}, false
}

// editAnswer puts a late answer into the deferred response while the interaction's token lives, and
// after that posts it in the channel with the bot token, addressed to the person who asked.
func (h *Handler) editAnswer(ctx context.Context, i *discordgo.Interaction, reply bot.Reply, received time.Time) {
	if h.now().Sub(received) < tokenLifetime {
		r := renderMessage(reply.Message)
		err := h.client.editOriginal(ctx, i.AppID, i.Token, r.edit())
		h.client.observe("webhooks.edit_original", err)
		if err == nil {
			return
		}
		h.log.Warn("editing the deferred answer", "interaction", i.ID, "err", err)
	}
	m := reply.Message
	m.Text = "<@" + actorOf(i).ID + "> " + m.Text
	if _, err := h.client.Post(ctx, i.ChannelID, m, bot.PostOptions{}); err != nil {
		h.log.Error("posting a late answer", "interaction", i.ID, "channel", i.ChannelID, "err", err)
	}
}

// discordUsage rewrites the bot's usage for Discord, where a delivery is /deliver start SERVICE IMAGE:
// the bot's grammar has no word for it, since Slack's /deliver SERVICE IMAGE needs none.
var discordUsage = strings.NewReplacer("/deliver SERVICE IMAGE", "/deliver start SERVICE IMAGE")

// replyResponse answers with the bot's reply: in the channel when public, else to the asker only.
func replyResponse(reply bot.Reply) *interactionResponse {
	reply.Message.Text = discordUsage.Replace(reply.Message.Text)
	data := renderMessage(reply.Message).callback()
	if !reply.Public {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return &interactionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

func ephemeral(text string) *interactionResponse {
	return replyResponse(bot.Reply{Message: bot.Message{Text: text}})
}

// autocomplete offers the services of the channel's projects that start with what was typed.
func (h *Handler) autocomplete(i *discordgo.Interaction, at place) *interactionResponse {
	typed := ""
	if opt := focused(i.ApplicationCommandData().Options); opt != nil {
		typed = strings.ToLower(fmt.Sprint(opt.Value))
	}
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, s := range h.bot.Services(engine.PlatformDiscord, at.channel) {
		if strings.HasPrefix(s, typed) && len(choices) < 25 {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: s, Value: s})
		}
	}
	return &interactionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Data: &autocompleteCallback{Choices: choices}}
}

func focused(opts []*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range opts {
		if o.Focused {
			return o
		}
		if f := focused(o.Options); f != nil {
			return f
		}
	}
	return nil
}

// click handles Approve and Reject. A refused click gets an ephemeral answer with the reason; Reject
// opens a modal for the reason; a counted vote is acknowledged privately, and the approval message is
// edited by the bot like everywhere else.
func (h *Handler) click(ctx context.Context, i *discordgo.Interaction, at place) (*interactionResponse, bool) {
	data := i.MessageComponentData()
	action, value, ok := parseCustomID(data.CustomID)
	if !ok || (action != bot.ActionApprove && action != bot.ActionReject) {
		return ephemeral("This button is not shipgate's."), false
	}
	messageID := ""
	if i.Message != nil {
		messageID = i.Message.ID
	}
	reply := h.bot.HandleClick(ctx, bot.ClickRequest{Actor: actorOf(i), Channel: at.channel, Thread: at.thread, MessageID: messageID,
		ActionID: action, Value: value, RequestID: i.ID})
	return clickResponse(reply), reply.Duplicate
}

// modal handles the rejection modal's submission: the vote is cast now, with the reason.
func (h *Handler) modal(ctx context.Context, i *discordgo.Interaction, at place) (*interactionResponse, bool) {
	data := i.ModalSubmitData()
	value, ok := strings.CutPrefix(data.CustomID, rejectModalPrefix)
	if !ok {
		return ephemeral("This form is not shipgate's."), false
	}
	reason := ""
	for _, row := range data.Components {
		if r, ok := row.(*discordgo.ActionsRow); ok {
			for _, c := range r.Components {
				if in, ok := c.(*discordgo.TextInput); ok && in.CustomID == reasonInputID {
					reason = strings.TrimSpace(in.Value)
				}
			}
		}
	}
	messageID := ""
	if i.Message != nil {
		messageID = i.Message.ID
	}
	reply := h.bot.HandleClick(ctx, bot.ClickRequest{Actor: actorOf(i), Channel: at.channel, Thread: at.thread, MessageID: messageID,
		ActionID: bot.ActionReject, Value: value, Reason: reason, ReasonGiven: true, RequestID: i.ID})
	return clickResponse(reply), reply.Duplicate
}

func clickResponse(reply bot.ClickReply) *interactionResponse {
	switch {
	case reply.AskReason != nil:
		return renderModal(reply.AskReason, rejectModalPrefix+reply.AskReason.Value)
	case reply.Private != nil:
		return replyResponse(bot.Reply{Message: *reply.Private})
	}
	// Nothing to say: acknowledge without touching the message; the bot edits it.
	return &interactionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
}

// newMetrics counts Discord interactions by outcome (ok, duplicate, unauthorized, too_large, bad_request, busy)
// and times the answers by interaction type. Unlike Slack's, the counter has no endpoint label: Discord
// has one endpoint.
func newMetrics(reg prometheus.Registerer) *chathttp.Metrics {
	return chathttp.NewMetrics(reg, chathttp.MetricsOpts{
		RequestsName:  "shipgate_discord_requests_total",
		RequestsHelp:  "Interactions from Discord by outcome (ok, duplicate, unauthorized, too_large, bad_request, busy).",
		RequestLabels: []string{"outcome"},
		AckName:       "shipgate_discord_ack_seconds",
		AckHelp:       "Time from a verified Discord interaction to its answer, by interaction type.",
		AckLabel:      "type",
	})
}
