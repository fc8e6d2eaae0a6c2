package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/bodylimit"
	"github.com/shipgate/shipgate/adapters/bodylimit/rawconn"
)

// bound keeps a broken test from hanging; what the tests wait for happens at once.
const bound = 10 * time.Second

// guarded serves the fixture's API behind its guard, as shipgate serves it, with l in every request's
// context, and returns the address.
func guarded(t *testing.T, f *fixture, l *bodylimit.Limiter) string {
	t.Helper()
	mux := http.NewServeMux()
	f.api.Register(mux)
	srv := httptest.NewUnstartedServer(f.api.Guard(mux))
	srv.Config.BaseContext = func(net.Listener) context.Context { return bodylimit.NewContext(context.Background(), l) }
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// head is a request's line and headers (name, value pairs), to which a test appends the body it sends.
func head(method, path string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: shipgate\r\n", method, path)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	return b.String()
}

// A request without a good token is answered 401 as soon as its headers are in: the body, large or
// slow, is never waited for, the refusal is audited as before, and the connection closes rather than
// take in the rest of the body.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	f := newFixture(t)
	addr := guarded(t, f, bodylimit.New(4, bound))
	stale := strconv.FormatInt(f.clock().Add(-time.Hour).Unix(), 10)
	for _, tt := range []struct {
		name   string
		path   string
		header []string
		body   string // the first part of the body, sent with the headers
		reason string // audited
	}{
		{"no credentials, 100 MiB declared", "/api/v1/deliveries", []string{"Content-Length", strconv.Itoa(100 << 20)}, `{"project":`, "no credentials"},
		{"no credentials, a small body still arriving", "/api/v1/deliveries", []string{"Content-Length", "1000"}, `{"project":`, "no credentials"},
		{"wrong token, chunked", "/api/v1/deliveries", []string{"Authorization", "Bearer ci-secreT", "Transfer-Encoding", "chunked"},
			"5\r\n{\"pro\r\n", "unknown token"},
		{"wrong x-token on Keptn's route", "/api/v1/event", []string{"X-Token", "nope", "Content-Length", "5000"}, `{"type":`, "unknown token"},
		{"signature too old to be checked", "/api/v1/deliveries",
			[]string{SignatureHeader, "sha256=" + strings.Repeat("ab", 32), TimestampHeader, stale, "Content-Length", "1000"}, `{"project":`,
			"is more than 5m0s away from shipgate's clock"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			action := "api.deliveries.create"
			if tt.path == "/api/v1/event" {
				action = "api.event"
			}
			before := len(f.audit(action))
			c := rawconn.Dial(t, addr)
			start := time.Now()
			c.Send(head("POST", tt.path, append([]string{"Content-Type", "application/json"}, tt.header...)...) + tt.body)
			res, body, err := c.Response(bound)
			if err != nil {
				t.Fatalf("no answer while the body was still to come: %v", err)
			}
			answered := time.Since(start)
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthorized"`) {
				t.Errorf("answer %d %s, want 401 unauthorized", res.StatusCode, body)
			}
			if !res.Close {
				t.Error("the answer keeps the connection open, so the server would read the rest of the body")
			}
			// The client goes on sending; the server hangs up instead of reading it all.
			stop := make(chan struct{})
			defer close(stop)
			go c.Trickle(strings.Repeat(" ", 4096), 20*time.Millisecond, stop)
			held, err := c.WaitClosed(bound)
			if err != nil {
				t.Fatalf("after the 401: %v", err)
			}
			t.Logf("401 after %v, connection closed %v later", answered.Round(time.Millisecond), held.Round(time.Millisecond))
			entries := f.audit(action)
			if len(entries) != before+1 || entries[0].Allowed || !strings.Contains(entries[0].Reason, tt.reason) {
				t.Errorf("audit: %d new entries, newest %+v; want one refusal because %q", len(entries)-before, entries[0], tt.reason)
			}
		})
	}
}

// A request with a good token may send its body at its own pace: the guard reads nothing and refuses
// nothing, and the route reads the body as it comes.
func TestAuthenticatedBodyIsRead(t *testing.T) {
	f := newFixture(t)
	addr := guarded(t, f, bodylimit.New(1, bound))
	body := string(jsonBody(t, hello()))
	c := rawconn.Dial(t, addr)
	c.Send(head("POST", "/api/v1/deliveries", "Authorization", "Bearer "+secret(tokCI), "Content-Type", "application/json",
		"Content-Length", strconv.Itoa(len(body))) + body[:10])
	c.Send(body[10:])
	res, answer, err := c.Response(bound)
	if err != nil || res.StatusCode != http.StatusAccepted || res.Close {
		t.Fatalf("answer %v %s, %v; want 202 on a kept connection", res, answer, err)
	}
	// Keptn's route takes its token from x-token, before the body too.
	event := `{"type":"sh.keptn.event.qa.delivery.triggered","source":"ci","specversion":"1.0","data":{"project":"fulltour","stage":"qa","service":"helloservice"}}`
	c.Send(head("POST", "/api/v1/event", KeptnTokenHeader, secret(tokCI), "Content-Type", "application/json",
		"Content-Length", strconv.Itoa(len(event))) + event)
	if res, answer, err := c.Response(bound); err != nil || res.StatusCode == http.StatusUnauthorized {
		t.Fatalf("Keptn event with x-token: %v %s, %v", res, answer, err)
	}
}

// A signed request's body is read in a slot of the server's limiter: with every slot held by a body
// still arriving, the next signed request is refused 503 at once; the held one, once its body is in, is
// checked and accepted.
func TestSignedBodiesShareTheLimiter(t *testing.T) {
	f := newFixture(t)
	l := bodylimit.New(1, bound)
	addr := guarded(t, f, l)
	body := string(jsonBody(t, hello()))
	ts := strconv.FormatInt(f.clock().Unix(), 10)
	signed := head("POST", "/api/v1/deliveries", "Content-Type", "application/json", "Content-Length", strconv.Itoa(len(body)),
		SignatureHeader, "sha256="+hex.EncodeToString(Sign([]byte(webhookKey), ts, []byte(body))), TimestampHeader, ts)

	holder := rawconn.Dial(t, addr)
	holder.Send(signed + body[:10])
	deadline := time.Now().Add(bound)
	for l.Reading() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the signed request never started reading its body")
		}
		time.Sleep(5 * time.Millisecond)
	}

	other := rawconn.Dial(t, addr)
	other.Send(signed + body[:10])
	res, _, err := other.Response(bound)
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !res.Close {
		t.Fatalf("signed request while the slot was held: %v, %v; want 503 with Retry-After, closing", res, err)
	}

	holder.Send(body[10:])
	res, answer, err := holder.Response(bound)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("held signed request: %v %s, %v; want 202", res, answer, err)
	}
	var tr triggered
	if err := json.Unmarshal(answer, &tr); err != nil || tr.ID == 0 {
		t.Errorf("answer %s: %v", answer, err)
	}
	if l.Reading() != 0 || l.Refused() != 1 {
		t.Errorf("limiter reading %d, refused %d; want 0 and 1", l.Reading(), l.Refused())
	}
}

// Behind the guard, every credential is judged as without it: the authentication table, shortened.
func TestGuardJudgesAsTheRoutes(t *testing.T) {
	f := newFixture(t)
	addr := guarded(t, f, bodylimit.New(4, bound))
	base := "http://" + addr
	body := jsonBody(t, hello())
	ts := strconv.FormatInt(f.clock().Unix(), 10)
	goodSig := "sha256=" + hex.EncodeToString(Sign([]byte(webhookKey), ts, body))
	for _, tt := range []struct {
		name    string
		method  string
		path    string
		body    []byte
		headers []string
		status  int
	}{
		{"no credentials", "GET", "/api/v1/deliveries", nil, nil, 401},
		{"basic auth", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Basic Y2k6Y2ktc2VjcmV0"}, 401},
		{"token", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Bearer " + secret(tokCI)}, 200},
		{"signature", "POST", "/api/v1/deliveries", body, []string{SignatureHeader, goodSig, TimestampHeader, ts}, 202},
		{"signature of another body", "POST", "/api/v1/deliveries", jsonBody(t, hello("stage", "production")),
			[]string{SignatureHeader, goodSig, TimestampHeader, ts}, 401},
		{"token lacking the project", "POST", "/api/v1/deliveries", body, []string{"Authorization", "Bearer " + secret(tokShop)}, 403},
		{"unknown route, no credentials", "GET", "/api/v1/nothing", nil, nil, 404},
		{"outside the API", "GET", "/elsewhere", nil, nil, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(string(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Errorf("%d, want %d", res.StatusCode, tt.status)
			}
		})
	}
}
