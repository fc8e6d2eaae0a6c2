// Package platforms links every chat platform shipgate has: each adapter registers its shipgate.yaml
// section (config.RegisterPlatform), which builds the platform (bot.PlatformFactory). Import it, blank,
// wherever shipgate.yaml is read. Adding a platform is its adapter's folder and a line here.
package platforms

import (
	_ "github.com/shipgate/shipgate/adapters/discord"
	_ "github.com/shipgate/shipgate/adapters/slack"
	_ "github.com/shipgate/shipgate/adapters/web"
)
