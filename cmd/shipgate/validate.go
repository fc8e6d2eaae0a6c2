package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/config"
)

func newValidateCmd() *cobra.Command {
	var (
		configPath string
		projects   []string
		printCfg   bool
	)
	cmd := &cobra.Command{
		Use:   "validate --config FILE | --project DIR ...",
		Short: "Check shipgate.yaml and Keptn project directories",
		Long: `Validate checks shipgate.yaml (with the projects it points at) and Keptn project directories
(shipyard.yaml, slo.yaml, sli.yaml, remediation.yaml, job/config.yaml, executors.yaml) and prints one
FILE:LINE: message per problem. A job/config.yaml (Keptn job-executor-service's format) is checked with
the files its tasks mount, for every stage it applies to.

A task that is not built in (approval, evaluation), has no executor in executors.yaml and is not run
as a Kubernetes Job by every service's job/config.yaml is an error
for the projects of --config, which serve would refuse, and a warning for --project. A projects_dir
that holds no project is an error, which says what it holds instead.

Exit status: 0 when everything is valid (warnings allowed), 1 when any file has an error,
2 when the command was used wrongly.`,
		Example: `  shipgate validate --config shipgate.yaml
  shipgate validate --project examples/fulltour
  shipgate validate --project projects/shop projects/billing
  shipgate validate --config shipgate.yaml --print   # the effective config, secrets hidden`,
		// The directories after --project's first one arrive as arguments: --project A B checks A and B.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if configPath == "" && len(projects) == 0 {
				fmt.Fprintln(errOut, "shipgate validate: give --config FILE, --project DIR, or both")
				return exitError{exitUsage}
			}
			if len(args) > 0 && len(projects) == 0 {
				// Without --project an argument is a mistake, such as a second file after --config.
				fmt.Fprintf(errOut, "shipgate validate: unexpected argument %q; project directories follow --project\n", args[0])
				return exitError{exitUsage}
			}
			projects = append(projects, args...)
			if printCfg && configPath == "" {
				fmt.Fprintln(errOut, "shipgate validate: --print needs --config")
				return exitError{exitUsage}
			}
			var all config.Diagnostics
			checked := 0
			if configPath != "" {
				cfg, diags := config.Load(configPath, nil)
				all = append(all, diags...)
				if !diags.HasErrors() {
					loaded, pd := cfg.LoadProjects()
					all = append(all, pd...)
					// A config that serves no project is of no use: say what projects_dir holds instead.
					all = append(all, cfg.CheckProjectsFound(loaded, config.SeverityError)...)
					all = append(all, checkExecutorSettings(loaded, executors(cfg, discardLogger))...)
					checked += len(loaded)
					if printCfg && !pd.HasErrors() {
						data, err := yaml.Marshal(cfg)
						if err != nil {
							return fmt.Errorf("print config: %w", err)
						}
						fmt.Fprint(out, string(data))
					}
				}
			}
			for _, dir := range projects {
				p, diags := config.LoadProject(dir)
				all = append(all, diags...)
				if p != nil {
					// A bare Keptn project is valid; its tasks without an executor are warnings here, and
					// errors only where the projects are to be served (--config, serve).
					all = append(all, p.CheckExecutors(config.SeverityWarning)...)
					all = append(all, checkExecutorSettings([]*config.Project{p}, executors(config.Defaults(), discardLogger))...)
				}
				checked++
			}
			for _, d := range all {
				fmt.Fprintln(out, d)
			}
			errs, warns := len(all.Errors()), len(all.Warnings())
			if errs > 0 {
				fmt.Fprintf(errOut, "%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
				return exitError{exitFailed}
			}
			fmt.Fprintf(errOut, "valid: %s checked, %s\n", plural(checked, "project"), plural(warns, "warning"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "shipgate.yaml to check, with the projects in its projects_dir")
	cmd.Flags().StringArrayVarP(&projects, "project", "p", nil, "Keptn project directory to check; more may follow it (--project A B) or the flag may be repeated")
	cmd.Flags().BoolVar(&printCfg, "print", false, "print the effective configuration (defaults filled in, secrets hidden)")
	return cmd
}

var discardLogger = slog.New(slog.DiscardHandler)

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
