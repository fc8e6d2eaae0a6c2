package slack

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/shipgate/shipgate/adapters/chathttp"
	"github.com/shipgate/shipgate/truncate"
)

// maxAckBytes keeps a Socket Mode ack under Slack's 20 KB, past which Slack drops it silently.
const maxAckBytes = 20 << 10

// RunSocketMode connects to Slack over Socket Mode (the client must carry an app-level token) and feeds
// slash commands and clicks to the same code as the HTTP endpoints, for workspaces that cannot reach
// shipgate. It returns when ctx ends.
func (h *Handler) RunSocketMode(ctx context.Context) error {
	sm := socketmode.New(h.client.api, socketmode.OptionLog(slogLogger{h.log}))
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-sm.Events:
			h.socketEvent(ctx, sm, evt)
		}
	}
}

func (h *Handler) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		h.log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		h.log.Warn("slack socket mode", "event", evt.Type, "data", evt.Data)
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		msg, dup := h.command(ctx, sc)
		h.metrics.Request("socket_commands", chathttp.Outcome(dup))
		h.ack(sm, evt.Request, msg)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		followUp, dup := h.interaction(ctx, cb)
		h.metrics.Request("socket_interactions", chathttp.Outcome(dup))
		h.ack(sm, evt.Request, nil)
		h.later(followUp)
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			h.ack(sm, evt.Request, nil)
		}
	}
}

// ack answers an envelope; a reply too large for an ack is sent without its blocks.
func (h *Handler) ack(sm *socketmode.Client, req *socketmode.Request, msg *commandAnswer) {
	var err error
	if msg == nil {
		err = sm.Ack(*req)
	} else {
		if raw, _ := json.Marshal(msg); len(raw) > maxAckBytes {
			msg = &commandAnswer{ResponseType: msg.ResponseType, Text: truncate.Bytes(msg.Text, maxFallbackText)}
		}
		err = sm.Ack(*req, msg)
	}
	if err != nil {
		h.log.Error("slack socket mode ack", "envelope", req.EnvelopeID, "err", err)
	}
}

// slogLogger lets socketmode log through slog, at debug level: it reports every reconnect.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Output(_ int, msg string) error {
	s.l.Debug("slack socket mode", "msg", msg)
	return nil
}
