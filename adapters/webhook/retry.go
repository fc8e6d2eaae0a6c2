package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// request is a rendered HTTP call, sent as it is on every attempt.
type request struct {
	method string
	url    *url.URL
	header http.Header
	host   string // a Host header, which Go takes from Request.Host rather than the header map
	body   string
}

// response is an answer, its body cut at max_response.
type response struct {
	code      int
	header    http.Header
	body      []byte
	truncated bool
}

// status is the answer's code and reason for chat, such as "404 Not Found".
func (r *response) status() string {
	if text := http.StatusText(r.code); text != "" {
		return strconv.Itoa(r.code) + " " + text
	}
	return strconv.Itoa(r.code)
}

// outcome is how a call ended, after its retries.
type outcome struct {
	resp     *response // the last answer; nil when the last attempt got none
	err      error     // why the last attempt got no answer
	attempts int
	stopped  error // the task's ctx error when it ended before the call did
}

// caller sends requests with a per-attempt timeout, retrying what may succeed on another try.
type caller struct {
	client *http.Client
	log    *slog.Logger
	redact *redactor
	s      *settings
}

// call sends req until it gets an answer that retrying cannot change: an expected status, or a 4xx other
// than 408 and 429. 5xx, 408, 429 and failures to get an answer at all (refused or reset connections,
// attempt timeouts) are retried up to `retries` times, waiting `backoff`, doubled after each attempt and
// capped at `max_backoff`; a Retry-After on 429 or 503 replaces the wait, with the same cap. There is no
// jitter: one task calls one endpoint, so there is no herd of clients to spread out. The task's ctx
// bounds everything, waits included.
func (c *caller) call(ctx context.Context, req request, expected func(int) bool) outcome {
	var out outcome
	wait := c.s.backoff
	log := c.log.With("method", req.method, "url", c.redact.string(displayURL(req.url)))
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, req)
		out.attempts, out.resp, out.err = attempt, resp, err
		if ctx.Err() != nil {
			out.stopped = ctx.Err()
			return out
		}
		var retryAfter time.Duration
		var hasRetryAfter bool
		if err != nil {
			if !retryableError(err) {
				log.Warn("webhook call failed", "attempt", attempt, "err", describeError(c.redact, err))
				return out
			}
		} else {
			if expected(resp.code) || !retryableStatus(resp.code) {
				log.Debug("webhook answered", "attempt", attempt, "status", resp.code)
				return out
			}
			if resp.code == http.StatusTooManyRequests || resp.code == http.StatusServiceUnavailable {
				retryAfter, hasRetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
			}
		}
		if attempt > c.s.retries {
			return out
		}
		delay := wait
		if hasRetryAfter {
			delay = min(retryAfter, c.s.maxBackoff)
		}
		wait = min(2*wait, c.s.maxBackoff)
		attrs := []any{"attempt", attempt, "retry_in", delay}
		if err != nil {
			attrs = append(attrs, "err", describeError(c.redact, err))
		} else {
			attrs = append(attrs, "status", resp.code)
		}
		log.Warn("webhook call failed; retrying", attrs...)
		if !sleep(ctx, delay) {
			out.stopped = ctx.Err()
			return out
		}
	}
}

// attempt sends req once, bounded by `timeout`, and reads at most max_response bytes of the answer.
func (c *caller) attempt(ctx context.Context, req request) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(actx, req.method, req.url.String(), body)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("building the request: %w", err)}
	}
	hr.Header = req.header.Clone()
	if req.host != "" {
		hr.Host = req.host
	}
	hresp, err := c.client.Do(hr)
	if err != nil {
		return nil, c.attemptError(ctx, actx, err)
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, int64(c.s.maxResponse)+1))
	if err != nil {
		return nil, c.attemptError(ctx, actx, fmt.Errorf("reading the response: %w", err))
	}
	resp := &response{code: hresp.StatusCode, header: hresp.Header, body: b}
	if len(b) > c.s.maxResponse {
		resp.body, resp.truncated = b[:c.s.maxResponse], true
	}
	return resp, nil
}

// attemptError tells an attempt that ran out of its own time from other failures, whose messages would
// only say "context deadline exceeded".
func (c *caller) attemptError(ctx, actx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &timeoutError{c.s.timeout}
	}
	return err
}

// timeoutError is an attempt that got no answer within `timeout`.
type timeoutError struct{ timeout time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("attempt timed out after %s", e.timeout) }

// permanentError is a failure that another attempt would repeat.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retryableStatus reports whether an answer with this status may differ on another attempt.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// retryableError reports whether a failure to get an answer may be transient. Certificate problems are
// not: they need someone to fix the server or the trust store.
func retryableError(err error) bool {
	var (
		perm       *permanentError
		verify     *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalidCrt x509.CertificateInvalidError
	)
	return !errors.As(err, &perm) && !errors.As(err, &verify) && !errors.As(err, &unknownCA) &&
		!errors.As(err, &hostname) && !errors.As(err, &invalidCrt)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. A date in the past means
// no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Anything past a day is capped by max_backoff anyway; stop here before the multiplication overflows.
		return time.Duration(min(secs, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d, or until ctx ends, and reports whether it waited the whole time. It uses a timer rather
// than a clock of its own, so testing/synctest's fake time drives it.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// unwrapURLError drops the *url.Error wrapper, whose message quotes the whole URL, query string and all.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// displayURL is a URL for chat: scheme, host and path, without credentials, query or fragment, which are
// long and may carry tokens.
func displayURL(u *url.URL) string {
	d := *u
	d.User, d.RawQuery, d.ForceQuery, d.Fragment, d.RawFragment = nil, "", false, "", ""
	return d.String()
}
