package slack

import (
	"testing"

	"github.com/shipgate/shipgate/config"
)

func TestModeDefaults(t *testing.T) {
	for _, tt := range []struct{ doc, mode string }{
		{"slack: {bot_token: x, signing_secret: y}\n", ModeHTTP},
		{"slack: {bot_token: x, app_token: xapp-1}\n", ModeSocket},
		{"slack: {bot_token: x, signing_secret: y, app_token: xapp-1}\n", ModeHTTP},
	} {
		cfg, diags := config.Parse("shipgate.yaml", []byte(tt.doc), func(string) (string, bool) { return "", false })
		if diags.HasErrors() {
			t.Fatalf("%q: %v", tt.doc, diags.Err())
		}
		s, ok := config.Platform[*Config](cfg, "slack")
		if !ok || s.Mode != tt.mode || s.GroupCacheTTL != DefaultGroupCacheTTL {
			t.Errorf("%q: %+v; want mode %q, ttl %s", tt.doc, s, tt.mode, DefaultGroupCacheTTL)
		}
	}
}
