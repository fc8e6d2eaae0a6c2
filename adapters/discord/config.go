package discord

import (
	"strings"

	"github.com/shipgate/shipgate/config"
)

// Config is shipgate.yaml's discord section: it connects shipgate to a Discord application.
type Config struct {
	config.Pos    `yaml:"-"`
	ApplicationID string `yaml:"application_id"`
	// PublicKey is the application's Ed25519 public key (hex) that signs interactions; it is not secret.
	PublicKey    string        `yaml:"public_key"`
	BotToken     config.Secret `yaml:"bot_token"`
	BotTokenFile string        `yaml:"bot_token_file,omitempty"`
	// GuildID registers commands in one guild (instant) instead of globally.
	GuildID string `yaml:"guild_id,omitempty"`
	APIURL  string `yaml:"api_url,omitempty"`
}

func init() {
	config.RegisterPlatform("discord", func() config.PlatformConfig { return &Config{} })
}

// Check checks the section.
func (dc *Config) Check(c *config.Checker) {
	if dc.ApplicationID == "" {
		c.Errorf(dc.Line, "discord.application_id is required")
	}
	if len(dc.PublicKey) != 64 || strings.Trim(strings.ToLower(dc.PublicKey), "0123456789abcdef") != "" {
		c.Errorf(dc.LineOf("public_key"), "discord.public_key must be the application's public key: 64 hexadecimal characters")
	}
	if !dc.BotToken.IsSet() {
		c.Errorf(dc.Line, "discord.bot_token (or bot_token_file) is required")
	}
	if dc.APIURL != "" {
		c.URL(dc.LineOf("api_url"), "discord.api_url", dc.APIURL)
	}
}
