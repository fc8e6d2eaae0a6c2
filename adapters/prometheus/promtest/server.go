// Package promtest runs a real Prometheus server, and an instrumented HTTP service for it to scrape, for
// tests of anything that reads SLIs. The server is Debian's prometheus package (`make deps` installs it);
// a test that needs it fails when it is missing, unless SHIPGATE_SKIP_PROMETHEUS=1 says to skip.
package promtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// SkipEnv names the environment variable that, set to 1, skips tests needing Prometheus when it is not
// installed, instead of failing them.
const SkipEnv = "SHIPGATE_SKIP_PROMETHEUS"

// ScrapeInterval is how often the server scrapes its targets and evaluates rules: short, so that a test
// sees its traffic in Prometheus about a second after sending it.
const ScrapeInterval = time.Second

// startTimeout bounds how long Prometheus may take to open its empty database and report ready; it takes
// well under a second on an idle machine, but `go test ./...` runs packages side by side.
const startTimeout = 30 * time.Second

// Target is one scrape target: Prometheus' job name and the host:port serving /metrics.
type Target struct {
	Job  string
	Addr string
}

// Server is a Prometheus process that lives as long as the test that started it.
type Server struct {
	// URL is the server's base URL on the loopback interface, such as http://127.0.0.1:41234.
	URL string
	API v1.API

	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has been reaped
	logPath  string
	stopOnce sync.Once
}

// Start runs Prometheus with a fresh database in a temporary folder, scraping targets every
// ScrapeInterval, and waits until it is ready. The process is killed when the test ends.
func Start(t testing.TB, targets ...Target) *Server {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(targets)), 0o600); err != nil {
		t.Fatalf("writing prometheus.yml: %v", err)
	}
	// Another process may take the free port between our probe and Prometheus' bind; try a few times.
	var lastErr error
	for attempt := range 3 {
		s, err := launch(t, bin, cfgPath, filepath.Join(dir, fmt.Sprintf("run%d", attempt)))
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("starting prometheus: %v", lastErr)
	return nil
}

// binary finds the prometheus executable, or skips or fails the test when there is none.
func binary(t testing.TB) string {
	t.Helper()
	if path, err := exec.LookPath("prometheus"); err == nil {
		return path
	}
	// Debian installs it in /usr/bin, which a minimal PATH may lack.
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("prometheus is not installed and %s=1: skipping the test against a real Prometheus", SkipEnv)
	}
	t.Fatalf("prometheus is not installed: run `make deps` (apt-get install prometheus), or set %s=1 to skip tests that need it", SkipEnv)
	return ""
}

func configYAML(targets []Target) string {
	var b strings.Builder
	// scrape_timeout must not exceed scrape_interval, and its default (10s) does.
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\nscrape_configs:\n",
		model.Duration(ScrapeInterval), model.Duration(ScrapeInterval), model.Duration(ScrapeInterval))
	byJob := map[string][]string{}
	var jobs []string
	for _, tg := range targets {
		if _, seen := byJob[tg.Job]; !seen {
			jobs = append(jobs, tg.Job)
		}
		byJob[tg.Job] = append(byJob[tg.Job], tg.Addr)
	}
	for _, job := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [", job)
		for i, addr := range byJob[job] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", addr)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// launch starts one Prometheus process on a free loopback port and waits for it to be ready.
func launch(t testing.TB, bin, cfgPath, dataDir string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := dataDir + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the prometheus log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		_ = cmd.Wait() // a killed process exits with an error; Stop caused it
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.logTail())
		}
	})
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\nprometheus log:\n%s", err, s.logTail())
	}
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	s.API = v1.NewAPI(client)
	return s, nil
}

// freeAddr returns a loopback address with a port nobody listens on at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitReady polls /-/ready until Prometheus answers 200, it exits, or startTimeout passes. Polling is the
// only way to learn when another process is ready.
func (s *Server) waitReady() error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return errors.New("prometheus exited before it was ready")
		case <-deadline.C:
			return fmt.Errorf("prometheus at %s was not ready after %s", s.URL, startTimeout)
		case <-tick.C:
		}
	}
}

// Stop kills Prometheus and waits for it to exit; later calls do nothing. Tests call it to see how
// their code copes with Prometheus going away; otherwise the test's cleanup calls it. The database is
// thrown away, so there is nothing to shut down gracefully.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill() // fails only if it already exited, which is what we want
		<-s.exited
	})
}

// logTail returns the end of Prometheus' log, for failure messages.
func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logPath, err)
	}
	const keep = 4000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return string(data)
}

// WaitFor polls query, an instant query at the current time, until it returns at least one sample, and
// returns the first sample's value. It fails the test after timeout. Use it to wait for Prometheus to
// have scraped what a test needs, for example `http_requests_total{job="x"} >= 200`.
func (s *Server) WaitFor(t testing.TB, query string, timeout time.Duration) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		result, _, _, err := s.API.Query(ctx, query, time.Now())
		switch r := result.(type) {
		case model.Vector:
			if len(r) > 0 {
				return float64(r[0].Value)
			}
			last = "no samples"
		case *model.Scalar:
			return float64(r.Value)
		default:
			last = fmt.Sprintf("result %v, error %v", result, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus query %s returned no data within %s (last: %s)", query, timeout, last)
		case <-tick.C:
		}
	}
}

// WaitScraped waits until Prometheus has finished a scrape of job that started after since, so that
// everything the job's targets counted before since is in Prometheus. It fails the test after timeout.
func (s *Server) WaitScraped(t testing.TB, job string, since time.Time, timeout time.Duration) {
	t.Helper()
	// A scrape's samples carry the time the scrape started, and up is 1 only for a successful scrape.
	// timestamp() gives a sample's own time only when applied to a plain selector, hence the `and`.
	sel := fmt.Sprintf("up{job=%q}", job)
	query := fmt.Sprintf(`timestamp(%s) > %.3f and %s == 1`, sel, float64(since.UnixMilli())/1000, sel)
	s.WaitFor(t, query, timeout)
}
