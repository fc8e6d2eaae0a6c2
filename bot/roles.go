package bot

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// Built-in roles. Approval tasks name their own roles in their approvers property; without one they ask
// for RoleApprover (engine.DefaultApproverRole).
const (
	// RoleDeployer may /deliver, abort, pause, resume and roll back.
	RoleDeployer = engine.DeployerRole
	RoleApprover = engine.DefaultApproverRole
)

// Actor is the person behind a command or click.
type Actor struct {
	Platform engine.Platform
	ID       string // the platform's user id
	Name     string // the platform's user name, for logs
	// Groups are group ids the platform says the user is in, such as a Discord member's role ids.
	Groups []string
}

// Directory answers which users a platform group holds, for platforms that do not say so in each
// request: Slack user groups (usergroups.users.list).
type Directory interface {
	// IsGroup reports whether a role member entry names a group rather than a user.
	IsGroup(id string) bool
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// binding returns the channel binding of a platform's channel, or nil.
func (b *Bot) binding(platform engine.Platform, channel string) *config.ChannelBinding {
	for i := range b.cfg.Channels {
		ch := &b.cfg.Channels[i]
		if ch.Platform == string(platform) && ch.Channel == channel {
			return ch
		}
	}
	return nil
}

// bindingsOf returns the channels that show a project's deliveries.
func (b *Bot) bindingsOf(project string) []*config.ChannelBinding {
	var out []*config.ChannelBinding
	for i := range b.cfg.Channels {
		ch := &b.cfg.Channels[i]
		if slices.Contains(ch.Projects, project) {
			out = append(out, ch)
		}
	}
	return out
}

// rolesOf returns the roles a person holds in a bound channel: roles that list the person's id, a
// group the platform says they are in, or a group the platform's directory says holds them. Groups are
// read from the cache the refresher keeps (groups.go); one whose members are not known yet is waited for
// at most groupFetchBudget, and else counts for nobody.
func (b *Bot) rolesOf(ctx context.Context, ch *config.ChannelBinding, a Actor) []string {
	return b.rolesHeld(ctx, ch, a).held
}

// heldRoles is what shipgate can tell, in time for an answer, of the roles a person holds in a channel.
type heldRoles struct {
	held []string
	// unsure are the roles the person may hold through a group whose members are not known in time
	// (never fetched yet, or failing to be), each with the group that is unknown. Telling a member of
	// that group that they lack the role would be wrong, and an answer cannot wait for the platform:
	// a request that needs one of these roles, and holds no other, is asked to try again.
	unsure map[string]*groupUnknownError
}

// unsureRoles says, for engine.Where, why each unsure role cannot be told in time.
func (h heldRoles) unsureRoles() map[string]string {
	if len(h.unsure) == 0 {
		return nil
	}
	out := make(map[string]string, len(h.unsure))
	for r, ge := range h.unsure {
		out[r] = ge.reason(r)
	}
	return out
}

// waitReason is why a request that needs one of roles must try again, or "" when it need not: the
// person holds none of them and one may come through a group not known yet.
func (h heldRoles) waitReason(roles []string) string {
	if slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(h.held, r) }) {
		return ""
	}
	for _, r := range slices.Sorted(slices.Values(roles)) {
		if ge := h.unsure[r]; ge != nil {
			return ge.reason(r)
		}
	}
	return ""
}

// rolesHeld is rolesOf, also telling which roles it could not decide in time.
func (b *Bot) rolesHeld(ctx context.Context, ch *config.ChannelBinding, a Actor) heldRoles {
	// One budget for all the groups, so that several unknown groups cost no more than one.
	ctx, cancel := context.WithTimeout(ctx, groupFetchBudget)
	defer cancel()
	var h heldRoles
	for role, members := range ch.Roles {
		held, err := b.holds(ctx, a, members)
		if held {
			h.held = append(h.held, role)
			continue
		}
		var ge *groupUnknownError
		if errors.As(err, &ge) {
			if h.unsure == nil {
				h.unsure = map[string]*groupUnknownError{}
			}
			h.unsure[role] = ge
		}
	}
	slices.Sort(h.held)
	return h
}

// holds reports whether a person is among members. When they are not, the error is the first group of
// members whose members are not known, if any.
func (b *Bot) holds(ctx context.Context, a Actor, members []string) (bool, error) {
	dir := b.dirs[a.Platform]
	for _, m := range members {
		if m == a.ID || slices.Contains(a.Groups, m) {
			return true, nil
		}
	}
	if dir == nil {
		return false, nil
	}
	var unknown error
	for _, m := range members {
		if !dir.IsGroup(m) {
			continue
		}
		users, err := b.groups.members(ctx, a.Platform, m)
		if err != nil {
			b.log.Warn("resolve group members", "platform", a.Platform, "group", m, "user", a.ID, "err", err)
			if unknown == nil {
				unknown = err
			}
			continue
		}
		if slices.Contains(users, a.ID) {
			return true, nil
		}
	}
	return false, unknown
}

// boundGroups lists the groups named in the channel bindings' roles, on platforms with a directory.
func (b *Bot) boundGroups() []groupKey {
	var out []groupKey
	for _, ch := range b.cfg.Channels {
		p := engine.Platform(ch.Platform)
		dir := b.dirs[p]
		if dir == nil {
			continue
		}
		for _, members := range ch.Roles {
			for _, m := range members {
				if k := (groupKey{p, m}); dir.IsGroup(m) && !slices.Contains(out, k) {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// GroupMentioner is implemented by Directories whose groups have a mention of their own, such as
// Discord's roles (<@&id>), for groups whose members the platform does not list.
type GroupMentioner interface {
	MentionGroup(id string) string
}

// approverMentions names who holds any of roles in a channel, for the "who may approve" line: users as
// mentions, groups resolved to their members where the directory can, else mentioned as groups where
// the platform can (a Discord role), else listed as they are.
func (b *Bot) approverMentions(ctx context.Context, ch *config.ChannelBinding, roles []string) []string {
	var users, groups []string
	dir := b.dirs[engine.Platform(ch.Platform)]
	// Not on an answer's path (cards are posted in the background): a group not fetched yet is waited for.
	for _, role := range roles {
		for _, m := range ch.Roles[role] {
			if dir != nil && dir.IsGroup(m) {
				gm, mentionable := dir.(GroupMentioner)
				// A platform that mentions groups may not list their members (Discord does not).
				if members, err := b.groups.members(ctx, engine.Platform(ch.Platform), m); err == nil && (len(members) > 0 || !mentionable) {
					users = append(users, members...)
					continue
				}
				if mentionable {
					groups = append(groups, gm.MentionGroup(m))
					continue
				}
			}
			users = append(users, m)
		}
	}
	slices.Sort(users)
	slices.Sort(groups)
	out := make([]string, 0, len(users)+len(groups))
	for _, u := range slices.Compact(users) {
		out = append(out, mention(u))
	}
	return append(out, slices.Compact(groups)...)
}

// approverNotify is whom a pending approval notifies in a channel: the members of its roles there, each
// user once and each platform group (a Slack user group, a Discord role) as the group itself, so that the
// platform reaches everyone in it. Users in skip (the requester, who may not approve, and those who
// voted) are left out; a group is notified whoever is in it.
func (b *Bot) approverNotify(ch *config.ChannelBinding, roles []string, skip []string) []Mention {
	dir := b.dirs[engine.Platform(ch.Platform)]
	var out []Mention
	for _, role := range roles {
		for _, m := range ch.Roles[role] {
			n := Mention{ID: m, Group: dir != nil && dir.IsGroup(m)}
			if (!n.Group && slices.Contains(skip, m)) || slices.Contains(out, n) {
				continue
			}
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(x, y Mention) int {
		if x.Group != y.Group {
			if x.Group {
				return 1
			}
			return -1
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// Services lists the services of the projects bound to a channel, sorted, for a platform's command
// autocompletion; none when the channel is not bound.
func (b *Bot) Services(platform engine.Platform, channel string) []string {
	ch := b.binding(platform, channel)
	if ch == nil {
		return nil
	}
	var out []string
	for _, name := range ch.Projects {
		if p := b.projects[name]; p != nil {
			out = append(out, p.Services...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
