package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// platform is Discord as shipgate's wiring sees it (bot.Platform): the REST client the bot posts
// through, and /discord/interactions with the /deliver command registered.
type platform struct {
	cfg    *Config
	log    *slog.Logger
	client *Client
	in     *Handler
}

// NewPlatform builds Discord from its section (bot.PlatformFactory).
func (dc *Config) NewPlatform(env bot.PlatformEnv) (bot.Platform, error) {
	s, err := NewSession(dc.BotToken.Reveal(), dc.APIURL) // api_url was checked with the section
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	log := env.Logger.With("platform", "discord")
	client := NewClient(s, log)
	client.GuildID = dc.GuildID
	if env.Calls != nil {
		client.Calls = env.Calls
	}
	return &platform{cfg: dc, log: log, client: client}, nil
}

func (p *platform) Name() engine.Platform    { return engine.PlatformDiscord }
func (p *platform) Poster() bot.Poster       { return p.client }
func (p *platform) Directory() bot.Directory { return p.client }

// Check reports whether /deliver is registered with Discord.
func (p *platform) Check(ctx context.Context) error {
	if p.in == nil {
		return errors.New("not started")
	}
	return p.in.Check(ctx)
}

// registerTimeout bounds registering /deliver with Discord at start.
const registerTimeout = 10 * time.Second

// Start serves /discord/interactions and registers /deliver. A registration that fails is logged and
// reported by /readyz; shipgate still serves, since Discord keeps the commands registered before.
func (p *platform) Start(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	h, err := NewHandler(HandlerOptions{Bot: b, Client: p.client, PublicKey: p.cfg.PublicKey,
		ApplicationID: p.cfg.ApplicationID, GuildID: p.cfg.GuildID, Logger: p.log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	p.in = h
	h.Register(mux)
	rctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	if err := h.RegisterCommands(rctx); err != nil {
		p.log.Error("discord: /deliver not registered", "err", err)
	}
	p.log.Info("discord: serving /discord/interactions", "guild", p.cfg.GuildID)
	return nil
}

func (p *platform) Stop() {}

// Wait waits for the work handlers started after answering.
func (p *platform) Wait() {
	if p.in != nil {
		p.in.Wait()
	}
}
