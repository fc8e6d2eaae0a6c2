package web

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/bot"
)

// An event stream outlives the server's read and write timeouts, which bound ordinary requests: an
// event posted long after both have passed still reaches the page. Closing the console still ends it.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	const bound = 10 * time.Second
	console := New(Options{Channels: []string{channel}})
	mux := http.NewServeMux()
	console.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The timeouts shipgate serves with, made short.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/web/events?channel="+channel, nil)
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

	// Both timeouts pass, several times over, before anything happens on the channel.
	<-time.After(3 * timeout)
	if _, err := console.Post(ctx, channel, bot.Message{Text: "late news"}, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		if !lines.Scan() {
			t.Fatalf("the stream ended %v after it opened, before the event (server timeouts %v): %v",
				time.Since(opened).Round(time.Millisecond), timeout, lines.Err())
		}
		if strings.HasPrefix(lines.Text(), "data: ") && strings.Contains(lines.Text(), "late news") {
			break
		}
	}
	t.Logf("event received %v after the stream opened, with server timeouts of %v", time.Since(opened).Round(time.Millisecond), timeout)

	// Shutting down closes the console first: the stream ends, so the server's shutdown need not wait.
	console.Close()
	for lines.Scan() {
	}
	if err := lines.Err(); err != nil {
		t.Errorf("the stream did not end cleanly after Close: %v", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
