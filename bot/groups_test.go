package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// count is how many lookups the fixture's directory answered, read under its lock: the refresher
// looks groups up from its own goroutine.
func (d *directory) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups
}

// groupDir is a directory whose groups, failures and speed a test sets.
type groupDir struct {
	mu      sync.Mutex
	members map[string][]string
	fail    error         // every fetch fails with it while set
	block   chan struct{} // while set, fetches wait until it is closed (or their context ends)
	calls   []string
}

func newGroupDir() *groupDir {
	return &groupDir{members: map[string][]string{"SREL": {"UQA"}, "SOPS": {"UOPS", "UQA"}}}
}

func (d *groupDir) IsGroup(id string) bool { return strings.HasPrefix(id, "S") }

func (d *groupDir) GroupMembers(ctx context.Context, id string) ([]string, error) {
	d.mu.Lock()
	d.calls = append(d.calls, id)
	block := d.block
	d.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	m, ok := d.members[id]
	if !ok {
		return nil, errors.New("no_such_subteam")
	}
	return m, nil
}

func (d *groupDir) set(f func(d *groupDir)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

// callsTo counts the fetches of group, or of every group with "".
func (d *groupDir) callsTo(group string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if group == "" {
		return len(d.calls)
	}
	n := 0
	for _, c := range d.calls {
		if c == group {
			n++
		}
	}
	return n
}

const groupTestTTL = 5 * time.Minute

// groupBot is a bot with just what role resolution needs: two channel bindings naming groups, on Slack
// with dir as its directory. It is closed when the test ends.
func groupBot(t *testing.T, dir *groupDir) *Bot {
	t.Helper()
	cfg := config.Defaults()
	cfg.Channels = []config.ChannelBinding{
		{Platform: "slack", Channel: "C1", Projects: []string{"p"},
			Roles: map[string][]string{RoleApprover: {"UOPS"}, "release-managers": {"SREL"}}},
		{Platform: "slack", Channel: "C2", Projects: []string{"p"},
			Roles: map[string][]string{RoleApprover: {"SOPS", "SREL"}, RoleDeployer: {"UDEV"}}},
		// No directory for Discord: its roles come with each interaction.
		{Platform: "discord", Channel: "D1", Projects: []string{"p"}, Roles: map[string][]string{RoleApprover: {"S123"}}},
	}
	dirs := map[engine.Platform]Directory{engine.PlatformSlack: dir}
	log := slog.New(slog.DiscardHandler)
	b := &Bot{cfg: cfg, dirs: dirs, log: log, groups: newGroupCache(groupTestTTL, time.Now, dirs, log)}
	t.Cleanup(b.groups.close)
	return b
}

func (b *Bot) startGroups() { b.groups.start(b.boundGroups) }

// Every group a binding names is fetched at start, once, in the background; checks then cost no fetch.
func TestGroupsFetchedAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		b := groupBot(t, dir)
		b.startGroups()
		synctest.Wait()
		if got := dir.calls; !sameSet(got, []string{"SREL", "SOPS"}) {
			t.Fatalf("fetched at start: %v, want SREL and SOPS once each", got)
		}
		for _, ch := range []string{"C1", "C2"} {
			roles := b.rolesOf(context.Background(), b.binding(engine.PlatformSlack, ch), Actor{Platform: engine.PlatformSlack, ID: "UQA"})
			if len(roles) == 0 {
				t.Errorf("UQA holds no role in %s", ch)
			}
		}
		if n := dir.callsTo(""); n != 2 {
			t.Errorf("%d fetches after checks on a warm cache, want the 2 of the start", n)
		}
		st := b.GroupStatus()
		if len(st) != 2 || st[0].Group != "SOPS" || st[1].Group != "SREL" || !st[0].Known || st[0].Members != 2 || st[0].Age != 0 {
			t.Errorf("status: %+v", st)
		}
	})
}

func sameSet(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// Members are fetched again at 80% of the TTL, so that a check never finds them expired.
func TestGroupsRefreshedBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		b := groupBot(t, dir)
		b.startGroups()
		synctest.Wait()
		refresh := time.Duration(float64(groupTestTTL) * groupRefreshRatio)
		time.Sleep(refresh - time.Second)
		synctest.Wait()
		if n := dir.callsTo("SREL"); n != 1 {
			t.Errorf("%d fetches of SREL before 80%% of the TTL, want 1", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := dir.callsTo("SREL"); n != 2 {
			t.Errorf("%d fetches of SREL at 80%% of the TTL, want 2", n)
		}
		for range 30 {
			time.Sleep(groupTestTTL / 10)
			synctest.Wait()
			for _, s := range b.GroupStatus() {
				if s.Age > refresh {
					t.Fatalf("%s is %s old, past the refresh at %s", s.Group, s.Age, refresh)
				}
			}
		}
		// 19 minutes: fetched at 0, 4, 8, 12 and 16.
		if n := dir.callsTo("SREL"); n != 5 {
			t.Errorf("%d fetches of SREL in 19 minutes, want 5", n)
		}
	})
}

// A refresh that fails keeps the last members for up to 10 TTLs, retrying with a backoff; past that the
// group is unknown, and it is known again once a fetch succeeds.
func TestGroupRefreshFailureKeepsLastMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		b := groupBot(t, dir)
		b.startGroups()
		synctest.Wait()
		dir.set(func(d *groupDir) { d.fail = errors.New("internal_error") })
		start := time.Now()
		time.Sleep(2 * groupTestTTL)
		synctest.Wait()
		members, err := b.groups.members(context.Background(), engine.PlatformSlack, "SREL")
		if err != nil || !slices.Equal(members, []string{"UQA"}) {
			t.Fatalf("members while refreshes fail: %v %v", members, err)
		}
		// Refresh at 4m, then retries after 5s, 10s, 20s, 40s, 80s, 160s, 240s (capped at the refresh
		// interval): 7 fetches of each group in the first 10 minutes.
		if n := dir.callsTo("SREL"); n != 1+7 {
			t.Errorf("%d fetches of SREL in 2 TTLs of failures, want 8", n)
		}
		if st := b.GroupStatus(); st[1].Failures != 7 || st[1].Age != 2*groupTestTTL {
			t.Errorf("status: %+v", st)
		}
		roles, err := b.rolesFor(context.Background(), b.binding(engine.PlatformSlack, "C1"), Actor{Platform: engine.PlatformSlack, ID: "UQA"}, "release-managers")
		if err != nil || !slices.Equal(roles, []string{"release-managers"}) {
			t.Errorf("roles from stale members: %v %v", roles, err)
		}

		time.Sleep(start.Add(groupMaxStale * groupTestTTL).Sub(time.Now()))
		synctest.Wait()
		roles, err = b.rolesFor(context.Background(), b.binding(engine.PlatformSlack, "C1"), Actor{Platform: engine.PlatformSlack, ID: "UQA"}, "release-managers")
		var rf *refusal
		if len(roles) != 0 || !errors.As(err, &rf) || !strings.Contains(rf.reason, "could not load the members of user group SREL (role release-managers here)") ||
			!strings.Contains(rf.reason, "try again") {
			t.Errorf("roles from members 10 TTLs old: %v %v", roles, err)
		}

		dir.set(func(d *groupDir) { d.fail = nil })
		time.Sleep(time.Duration(float64(groupTestTTL)*groupRefreshRatio) + time.Second)
		synctest.Wait()
		if members, err := b.groups.members(context.Background(), engine.PlatformSlack, "SREL"); err != nil || len(members) != 1 {
			t.Errorf("members once Slack answers again: %v %v", members, err)
		}
	})
}

// A group never fetched is fetched while the check waits; past 500 ms the check is refused with a reason
// to try again, and the fetch goes on, so that trying again works without another fetch.
func TestNeverFetchedGroupPastBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		release := make(chan struct{})
		dir.set(func(d *groupDir) { d.block = release })
		b := groupBot(t, dir) // not started: nothing fetched yet
		ch := b.binding(engine.PlatformSlack, "C1")
		qa := Actor{Platform: engine.PlatformSlack, ID: "UQA"}

		start := time.Now()
		roles, err := b.rolesFor(context.Background(), ch, qa, "release-managers")
		var rf *refusal
		if len(roles) != 0 || !errors.As(err, &rf) ||
			rf.reason != "shipgate is still loading the members of user group SREL (role release-managers here); try again in a few seconds" {
			t.Fatalf("click on a group still loading: %v %v", roles, err)
		}
		if waited := time.Since(start); waited != groupFetchBudget {
			t.Errorf("waited %s, want the budget %s", waited, groupFetchBudget)
		}
		// A second click joins the fetch under way.
		if _, err := b.rolesFor(context.Background(), ch, qa, "release-managers"); !errors.As(err, &rf) {
			t.Errorf("second click: %v", err)
		}
		// Someone who holds the role directly is not refused.
		if _, err := b.rolesFor(context.Background(), ch, Actor{Platform: engine.PlatformSlack, ID: "UOPS"}, RoleApprover); err != nil {
			t.Errorf("direct approver: %v", err)
		}
		// Nor is one who asks for nothing the group could give.
		if _, err := b.rolesFor(context.Background(), ch, qa); err != nil {
			t.Errorf("no role needed: %v", err)
		}

		close(release)
		synctest.Wait()
		roles, err = b.rolesFor(context.Background(), ch, qa, "release-managers")
		if err != nil || !slices.Equal(roles, []string{"release-managers"}) {
			t.Errorf("click once loaded: %v %v", roles, err)
		}
		if n := dir.callsTo("SREL"); n != 1 {
			t.Errorf("%d fetches of SREL, want the one the first click started", n)
		}
	})
}

// A group the platform answers at once is waited for, and decides the check.
func TestNeverFetchedGroupWithinBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		b := groupBot(t, dir)
		roles, err := b.rolesFor(context.Background(), b.binding(engine.PlatformSlack, "C2"), Actor{Platform: engine.PlatformSlack, ID: "UQA"}, RoleApprover)
		if err != nil || !slices.Equal(roles, []string{RoleApprover}) {
			t.Errorf("roles: %v %v", roles, err)
		}
		// Someone in no group is refused by the role check as usual, not told to try again.
		roles, err = b.rolesFor(context.Background(), b.binding(engine.PlatformSlack, "C2"), Actor{Platform: engine.PlatformSlack, ID: "UOUT"}, RoleApprover)
		if err != nil || len(roles) != 0 {
			t.Errorf("outsider: %v %v", roles, err)
		}
	})
}

// Groups of platforms without a directory, and ids that are users, are not fetched.
func TestBoundGroups(t *testing.T) {
	b := groupBot(t, newGroupDir())
	got := b.boundGroups()
	var names []string
	for _, k := range got {
		if k.platform != engine.PlatformSlack {
			t.Errorf("group of %s: %s", k.platform, k.group)
		}
		names = append(names, k.group)
	}
	if !sameSet(names, []string{"SREL", "SOPS"}) {
		t.Errorf("bound groups: %v", names)
	}
}

// Close stops the refresher and cancels a fetch under way.
func TestGroupsCloseCancelsFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := newGroupDir()
		dir.set(func(d *groupDir) { d.block = make(chan struct{}) })
		b := groupBot(t, dir)
		b.startGroups()
		synctest.Wait()
		b.groups.close()
		if _, err := b.groups.members(context.Background(), engine.PlatformSlack, "SREL"); err == nil {
			t.Error("members after close with nothing fetched")
		}
	})
}

// A click by a member of a group whose members are still loading past the budget is refused with a
// reason to try again, audited like any refusal; once loaded, the same click counts.
func TestClickOnGroupStillLoading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		slow := newGroupDir()
		release := make(chan struct{})
		slow.set(func(d *groupDir) { d.members[relGroup], d.block = []string{qaLead}, release })
		f.bot.groups.close()
		f.bot.dirs[engine.PlatformSlack] = slow
		f.bot.groups = newGroupCache(DefaultGroupTTL, time.Now, f.bot.dirs, f.bot.log)

		r := f.click(qaLead, ActionApprove, a.ID)
		want := "shipgate is still loading the members of user group " + relGroup + " (role release-managers here); try again in a few seconds"
		if r.Private == nil || !strings.Contains(r.Private.Text, "Shipgate is still loading the members of user group "+relGroup) {
			t.Fatalf("click while the group loads: %+v", r)
		}
		entries := f.audit(fmt.Sprintf("approval:%d", a.ID))
		if len(entries) == 0 || entries[len(entries)-1].Allowed || entries[len(entries)-1].Reason != want {
			t.Errorf("audit of the refused click: %+v", entries)
		}
		close(release)
		synctest.Wait()
		if r := f.click(qaLead, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "Your approval counted") {
			t.Errorf("click once loaded: %+v", r)
		}
	})
}

// rolesFor is what an answer learns of a person's roles when it needs one of need: the roles held and,
// when none of need is held and one may come through a group not known in time, the refusal that asks
// to try again.
func (b *Bot) rolesFor(ctx context.Context, ch *config.ChannelBinding, a Actor, need ...string) ([]string, error) {
	h := b.rolesHeld(ctx, ch, a)
	if reason := h.waitReason(need); reason != "" {
		return h.held, &refusal{reason: reason}
	}
	return h.held, nil
}
