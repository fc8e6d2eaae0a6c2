package bot

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Platform is a chat surface's adapter as shipgate's wiring sees it: what posts, what resolves groups,
// and the life of its inbound side. An adapter's shipgate.yaml section (a config.PlatformConfig it
// registers) builds it through PlatformFactory, so that adding a platform is a folder of its own and
// one line of wiring, a blank import of the adapter.
type Platform interface {
	// Name is the platform as channel bindings, the store and the engine say it.
	Name() engine.Platform
	// Poster posts and edits the platform's messages.
	Poster() Poster
	// Directory resolves the groups roles name, or is nil when the platform tells in each request which
	// groups a person is in.
	Directory() Directory
	// Start serves the platform's endpoints on mux (or connects out to it), feeding b.
	Start(ctx context.Context, b *Bot, mux *http.ServeMux, reg prometheus.Registerer) error
	// Check is /readyz's check of the platform: nil when it can be reached (or has nothing to reach).
	Check(ctx context.Context) error
	// Stop ends what holds connections open, so that the HTTP server's shutdown does not wait for it.
	Stop()
	// Wait waits for the work the platform's handlers started after answering.
	Wait()
}

// PlatformFactory is implemented by a platform's config section: it builds the platform.
type PlatformFactory interface {
	NewPlatform(env PlatformEnv) (Platform, error)
}

// PlatformEnv is what every platform is built with.
type PlatformEnv struct {
	// Config is the whole configuration: public_url, the channels bound on the platform.
	Config *config.Config
	Logger *slog.Logger
	// Calls counts the platform's outbound API calls; nil counts nothing.
	Calls CallObserver
	// Store is shipgate's database, for a platform that keeps its own messages (the web console); nil
	// keeps them in memory.
	Store *store.Store
}

// CallObserver counts one outbound call of a platform's API by method and outcome.
type CallObserver interface {
	Observe(platform, method, outcome string)
}
