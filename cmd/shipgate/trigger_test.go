package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
)

const ciShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata: {name: citour}
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: test
`

const ciToken = "ci-secret-token-0123456789"

// startCI serves a project whose qa test fails for tag v0.1.2 (an exec task), with one CI token.
func startCI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	configtest.WriteFiles(t, dir, map[string]string{
		"projects/citour/shipyard.yaml": ciShipyard,
		"projects/citour/executors.yaml": `tasks:
  deployment: {type: noop}
  test:
    type: exec
    with: {shell: 'echo testing $SHIPGATE_TAG; test "$SHIPGATE_TAG" != v0.1.2'}
`,
		"projects/citour/web/README.md": "web\n",
		"shipgate.yaml": `database: shipgate.db
projects_dir: projects
api:
  tokens:
    - name: ci
      token: ` + ciToken + `
      projects: [citour]
`,
	})
	base, _, _ := startServe(t, filepath.Join(dir, "shipgate.yaml"))
	return base
}

// startServe runs serve in this process with the config at path, on a free loopback port, until the test
// ends or stop is called. It returns the base URL and the database's path.
func startServe(t *testing.T, path string) (base, db string, stop func()) {
	t.Helper()
	cfg, diags := config.Load(path, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	projects, diags := cfg.LoadProjects()
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, projects, ln, slog.New(slog.DiscardHandler)) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), cfg.Database, stop
}

// trigger --wait follows a delivery through the real server and exits with its result; status shows it;
// the deliveries and API calls are in /metrics with their labels.
func TestTriggerWaitExitCodes(t *testing.T) {
	base := startCI(t)
	t.Setenv(envToken, ciToken)
	trigger := func(tag string) (int, string, string) {
		return runCLI(t, "trigger", "--server", base, "--project", "citour", "--service", "web",
			"--image", "registry.example/web:"+tag, "--label", "version="+tag, "--wait", "--interval", "50ms", "--timeout", "2m")
	}

	code, out, errOut := trigger("v0.1.1")
	// Without public_url the API answers a path; trigger prints it on the server it was given, so that it
	// can be opened as printed.
	if code != exitOK || out != "delivery 1: "+base+"/api/v1/deliveries/1\n" {
		t.Fatalf("pass: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	for _, want := range []string{"qa delivery: deployment finished pass", "qa delivery: test finished pass: exit 0", "delivery 1 finished: pass"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}

	code, out, errOut = trigger("v0.1.2")
	if code != exitFailed || !strings.HasPrefix(out, "delivery 2: ") || !strings.Contains(errOut, "qa delivery: test finished fail: exit status 1") {
		t.Fatalf("fail: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}

	code, out, _ = runCLI(t, "status", "2", "--server", base)
	if code != exitOK || !strings.HasPrefix(out, "delivery 2: finished fail to citour/web") || !strings.Contains(out, "qa delivery: test finished fail") {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	// API refusals exit 2 with the API's reason.
	code, _, errOut = runCLI(t, "trigger", "--server", base, "--project", "citour", "--service", "api", "--image", "registry.example/web:v1")
	if code != exitUsage || !strings.Contains(errOut, "400 Bad Request") || !strings.Contains(errOut, "web") {
		t.Errorf("unknown service: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "status", "1", "--server", base, "--token", "wrong")
	if code != exitUsage || !strings.Contains(errOut, "401 Unauthorized") {
		t.Errorf("wrong token: exit %d, %s", code, errOut)
	}

	// /metrics, parsed as Prometheus does.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels map[string]string) float64 {
		for _, m := range families[name].GetMetric() {
			match := true
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					match = false
				}
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
		return -1
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"shipgate_deliveries_finished_total", map[string]string{"project": "citour", "service": "web", "result": "pass"}, 1},
		{"shipgate_deliveries_finished_total", map[string]string{"project": "citour", "service": "web", "result": "fail"}, 1},
		{"shipgate_api_requests_total", map[string]string{"endpoint": "POST /api/v1/deliveries", "outcome": "ok"}, 2},
		{"shipgate_api_requests_total", map[string]string{"endpoint": "POST /api/v1/deliveries", "outcome": "invalid"}, 1},
		{"shipgate_api_requests_total", map[string]string{"endpoint": "GET /api/v1/deliveries/{id}", "outcome": "unauthorized"}, 1},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, ok := families["shipgate_task_duration_seconds"]; !ok {
		t.Error("no shipgate_task_duration_seconds")
	}
}
