package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

// The demo's service and its tasks, as hidden subcommands of the same binary: `shipgate demo` maps the
// tutorial's deployment, test and rollback tasks to exec tasks that run them, so the demo needs nothing
// but shipgate itself.

// envDemoDir names the folder where the demo keeps each stage's running service (pid, URL, version).
const envDemoDir = "HELLOSERVICE_DEMO_DIR"

// envDemoPID is the pid of the `shipgate demo` whose tasks deploy the services: they stop when it ends,
// however it ends.
const envDemoPID = "HELLOSERVICE_DEMO_PID"

// slowVersion is the tutorial's slow build: about a second per request.
const slowVersion = "v0.1.2"

func newDemoServiceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "demo-service",
		Short:  "The demo's service and the tasks that deploy, test and roll it back (used by shipgate demo)",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	var version, listen, portFile string
	var owner int
	run := &cobra.Command{
		Use:  "run --version V [--listen ADDR] [--port-file F] [--owner PID]",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if owner > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				gone, err := processGone(owner)
				if err != nil {
					return fmt.Errorf("watching the demo (pid %d): %w", owner, err)
				}
				go func() {
					select {
					case <-gone:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			return runDemoService(ctx, version, listen, portFile)
		},
	}
	run.Flags().StringVar(&version, "version", "", "the version to behave as (v0.1.2 is slow)")
	run.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	run.Flags().StringVar(&portFile, "port-file", "", "write the address here once listening")
	run.Flags().IntVar(&owner, "owner", 0, "stop when this process ends (the demo)")
	var requests, concurrency int
	var settle time.Duration
	test := &cobra.Command{
		Use:  "test",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Through Prometheus, the burst counts once it has scraped the service before it (a baseline
			// for the rate) and after it.
			wait := func(why string) error {
				if settle <= 0 {
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "waiting %s for Prometheus to scrape %s\n", settle, why)
				select {
				case <-time.After(settle):
					return nil
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				}
			}
			if err := wait("the new service"); err != nil {
				return err
			}
			if err := demoTest(cmd.Context(), cmd.OutOrStdout(), requests, concurrency); err != nil {
				return err
			}
			return wait("the burst")
		},
	}
	test.Flags().IntVar(&requests, "requests", 20, "requests in the burst")
	test.Flags().IntVar(&concurrency, "concurrency", 4, "requests at once")
	test.Flags().DurationVar(&settle, "settle", 0, "wait this long after the burst (for Prometheus to scrape)")
	var basePort int
	// The task is stopped with SIGTERM (the demo's shutdown, an abort): deploy and rollback see it
	// between steps, so that they never die between starting a service and recording it.
	deploy := &cobra.Command{
		Use:  "deploy",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return demoDeploy(ctx, cmd.OutOrStdout(), os.Getenv("SHIPGATE_STAGE"), versionOf(os.Getenv("SHIPGATE_TAG")), basePort, false)
		},
	}
	deploy.Flags().IntVar(&basePort, "base-port", 0, "first stage's port, the next stages' after it (0: any free port)")
	rollback := &cobra.Command{
		Use:  "rollback",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return demoDeploy(ctx, cmd.OutOrStdout(), os.Getenv("SHIPGATE_STAGE"), "", basePort, true)
		},
	}
	rollback.Flags().IntVar(&basePort, "base-port", 0, "as for deploy")
	cmd.AddCommand(run, test, deploy, rollback)
	return cmd
}

func versionOf(tag string) string {
	if tag == "" {
		return "latest"
	}
	return tag
}

// runDemoService serves the tutorial's helloservice until ctx ends: a page that answers at once, or after
// about a second as v0.1.2, and /metrics with Keptn's request metrics, for an evaluation through
// Prometheus.
func runDemoService(ctx context.Context, version, listen, portFile string) error {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests served, by status."}, []string{"status"})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "http_response_time_milliseconds", Help: "Response time in milliseconds.",
		Buckets: []float64{5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2500, 5000}})
	reg.MustRegister(requests, latency)
	// Exported from the start at zero, so that a rate over the first requests sees them increase.
	requests.WithLabelValues("200")
	delay := 20 * time.Millisecond
	if version == slowVersion {
		delay = time.Second
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "helloservice %s\n", version)
		requests.WithLabelValues("200").Inc()
		latency.Observe(float64(time.Since(start).Microseconds()) / 1000)
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if portFile != "" {
		if err := writeFileAtomic(portFile, ln.Addr().String()); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stageState is where the demo keeps one stage's running service.
type stageState struct{ dir string }

func demoStage(stage string) (stageState, error) {
	root := os.Getenv(envDemoDir)
	if root == "" || stage == "" {
		return stageState{}, fmt.Errorf("%s and SHIPGATE_STAGE must be set; shipgate demo runs this", envDemoDir)
	}
	s := stageState{dir: filepath.Join(root, "services", stage)}
	return s, os.MkdirAll(s.dir, 0o755)
}

func (s stageState) read(name string) string {
	data, _ := os.ReadFile(filepath.Join(s.dir, name))
	return strings.TrimSpace(string(data))
}

func (s stageState) write(name, value string) error {
	return writeFileAtomic(filepath.Join(s.dir, name), value)
}

func writeFileAtomic(path, value string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// demoDeploy replaces a stage's service with version (or, for a rollback, with the version it replaced)
// and prints where it runs. The service runs in a session of its own, so that it outlives the task's
// process group; shipgate demo stops every stage's service when it ends, and a service whose demo is
// gone (--owner) stops by itself.
//
// When ctx ends (the task is stopped) it stops what it is doing: before it starts the new service, or
// by killing the service it started and has not recorded yet. A deploy stopped half-way once left a
// service that no pid file named, and so nothing stopped.
func demoDeploy(ctx context.Context, out io.Writer, stage, version string, basePort int, rollback bool) error {
	s, err := demoStage(stage)
	if err != nil {
		return err
	}
	current := s.read("version")
	if rollback {
		version = s.read("previous")
		if version == "" {
			fmt.Fprintf(out, "nothing to roll back to in %s: %s is the only version deployed there\n", stage, orNone(current))
			return nil
		}
	}
	stopDemoService(s.read("pid"))
	if ctx.Err() != nil {
		return fmt.Errorf("stopped before helloservice %s started: %w", version, context.Cause(ctx))
	}
	listen := "127.0.0.1:0"
	if basePort > 0 {
		listen = fmt.Sprintf("127.0.0.1:%d", basePort+stageIndex(stage))
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	portFile := filepath.Join(s.dir, "addr")
	_ = os.Remove(portFile)
	logf, err := os.Create(filepath.Join(s.dir, "service.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"demo-service", "run", "--version", version, "--listen", listen, "--port-file", portFile}
	if owner, err := strconv.Atoi(os.Getenv(envDemoPID)); err == nil && owner > 0 {
		args = append(args, "--owner", strconv.Itoa(owner))
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting helloservice %s: %w", version, err)
	}
	addr, err := waitForFile(ctx, portFile, 10*time.Second)
	if err != nil {
		// Not recorded anywhere yet: if it stayed, nothing would stop it.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("helloservice %s did not start listening: %w", version, err)
	}
	if current != "" && current != version && !rollback {
		if err := s.write("previous", current); err != nil {
			return err
		}
	}
	if rollback {
		_ = os.Remove(filepath.Join(s.dir, "previous"))
	}
	pid := cmd.Process.Pid
	for name, v := range map[string]string{"pid": strconv.Itoa(pid), "url": "http://" + addr, "version": version} {
		if err := s.write(name, v); err != nil {
			return err
		}
	}
	_ = cmd.Process.Release()
	verb := "deployed"
	if rollback {
		verb = "rolled back to"
	}
	fmt.Fprintf(out, "%s helloservice %s in %s: http://%s (pid %d)\n", verb, version, stage, addr, pid)
	return nil
}

func orNone(v string) string {
	if v == "" {
		return "nothing"
	}
	return v
}

// stageIndex places a stage's port after the first: qa, then production.
func stageIndex(stage string) int {
	if i := slices.Index([]string{"qa", "production"}, stage); i >= 0 {
		return i
	}
	return 2
}

// waitForFile waits until a file exists and returns its content, or until ctx ends. The service writes it
// once it listens; there is no event to wait for across processes.
func waitForFile(ctx context.Context, path string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(data))) > 0 {
			return strings.TrimSpace(string(data)), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s after %s", filepath.Base(path), timeout)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("stopped: %w", context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopDemoService stops a demo service by the pid it was started with: SIGTERM, then SIGKILL if it is
// still there after 3 s.
func stopDemoService(pidText string) {
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return
	}
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if !processAlive(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// processAlive reports whether pid runs; a zombie (ended, not yet reaped) does not. The demo reaps the
// services it adopted (it is their subreaper), but a zombie may exist for a moment.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may contain spaces.
	if i := strings.LastIndexByte(string(data), ')'); i >= 0 && i+2 < len(data) {
		return data[i+2] != 'Z'
	}
	return true
}

// demoTest sends a bounded burst of requests to the stage's service and writes what it measured as SLI
// values for the evaluation (sli_provider: results): response time p95 in milliseconds, error rate in
// percent, throughput in requests per second.
func demoTest(ctx context.Context, out io.Writer, requests, concurrency int) error {
	s, err := demoStage(os.Getenv("SHIPGATE_STAGE"))
	if err != nil {
		return err
	}
	url := os.Getenv("SHIPGATE_DEPLOYMENT_URL")
	if url == "" {
		url = s.read("url")
	}
	if url == "" {
		return fmt.Errorf("no helloservice runs in %s: deploy it first", os.Getenv("SHIPGATE_STAGE"))
	}
	requests, concurrency = max(1, min(requests, 500)), max(1, min(concurrency, 32))
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu        sync.Mutex
		latencies []float64
		failed    int
		wg        sync.WaitGroup
	)
	next := make(chan struct{})
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for range next {
				t0 := time.Now()
				ok := false
				if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err == nil {
					if resp, err := client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						ok = resp.StatusCode/100 == 2
					}
				}
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				latencies = append(latencies, ms)
				if !ok {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	for range requests {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	p95 := latencies[min(len(latencies)-1, int(float64(len(latencies))*0.95))]
	values := map[string]float64{
		"response_time_p95": round2(p95),
		"error_rate":        round2(100 * float64(failed) / float64(requests)),
		"throughput":        round2(float64(requests) / elapsed.Seconds()),
	}
	fmt.Fprintf(out, "%d requests to %s in %s: p95 %.1f ms, %d failed, %.1f requests/s\n", requests, url, elapsed.Round(time.Millisecond),
		values["response_time_p95"], failed, values["throughput"])
	if path := os.Getenv("SHIPGATE_SLI_FILE"); path != "" {
		data, _ := json.Marshal(values)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	if failed == requests {
		return fmt.Errorf("every request failed")
	}
	return nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// sysPidfdOpen is pidfd_open(2), the same number on every Linux architecture (5.3 and later).
const sysPidfdOpen = 434

// processGone returns a channel that is closed when process pid ends. It holds a pidfd, which stands for
// that very process, so a pid taken by another process later does not count; an error means pid does
// not run now. The demo's services are not its children, and may not be anyone's it knows, so a
// parent-death signal cannot do this.
func processGone(pid int) (<-chan struct{}, error) {
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno != 0 {
		return nil, errno
	}
	gone := make(chan struct{})
	go func() {
		defer syscall.Close(int(fd))
		defer close(gone)
		// A pidfd becomes readable when its process ends.
		pfd := struct {
			fd             int32
			events, revent int16
		}{fd: int32(fd), events: 0x1} // POLLIN
		for {
			n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, 0, 0, 0, 0)
			if errno == syscall.EINTR || errno == 0 && n == 0 {
				continue
			}
			return // readable, or polling failed: either way, stop rather than run on unwatched
		}
	}()
	return gone, nil
}
