package web

import "github.com/shipgate/shipgate/config"

// Config is shipgate.yaml's web section: it turns on the web console, a chat surface in the browser at
// public_url, for the channels bound with platform web.
type Config struct {
	config.Pos `yaml:"-"`
	// AccessToken lets people act in the console (commands and clicks) after logging in with it and a
	// name; without one the console is read-only.
	AccessToken     config.Secret `yaml:"access_token,omitempty"`
	AccessTokenFile string        `yaml:"access_token_file,omitempty"`

	// Demo runs the console as shipgate demo does (anyone plays Users, no token); set by the demo, never
	// by shipgate.yaml.
	Demo  bool   `yaml:"-"`
	Users []User `yaml:"-"`
}

func init() {
	config.RegisterPlatform("web", func() config.PlatformConfig { return &Config{} })
}

// Check has nothing to check: every key is optional.
func (*Config) Check(*config.Checker) {}
