package config_test

import (
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/slack"
	"github.com/shipgate/shipgate/config"

	// The platforms register their sections, as shipgate's binary has them; the package's own tests load
	// configs with slack, discord and web sections.
	_ "github.com/shipgate/shipgate/adapters/platforms"
)

// A platform's section decodes into its adapter's type, with the decoder's strictness (unknown keys,
// types, *_file secrets), and the adapter checks it; a channel may be bound only on a configured,
// registered platform.
func TestPlatformSections(t *testing.T) {
	doc := "slack:\n  bot_token: x\n  signing_secret: y\n  group_cache_ttl: 1m\nchannels:\n  - {platform: slack, channel: C1, projects: [p]}\n"
	cfg, diags := config.Parse("shipgate.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	s, ok := config.Platform[*slack.Config](cfg, "slack")
	if !ok || s.BotToken.Reveal() != "x" || s.Mode != slack.ModeHTTP || s.GroupCacheTTL.Minutes() != 1 || s.Line != 2 {
		t.Errorf("slack section: %+v %v", s, ok)
	}
	if got := strings.Join(config.PlatformNames(), ","); got != "discord,slack,web" {
		t.Errorf("platforms %s", got)
	}
	for _, tt := range []struct{ doc, want string }{
		{"slack:\n  bot_tokn: x\n", `shipgate.yaml:2: unknown key "bot_tokn" in slack`},
		{"slack:\n  bot_token: x\n  signing_secret: y\n  mode: carrier-pigeon\n", `shipgate.yaml:4: slack.mode "carrier-pigeon" is not one of http, socket`},
		{"discord:\n  application_id: 1\n  public_key: nothex\n  bot_token: t\n", "shipgate.yaml:3: discord.public_key must be the application's public key"},
		{"channels:\n  - {platform: slack, channel: C1, projects: [p]}\n", "shipgate.yaml:2: channels[0]: platform slack is not configured; add a slack section"},
		{"channels:\n  - {platform: teams, channel: C1, projects: [p]}\n", `shipgate.yaml:2: channels[0]: platform "teams" is not one of discord, slack, web`},
	} {
		_, diags := config.Parse("shipgate.yaml", []byte(tt.doc), func(string) (string, bool) { return "", false })
		if err := diags.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.doc, err, tt.want)
		}
	}
}
