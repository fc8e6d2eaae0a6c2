package discord

import (
	"context"
	"sync"
	"time"

	"github.com/shipgate/shipgate/bot"
)

// roleCacheTTL is how long the guild's role list is trusted; roles are created rarely.
const roleCacheTTL = 5 * time.Minute

// roleLookupTimeout bounds the one REST call behind IsGroup, which renders wait on.
const roleLookupTimeout = 2 * time.Second

// roles caches the ids of the guild's roles, so that the bot can tell a role id from a user id in a
// binding's role members: both are snowflakes.
type roles struct {
	mu      sync.Mutex
	names   map[string]string // role id -> name
	fetched time.Time
}

// IsGroup reports whether a binding's member id is one of the guild's roles (GET /guilds/{id}/roles,
// cached for roleCacheTTL). Without a guild, or when Discord cannot be asked, it says no, and the id is
// shown as a user.
func (c *Client) IsGroup(id string) bool {
	if c.GuildID == "" {
		return false
	}
	c.roles.mu.Lock()
	defer c.roles.mu.Unlock()
	if time.Since(c.roles.fetched) > roleCacheTTL {
		ctx, cancel := context.WithTimeout(context.Background(), roleLookupTimeout)
		defer cancel()
		rs, err := c.session.GuildRoles(c.GuildID, options(ctx)...)
		if c.observe("guilds.roles", err) != nil {
			c.log.Warn("listing the guild's roles", "guild", c.GuildID, "err", err)
		} else {
			c.roles.names = map[string]string{}
			for _, r := range rs {
				c.roles.names[r.ID] = r.Name
			}
		}
		// A failure is not asked again at once: renders must not each wait for an unreachable Discord.
		c.roles.fetched = time.Now()
	}
	_, ok := c.roles.names[id]
	return ok
}

// GroupMembers says nothing of a role's members: Discord lists them only to bots with the privileged
// members intent, and every interaction already names the roles of the member who sent it, which is
// what a click is authorized by.
func (c *Client) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// MentionGroup names a role as Discord shows it, @name. It is text, not a <@&id> mention: messages
// ping nobody (allowed_mentions is empty) and the renderer shows only user mentions as such, so that a
// task's output cannot dress text up as a role.
func (c *Client) MentionGroup(id string) string {
	c.roles.mu.Lock()
	defer c.roles.mu.Unlock()
	if name, ok := c.roles.names[id]; ok && name != "" {
		return "@" + name
	}
	return "role " + id
}

var (
	_ bot.Directory      = (*Client)(nil)
	_ bot.GroupMentioner = (*Client)(nil)
)
