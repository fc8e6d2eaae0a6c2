package config

import "time"

// HTTPConfig bounds what one client can hold of the HTTP listener: how long a request may take to
// arrive and its answer to leave, how long an idle keep-alive connection stays open, how large its
// headers may be, and how many bodies of requests not yet verified (Slack's and Discord's, signed API
// calls) are read at once. Every field has a default; validation keeps each one positive.
type HTTPConfig struct {
	Pos `yaml:"-"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, headers and body.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from the end of its headers to the end of its answer; the web
	// console's event streams are exempt.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes a keep-alive connection that waits this long for its next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps a request's header lines; larger headers are answered 431.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// UnverifiedBodies is how many bodies of requests not yet verified may be read at once; a request
	// finding them all taken is answered 503 with Retry-After at once.
	UnverifiedBodies int `yaml:"unverified_bodies"`
	// UnverifiedBodyTimeout bounds reading one such body, so that a client sending it slowly gives its
	// slot back soon.
	UnverifiedBodyTimeout time.Duration `yaml:"unverified_body_timeout"`
	// MaxConnections caps the connections held open at once, so that clients can never take every file
	// descriptor the database and commands need. A new connection past it first closes idle keep-alive
	// connections, oldest first; when none is idle, the new one is closed. 0 derives it from the
	// process's open-file limit (RLIMIT_NOFILE), keeping 64 descriptors for everything else.
	MaxConnections int `yaml:"max_connections"`
}

// Defaults of the http section. Shipgate's answers are quick: Slack and Discord want theirs within 3 s,
// the API's take milliseconds, and the longest one writes a page of deliveries; only the web console's
// event streams last, and they manage their own deadlines. The idle timeout outlasts the 60 s idle
// timeout of common load balancers and proxies (AWS ALB, nginx's upstream keepalive_timeout), so that
// the proxy closes an idle connection first and never sends a request on one shipgate has just closed.
const (
	DefaultReadHeaderTimeout     = 10 * time.Second
	DefaultReadTimeout           = 30 * time.Second
	DefaultWriteTimeout          = 60 * time.Second
	DefaultIdleTimeout           = 120 * time.Second
	DefaultMaxHeaderBytes        = 64 << 10
	DefaultUnverifiedBodies      = 32
	DefaultUnverifiedBodyTimeout = 10 * time.Second
)

// minHeaderBytes is the smallest max_header_bytes accepted: browsers send 1-2 KiB of headers and
// Slack's signed requests about 1 KiB; below this, ordinary requests would be refused.
const minHeaderBytes = 4 << 10

// DefaultHTTP returns the http section's defaults.
func DefaultHTTP() HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout:     DefaultReadHeaderTimeout,
		ReadTimeout:           DefaultReadTimeout,
		WriteTimeout:          DefaultWriteTimeout,
		IdleTimeout:           DefaultIdleTimeout,
		MaxHeaderBytes:        DefaultMaxHeaderBytes,
		UnverifiedBodies:      DefaultUnverifiedBodies,
		UnverifiedBodyTimeout: DefaultUnverifiedBodyTimeout,
	}
}

func (h *HTTPConfig) validate(d diagnoser) {
	for _, t := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", h.ReadHeaderTimeout},
		{"read_timeout", h.ReadTimeout},
		{"write_timeout", h.WriteTimeout},
		{"idle_timeout", h.IdleTimeout},
		{"unverified_body_timeout", h.UnverifiedBodyTimeout},
	} {
		if t.v <= 0 {
			d.errorf(h.LineOf(t.key), "http.%s must be positive", t.key)
		}
	}
	// A part of a request cannot have longer than the whole of it; the server would cut it at
	// read_timeout all the same, and the setting would only mislead.
	if h.ReadTimeout > 0 && h.ReadHeaderTimeout > h.ReadTimeout {
		d.errorf(h.LineOf("read_header_timeout"), "http.read_header_timeout (%s) is longer than http.read_timeout (%s), which bounds the whole request", h.ReadHeaderTimeout, h.ReadTimeout)
	}
	if h.ReadTimeout > 0 && h.UnverifiedBodyTimeout > h.ReadTimeout {
		d.errorf(h.LineOf("unverified_body_timeout"), "http.unverified_body_timeout (%s) is longer than http.read_timeout (%s), which bounds the whole request", h.UnverifiedBodyTimeout, h.ReadTimeout)
	}
	if h.MaxHeaderBytes < minHeaderBytes {
		d.errorf(h.LineOf("max_header_bytes"), "http.max_header_bytes must be at least %d; browsers and chat platforms send a few KiB of headers", minHeaderBytes)
	}
	if h.MaxConnections < 0 {
		d.errorf(h.LineOf("max_connections"), "http.max_connections must be 0 (from the open-file limit) or positive")
	}
	if h.UnverifiedBodies <= 0 {
		d.errorf(h.LineOf("unverified_bodies"), "http.unverified_bodies must be positive; Slack, Discord and signed API calls need at least one")
	}
}
