package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/bot"
)

// groupCollector reports, at scrape time, the chat platform groups (Slack user groups) whose members the
// bot keeps to decide roles without a network call on an answer's path.
type groupCollector struct {
	status   func() []bot.GroupStatus
	members  *prometheus.Desc
	age      *prometheus.Desc
	failures *prometheus.Desc
}

// RegisterGroups registers shipgate_chat_group_members, shipgate_chat_group_age_seconds (since the
// members were last fetched; absent for a group never fetched) and shipgate_chat_group_fetch_failures
// (failed fetches since the last success), labelled by platform and group. An operator alerts on an age
// past the cache's TTL, or on failures that keep rising: clicks then decide from old members, and a
// group never fetched refuses its members' clicks with "try again".
func RegisterGroups(reg prometheus.Registerer, status func() []bot.GroupStatus) {
	labels := []string{"platform", "group"}
	reg.MustRegister(&groupCollector{status: status,
		members: prometheus.NewDesc("shipgate_chat_group_members", "Members of a chat platform group (a Slack user group) as last fetched.", labels, nil),
		age: prometheus.NewDesc("shipgate_chat_group_age_seconds",
			"Seconds since a chat platform group's members were last fetched; absent while they never were.", labels, nil),
		failures: prometheus.NewDesc("shipgate_chat_group_fetch_failures",
			"Failed fetches of a chat platform group's members since the last one that succeeded.", labels, nil),
	})
}

func (c *groupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.members
	ch <- c.age
	ch <- c.failures
}

func (c *groupCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.status() {
		p := string(g.Platform)
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(g.Members), p, g.Group)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(g.Failures), p, g.Group)
		if g.Known {
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, g.Age.Seconds(), p, g.Group)
		}
	}
}
