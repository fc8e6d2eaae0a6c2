package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/store"
)

// e2eLead holds engineering-leads, the role the ladder's approval escalates to.
const e2eLead = "ULEAD01"

// ladderShipyard gates production on an approval that reminds every second and escalates after two;
// qa has nothing to evaluate, so that no Prometheus is needed. The times are short because serve runs on
// the real clock: the test waits for what the fake receives, never for a time.
const ladderShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata: {name: ladder}
spec:
  stages:
    - name: production
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual, approvers: [approver], remind_every: 1s, escalate_after: 2s,
                escalate_to: [engineering-leads], timeout: 1h}
            - name: release
`

// A pending approval's reminder and escalation appear in its delivery's thread through serve and the
// Slack Web API, pinging whom they ask; the escalated role may then decide, and the card says it all.
func TestSlackApprovalLadderEndToEnd(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddChannel(e2eChannel)
	fake.AddMembers(e2eChannel, e2eDev, e2eOps, e2eLead)
	e := serveSlack(t, t.TempDir(), fake, map[string]string{
		"projects/ladder/shipyard.yaml":          ladderShipyard,
		"projects/ladder/executors.yaml":         "tasks:\n  release: {type: noop}\n",
		"projects/ladder/helloservice/README.md": "helloservice\n",
	}, fmt.Sprintf(`channels:
  - platform: slack
    channel: %s
    projects: [ladder]
    roles:
      deployer: [%s]
      approver: [%s, %s]
      engineering-leads: [%s]
api:
  tokens:
    - {name: ci, token: %s, projects: [ladder]}
`, e2eChannel, e2eDev, e2eOps, e2eDev, e2eLead, e2eToken))

	if code, body := e.command(e2eDev, "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1"); code != http.StatusOK || !strings.Contains(body, "Delivery #1") {
		t.Fatalf("/deliver = %d %s", code, body)
	}
	rootTS, approvalTS := e.waitApprovalRequest()
	// The reminder, then the escalation, each a reply in the delivery's thread whose text (what Slack
	// notifies from) mentions exactly whom it asks: the approver who has not voted, not the requester;
	// then the escalation's role.
	threadReply := func(what, prefix string) slackfake.Call {
		t.Helper()
		var found slackfake.Call
		e.fake.WaitFor(t, e2eWait, what, func(calls []slackfake.Call) bool {
			for _, c := range calls {
				if c.Method == "chat.postMessage" && strings.Contains(blocksText(c.Blocks), prefix) {
					found = c
					return true
				}
			}
			return false
		})
		if found.ThreadTS != rootTS || found.Channel != e2eChannel {
			t.Errorf("%s is not in the delivery's thread: %+v", what, found)
		}
		return found
	}
	reminder := threadReply("the first reminder", "production · ⏰ Reminder 1: approval 1 is still waiting (0 of 1 approvals)")
	if got := liveMention.FindAllString(reminder.Text, -1); !slices.Equal(got, []string{"<@" + e2eOps + ">"}) {
		t.Errorf("the reminder notifies %q, want only the approver %s", got, e2eOps)
	}
	escalation := threadReply("the escalation", "production · ⏫ Escalated to @engineering-leads")
	if got := liveMention.FindAllString(escalation.Text, -1); !slices.Equal(got, []string{"<@" + e2eLead + ">"}) {
		t.Errorf("the escalation notifies %q, want only the lead %s", got, e2eLead)
	}

	// The lead decides; the card shows the decision and the ladder, and the reminders stop.
	approval, _ := e.fake.Message(e2eChannel, approvalTS)
	e.waitAnswer(e.click(e2eChannel, e2eLead, "deliver.approve", approvalTS, rootTS, buttonValue(t, approval.Blocks)), "Your approval counted: 1 of 1")
	e.fake.WaitFor(t, e2eWait, "the card showing the decision and the ladder", func([]slackfake.Call) bool {
		m, _ := e.fake.Message(e2eChannel, approvalTS)
		text := blocksText(m.Blocks)
		return strings.Contains(text, "Approved by <@"+e2eLead+">") && strings.Contains(text, "escalated to @engineering-leads at ")
	})
	st, err := store.Open(t.Context(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audit, err := st.ListAudit(t.Context(), store.AuditQuery{Target: "approval:1", OldestFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Actor+" "+a.Action)
	}
	if !slices.Contains(actions, "shipgate approval.reminded") || !slices.Contains(actions, "shipgate approval.escalated") ||
		!slices.Contains(actions, e2eLead+" approval.approve") {
		t.Errorf("audit of approval 1: %q", actions)
	}
	// The API shows the ladder with the approval.
	code, body := e.api(e2eToken, http.MethodGet, "/api/v1/deliveries/1", nil)
	if code != http.StatusOK || !strings.Contains(body, `"escalatedTo":["engineering-leads"]`) || !strings.Contains(body, `"reminders":`) ||
		!strings.Contains(body, `"roles":["approver","engineering-leads"]`) {
		t.Errorf("GET /api/v1/deliveries/1 = %d %s", code, body)
	}
	// The reminders and the escalation are bodies Slack's published types accept.
	checkSlackContract(t, e.fake, e.answers, "chat.postMessage", "chat.update", "response_url")
}
