package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/adapters/web"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/config"
)

// demoProject is the Keptn tutorial's project as shipgate demo runs it; executors.yaml is written at
// start, since it names this binary.
//
//go:embed demo
var demoProject embed.FS

// demoChannel is the web console's channel in the demo.
const demoChannel = "demo"

// demoRoles are the roles of the demo's channel.
var demoRoles = map[string][]string{bot.RoleDeployer: {"dana"}, bot.RoleApprover: {"ann", "bob"}, bot.RoleAuditor: {"ann"}}

// demoUsers are the people one can be in the demo's console, to try the role rules; the line under the
// picker names the roles each holds in demoRoles, so that it cannot say less than the channel grants.
var demoUsers = withRoleNotes([]web.User{{ID: "dana", Name: "Dana"}, {ID: "ann", Name: "Ann"}, {ID: "bob", Name: "Bob"}, {ID: "eve", Name: "Eve"}}, demoRoles)

// roleWhat says what a demo role lets its holder do, for the picker.
var roleWhat = map[string]string{bot.RoleDeployer: "starts deliveries", bot.RoleApprover: "decides approvals", bot.RoleAuditor: "reads /deliver audit"}

// withRoleNotes sets each user's Note to the roles it holds in roles, in the order deployer, approver,
// auditor ("approver: decides approvals; auditor: reads /deliver audit"), or "no role".
func withRoleNotes(users []web.User, roles map[string][]string) []web.User {
	for i, u := range users {
		var held []string
		for _, role := range []string{bot.RoleDeployer, bot.RoleApprover, bot.RoleAuditor} {
			if slices.Contains(roles[role], u.ID) {
				held = append(held, role+": "+roleWhat[role])
			}
		}
		users[i].Note = "no role"
		if len(held) > 0 {
			users[i].Note = strings.Join(held, "; ")
		}
	}
	return users
}

// demoServicePort is where the demo's qa service listens with --prometheus (production one port up), so
// that a Prometheus can be told to scrape them.
const demoServicePort = 8181

func newDemoCmd() *cobra.Command {
	var listen, dataDir, prometheusURL string
	var servicePort int
	var scrapeInterval time.Duration
	cmd := &cobra.Command{
		Use:   "demo [--listen 127.0.0.1:8080] [--data .shipgate-demo] [--prometheus URL]",
		Short: "Run shipgate on its built-in tutorial project, with the web console",
		Long: `Demo runs the Keptn tutorial locally with nothing but this binary: the project fulltour with the
service helloservice (qa: deployment, test, evaluation, and a rollback on failure; production: an
approval, then the same), a small demo service that the deployment task starts on a loopback port
(v0.1.1 answers fast, v0.1.2 takes about a second), a test that sends it a burst of requests and
reports its response time, and a web console to play every role in.

With --prometheus URL the evaluation asks that Prometheus instead, which must scrape the demo service
at 127.0.0.1:8181 (qa) and 127.0.0.1:8182 (production) as the jobs helloservice-fulltour-qa and
helloservice-fulltour-production.

It stops on Ctrl-C (SIGINT) or SIGTERM, and stops the demo services with it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errOut := cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			via := demoPrometheus{url: prometheusURL, port: servicePort, scrape: scrapeInterval}
			if err := runDemo(ctx, cmd.OutOrStdout(), errOut, listen, dataDir, via); err != nil {
				fmt.Fprintf(errOut, "shipgate demo: %v\n", err)
				return exitError{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the console and the API (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data", ".shipgate-demo", "folder for the database, the project and the demo services' state")
	cmd.Flags().StringVar(&prometheusURL, "prometheus", "", "evaluate through this Prometheus instead of the test's own figures")
	cmd.Flags().IntVar(&servicePort, "service-port", demoServicePort, "with --prometheus: the qa service's port (production's is the next)")
	cmd.Flags().DurationVar(&scrapeInterval, "scrape-interval", 15*time.Second, "with --prometheus: how often it scrapes the services; tests wait two of these for their figures")
	return cmd
}

// demoPrometheus is how the demo evaluates through a Prometheus (--prometheus), when url is set.
type demoPrometheus struct {
	url    string
	port   int           // the qa service's fixed port, production's the next, for Prometheus to scrape
	scrape time.Duration // its scrape interval: a test waits two before the evaluation asks
}

// runDemo prepares the data folder, serves until ctx ends, and stops the demo services.
func runDemo(ctx context.Context, out, errOut io.Writer, listen, dataDir string, prom demoPrometheus) error {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err := becomeSubreaper(); err != nil {
		return err
	}
	defer stopDemoServices(dataDir)
	if _, err := writeDemoProject(dataDir, prom); err != nil {
		return err
	}
	cfg := config.Defaults()
	cfg.Listen = listen
	cfg.Database = filepath.Join(dataDir, "shipgate.db")
	cfg.ProjectsDir = filepath.Join(dataDir, "projects")
	// The console in demo mode: anyone plays the demo's people, no token asked.
	cfg.Platforms = map[string]config.PlatformConfig{"web": &web.Config{Demo: true, Users: demoUsers}}
	cfg.Channels = []config.ChannelBinding{{Platform: "web", Channel: demoChannel, Projects: []string{"fulltour"},
		Roles: demoRoles}}
	// An API token for CI, made at the first start and kept with the data, so that it outlives a restart.
	tokenFile := filepath.Join(dataDir, "api-token")
	if _, err := ensureTokenFile(tokenFile); err != nil {
		return err
	}
	token, err := readTokenFile(tokenFile)
	if err != nil {
		return err
	}
	cfg.API.Tokens = []config.APIToken{{Name: "ci", Token: config.Secret(token), Projects: []string{"fulltour"}}}
	cfg.Log.Level = "warn"
	if prom.url != "" {
		cfg.Prometheus = &config.PrometheusConfig{URL: prom.url, Timeout: config.DefaultPrometheusTimeout}
	}
	loaded, diags := cfg.LoadProjects()
	diags = append(diags, checkExecutorSettings(loaded, executors(cfg, discardLogger))...)
	if diags.HasErrors() {
		return fmt.Errorf("the demo project is invalid:\n%w", diags.Err())
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, `shipgate demo is running: open %s

  You are Dana, who may deliver. In the console's composer, type:
    /deliver helloservice %s
  qa deploys it, tests it and scores it; production then waits for an approval.
  Switch to Eve (no role) and try Approve; then to Ann or Bob and approve it.
  Then deliver ghcr.io/podtato-head/podtatoserver:v0.1.2: it is slow, fails qa's evaluation, is rolled
  back, and never reaches production.

`, url, tutorialImage)
	printCIHint(out, url, "ci", token, tokenFile, deliveryRequest{Project: "fulltour", Service: "helloservice", Image: tutorialImage})
	fmt.Fprintf(out, "\n  Data: %s. Stop with Ctrl-C.\n", dataDir)
	if prom.url != "" {
		fmt.Fprintf(out, `
  Evaluations ask %s, which must scrape the demo service every %s:
    - job_name: helloservice-fulltour-qa
      static_configs: [{targets: ["127.0.0.1:%d"]}]
    - job_name: helloservice-fulltour-production
      static_configs: [{targets: ["127.0.0.1:%d"]}]
`, prom.url, prom.scrape, prom.port, prom.port+1)
	}
	logger := newLogger(errOut, cfg.Log)
	return serve(ctx, cfg, loaded, ln, logger)
}

// writeDemoProject writes the embedded project into the data folder, with an executors.yaml whose
// tasks run this binary's demo-service for this process, and returns the projects folder. Through
// Prometheus, the services listen on fixed ports, each test waits until Prometheus has scraped its
// figures, and the evaluation looks at the last minute.
func writeDemoProject(dataDir string, prom demoPrometheus) (string, error) {
	projects := filepath.Join(dataDir, "projects")
	dest := filepath.Join(projects, "fulltour")
	if err := os.RemoveAll(dest); err != nil {
		return "", err
	}
	provider, basePort, settle := "results", 0, time.Duration(0)
	if prom.url != "" {
		provider, basePort, settle = "prometheus", prom.port, 2*prom.scrape
	}
	err := fs.WalkDir(demoProject, "demo", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(projects, strings.TrimPrefix(path, "demo"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := demoProject.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		if prom.url != "" {
			text = strings.ReplaceAll(text, `sli_provider: "${SLI_PROVIDER}"`, `sli_provider: "${SLI_PROVIDER}"`+"\n                timeframe: \"1m\"")
		}
		text = strings.ReplaceAll(text, "${SLI_PROVIDER}", provider)
		return os.WriteFile(target, []byte(text), 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("writing the demo project: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	task := func(args ...string) string {
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		// The services a deployment starts outlive its task on purpose, and stop with this process.
		return fmt.Sprintf("{type: exec, timeout: 3m, with: {command: [%s], env: {%s: %q, %s: \"%d\"}}}", strings.Join(quoted, ", "),
			envDemoDir, dataDir, envDemoPID, os.Getpid())
	}
	port := fmt.Sprint(basePort)
	executors := fmt.Sprintf(`# Written by shipgate demo: the tutorial's tasks run this binary's demo service.
tasks:
  deployment: %s
  test: %s
  rollback: %s
  release: {type: noop}
`, task(self, "demo-service", "deploy", "--base-port", port), task(self, "demo-service", "test", "--settle", settle.String()),
		task(self, "demo-service", "rollback", "--base-port", port))
	if err := os.WriteFile(filepath.Join(dest, "executors.yaml"), []byte(executors), 0o644); err != nil {
		return "", err
	}
	return projects, nil
}

// stopDemoServices stops every stage's demo service.
func stopDemoServices(dataDir string) {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "services", "*"))
	for _, d := range dirs {
		s := stageState{dir: d}
		stopDemoService(s.read("pid"))
		_ = os.Remove(filepath.Join(d, "pid"))
	}
	reapChildren()
}

// becomeSubreaper makes the demo the parent of the services its tasks start (they leave the task's
// process group on purpose), so that stopping them leaves no zombie behind.
func becomeSubreaper() error {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", errno)
	}
	return nil
}

// reapChildren collects every child that has ended, without waiting for running ones.
func reapChildren() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
