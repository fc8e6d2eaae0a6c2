package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// platform is the web console as shipgate's wiring sees it (bot.Platform).
type platform struct {
	c   *Console
	log *slog.Logger
}

// NewPlatform builds the console from its section (bot.PlatformFactory), for the channels bound with
// platform web. With env.Store it keeps its messages there, and shows again what it kept.
func (wc *Config) NewPlatform(env bot.PlatformEnv) (bot.Platform, error) {
	log := env.Logger.With("platform", "web")
	opts := Options{Demo: wc.Demo, Users: wc.Users, Logger: log}
	for _, ch := range env.Config.Channels {
		if ch.Platform == string(engine.PlatformWeb) {
			opts.Channels = append(opts.Channels, ch.Channel)
		}
	}
	if wc.AccessToken.IsSet() {
		opts.AccessToken = wc.AccessToken.Reveal()
	}
	if env.Store == nil {
		return &platform{c: New(opts), log: log}, nil
	}
	// The console must hold what it kept before the bot starts: the bot's catch-up edits its cards.
	c, err := Open(context.Background(), env.Store, opts)
	if err != nil {
		return nil, err
	}
	return &platform{c: c, log: log}, nil
}

func (p *platform) Name() engine.Platform  { return engine.PlatformWeb }
func (p *platform) Poster() bot.Poster     { return p.c }
func (*platform) Directory() bot.Directory { return nil }

// Check has nothing to reach: the console is shipgate's own.
func (*platform) Check(context.Context) error { return nil }

// Start serves the console at /.
func (p *platform) Start(_ context.Context, b *bot.Bot, mux *http.ServeMux, _ prometheus.Registerer) error {
	p.c.Attach(b)
	p.c.Register(mux)
	p.log.Info("web console: serving /")
	return nil
}

// Stop ends the console's event streams.
func (p *platform) Stop() { p.c.Close() }

func (*platform) Wait() {}
