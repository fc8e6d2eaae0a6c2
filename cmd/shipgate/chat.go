package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goslack "github.com/slack-go/slack"

	"github.com/shipgate/shipgate/adapters/metrics"
	slackadapter "github.com/shipgate/shipgate/adapters/slack"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// chat holds the chat platforms shipgate.yaml configures: their clients, which the bot posts through,
// and their inbound side, started once the bot exists.
type chat struct {
	cfg         *config.Config
	log         *slog.Logger
	posters     map[store.Platform]bot.Poster
	directories map[store.Platform]bot.Directory
	groupTTL    time.Duration
	slack       *slackadapter.Client
	slackIn     *slackadapter.Handler
	wg          sync.WaitGroup
}

func newChat(cfg *config.Config, logger *slog.Logger) *chat {
	c := &chat{cfg: cfg, log: logger, posters: map[store.Platform]bot.Poster{}, directories: map[store.Platform]bot.Directory{}}
	if s := cfg.Slack; s != nil {
		opts := []goslack.Option{}
		if s.APIURL != "" {
			opts = append(opts, goslack.OptionAPIURL(s.APIURL))
		}
		if s.AppToken.IsSet() {
			opts = append(opts, goslack.OptionAppLevelToken(s.AppToken.Reveal()))
		}
		c.slack = slackadapter.NewClient(goslack.New(s.BotToken.Reveal(), opts...), logger.With("platform", "slack"))
		c.posters[store.PlatformSlack] = c.slack
		c.directories[store.PlatformSlack] = c.slack
		c.groupTTL = s.GroupCacheTTL
	}
	return c
}

// countCalls counts every configured platform's outbound API calls.
func (c *chat) countCalls(calls *metrics.ChatCalls) {
	if c.slack != nil {
		c.slack.Calls = calls
	}
}

// checks are the configured platforms' readiness checks for /readyz.
func (c *chat) checks() []platformCheck {
	var out []platformCheck
	if c.slack != nil {
		out = append(out, platformCheck{name: "slack", check: c.slack.Check})
	}
	return out
}

// start serves the platforms' endpoints on mux, or connects over Socket Mode, feeding b.
func (c *chat) start(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	if c.slack == nil {
		return nil
	}
	h, err := slackadapter.NewHandler(slackadapter.HandlerOptions{Bot: b, Client: c.slack, SigningSecret: c.cfg.Slack.SigningSecret.Reveal(),
		Logger: c.log.With("platform", "slack"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	c.slackIn = h
	if c.cfg.Slack.Mode == config.SlackModeSocket {
		c.wg.Go(func() {
			if err := h.RunSocketMode(ctx); err != nil {
				c.log.Error("slack socket mode stopped", "err", err)
			}
		})
		c.log.Info("slack: socket mode")
		return nil
	}
	h.Register(mux)
	c.log.Info("slack: serving /slack/commands, /slack/interactions, /slack/events")
	return nil
}

// wait waits for Socket Mode to end and for work the handlers started after answering.
func (c *chat) wait() {
	c.wg.Wait()
	if c.slackIn != nil {
		c.slackIn.Wait()
	}
}
