package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/bodylimit/rawconn"
	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
)

// httpBound keeps a broken test from hanging. What the tests wait for happens within a timeout of a
// few hundred milliseconds; the bound only says when to give up.
const httpBound = 10 * time.Second

// shortHTTP is the http section with timeouts short enough for a test.
func shortHTTP() config.HTTPConfig {
	h := config.DefaultHTTP()
	h.ReadHeaderTimeout = 300 * time.Millisecond
	h.ReadTimeout = 500 * time.Millisecond
	h.WriteTimeout = 500 * time.Millisecond
	h.IdleTimeout = 300 * time.Millisecond
	h.UnverifiedBodies = 2
	h.UnverifiedBodyTimeout = 500 * time.Millisecond
	return h
}

// startHTTP serves h with newHTTPServer on a free loopback port until the test ends.
func startHTTP(t *testing.T, hc config.HTTPConfig, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(hc, h, nil, slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// upload reads the whole body, as a handler of a large request does.
var upload = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d bytes\n", len(body))
})

// A client sending its body a byte at a time is cut off at read_timeout, however long its body.
func TestHTTPServerCutsTricklingBody(t *testing.T) {
	hc := shortHTTP()
	addr := startHTTP(t, hc, upload)
	c := rawconn.Dial(t, addr)
	start := time.Now()
	c.Send("POST /upload HTTP/1.1\r\nHost: shipgate\r\nContent-Length: 1000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go c.Trickle(strings.Repeat("x", 1000), 50*time.Millisecond, stop)
	if _, err := c.WaitClosed(httpBound); err != nil {
		t.Fatalf("a body trickling a byte every 50ms: %v after %v", err, httpBound)
	}
	t.Logf("trickling connection closed %v after it started (read_timeout %v)", time.Since(start).Round(time.Millisecond), hc.ReadTimeout)
}

// A keep-alive connection that waits for its next request is closed at idle_timeout.
func TestHTTPServerClosesIdleConnections(t *testing.T) {
	hc := shortHTTP()
	addr := startHTTP(t, hc, newHandler(okPinger{}, slog.New(slog.DiscardHandler)))
	c := rawconn.Dial(t, addr)
	c.Send("GET /healthz HTTP/1.1\r\nHost: shipgate\r\n\r\n")
	if res, _, err := c.Response(httpBound); err != nil || res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("/healthz: %v, %v; want 200 on a kept connection", res, err)
	}
	held, err := c.WaitClosed(httpBound)
	if err != nil {
		t.Fatalf("idle keep-alive connection: %v", err)
	}
	t.Logf("idle connection closed %v after its answer (idle_timeout %v)", held.Round(time.Millisecond), hc.IdleTimeout)
}

// Headers beyond max_header_bytes are answered 431; headers well under it pass.
func TestHTTPServerRefusesOversizedHeaders(t *testing.T) {
	hc := config.DefaultHTTP()
	addr := startHTTP(t, hc, newHandler(okPinger{}, slog.New(slog.DiscardHandler)))
	for _, tt := range []struct {
		size int
		want int
	}{
		{hc.MaxHeaderBytes / 2, http.StatusOK},
		{hc.MaxHeaderBytes + 32<<10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		c := rawconn.Dial(t, addr)
		c.Send("GET /healthz HTTP/1.1\r\nHost: shipgate\r\nX-Padding: " + strings.Repeat("p", tt.size) + "\r\n\r\n")
		res, _, err := c.Response(httpBound)
		if err != nil || res.StatusCode != tt.want {
			t.Errorf("%d bytes of headers: %v, %v; want %d", tt.size, res, err, tt.want)
		}
	}
}

const boundsSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// serve applies the http section end to end: the API judges credentials before bodies, Slack's and
// Discord's bodies share the limiter, trickling and idle connections are cut, and the web console's event stream lives
// past the write timeout and still ends at shutdown.
func TestServeBoundsConnections(t *testing.T) {
	fake := slackfake.New(t)
	dfake := discordfake.New(t)
	pub, priv := discordfake.GenerateKey(t)
	dir := t.TempDir()
	configtest.WriteFiles(t, dir, map[string]string{
		"projects/citour/shipyard.yaml":  ciShipyard,
		"projects/citour/executors.yaml": "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n",
		"projects/citour/web/README.md":  "web\n",
		"shipgate.yaml": `database: shipgate.db
projects_dir: projects
web: {}
slack:
  bot_token: xoxb-test
  signing_secret: ` + boundsSecret + `
  api_url: ` + fake.APIURL() + `
discord:
  application_id: "` + discordfake.DefaultAppID + `"
  public_key: ` + discordfake.PublicKeyHex(pub) + `
  bot_token: ` + discordfake.DefaultToken + `
  api_url: ` + dfake.URL() + `/
channels:
  - {platform: web, channel: ops, projects: [citour]}
api:
  tokens:
    - {name: ci, token: ` + ciToken + `, projects: [citour]}
http:
  read_header_timeout: 300ms
  read_timeout: 500ms
  write_timeout: 500ms
  idle_timeout: 300ms
  unverified_bodies: 2
  unverified_body_timeout: 500ms
`,
	})
	base, _, stop := startServe(t, filepath.Join(dir, "shipgate.yaml"))
	addr := strings.TrimPrefix(base, "http://")

	t.Run("unauthenticated API body is not read", func(t *testing.T) {
		c := rawconn.Dial(t, addr)
		c.Send("POST /api/v1/deliveries HTTP/1.1\r\nHost: shipgate\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"pro")
		res, _, err := c.Response(httpBound)
		if err != nil || res.StatusCode != http.StatusUnauthorized || !res.Close {
			t.Fatalf("%v, %v; want 401 at once, closing", res, err)
		}
		if _, err := c.WaitClosed(httpBound); err != nil {
			t.Errorf("after the 401: %v", err)
		}
	})

	t.Run("authenticated trickling body is cut", func(t *testing.T) {
		c := rawconn.Dial(t, addr)
		start := time.Now()
		c.Send("POST /api/v1/deliveries HTTP/1.1\r\nHost: shipgate\r\nAuthorization: Bearer " + ciToken + "\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go c.Trickle(strings.Repeat(" ", 1000), 50*time.Millisecond, stop)
		if _, err := c.WaitClosed(httpBound); err != nil {
			t.Fatalf("trickling API request: %v", err)
		}
		t.Logf("closed %v after it started", time.Since(start).Round(time.Millisecond))
	})

	t.Run("idle keep-alive connection is closed", func(t *testing.T) {
		c := rawconn.Dial(t, addr)
		c.Send("GET /healthz HTTP/1.1\r\nHost: shipgate\r\n\r\n")
		if res, _, err := c.Response(httpBound); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %v, %v", res, err)
		}
		if _, err := c.WaitClosed(httpBound); err != nil {
			t.Fatalf("idle connection: %v", err)
		}
	})

	t.Run("Slack and Discord bodies share the limiter", func(t *testing.T) {
		form := fake.CommandForm("CREL01", "UDEV01", "help", "1.1.bounds").Encode()
		h := http.Header{}
		slackfake.Sign(h, boundsSecret, time.Now(), []byte(form))
		toSlack := "POST /slack/commands HTTP/1.1\r\nHost: shipgate\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"X-Slack-Request-Timestamp: " + h.Get("X-Slack-Request-Timestamp") + "\r\nX-Slack-Signature: " + h.Get("X-Slack-Signature") + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(form)) + "\r\n\r\n" + form[:5]
		ping := []byte(`{"type":1,"id":"1300000000000000001","application_id":"` + discordfake.DefaultAppID + `","token":"t","version":1}`)
		dreq := discordfake.SignedRequest(t, base+"/discord/interactions", priv, ping, time.Now())
		toDiscord := "POST /discord/interactions HTTP/1.1\r\nHost: shipgate\r\nContent-Type: application/json\r\n" +
			"X-Signature-Ed25519: " + dreq.Header.Get("X-Signature-Ed25519") + "\r\nX-Signature-Timestamp: " + dreq.Header.Get("X-Signature-Timestamp") + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(ping)) + "\r\n\r\n" + string(ping[:5])
		// A Slack and a Discord request that hold their bodies take both slots.
		rawconn.Dial(t, addr).Send(toSlack)
		rawconn.Dial(t, addr).Send(toDiscord)
		waitMetric(t, base, "shipgate_http_unverified_bodies_reading", 2)
		for name, head := range map[string]string{"Slack": toSlack, "Discord": toDiscord} {
			c := rawconn.Dial(t, addr)
			c.Send(head)
			res, _, err := c.Response(httpBound)
			if err != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
				t.Fatalf("%s request with the slots full: %v, %v; want 503 with Retry-After at once", name, res, err)
			}
		}
		// The held bodies are cut at unverified_body_timeout; then Slack and Discord get in again.
		waitMetric(t, base, "shipgate_http_unverified_bodies_reading", 0)
		for name, req := range map[string]*http.Request{
			"Slack":   slackfake.SignedRequest(t, base+"/slack/commands", boundsSecret, time.Now(), url.Values{}),
			"Discord": discordfake.SignedRequest(t, base+"/discord/interactions", priv, ping, time.Now()),
		} {
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusUnauthorized {
				t.Fatalf("%s request once the slots freed: %v, %v; want it read and verified", name, res, err)
			}
			res.Body.Close()
		}
		waitMetric(t, base, "shipgate_http_unverified_bodies_refused_total", 2)
	})

	t.Run("web console stream outlives the write timeout and ends at shutdown", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), httpBound)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/web/events?channel=ops", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		lines := bufio.NewScanner(res.Body)
		if !lines.Scan() || lines.Text() != "retry: 2000" {
			t.Fatalf("stream opened with %q, %v", lines.Text(), lines.Err())
		}
		opened := time.Now()
		<-time.After(3 * 500 * time.Millisecond) // the write timeout, three times over
		code, body := triggerCI(t, base)
		if code != http.StatusAccepted {
			t.Fatalf("trigger: %d %s", code, body)
		}
		for !strings.HasPrefix(lines.Text(), "data: ") {
			if !lines.Scan() {
				t.Fatalf("the stream ended %v after it opened, before the delivery's message: %v", time.Since(opened).Round(time.Millisecond), lines.Err())
			}
		}
		t.Logf("event received %v after the stream opened (write_timeout 500ms)", time.Since(opened).Round(time.Millisecond))
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		for lines.Scan() {
		}
		select {
		case <-stopped:
		case <-time.After(httpBound):
			t.Fatal("serve did not stop with an event stream open")
		}
	})
}

func triggerCI(t *testing.T, base string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/deliveries",
		strings.NewReader(`{"project":"citour","service":"web","image":"ghcr.io/acme/web:v0.1.1"}`))
	req.Header.Set("Authorization", "Bearer "+ciToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// waitMetric waits until /metrics shows name with value want.
func waitMetric(t *testing.T, base, name string, want float64) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`)
	deadline := time.Now().Add(httpBound)
	last := "absent"
	for time.Now().Before(deadline) {
		_, body := get(t, base+"/metrics")
		if m := re.FindStringSubmatch(body); m != nil {
			last = m[1]
			if v, _ := strconv.ParseFloat(m[1], 64); v == want {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s is %s, want %g", name, last, want)
}
