package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipgate/shipgate/adapters/api"
	"github.com/shipgate/shipgate/adapters/metrics"
	promsli "github.com/shipgate/shipgate/adapters/prometheus"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func newServeCmd() *cobra.Command {
	var (
		configPath string
		listen     string
	)
	cmd := &cobra.Command{
		Use:   "serve [--config shipgate.yaml]",
		Short: "Run the bot: load projects, open the database, serve HTTP",
		Long: `Serve loads shipgate.yaml (or the built-in defaults without --config), validates every project in
projects_dir, opens the SQLite database and serves HTTP until SIGINT or SIGTERM, then lets in-flight
requests finish (up to shutdown_timeout) and closes the database.

Endpoints: /healthz (the process is up), /readyz (the database and each chat platform), /metrics, the
delivery API under /api/v1 (and Keptn's /api/v1/event), with a slack section /slack/commands,
/slack/interactions and /slack/events (or Socket Mode with slack.mode: socket), with a discord section
/discord/interactions, and with a web section the web console at /.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errOut := cmd.ErrOrStderr()
			cfg, err := loadServeConfig(configPath, errOut)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			logger := newLogger(errOut, cfg.Log)
			projects, diags := cfg.LoadProjects()
			for _, d := range diags {
				if d.Severity == config.SeverityWarning {
					logger.Warn("project file", "problem", d.String())
				} else {
					fmt.Fprintln(errOut, d)
				}
			}
			if !diags.HasErrors() {
				// A mistake in an executor's settings stops serve here, at its line, not midway through a delivery.
				sd := checkExecutorSettings(projects, executors(cfg, logger))
				for _, d := range sd {
					fmt.Fprintln(errOut, d)
				}
				diags = append(diags, sd...)
			}
			if diags.HasErrors() {
				fmt.Fprintf(errOut, "shipgate serve: %s in projects; fix them or run 'shipgate validate --config'\n", plural(len(diags.Errors()), "error"))
				return exitError{exitFailed}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				fmt.Fprintf(errOut, "shipgate serve: %v\n", err)
				return exitError{exitFailed}
			}
			names := make([]string, len(projects))
			for i, p := range projects {
				names[i] = p.Name
			}
			logger.Info("projects loaded", "dir", cfg.ProjectsDir, "projects", names)
			if err := serve(ctx, cfg, projects, ln, logger); err != nil {
				fmt.Fprintf(errOut, "shipgate serve: %v\n", err)
				return exitError{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml (default: built-in defaults; see README)")
	cmd.Flags().StringVar(&listen, "listen", "", "listen address, overriding the config (HOST:PORT; port 0 picks a free one)")
	return cmd
}

func loadServeConfig(path string, errOut io.Writer) (*config.Config, error) {
	if path == "" {
		return config.Defaults(), nil
	}
	cfg, diags := config.Load(path, nil)
	for _, d := range diags {
		fmt.Fprintln(errOut, d)
	}
	if diags.HasErrors() {
		return nil, exitError{exitFailed}
	}
	return cfg, nil
}

func newLogger(w io.Writer, lc config.LogConfig) *slog.Logger {
	var level slog.Level
	// Validation has limited the level to names UnmarshalText accepts.
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newEvaluator runs evaluation tasks against the configured Prometheus; without one, evaluations pass
// with Keptn's "no SLI-provider configured" message, unless they take SLI values from an earlier task
// (sli_provider: results).
func newEvaluator(cfg *config.Config, st *store.Store, projects []*config.Project, logger *slog.Logger) (engine.Executor, error) {
	if cfg.Prometheus == nil {
		return &engine.Evaluator{Store: st, Projects: projects, RequireSLO: cfg.Evaluation.RequireSLO}, nil
	}
	pc, err := promsli.FromConfig(cfg.Prometheus)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	pc.Logger = logger
	p, err := promsli.New(pc)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	return &engine.Evaluator{Store: st, Provider: promsli.EngineProvider{Provider: p}, Projects: projects, RequireSLO: cfg.Evaluation.RequireSLO}, nil
}

// serve opens the store, starts the engine (which picks up what a previous process left) and answers
// HTTP on ln until ctx ends, then shuts down gracefully: the listener closes at once, in-flight requests
// get cfg.ShutdownTimeout to finish, running executors are stopped (their tasks are resumed or failed by
// the next start), and the database closes last so that nothing loses it midway.
func serve(ctx context.Context, cfg *config.Config, projects []*config.Project, ln net.Listener, logger *slog.Logger) error {
	// On every early return the listener must go; after a shutdown the server has closed it already and
	// this second close is a no-op whose error says only that.
	defer ln.Close()
	st, err := store.Open(ctx, cfg.Database, store.WithLogger(logger))
	if err != nil {
		return err
	}
	defer st.Close()
	evaluator, err := newEvaluator(cfg, st, projects, logger)
	if err != nil {
		return err
	}
	eng, err := engine.New(engine.Options{Store: st, Projects: projects, Executors: executors(cfg, logger), Evaluator: evaluator,
		DefaultTaskTimeout: cfg.Engine.TaskTimeout, KeepWaitingApprovals: cfg.Engine.KeepWaitingApprovals, Logger: logger})
	if err != nil {
		return fmt.Errorf("projects cannot run:\n%w", err)
	}
	reg := prometheus.NewRegistry()
	chat, err := newChat(cfg, logger, metrics.NewChatCalls(reg))
	if err != nil {
		eng.Close()
		return err
	}
	b, err := bot.New(bot.Options{Config: cfg, Projects: projects, Engine: eng, Store: st, Posters: chat.posters,
		Directories: chat.directories, GroupTTL: chat.groupTTL, Logger: logger})
	if err != nil {
		eng.Close()
		return err
	}
	// On every return: stop the engine, then let the bot post what the engine's last events asked for.
	defer func() {
		eng.Close()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := b.Close(closeCtx); err != nil {
			logger.Warn("shut down bot", "err", err)
		}
	}()
	// Go's and the process's own metrics (go_goroutines, process_resident_memory_bytes, ...).
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.RegisterHealth(reg, st, eng)
	metrics.RegisterGroups(reg, b.GroupStatus)
	// The metrics and the bot subscribe before the engine recovers, so that what recovery causes is
	// counted and posted.
	m := metrics.New(reg, st, projects, time.Now, metrics.WithLogger(logger))
	eng.Subscribe(m.Observe)
	if err := b.Start(ctx); err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}

	mux := newHandler(st, logger, chat.checks()...)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	apiSrv, err := api.New(api.Options{Engine: eng, Store: st, Config: cfg, Projects: projects, Approver: b, Links: b, Registry: reg, Logger: logger})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	apiSrv.Register(mux)
	if err := chat.start(ctx, b, mux, reg); err != nil {
		return err
	}
	defer chat.wait()

	// The API's guard judges credentials before any body is read; it passes everything else through.
	srv := newHTTPServer(cfg.HTTP, apiSrv.Guard(mux), reg, logger)
	logger.Info("listening", "addr", ln.Addr().String(), "database", cfg.Database)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	chat.stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// pinger is what readiness needs of the store: that it answers, and that it takes writes.
type pinger interface {
	Ping(ctx context.Context) error
	CheckWritable(ctx context.Context) error
}

// readyTimeout keeps /readyz answering quickly even when the database is stuck, so that a load balancer's
// probe sees a failure rather than its own timeout.
const readyTimeout = 2 * time.Second

// platformCheck tells whether shipgate can reach one chat platform with its credentials.
type platformCheck struct {
	name  string
	check func(ctx context.Context) error
}

// readiness is what /readyz answers: the database decides ready or not (503), since the API and the
// engine need it — "unavailable" when it does not answer, "unwritable" when it answers but refuses writes
// (a full disk, an I/O error, the write lock held by another process), which comes back by itself once
// a write commits; each chat platform is reported beside it, ok or unavailable, without failing readiness,
// so that a chat outage does not take CI's API and the running deliveries out of a load balancer.
type readiness struct {
	Status    string            `json:"status"`
	Database  string            `json:"database"`
	Platforms map[string]string `json:"platforms,omitempty"`
}

func newHandler(db pinger, logger *slog.Logger, platforms ...platformCheck) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		ready := readiness{Status: "ready", Database: "ok"}
		code := http.StatusOK
		if err := db.Ping(ctx); err != nil {
			logger.Warn("not ready", "error", err)
			ready.Status, ready.Database, code = "database unavailable", "unavailable", http.StatusServiceUnavailable
		} else if err := db.CheckWritable(ctx); err != nil {
			logger.Warn("not ready", "error", err)
			ready.Status, ready.Database, code = "database unwritable", "unwritable", http.StatusServiceUnavailable
		}
		for _, p := range platforms {
			if ready.Platforms == nil {
				ready.Platforms = map[string]string{}
			}
			ready.Platforms[p.name] = "ok"
			if err := p.check(ctx); err != nil {
				logger.Warn("chat platform unavailable", "platform", p.name, "error", err)
				ready.Platforms[p.name] = "unavailable"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(ready)
	})
	return mux
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}
