package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goslack "github.com/slack-go/slack"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// platform is Slack as shipgate's wiring sees it (bot.Platform): the Web API client the bot posts
// through and resolves user groups with, and the inbound side, over HTTP or Socket Mode.
type platform struct {
	cfg    *Config
	log    *slog.Logger
	client *Client
	in     *Handler
	wg     sync.WaitGroup
}

// NewPlatform builds Slack from its section (bot.PlatformFactory).
func (s *Config) NewPlatform(env bot.PlatformEnv) (bot.Platform, error) {
	var opts []goslack.Option
	if s.APIURL != "" {
		opts = append(opts, goslack.OptionAPIURL(s.APIURL))
	}
	if s.AppToken.IsSet() {
		opts = append(opts, goslack.OptionAppLevelToken(s.AppToken.Reveal()))
	}
	log := env.Logger.With("platform", "slack")
	client := NewClient(goslack.New(s.BotToken.Reveal(), opts...), log)
	if env.Calls != nil {
		client.Calls = env.Calls
	}
	return &platform{cfg: s, log: log, client: client}, nil
}

func (p *platform) Name() engine.Platform    { return engine.PlatformSlack }
func (p *platform) Poster() bot.Poster       { return p.client }
func (p *platform) Directory() bot.Directory { return p.client }

// GroupTTL is how long user groups' members count as fresh (slack.group_cache_ttl).
func (p *platform) GroupTTL() time.Duration { return p.cfg.GroupCacheTTL }

func (p *platform) Check(ctx context.Context) error { return p.client.Check(ctx) }

// Start serves /slack/commands, /slack/interactions and /slack/events, or in Socket Mode connects out.
func (p *platform) Start(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	h, err := NewHandler(HandlerOptions{Bot: b, Client: p.client, SigningSecret: p.cfg.SigningSecret.Reveal(), Logger: p.log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	p.in = h
	if p.cfg.Mode == ModeSocket {
		p.wg.Go(func() {
			if err := h.RunSocketMode(ctx); err != nil {
				p.log.Error("slack socket mode stopped", "err", err)
			}
		})
		p.log.Info("slack: socket mode")
		return nil
	}
	h.Register(mux)
	p.log.Info("slack: serving /slack/commands, /slack/interactions, /slack/events")
	return nil
}

func (p *platform) Stop() {}

// Wait waits for Socket Mode to end and for the work handlers started after answering.
func (p *platform) Wait() {
	p.wg.Wait()
	if p.in != nil {
		p.in.Wait()
	}
}
