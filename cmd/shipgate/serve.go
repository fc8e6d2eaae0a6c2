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
		dev        bool
	)
	cmd := &cobra.Command{
		Use:   "serve [--config shipgate.yaml] [--listen ADDR] [--dev]",
		Short: "Run the bot: load projects, open the database, serve HTTP",
		Long: `Serve loads shipgate.yaml (or the built-in defaults without --config), validates every project in
projects_dir, opens the SQLite database and serves HTTP until SIGINT or SIGTERM, then lets in-flight
requests finish (up to shutdown_timeout) and closes the database.

Endpoints: /healthz (the process is up), /readyz (the database and each chat platform), /metrics, the
delivery API under /api/v1 (and Keptn's /api/v1/event), with a slack section /slack/commands,
/slack/interactions and /slack/events (or Socket Mode with slack.mode: socket), with a discord section
/discord/interactions, and with a web section the web console at /.

With --dev, for trying shipgate on this machine (make run does it with examples/run.yaml), it first
writes a random token into each token file the config names that does not exist yet (web's
access_token_file and api.tokens[].token_file), and once it listens prints the console's URL, its
access token and the ids its roles name, and a curl command that starts a delivery with the first API
token it has: of the first service of the first project that token may trigger, with the tutorial's
image.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errOut := cmd.ErrOrStderr()
			var created []string
			if dev && configPath != "" {
				var err error
				if created, err = createTokenFiles(configPath); err != nil {
					fmt.Fprintf(errOut, "shipgate serve: %v\n", err)
					return exitError{exitFailed}
				}
			}
			cfg, warnings, err := loadConfig(configPath, errOut)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			// From here on everything goes through the logger, in the configured format, so that a log
			// collector reads each line the same way; only a config that does not load is printed plainly,
			// as its format is not known.
			logger := newLogger(errOut, cfg.Log)
			logDiagnostics(logger, "config file", warnings)
			projects, diags := cfg.LoadProjects()
			if !diags.HasErrors() {
				// A mistake in an executor's settings stops serve here, at its line, not midway through a delivery.
				diags = append(diags, checkExecutorSettings(projects, executors(cfg, logger))...)
			}
			logDiagnostics(logger, "project file", diags)
			if diags.HasErrors() {
				logger.Error("not starting: fix the projects' errors, or run 'shipgate validate --config' to list them", "errors", len(diags.Errors()))
				return exitError{exitFailed}
			}
			if len(projects) == 0 {
				// Serve still starts: a Helm release may mount its projects later, and health, readiness
				// and the API answer meanwhile. But nothing can be delivered, which must not go unnoticed.
				found := cfg.CheckProjectsFound(projects, config.SeverityWarning)
				if len(found) == 0 {
					logger.Warn("no project to serve", "dir", cfg.ProjectsDir)
				}
				logDiagnostics(logger, "no project to serve", found)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				logger.Error("not starting", "err", err)
				return exitError{exitFailed}
			}
			names := make([]string, len(projects))
			for i, p := range projects {
				names[i] = p.Name
			}
			logger.Info("projects loaded", "dir", cfg.ProjectsDir, "projects", names)
			if dev {
				printDevHint(cmd.OutOrStdout(), cfg, projects, ln.Addr(), created)
			}
			if err := serve(ctx, cfg, projects, ln, logger); err != nil {
				logger.Error("stopped on an error", "err", err)
				return exitError{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml (default: built-in defaults; see README)")
	cmd.Flags().StringVar(&listen, "listen", "", "listen address, overriding the config (HOST:PORT; port 0 picks a free one)")
	cmd.Flags().BoolVar(&dev, "dev", false, "for trying shipgate locally: make missing token files, print the console's URL, the tokens and a curl for CI")
	return cmd
}

// loadServeConfig loads shipgate.yaml, or the built-in defaults when path is "", printing every problem
// as FILE:LINE: message.
func loadServeConfig(path string, errOut io.Writer) (*config.Config, error) {
	cfg, warnings, err := loadConfig(path, errOut)
	for _, d := range warnings {
		fmt.Fprintln(errOut, d)
	}
	return cfg, err
}

// loadConfig is loadServeConfig for a caller that reports the warnings itself: when the config has errors
// it prints everything and fails, else it returns the warnings unprinted.
func loadConfig(path string, errOut io.Writer) (*config.Config, config.Diagnostics, error) {
	if path == "" {
		return config.Defaults(), nil, nil
	}
	cfg, diags := config.Load(path, nil)
	if diags.HasErrors() {
		for _, d := range diags {
			fmt.Fprintln(errOut, d)
		}
		return nil, nil, exitError{exitFailed}
	}
	return cfg, diags, nil
}

// logDiagnostics logs each diagnostic as one line, an error or a warning with msg: the file, the line
// (when there is one) and the problem as attributes.
func logDiagnostics(logger *slog.Logger, msg string, diags config.Diagnostics) {
	for _, d := range diags {
		var attrs []any
		if d.File != "" {
			attrs = append(attrs, "file", d.File)
		}
		if d.Line > 0 {
			attrs = append(attrs, "line", d.Line)
		}
		attrs = append(attrs, "problem", d.Message)
		level := slog.LevelWarn
		if d.Severity == config.SeverityError {
			level = slog.LevelError
		}
		logger.Log(context.Background(), level, msg, attrs...)
	}
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
		DefaultTaskTimeout: cfg.Engine.TaskTimeout, KeepWaitingApprovals: cfg.Engine.KeepWaitingApprovals, Freezes: cfg.Freezes, Logger: logger})
	if err != nil {
		return fmt.Errorf("projects cannot run:\n%w", err)
	}
	reg := prometheus.NewRegistry()
	chat, err := newChat(cfg, st, logger, metrics.NewChatCalls(reg))
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
