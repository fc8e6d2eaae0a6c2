package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"

	// Every chat platform: each registers its shipgate.yaml section, which builds it (bot.Platform).
	_ "github.com/shipgate/shipgate/adapters/platforms"
)

// chat holds the chat platforms shipgate.yaml configures: what the bot posts through and resolves
// groups with, and their inbound side, started once the bot exists.
type chat struct {
	platforms   []bot.Platform // in name order
	posters     map[engine.Platform]bot.Poster
	directories map[engine.Platform]bot.Directory
	groupTTL    time.Duration
}

// newChat builds every configured platform from its section; st is the database, where the web console
// keeps its messages.
func newChat(cfg *config.Config, st *store.Store, logger *slog.Logger, calls bot.CallObserver) (*chat, error) {
	c := &chat{posters: map[engine.Platform]bot.Poster{}, directories: map[engine.Platform]bot.Directory{}}
	for _, name := range cfg.PlatformNames() {
		f, ok := cfg.Platforms[name].(bot.PlatformFactory)
		if !ok {
			return nil, fmt.Errorf("platform %s: its section builds no platform", name)
		}
		p, err := f.NewPlatform(bot.PlatformEnv{Config: cfg, Logger: logger, Calls: calls, Store: st})
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", name, err)
		}
		c.platforms = append(c.platforms, p)
		c.posters[p.Name()] = p.Poster()
		if d := p.Directory(); d != nil {
			c.directories[p.Name()] = d
		}
		if t, ok := p.(interface{ GroupTTL() time.Duration }); ok {
			c.groupTTL = t.GroupTTL()
		}
	}
	return c, nil
}

// checks are the configured platforms' readiness checks for /readyz.
func (c *chat) checks() []platformCheck {
	out := make([]platformCheck, 0, len(c.platforms))
	for _, p := range c.platforms {
		out = append(out, platformCheck{name: string(p.Name()), check: p.Check})
	}
	return out
}

// start serves the platforms' endpoints on mux, or connects out to them, feeding b.
func (c *chat) start(ctx context.Context, b *bot.Bot, mux *http.ServeMux, reg prometheus.Registerer) error {
	for _, p := range c.platforms {
		if err := p.Start(ctx, b, mux, reg); err != nil {
			return err
		}
	}
	return nil
}

// stop ends what holds connections open (the console's event streams), so that the HTTP server's
// shutdown does not wait for them.
func (c *chat) stop() {
	for _, p := range c.platforms {
		p.Stop()
	}
}

// wait waits for Socket Mode to end and for work the handlers started after answering.
func (c *chat) wait() {
	for _, p := range c.platforms {
		p.Wait()
	}
}
