package bodylimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/bodylimit/rawconn"
)

// bound is how long a test waits for what should happen at once, or after a short deadline; it only
// keeps a broken test from hanging.
const bound = 10 * time.Second

// serve runs h on a real server on loopback whose requests carry l, and returns its address.
func serve(t *testing.T, l *Limiter, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: bound,
		BaseContext: func(net.Listener) context.Context { return NewContext(context.Background(), l) }}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// post is a request with a body of n bytes, of which it sends the first part only.
func post(n int, part string) string {
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", n, part)
}

// With every slot taken by a body that is still arriving, the next request is answered 503 at once,
// not queued; the slots free as the bodies arrive.
func TestRefusesWhenEverySlotIsTaken(t *testing.T) {
	l := New(2, bound)
	admitted := make(chan struct{})
	addr := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		release, ok := Admit(w, r)
		if !ok {
			Refuse(w, r)
			return
		}
		defer release()
		admitted <- struct{}{}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d bytes", len(body))
	})

	// Two senders that have sent their headers and hold their bodies take both slots.
	held := []*rawconn.Conn{rawconn.Dial(t, addr), rawconn.Dial(t, addr)}
	for _, c := range held {
		c.Send(post(5, "a"))
		select {
		case <-admitted:
		case <-time.After(bound):
			t.Fatal("the request was not admitted")
		}
	}
	if l.Reading() != 2 {
		t.Fatalf("%d bodies being read, want 2", l.Reading())
	}

	third := rawconn.Dial(t, addr)
	third.Send(post(1000, "b"))
	res, body, err := third.Response(bound)
	if err != nil {
		t.Fatalf("no answer while the slots were full: %v", err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != RetryAfter || !res.Close {
		t.Errorf("answer %d, Retry-After %q, close %v; want 503, %s, close", res.StatusCode, res.Header.Get("Retry-After"), res.Close, RetryAfter)
	}
	if !strings.Contains(string(body), "retry shortly") {
		t.Errorf("body %q", body)
	}
	if _, err := third.WaitClosed(bound); err != nil {
		t.Errorf("refused connection: %v", err)
	}
	if l.Refused() != 1 {
		t.Errorf("refused %d, want 1", l.Refused())
	}

	// The bodies arrive; their slots free before the answers go out, and the next request gets in.
	for _, c := range held {
		c.Send("bcde")
		if res, body, err := c.Response(bound); err != nil || res.StatusCode != http.StatusOK || string(body) != "5 bytes" {
			t.Fatalf("held request: %v %v %q", res, err, body)
		}
	}
	if l.Reading() != 0 {
		t.Errorf("%d bodies being read after they all arrived", l.Reading())
	}
	go func() { <-admitted }()
	if res, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello")); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("after the slots freed: %v %v", res, err)
	}
}

// A body that does not arrive within the Limiter's deadline fails with a deadline error, its slot goes
// back, and the server closes the connection instead of waiting for the rest.
func TestSlowBodyIsCutAtTheDeadline(t *testing.T) {
	l := New(1, 300*time.Millisecond)
	failed := make(chan error, 1)
	addr := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		_, err := Read(w, r, 1<<20)
		failed <- err
		http.Error(w, "too slow", http.StatusRequestTimeout)
	})
	c := rawconn.Dial(t, addr)
	start := time.Now()
	c.Send(post(100, "x"))
	stop := make(chan struct{})
	defer close(stop)
	go c.Trickle(strings.Repeat("y", 99), 100*time.Millisecond, stop)
	select {
	case err := <-failed:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read = %v, want a deadline error", err)
		}
	case <-time.After(bound):
		t.Fatal("the slow body was not cut")
	}
	if _, err := c.WaitClosed(bound); err != nil {
		t.Fatalf("slow sender: %v", err)
	}
	t.Logf("a body trickling a byte every 100ms was cut and its connection closed %v after it started", time.Since(start).Round(time.Millisecond))
	if l.Reading() != 0 {
		t.Errorf("the slot was not given back")
	}
}

// Once a body is read whole, its deadline no longer applies: the request's context lives on while the
// handler works, past the time the body had to arrive.
func TestReadBodyLeavesTheHandlerItsTime(t *testing.T) {
	const timeout = 200 * time.Millisecond
	l := New(1, timeout)
	addr := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		body, err := Read(w, r, 1<<20)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "context ended while the handler worked", http.StatusInternalServerError)
		case <-time.After(3 * timeout):
			fmt.Fprintf(w, "%s", body)
		}
	})
	res, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("%d %q", res.StatusCode, body)
	}
}

// A body larger than the limit is an *http.MaxBytesError, and its slot goes back.
func TestReadTooLarge(t *testing.T) {
	l := New(1, bound)
	got := make(chan error, 1)
	addr := serve(t, l, func(w http.ResponseWriter, r *http.Request) {
		_, err := Read(w, r, 4)
		got <- err
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})
	res, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var tooBig *http.MaxBytesError
	if err := <-got; !errors.As(err, &tooBig) {
		t.Errorf("Read = %v, want *http.MaxBytesError", err)
	}
	if l.Reading() != 0 {
		t.Errorf("the slot was not given back")
	}
}

// Without a Limiter, as in a handler's own tests, Read reads with the size limit only.
func TestReadWithoutLimiter(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("hello"))
	if body, err := Read(httptest.NewRecorder(), r, 10); err != nil || string(body) != "hello" {
		t.Errorf("Read = %q, %v", body, err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("hello"))
	var tooBig *http.MaxBytesError
	if _, err := Read(httptest.NewRecorder(), r, 4); !errors.As(err, &tooBig) {
		t.Errorf("Read = %v, want *http.MaxBytesError", err)
	}
}

// A handler that answers without reading the body gets its answer out at once, even though the body is
// still arriving, and the connection closes instead of serving the rest of the body to net/http.
func TestLeaveUnread(t *testing.T) {
	addr := serve(t, New(1, bound), func(w http.ResponseWriter, r *http.Request) {
		LeaveUnread(w, r)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
	for _, tt := range []struct{ name, head string }{
		{"declared length", post(1000, "{\"a\":")},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := rawconn.Dial(t, addr)
			c.Send(tt.head)
			res, _, err := c.Response(bound)
			if err != nil {
				t.Fatalf("no answer before the body arrived: %v", err)
			}
			if res.StatusCode != http.StatusUnauthorized || !res.Close {
				t.Errorf("answer %d, close %v; want 401 and close", res.StatusCode, res.Close)
			}
			stop := make(chan struct{})
			defer close(stop)
			go c.Trickle(strings.Repeat("y", 1000), 50*time.Millisecond, stop)
			held, err := c.WaitClosed(bound)
			if err != nil {
				t.Fatalf("slow sender after the answer: %v", err)
			}
			t.Logf("connection closed %v after the answer", held.Round(time.Millisecond))
		})
	}
}
