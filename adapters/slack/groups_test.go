package slack

import (
	"net/http"
	"testing"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/bot"
)

// usergroupsCalls counts the usergroups.users.list calls the fake has answered.
func (f *fixture) usergroupsCalls() int { return len(f.fake.CallsTo("usergroups.users.list")) }

// The bound user group is fetched when the bot starts; a click by one of its members is then decided
// from the cache, with no call to Slack before its answer.
func TestClickOnWarmGroupCacheCallsNoSlackAPI(t *testing.T) {
	f := newFixture(t)
	f.fake.WaitFor(t, waitFor, "the start-up fetch of the bound user group", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "usergroups.users.list" && c.Form.Get("usergroup") == relGroup && c.Error == "" {
				return true
			}
		}
		return false
	})
	req := f.waitApproval("v1")
	before := len(f.fake.Calls())
	groups := f.usergroupsCalls()
	rec, trigger := f.clickAt(channel, req.ts, req.thread, qaLead, bot.ActionApprove, req.value)
	if rec.Code != http.StatusOK {
		t.Fatalf("click = %d %s", rec.Code, rec.Body)
	}
	// The answer is the HTTP 200 above: whatever the bot asked Slack before it is recorded by now.
	if n := f.usergroupsCalls(); n != groups {
		t.Errorf("%d usergroups.users.list calls before the click's answer, want none", n-groups)
	}
	f.waitAnswer(trigger, "Your approval counted")
	for _, c := range f.fake.Calls()[before:] {
		if c.Method == "usergroups.users.list" {
			t.Errorf("the click asked Slack for group members:\n%s", slackfake.DumpCalls([]slackfake.Call{c}))
		}
	}
}
