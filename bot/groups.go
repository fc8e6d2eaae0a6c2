package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/engine"
)

// Group members are kept warm so that a click never waits on the platform: Slack gives an interaction 3 s
// for its answer, and usergroups.users.list is a network call that may take any part of them.
//
//   - At Start, a refresher fetches the members of every group named in a channel binding's roles.
//   - It fetches each group again when GroupTTL*groupRefreshRatio has passed since its last success, so
//     that a live group never expires. A failed fetch is retried with a backoff, groupRetryMin doubling up
//     to the refresh interval (or later, if the platform asks with a Retry-After).
//   - Members whose refresh keeps failing are still used, stale, until groupMaxStale times the TTL after
//     their last success (50 minutes at the default 5m): a Slack outage then does not refuse every
//     approver. Past that they are unknown again.
//   - A click decides from the cache. A group with no usable members (never fetched, or too stale) is
//     fetched while the click waits at most groupFetchBudget; past it the click is refused with a reason
//     that says to try again, and the fetch goes on in the background, so that trying again works.
const (
	// DefaultGroupTTL is how long fetched group members count as fresh.
	DefaultGroupTTL = 5 * time.Minute
	// groupRefreshRatio is the part of the TTL after which members are fetched again.
	groupRefreshRatio = 0.8
	// groupMaxStale bounds, in TTLs since the last successful fetch, how long members are used while
	// their refresh fails.
	groupMaxStale = 10
	// groupFetchBudget is how long a click waits for a group fetched for it.
	groupFetchBudget = 500 * time.Millisecond
	// groupFetchTimeout bounds one fetch, on the answer path or not; the click stops waiting sooner.
	groupFetchTimeout = 10 * time.Second
	// groupRetryMin is the first wait after a failed fetch.
	groupRetryMin = 5 * time.Second
)

// groupKey names one group of one platform.
type groupKey struct {
	platform engine.Platform
	group    string
}

// groupEntry is what is known of one group.
type groupEntry struct {
	members  []string
	fetched  time.Time // of the last successful fetch; zero if none succeeded
	failures int       // failed fetches since the last success
	lastErr  error
	due      time.Time     // when the refresher fetches it next
	loading  chan struct{} // open while a fetch runs; nil otherwise
}

// groupCache holds the members of platform groups and keeps them fresh in the background.
type groupCache struct {
	ttl  time.Duration
	now  func() time.Time
	dirs map[engine.Platform]Directory
	log  *slog.Logger

	ctx    context.Context // ends at close; every fetch runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the refresher and the fetches
	wake   chan struct{}  // tells the refresher an entry changed

	mu      sync.Mutex
	m       map[groupKey]*groupEntry
	started bool
	closed  bool
}

func newGroupCache(ttl time.Duration, now func() time.Time, dirs map[engine.Platform]Directory, log *slog.Logger) *groupCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &groupCache{ttl: ttl, now: now, dirs: dirs, log: log, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), m: map[groupKey]*groupEntry{}}
}

// refreshAfter is how long after a successful fetch the next one is due.
func (c *groupCache) refreshAfter() time.Duration {
	return time.Duration(float64(c.ttl) * groupRefreshRatio)
}

// start runs the refresher: it fetches the groups named by named (called in the refresher's goroutine,
// since telling a group from a user may itself ask the platform), then keeps every known group fresh
// until close.
func (c *groupCache) start(named func() []groupKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	c.wg.Go(func() { c.refresh(named) })
}

// close stops the refresher and waits for the fetches under way, which it cancels.
func (c *groupCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func (c *groupCache) refresh(named func() []groupKey) {
	c.mu.Lock()
	now := c.now()
	for _, k := range named() {
		c.entryLocked(k, now)
	}
	c.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		c.mu.Lock()
		now := c.now()
		var next time.Time
		for k, e := range c.m {
			if e.loading != nil {
				continue // its end wakes us
			}
			if !e.due.After(now) {
				c.fetchLocked(k, e)
				continue
			}
			if next.IsZero() || e.due.Before(next) {
				next = e.due
			}
		}
		c.mu.Unlock()
		wait := time.Duration(1<<63 - 1)
		if !next.IsZero() {
			wait = next.Sub(now)
		}
		timer.Reset(wait)
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

// entryLocked returns the entry of k, adding one due now. The caller holds c.mu.
func (c *groupCache) entryLocked(k groupKey, now time.Time) *groupEntry {
	e, ok := c.m[k]
	if !ok {
		e = &groupEntry{due: now}
		c.m[k] = e
	}
	return e
}

// fetchLocked starts fetching e's members unless a fetch is under way, and returns a channel closed when
// the fetch ends. The caller holds c.mu.
func (c *groupCache) fetchLocked(k groupKey, e *groupEntry) <-chan struct{} {
	if e.loading != nil {
		return e.loading
	}
	done := make(chan struct{})
	if c.closed {
		close(done)
		return done
	}
	dir := c.dirs[k.platform]
	if dir == nil {
		e.lastErr = fmt.Errorf("no directory for %s", k.platform)
		e.due = c.now().Add(c.refreshAfter())
		close(done)
		return done
	}
	e.loading = done
	c.wg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, groupFetchTimeout)
		members, err := dir.GroupMembers(ctx, k.group)
		cancel()
		c.mu.Lock()
		c.recordLocked(k, e, members, err)
		e.loading = nil
		close(done)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	})
	return done
}

// recordLocked keeps the outcome of a fetch and says when the next is due. The caller holds c.mu.
func (c *groupCache) recordLocked(k groupKey, e *groupEntry, members []string, err error) {
	now := c.now()
	if err == nil {
		if e.failures > 0 {
			c.log.Info("group members fetched again", "platform", k.platform, "group", k.group, "failures", e.failures)
		}
		e.members, e.fetched, e.failures, e.lastErr = slices.Clone(members), now, 0, nil
		e.due = now.Add(c.refreshAfter())
		return
	}
	if c.ctx.Err() != nil {
		return // closing
	}
	e.failures++
	e.lastErr = err
	wait := min(groupRetryMin<<min(e.failures-1, 20), c.refreshAfter())
	var rl *RetryLater
	if errors.As(err, &rl) && rl.After > wait {
		wait = rl.After
	}
	e.due = now.Add(wait)
	attrs := []any{"platform", k.platform, "group", k.group, "failures", e.failures, "retry_in", wait, "err", err}
	switch {
	case e.fetched.IsZero():
		c.log.Warn("fetch group members; the group counts for nobody until a fetch succeeds", attrs...)
	case c.usable(e, now):
		c.log.Warn("refresh group members; keeping the last members fetched", append(attrs, "age", now.Sub(e.fetched))...)
	default:
		c.log.Error("refresh group members; the last members fetched are too old to use", append(attrs, "age", now.Sub(e.fetched))...)
	}
}

// usable reports whether e's members may decide a click: fetched, and not longer than groupMaxStale TTLs
// ago.
func (c *groupCache) usable(e *groupEntry, now time.Time) bool {
	return !e.fetched.IsZero() && now.Sub(e.fetched) < groupMaxStale*c.ttl
}

// groupUnknownError says that a group's members are not known in time for an answer.
type groupUnknownError struct {
	group string
	// loading: a fetch is under way past the budget; otherwise fetching failed.
	loading bool
	err     error
}

func (e *groupUnknownError) Error() string {
	if e.loading {
		return fmt.Sprintf("members of group %s still loading", e.group)
	}
	return fmt.Sprintf("members of group %s unknown: %v", e.group, e.err)
}

func (e *groupUnknownError) Unwrap() error { return e.err }

// reason says it to the person whose click waits on the group.
func (e *groupUnknownError) reason(role string) string {
	if e.loading {
		return fmt.Sprintf("shipgate is still loading the members of user group %s (role %s here); try again in a few seconds", e.group, role)
	}
	return fmt.Sprintf("shipgate could not load the members of user group %s (role %s here) from the chat platform; try again in a minute", e.group, role)
}

// members returns a group's members from the cache. A group without usable members is fetched (or its
// fetch under way joined) while ctx lasts; the answer path gives ctx groupFetchBudget. It returns a
// *groupUnknownError when the members are not known by then.
func (c *groupCache) members(ctx context.Context, platform engine.Platform, group string) ([]string, error) {
	k := groupKey{platform, group}
	c.mu.Lock()
	e := c.entryLocked(k, c.now())
	if c.usable(e, c.now()) {
		members := e.members
		c.mu.Unlock()
		return members, nil
	}
	done := c.fetchLocked(k, e)
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, &groupUnknownError{group: group, loading: true, err: ctx.Err()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.usable(e, c.now()) {
		return e.members, nil
	}
	err := e.lastErr
	if err == nil {
		err = errors.New("shipgate is closing")
	}
	return nil, &groupUnknownError{group: group, err: err}
}

// GroupStatus is what the bot knows of one platform group's members, for metrics and diagnostics.
type GroupStatus struct {
	Platform engine.Platform
	Group    string
	Members  int
	// Age is the time since the last successful fetch; Known is false if none succeeded.
	Age      time.Duration
	Known    bool
	Failures int // failed fetches since the last success
}

// GroupStatus lists the groups whose members the bot keeps, sorted by platform and group.
func (b *Bot) GroupStatus() []GroupStatus {
	c := b.groups
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	out := make([]GroupStatus, 0, len(c.m))
	for k, e := range c.m {
		s := GroupStatus{Platform: k.platform, Group: k.group, Members: len(e.members), Known: !e.fetched.IsZero(), Failures: e.failures}
		if s.Known {
			s.Age = now.Sub(e.fetched)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y GroupStatus) int {
		return cmp.Or(strings.Compare(string(x.Platform), string(y.Platform)), strings.Compare(x.Group, y.Group))
	})
	return out
}
