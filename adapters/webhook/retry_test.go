package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

// answer is the nth (from 1) answer of a fake endpoint: a status and headers, or a network error.
type answer func(n int, r *http.Request) (*http.Response, error)

// statuses answers with the given codes in order, repeating the last.
func statuses(codes ...int) answer {
	return func(n int, r *http.Request) (*http.Response, error) {
		return respond(r, codes[min(n, len(codes))-1], nil), nil
	}
}

func respond(r *http.Request, code int, header http.Header) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Header: header,
		Body: http.NoBody, Request: r, ProtoMajor: 1, ProtoMinor: 1,
	}
}

// fakeClient counts requests and answers them with a, in the test's goroutine, without a network.
func fakeClient(a answer) (*http.Client, *atomic.Int32) {
	var n atomic.Int32
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return a(int(n.Add(1)), r)
	})}, &n
}

// TestBackoff checks the waits between attempts on synctest's fake clock: the time that passed in the
// bubble is exactly the sum of the backoffs, or of what Retry-After asked for.
func TestBackoff(t *testing.T) {
	tests := []struct {
		name         string
		settings     string
		answer       answer
		wantResult   store.Result
		wantStatus   store.Status
		wantAttempts int
		wantElapsed  time.Duration
	}{
		{
			"503, 503, 200 waits 1s then 2s", "backoff: 1s",
			statuses(503, 503, 200), store.ResultPass, store.StatusSucceeded, 3, 3 * time.Second,
		},
		{
			"defaults: 3 retries from 1s", "",
			statuses(500), store.ResultFail, store.StatusSucceeded, 4, (1 + 2 + 4) * time.Second,
		},
		{
			"doubling is capped at max_backoff", "{backoff: 10s, max_backoff: 15s, retries: 4}",
			statuses(502), store.ResultFail, store.StatusSucceeded, 5, (10 + 15 + 15 + 15) * time.Second,
		},
		{
			"404 does not wait", "",
			statuses(404), store.ResultFail, store.StatusSucceeded, 1, 0,
		},
		{
			"429 honours Retry-After seconds", "",
			retryAfter(http.StatusTooManyRequests, func(time.Time) string { return "7" }),
			store.ResultPass, store.StatusSucceeded, 2, 7 * time.Second,
		},
		{
			"503 honours Retry-After as an HTTP date", "",
			retryAfter(http.StatusServiceUnavailable, func(now time.Time) string {
				return now.Add(12 * time.Second).UTC().Format(http.TimeFormat)
			}),
			store.ResultPass, store.StatusSucceeded, 2, 12 * time.Second,
		},
		{
			"Retry-After is capped at max_backoff", "max_backoff: 20s",
			retryAfter(http.StatusTooManyRequests, func(time.Time) string { return "3600" }),
			store.ResultPass, store.StatusSucceeded, 2, 20 * time.Second,
		},
		{
			"a Retry-After date in the past retries at once", "",
			retryAfter(http.StatusTooManyRequests, func(now time.Time) string {
				return now.Add(-time.Hour).UTC().Format(http.TimeFormat)
			}),
			store.ResultPass, store.StatusSucceeded, 2, 0,
		},
		{
			"an unreadable Retry-After falls back to backoff", "backoff: 3s",
			retryAfter(http.StatusTooManyRequests, func(time.Time) string { return "soon" }),
			store.ResultPass, store.StatusSucceeded, 2, 3 * time.Second,
		},
		{
			"Retry-After on a 500 is not honoured", "backoff: 2s",
			retryAfter(http.StatusInternalServerError, func(time.Time) string { return "60" }),
			store.ResultPass, store.StatusSucceeded, 2, 2 * time.Second,
		},
		{
			"reset connections are retried", "backoff: 1s",
			func(n int, r *http.Request) (*http.Response, error) {
				if n < 3 {
					return nil, syscall.ECONNRESET
				}
				return respond(r, http.StatusOK, nil), nil
			},
			store.ResultPass, store.StatusSucceeded, 3, 3 * time.Second,
		},
		{
			"refused connections end errored", "{backoff: 1s, retries: 2}",
			func(int, *http.Request) (*http.Response, error) { return nil, syscall.ECONNREFUSED },
			store.ResultFail, store.StatusErrored, 3, 3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, calls := fakeClient(tt.answer)
				ex, _ := newExecutor(client, nil)
				cfg := with(t, "url: https://ci.example/hook")
				for k, v := range with(t, tt.settings) {
					cfg[k] = v
				}
				start := time.Now()
				res, err := ex.Execute(t.Context(), testTask(cfg))
				if err != nil {
					t.Fatal(err)
				}
				if elapsed := time.Since(start); elapsed != tt.wantElapsed {
					t.Errorf("elapsed %v, want %v", elapsed, tt.wantElapsed)
				}
				if got := int(calls.Load()); got != tt.wantAttempts {
					t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
				}
				if res.Result != tt.wantResult || res.Status != tt.wantStatus {
					t.Errorf("result = %s/%s, want %s/%s (%s)", res.Result, res.Status, tt.wantResult, tt.wantStatus, res.Message)
				}
				if want := fmt.Sprintf("(%s)", plural(tt.wantAttempts, "attempt")); res.Result != store.ResultFail || res.Status != store.StatusErrored {
					if !strings.Contains(res.Message, want) {
						t.Errorf("message %q does not say %s", res.Message, want)
					}
				} else if want := fmt.Sprintf("no answer after %s", plural(tt.wantAttempts, "attempt")); !strings.Contains(res.Message, want) {
					t.Errorf("message %q does not say %s", res.Message, want)
				}
			})
		})
	}
}

// retryAfter answers code with a Retry-After header once, then 200.
func retryAfter(code int, value func(now time.Time) string) answer {
	return func(n int, r *http.Request) (*http.Response, error) {
		if n > 1 {
			return respond(r, http.StatusOK, nil), nil
		}
		return respond(r, code, http.Header{"Retry-After": {value(time.Now())}}), nil
	}
}

// TestAttemptTimeout runs against an endpoint that never answers: each attempt ends at `timeout` and is
// retried, and the task ends errored.
func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, calls := fakeClient(func(_ int, r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		ex, _ := newExecutor(client, nil)
		start := time.Now()
		res, err := ex.Execute(t.Context(), testTask(with(t, "{url: https://ci.example/hook, timeout: 30s, retries: 1, backoff: 1s}")))
		if err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed != 61*time.Second {
			t.Errorf("elapsed %v, want two 30s attempts and a 1s wait", elapsed)
		}
		if calls.Load() != 2 {
			t.Errorf("%d attempts, want 2", calls.Load())
		}
		if res.Result != store.ResultFail || res.Status != store.StatusErrored {
			t.Errorf("result = %s/%s, want fail/errored", res.Result, res.Status)
		}
		if want := "POST https://ci.example/hook: no answer after 2 attempts: attempt timed out after 30s"; res.Message != want {
			t.Errorf("message = %q, want %q", res.Message, want)
		}
	})
}

// TestTaskDeadline checks that the task's deadline ends the call wherever it is: waiting between
// attempts or inside one.
func TestTaskDeadline(t *testing.T) {
	tests := []struct {
		name        string
		settings    string
		answer      answer
		wantMessage string
	}{
		{
			"while waiting to retry", "backoff: 10s", statuses(503),
			"POST https://ci.example/hook: stopped after 1 attempt: task deadline reached (last answer 503 Service Unavailable)",
		},
		{
			"during an attempt", "timeout: 1m",
			func(_ int, r *http.Request) (*http.Response, error) {
				<-r.Context().Done()
				return nil, r.Context().Err()
			},
			"POST https://ci.example/hook: stopped after 1 attempt: task deadline reached",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, _ := fakeClient(tt.answer)
				ex, _ := newExecutor(client, nil)
				cfg := with(t, "url: https://ci.example/hook")
				for k, v := range with(t, tt.settings) {
					cfg[k] = v
				}
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				start := time.Now()
				res, err := ex.Execute(ctx, testTask(cfg))
				if err != nil {
					t.Fatal(err)
				}
				if elapsed := time.Since(start); elapsed != 5*time.Second {
					t.Errorf("elapsed %v, want the 5s deadline", elapsed)
				}
				if res.Result != store.ResultFail || res.Status != store.StatusErrored || res.Message != tt.wantMessage {
					t.Errorf("result = %s/%s %q, want fail/errored %q", res.Result, res.Status, res.Message, tt.wantMessage)
				}
			})
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"99999999999999999", 24 * time.Hour, true},
		{"1.5", 0, false},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true}, // RFC 850, which RFC 9110 still accepts
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.value, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.wantOK)
		}
	}
}

// FuzzParseRetryAfter feeds it whatever a server may send: it must not panic or ask for a negative wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "0", "120", "-1", "99999999999999999999", "Sun, 01 Mar 2026 12:00:30 GMT", "soon"} {
		f.Add(seed)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := parseRetryAfter(v, now); d < 0 || !ok && d != 0 {
			t.Errorf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}
