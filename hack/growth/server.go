package growth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerOptions say how to run shipgate serve for the benchmark.
type ServerOptions struct {
	Binary   string // the shipgate binary
	Dir      string // a folder of the server's own: shipgate.yaml, projects, the database
	Database string // a database file to copy into Dir and serve; "" starts empty
	// Shipyard is every project's shipyard.yaml; SLO, when set, every service's slo.yaml.
	Shipyard, SLO string
	// Executors is every project's executors.yaml.
	Executors string
}

// Credentials of the benchmark's server; it listens on loopback only.
const (
	APIToken = "growth-benchmark-api-token-0123456789"
	WebToken = "growth-benchmark-web-token-0123456789"
)

// Server is `shipgate serve` running as a process of its own.
type Server struct {
	Base     string // http://127.0.0.1:PORT
	Config   string // its shipgate.yaml
	Database string
	// Ready is how long it took from the start of the process to /readyz answering 200.
	Ready time.Duration

	bin    string
	cmd    *exec.Cmd
	log    *logTail
	exited chan struct{} // closed once the process ended and err is set
	err    error
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// Bounds on starting: a database written by an older shipgate is migrated before serve listens, which
// on 100,000 deliveries may take a while.
const (
	listenTimeout = 10 * time.Minute
	readyTimeout  = 30 * time.Second
	stopTimeout   = 30 * time.Second
)

// StartServer writes the server's config and projects into opts.Dir, copies the database there, starts
// shipgate serve on a free loopback port and waits until /readyz answers 200.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	s := &Server{Config: filepath.Join(opts.Dir, "shipgate.yaml"), Database: filepath.Join(opts.Dir, "shipgate.db"), bin: opts.Binary,
		log: &logTail{}, exited: make(chan struct{})}
	if err := writeServerFiles(opts); err != nil {
		return nil, fmt.Errorf("start shipgate: %w", err)
	}
	if opts.Database != "" {
		if err := copyFile(opts.Database, s.Database); err != nil {
			return nil, fmt.Errorf("start shipgate: %w", err)
		}
	}
	began := time.Now()
	s.cmd = exec.Command(opts.Binary, "serve", "--config", s.Config)
	s.cmd.Dir = opts.Dir
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start shipgate: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.log.add(sc.Text())
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case a := <-addr:
		s.Base = "http://" + a
	case <-s.exited:
		return nil, fmt.Errorf("start shipgate: it exited: %v\n%s", s.err, s.log)
	case <-time.After(listenTimeout):
		s.Stop()
		return nil, fmt.Errorf("start shipgate: not listening after %v\n%s", listenTimeout, s.log)
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	s.Ready = time.Since(began)
	return s, nil
}

// waitReady polls /readyz, for a bounded time.
func (s *Server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/readyz", nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("shipgate at %s is not ready after %v\n%s", s.Base, readyTimeout, s.log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.exited:
			return fmt.Errorf("shipgate exited: %v\n%s", s.err, s.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log is the end of what the server logged.
func (s *Server) Log() string { return s.log.String() }

// Stop sends SIGTERM and waits for the process to end, killing it if it does not within stopTimeout.
// It returns how the process ended, nil for a clean shutdown.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.err
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("shipgate did not stop within %v of SIGTERM; killed", stopTimeout)
	}
}

// AuditExport runs `shipgate audit export --since since` on the server's database, as an auditor would
// while it runs, and returns how many entries it wrote.
func (s *Server) AuditExport(ctx context.Context, since string) (int, error) {
	cmd := exec.CommandContext(ctx, s.bin, "audit", "export", "--config", s.Config, "--since", since)
	cmd.Dir = filepath.Dir(s.Config)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("audit export: %w", err)
	}
	lines := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		lines++
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return lines, fmt.Errorf("audit export: %w: %s", err, stderr.String())
	}
	return lines, nil
}

// writeServerFiles writes shipgate.yaml and one project directory per generated project: the shipyard,
// executors.yaml and a folder per service. The web console's channel is bound to every project, with
// the people of the generated history in its roles.
func writeServerFiles(opts ServerOptions) error {
	names := make([]string, len(Projects))
	for i, p := range Projects {
		names[i] = p.Name
		files := map[string]string{"shipyard.yaml": opts.Shipyard, "executors.yaml": opts.Executors}
		for _, svc := range p.Services {
			if opts.SLO != "" {
				files[filepath.Join(svc, "slo.yaml")] = opts.SLO
			} else {
				files[filepath.Join(svc, "README.md")] = svc + "\n"
			}
		}
		for name, content := range files {
			path := filepath.Join(opts.Dir, "projects", p.Name, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return err
			}
		}
	}
	config := fmt.Sprintf(`listen: 127.0.0.1:0
database: shipgate.db
projects_dir: projects
api:
  tokens:
    - {name: %s, token: %s, projects: ["*"]}
web:
  access_token: %s
channels:
  - platform: web
    channel: %s
    projects: [%s]
    roles:
      deployer: [%s, bench]
      approver: [%s]
      auditor: [%s]
`, ciActor, APIToken, WebToken, HistoryChannel, strings.Join(names, ", "), strings.Join(deployers, ", "),
		strings.Join(approvers, ", "), approvers[0])
	return os.WriteFile(filepath.Join(opts.Dir, "shipgate.yaml"), []byte(config), 0o644)
}

// copyFile copies a closed database file.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// logTail keeps the last lines a process logged, for error messages.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

const logTailLines = 60

func (l *logTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > 2*logTailLines {
		l.lines = append(l.lines[:0], l.lines[len(l.lines)-logTailLines:]...)
	}
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-logTailLines):], "\n")
}

// errServerGone is returned by measurements when the server died under them.
var errServerGone = errors.New("shipgate exited during the measurement")
