package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goslack "github.com/slack-go/slack"

	discordadapter "github.com/shipgate/shipgate/adapters/discord"
	"github.com/shipgate/shipgate/adapters/metrics"
	slackadapter "github.com/shipgate/shipgate/adapters/slack"
	"github.com/shipgate/shipgate/adapters/web"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// chat holds the chat platforms shipgate.yaml configures: their clients, which the bot posts through,
// and their inbound side, started once the bot exists.
type chat struct {
	cfg         *config.Config
	log         *slog.Logger
	posters     map[engine.Platform]bot.Poster
	directories map[engine.Platform]bot.Directory
	groupTTL    time.Duration
	slack       *slackadapter.Client
	slackIn     *slackadapter.Handler
	discord     *discordadapter.Client
	discordIn   *discordadapter.Handler
	web         *web.Console
	wg          sync.WaitGroup
}

func newChat(cfg *config.Config, logger *slog.Logger, webOpts web.Options) *chat {
	c := &chat{cfg: cfg, log: logger, posters: map[engine.Platform]bot.Poster{}, directories: map[engine.Platform]bot.Directory{}}
	if cfg.Web != nil {
		for _, ch := range cfg.Channels {
			if ch.Platform == string(engine.PlatformWeb) {
				webOpts.Channels = append(webOpts.Channels, ch.Channel)
			}
		}
		if cfg.Web.AccessToken.IsSet() {
			webOpts.AccessToken = cfg.Web.AccessToken.Reveal()
		}
		webOpts.Logger = logger.With("platform", "web")
		c.web = web.New(webOpts)
		c.posters[engine.PlatformWeb] = c.web
	}
	if s := cfg.Slack; s != nil {
		opts := []goslack.Option{}
		if s.APIURL != "" {
			opts = append(opts, goslack.OptionAPIURL(s.APIURL))
		}
		if s.AppToken.IsSet() {
			opts = append(opts, goslack.OptionAppLevelToken(s.AppToken.Reveal()))
		}
		c.slack = slackadapter.NewClient(goslack.New(s.BotToken.Reveal(), opts...), logger.With("platform", "slack"))
		c.posters[engine.PlatformSlack] = c.slack
		c.directories[engine.PlatformSlack] = c.slack
		c.groupTTL = s.GroupCacheTTL
	}
	if d := cfg.Discord; d != nil {
		// api_url was checked by config validation, so the session cannot fail here.
		s, err := discordadapter.NewSession(d.BotToken.Reveal(), d.APIURL)
		if err != nil {
			logger.Error("discord session", "err", err)
		} else {
			c.discord = discordadapter.NewClient(s, logger.With("platform", "discord"))
			c.discord.GuildID = d.GuildID
			c.posters[engine.PlatformDiscord] = c.discord
			c.directories[engine.PlatformDiscord] = c.discord
		}
	}
	return c
}

// countCalls counts every configured platform's outbound API calls.
func (c *chat) countCalls(calls *metrics.ChatCalls) {
	if c.slack != nil {
		c.slack.Calls = calls
	}
	if c.discord != nil {
		c.discord.Calls = calls
	}
}

// checks are the configured platforms' readiness checks for /readyz.
func (c *chat) checks() []platformCheck {
	var out []platformCheck
	if c.slack != nil {
		out = append(out, platformCheck{name: "slack", check: c.slack.Check})
	}
	if c.discord != nil {
		out = append(out, platformCheck{name: "discord", check: func(ctx context.Context) error {
			if c.discordIn == nil {
				return errors.New("not started")
			}
			return c.discordIn.Check(ctx)
		}})
	}
	return out
}

// start serves the platforms' endpoints on mux, or connects over Socket Mode, feeding b.
func (c *chat) start(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	if err := c.startDiscord(ctx, b, mux, reg); err != nil {
		return err
	}
	if c.web != nil {
		c.web.Attach(b)
		c.web.Register(mux)
		c.log.Info("web console: serving /")
	}
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

// registerTimeout bounds registering /deliver with Discord at start.
const registerTimeout = 10 * time.Second

// startDiscord serves /discord/interactions and registers /deliver. A registration that fails is logged
// and reported by /readyz; shipgate still serves, since Discord keeps the commands registered before.
func (c *chat) startDiscord(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	if c.discord == nil {
		return nil
	}
	d := c.cfg.Discord
	h, err := discordadapter.NewHandler(discordadapter.HandlerOptions{Bot: b, Client: c.discord, PublicKey: d.PublicKey,
		ApplicationID: d.ApplicationID, GuildID: d.GuildID, Logger: c.log.With("platform", "discord"), Registerer: reg})
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	c.discordIn = h
	h.Register(mux)
	rctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	if err := h.RegisterCommands(rctx); err != nil {
		c.log.Error("discord: /deliver not registered", "err", err)
	}
	c.log.Info("discord: serving /discord/interactions", "guild", d.GuildID)
	return nil
}

// stop ends what holds connections open (the console's event streams), so that the HTTP server's
// shutdown does not wait for them.
func (c *chat) stop() {
	if c.web != nil {
		c.web.Close()
	}
}

// wait waits for Socket Mode to end and for work the handlers started after answering.
func (c *chat) wait() {
	c.wg.Wait()
	if c.slackIn != nil {
		c.slackIn.Wait()
	}
	if c.discordIn != nil {
		c.discordIn.Wait()
	}
}
