package main

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/adapters/exec"
	"github.com/shipgate/shipgate/adapters/helm"
	"github.com/shipgate/shipgate/adapters/job"
	"github.com/shipgate/shipgate/adapters/webhook"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// executors are the executor types this build offers to executors.yaml.
func executors(cfg *config.Config, logger *slog.Logger) map[string]engine.Executor {
	return map[string]engine.Executor{
		"noop": engine.Noop{},
		"exec": &exec.Executor{Logger: logger, Guard: execGuard()},
		"helm": &helm.Executor{Kubeconfig: cfg.Helm.Kubeconfig, Context: cfg.Helm.Context, CacheDir: cfg.Helm.CacheDir, Logger: logger},
		// Tasks that Keptn's job-executor-service configuration (job/config.yaml) runs, as Kubernetes Jobs
		// in the cluster the helm executor deploys to.
		engine.JobExecutorType: &job.Executor{Kubeconfig: cfg.Helm.Kubeconfig, Context: cfg.Helm.Context, Resolve: job.KeptnPlan},
		"webhook":              &webhook.Executor{Logger: logger},
	}
}

// settingsChecker checks executors.yaml mappings against the executors of this build: the type must
// exist, and an executor that validates its settings must accept them.
func settingsChecker(execs map[string]engine.Executor) config.SettingsChecker {
	return func(task, typ string, with map[string]any) error {
		ex, ok := execs[typ]
		if !ok {
			return fmt.Errorf("executor type %q is not available; expected one of: %s", typ, strings.Join(slices.Sorted(maps.Keys(execs)), ", "))
		}
		if c, ok := ex.(engine.ConfigChecker); ok {
			return c.CheckConfig(task, with)
		}
		return nil
	}
}

// checkExecutorSettings checks every project's executors.yaml settings.
func checkExecutorSettings(projects []*config.Project, execs map[string]engine.Executor) config.Diagnostics {
	var diags config.Diagnostics
	check := settingsChecker(execs)
	for _, p := range projects {
		diags = append(diags, p.CheckExecutorSettings(check)...)
	}
	return diags
}
