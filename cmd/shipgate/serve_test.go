package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeAnswersHealthAndStops(t *testing.T) {
	cfg := config.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "data", "shipgate.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, nil, ln, slog.New(slog.DiscardHandler)) }()

	base := "http://" + ln.Addr().String()
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "{\"status\":\"ok\"}\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "{\"status\":\"ready\",\"database\":\"ok\"}\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope = %d, want 404", code)
	}
	// Go's and the process's own metrics, and the store's health, beside shipgate's.
	code, metrics := get(t, base+"/metrics")
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "shipgate_store_write_errors_total",
		"shipgate_engine_unrecorded_transitions", "shipgate_store_wal_bytes", "shipgate_http_connections_open"} {
		if code != http.StatusOK || !regexp.MustCompile(`(?m)^`+name+` `).MatchString(metrics) {
			t.Errorf("/metrics (%d) lacks %s", code, name)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after cancel", err)
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		t.Errorf("database file not created: %v", err)
	}
}

type failingPinger struct{}

func (failingPinger) Ping(context.Context) error { return errors.New("disk I/O error") }

func (failingPinger) CheckWritable(context.Context) error { return nil }

// unwritableDB answers, but refuses writes, as a database on a full disk does.
type unwritableDB struct{}

func (unwritableDB) Ping(context.Context) error { return nil }

func (unwritableDB) CheckWritable(context.Context) error {
	return fmt.Errorf("%w: database or disk is full (13)", store.ErrUnwritable)
}

func TestReadyzReportsAnUnwritableDatabase(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(unwritableDB{}, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	want := `{"status":"database unwritable","database":"unwritable"}` + "\n"
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
		t.Fatalf("/readyz = %d %q, want 503 %q", rec.Code, rec.Body.String(), want)
	}
}

func TestReadyzReportsDatabaseFailure(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(failingPinger{}, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "database unavailable") {
		t.Fatalf("/readyz = %d %q, want 503 database unavailable", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "disk I/O") {
		t.Error("/readyz exposes the internal error")
	}
}

func TestServeRefusesInvalidProjects(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "projects", "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "projects", "shop", "shipyard.yaml"), []byte("apiVersion: spec.keptn.sh/0.2.0\nspec:\n  stages: [{name: QA}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "serve", "--config", cfgPath)
	want := fmt.Sprintf(`level=ERROR msg="project file" file=%s line=3 problem="stage name \"QA\" is invalid`, filepath.Join(dir, "projects", "shop", "shipyard.yaml"))
	if code != exitFailed || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d, stderr %q; want %q", code, errOut, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "shipgate.db")); !os.IsNotExist(err) {
		t.Error("serve opened the database before refusing the projects")
	}
}

// An executors.yaml naming an executor type this build does not have stops serve before it listens.
func TestServeRefusesUnavailableExecutorType(t *testing.T) {
	dir := t.TempDir()
	configtest.CopyDir(t, example, filepath.Join(dir, "projects", "fulltour"))
	path := filepath.Join(dir, "projects", "fulltour", "executors.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "  test:\n    type: noop", "  test:\n    type: locust", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "serve", "--config", cfgPath)
	want := regexp.MustCompile(`level=ERROR msg="project file" file=\S+executors\.yaml line=\d+ problem="task \\"test\\" \(type locust\): executor type \\"locust\\" is not available; expected one of: exec, helm, job, noop, webhook"`)
	if code != exitFailed || !want.MatchString(errOut) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// TestServeExitsCleanlyOnSIGTERM runs shipgate serve as a real process, waits until it listens, checks
// /readyz, sends SIGTERM and expects exit status 0 with the shutdown logged.
func TestServeExitsCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "shipgate.yaml")
	// The examples folder is the projects_dir, as in the README.
	abs, _ := filepath.Abs("../../examples")
	if err := os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\ndatabase: state/shipgate.db\nprojects_dir: "+abs+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SHIPGATE_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var addr string
	var log strings.Builder
	for addr == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := listeningRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve never logged its address:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "projects=[fulltour]") {
		t.Errorf("fulltour not loaded:\n%s", log.String())
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	log.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "msg=stopped") {
		t.Errorf("shutdown not logged:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "shipgate.db")); err != nil {
		t.Errorf("database not created next to the config: %v", err)
	}
}

func TestServeRefusesTasksWithoutExecutors(t *testing.T) {
	cfgPath, shipyard := bareProjectsConfig(t)
	code, _, errOut := runCLI(t, "serve", "--config", cfgPath)
	if code != exitFailed {
		t.Fatalf("exit %d, stderr:\n%s; want 1", code, errOut)
	}
	// Each diagnostic is one log line, as the whole log is, with the file, the line and the problem.
	var want []string
	for _, d := range strings.Split(strings.TrimSuffix(noExecutorDiags(shipyard, config.SeverityError), "\n"), "\n") {
		where, problem, _ := strings.Cut(d, ": ")
		file, line, _ := strings.Cut(where, ":")
		want = append(want, fmt.Sprintf("level=ERROR msg=\"project file\" file=%s line=%s problem=%q", file, line, problem))
	}
	want = append(want, `level=ERROR msg="not starting: fix the projects' errors, or run 'shipgate validate --config' to list them" errors=10`)
	got := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	for i := range got {
		_, got[i], _ = strings.Cut(got[i], " ") // the time
	}
	if !slices.Equal(got, want) {
		t.Errorf("stderr:\n%s\nwant, after each line's time:\n%s", errOut, strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfgPath), "shipgate.db")); !os.IsNotExist(err) {
		t.Error("serve opened the database before refusing the projects")
	}
}

// Each chat platform is reported beside the database; one that cannot be reached does not make shipgate
// unready, since the API and running deliveries do not need it.
func TestReadyzReportsPlatforms(t *testing.T) {
	okPinger := okPinger{}
	checks := []platformCheck{
		{name: "slack", check: func(context.Context) error { return nil }},
		{name: "discord", check: func(context.Context) error { return errors.New("401 Unauthorized") }},
	}
	rec := httptest.NewRecorder()
	newHandler(okPinger, slog.New(slog.DiscardHandler), checks...).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	want := `{"status":"ready","database":"ok","platforms":{"discord":"unavailable","slack":"ok"}}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("/readyz = %d %s, want 200 %s", rec.Code, rec.Body.String(), want)
	}
}

type okPinger struct{}

func (okPinger) Ping(context.Context) error { return nil }

func (okPinger) CheckWritable(context.Context) error { return nil }

// serveLog runs `shipgate serve` in-process with args until it logs that it listens, then stops it as
// SIGTERM would, and returns its exit code and every line it wrote to standard error.
func serveLog(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), io.Discard, pw)
		pw.Close()
		exit <- code
	}()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "listening") {
			cancel()
		}
	}
	return <-exit, lines
}

// Everything serve logs is in the configured format, project warnings included: with log.format json,
// every line is a JSON object.
func TestServeLogsProjectWarningsInTheConfiguredFormat(t *testing.T) {
	dir := t.TempDir()
	project := filepath.Join(dir, "projects", "fulltour")
	configtest.CopyDir(t, example, project)
	// The warning is at the objective's warning: key, two lines above the criterion.
	line := breakLine(t, project, "helloservice/slo.yaml", `"<=2"`, `"<=0.5"`) - 2
	cfgPath := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfgPath, []byte("database: shipgate.db\nprojects_dir: projects\nlog: {format: json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, lines := serveLog(t, "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	var warned bool
	for _, l := range lines {
		var entry struct {
			Level, Msg, File, Problem string
			Line                      int
		}
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("not a JSON log line: %q", l)
			continue
		}
		if entry.Level == "WARN" && entry.Msg == "project file" && entry.File == filepath.Join(project, "helloservice", "slo.yaml") &&
			entry.Line == line && strings.Contains(entry.Problem, `warning criteria "<=0.5" can never give a warning`) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("the SLO's warning is not logged:\n%s", strings.Join(lines, "\n"))
	}
}

// Serve starts without a project, so that health and the API answer while a deployment mounts them, but
// warns with what projects_dir holds instead.
func TestServeWarnsWithoutProjects(t *testing.T) {
	dir := t.TempDir()
	configtest.CopyDir(t, example, filepath.Join(dir, "fulltour"))
	cfgPath := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfgPath, []byte("database: shipgate.db\nprojects_dir: fulltour\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, lines := serveLog(t, "--config", cfgPath)
	want := fmt.Sprintf(`level=WARN msg="no project to serve" file=%s line=2 problem="projects_dir %s holds a shipyard.yaml: it is a Keptn project itself, and projects_dir should be its parent folder, %s"`,
		cfgPath, filepath.Join(dir, "fulltour"), dir)
	if code != exitOK || len(lines) == 0 || !strings.HasSuffix(lines[0], want) {
		t.Errorf("exit %d, log:\n%s\nwant exit 0 and first:\n%s", code, strings.Join(lines, "\n"), want)
	}
}
