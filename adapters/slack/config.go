package slack

import (
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
)

// Config is shipgate.yaml's slack section: it connects shipgate to a Slack workspace.
type Config struct {
	config.Pos        `yaml:"-"`
	BotToken          config.Secret `yaml:"bot_token"`
	BotTokenFile      string        `yaml:"bot_token_file,omitempty"`
	SigningSecret     config.Secret `yaml:"signing_secret,omitempty"`
	SigningSecretFile string        `yaml:"signing_secret_file,omitempty"`
	// AppToken (xapp-…) enables Socket Mode for workspaces that cannot reach shipgate over HTTP.
	AppToken     config.Secret `yaml:"app_token,omitempty"`
	AppTokenFile string        `yaml:"app_token_file,omitempty"`
	// Mode is how Slack reaches shipgate: "http" (the /slack/* endpoints, verified with signing_secret)
	// or "socket" (Socket Mode over the app token, for workspaces with no public ingress). When absent it
	// is "socket" if only app_token is set, else "http".
	Mode string `yaml:"mode,omitempty"`
	// APIURL points the client at another Web API base URL, such as a local fake in tests. It must end
	// in a slash, as slack-go appends method names to it.
	APIURL string `yaml:"api_url,omitempty"`
	// GroupCacheTTL is how long the members of a user group named in roles count as fresh; the bot
	// fetches them again at 80% of it, and uses stale members up to 10 times it while fetching fails.
	// Absent means DefaultGroupCacheTTL.
	GroupCacheTTL time.Duration `yaml:"group_cache_ttl,omitempty"`
}

// DefaultGroupCacheTTL is slack.group_cache_ttl when absent: a member removed from a user group can
// still approve for this long.
const DefaultGroupCacheTTL = 5 * time.Minute

// Slack modes.
const (
	ModeHTTP   = "http"
	ModeSocket = "socket"
)

func init() {
	config.RegisterPlatform("slack", func() config.PlatformConfig { return &Config{} })
}

// Check fills in the mode and the group cache's lifetime, and checks the section.
func (s *Config) Check(c *config.Checker) {
	if s.Mode == "" {
		s.Mode = ModeHTTP
		if s.AppToken.IsSet() && !s.SigningSecret.IsSet() {
			s.Mode = ModeSocket
		}
	}
	_, ttlSet := s.Lines["group_cache_ttl"]
	if !ttlSet {
		s.GroupCacheTTL = DefaultGroupCacheTTL
	}
	if !s.BotToken.IsSet() {
		c.Errorf(s.Line, "slack.bot_token (or bot_token_file) is required")
	}
	switch s.Mode {
	case ModeHTTP:
		if !s.SigningSecret.IsSet() {
			c.Errorf(s.LineOf("mode"), "slack.mode http needs signing_secret (or signing_secret_file) to verify Slack's requests")
		}
	case ModeSocket:
		if !s.AppToken.IsSet() {
			c.Errorf(s.LineOf("mode"), "slack.mode socket needs app_token (or app_token_file): an app-level xapp- token with connections:write")
		}
	default:
		c.Errorf(s.LineOf("mode"), "slack.mode %q is not one of http, socket", s.Mode)
	}
	if s.APIURL != "" {
		c.URL(s.LineOf("api_url"), "slack.api_url", s.APIURL)
		if !strings.HasSuffix(s.APIURL, "/") {
			c.Errorf(s.LineOf("api_url"), "slack.api_url must end with a slash (such as https://slack.com/api/); slack-go appends method names to it")
		}
	}
	if ttlSet && s.GroupCacheTTL <= 0 {
		c.Errorf(s.LineOf("group_cache_ttl"), "slack.group_cache_ttl must be positive; leave it out for the default of %s", DefaultGroupCacheTTL)
	}
}
