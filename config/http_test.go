package config

import (
	"reflect"
	"testing"
	"time"
)

func TestHTTPDefaults(t *testing.T) {
	cfg, diags := Parse("shipgate.yaml", []byte("listen: :8080\n"), env(nil))
	checkDiags(t, diags)
	if !reflect.DeepEqual(cfg.HTTP, DefaultHTTP()) {
		t.Errorf("http = %+v, want the defaults %+v", cfg.HTTP, DefaultHTTP())
	}
	// A section that sets one key keeps the defaults of the others.
	cfg, diags = Parse("shipgate.yaml", []byte("http:\n  idle_timeout: 5m\n"), env(nil))
	checkDiags(t, diags)
	want := DefaultHTTP()
	want.IdleTimeout = 5 * time.Minute
	cfg.HTTP.Pos = Pos{}
	if !reflect.DeepEqual(cfg.HTTP, want) {
		t.Errorf("http = %+v, want %+v", cfg.HTTP, want)
	}
}

func TestHTTPSettings(t *testing.T) {
	doc := `http:
  read_header_timeout: 2s
  read_timeout: 20s
  write_timeout: 45s
  idle_timeout: 90s
  max_header_bytes: 16384
  unverified_bodies: 8
  unverified_body_timeout: 3s
`
	cfg, diags := Parse("shipgate.yaml", []byte(doc), env(nil))
	checkDiags(t, diags)
	h := cfg.HTTP
	if h.ReadHeaderTimeout != 2*time.Second || h.ReadTimeout != 20*time.Second || h.WriteTimeout != 45*time.Second ||
		h.IdleTimeout != 90*time.Second || h.MaxHeaderBytes != 16384 || h.UnverifiedBodies != 8 || h.UnverifiedBodyTimeout != 3*time.Second {
		t.Errorf("http = %+v", h)
	}
}

func TestHTTPErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		want []want
	}{
		{"zero and negative", "http:\n  read_timeout: 0s\n  write_timeout: -1s\n  idle_timeout: 0s\n  read_header_timeout: 0s\n  unverified_body_timeout: 0s\n", []want{
			errAt(2, "http.read_timeout must be positive"),
			errAt(3, "http.write_timeout must be positive"),
			errAt(4, "http.idle_timeout must be positive"),
			errAt(5, "http.read_header_timeout must be positive"),
			errAt(6, "http.unverified_body_timeout must be positive"),
		}},
		{"parts longer than the whole", "http:\n  read_timeout: 5s\n  read_header_timeout: 10s\n  unverified_body_timeout: 6s\n", []want{
			errAt(3, "http.read_header_timeout (10s) is longer than http.read_timeout (5s)"),
			errAt(4, "http.unverified_body_timeout (6s) is longer than http.read_timeout (5s)"),
		}},
		{"the default read timeout bounds the parts too", "http:\n  read_header_timeout: 1m\n", []want{
			errAt(2, "http.read_header_timeout (1m0s) is longer than http.read_timeout (30s)"),
		}},
		{"sizes and counts", "http:\n  max_header_bytes: 1024\n  unverified_bodies: 0\n  max_connections: -1\n", []want{
			errAt(2, "http.max_header_bytes must be at least 4096"),
			errAt(3, "http.unverified_bodies must be positive"),
			errAt(4, "http.max_connections must be 0 (from the open-file limit) or positive"),
		}},
		{"a duration without a unit", "http:\n  idle_timeout: 120\n", []want{
			errAt(2, `http.idle_timeout: expected a duration such as 30s, 5m or 1h, got "120"`),
		}},
		{"unknown key", "http:\n  max_conns: 10\n", []want{
			errAt(2, `unknown key "max_conns" in http; expected one of: read_header_timeout, read_timeout, write_timeout, idle_timeout, max_header_bytes, unverified_bodies, unverified_body_timeout, max_connections`),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("shipgate.yaml", []byte(tt.doc), env(nil))
			checkDiags(t, diags, tt.want...)
		})
	}
}
