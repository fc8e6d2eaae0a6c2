package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// The groups the bot keeps are reported as they are at scrape time; a group never fetched has no age.
func TestGroupMetrics(t *testing.T) {
	status := []bot.GroupStatus{
		{Platform: engine.PlatformSlack, Group: "S0REL", Members: 3, Age: 90 * time.Second, Known: true},
		{Platform: engine.PlatformSlack, Group: "S0SRE", Failures: 4},
	}
	reg := prometheus.NewPedanticRegistry()
	RegisterGroups(reg, func() []bot.GroupStatus { return status })
	want := `
# HELP shipgate_chat_group_age_seconds Seconds since a chat platform group's members were last fetched; absent while they never were.
# TYPE shipgate_chat_group_age_seconds gauge
shipgate_chat_group_age_seconds{group="S0REL",platform="slack"} 90
# HELP shipgate_chat_group_fetch_failures Failed fetches of a chat platform group's members since the last one that succeeded.
# TYPE shipgate_chat_group_fetch_failures gauge
shipgate_chat_group_fetch_failures{group="S0REL",platform="slack"} 0
shipgate_chat_group_fetch_failures{group="S0SRE",platform="slack"} 4
# HELP shipgate_chat_group_members Members of a chat platform group (a Slack user group) as last fetched.
# TYPE shipgate_chat_group_members gauge
shipgate_chat_group_members{group="S0REL",platform="slack"} 3
shipgate_chat_group_members{group="S0SRE",platform="slack"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	status[1].Known, status[1].Age, status[1].Failures, status[1].Members = true, time.Second, 0, 2
	if n := testutil.CollectAndCount(reg, "shipgate_chat_group_age_seconds"); n != 2 {
		t.Errorf("%d age series once both are fetched, want 2", n)
	}
}
