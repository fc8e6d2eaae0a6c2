package engine

// Platform is where a request comes from and where shipgate posts: a chat platform, the web console, or
// the HTTP API. The rules that depend on it (who may act from where, authorizeVote's thread check) are
// the engine's; the store keeps it as the word it is.
type Platform string

// Platforms.
const (
	PlatformSlack   Platform = "slack"
	PlatformDiscord Platform = "discord"
	PlatformWeb     Platform = "web"
	// PlatformAPI marks votes and audit entries that came through shipgate's HTTP API (a CI token acting
	// for a person) rather than a click in a chat platform. Nothing is posted to it.
	PlatformAPI Platform = "api"
)
