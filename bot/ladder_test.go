package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// lead holds engineering-leads, the role production's approval escalates to.
const lead = "ULEAD1"

// newLadderFixture is the test project with production's approval (two of approver or release-managers,
// within an hour) reminding every 20 minutes and escalating to engineering-leads after 30.
func newLadderFixture(t *testing.T) *fixture {
	return newFixtureWith(t, func(cfg *config.Config, files map[string]string) {
		files["shipyard.yaml"] = strings.Replace(files["shipyard.yaml"], "required: 2, timeout: 1h}",
			"required: 2, timeout: 1h, remind_every: 20m, escalate_after: 30m, escalate_to: [engineering-leads]}", 1)
		cfg.Channels[0].Roles["engineering-leads"] = []string{lead}
	})
}

// threadReplies are the texts posted in a delivery's thread that start with prefix, with whom each
// notifies.
func (f *fixture) threadReplies(id int64, prefix string) []sent {
	f.t.Helper()
	var out []sent
	for _, c := range f.poster.all() {
		if c.Op == "post" && c.Thread == f.messageOf(id, store.MessageRoot).ThreadID && strings.HasPrefix(c.Message.Text, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func TestApprovalLadderInThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLadderFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		if r := f.click(ops, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "1 of 2") {
			t.Fatalf("first approval: %+v", r.Private)
		}
		if r := f.click(lead, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "You need the role approver or release-managers") {
			t.Fatalf("engineering-leads before the escalation: %+v", r.Private)
		}
		time.Sleep(20*time.Minute - 2*DefaultEditInterval)
		settle()
		reminders := f.threadReplies(id, "production · ⏰ Reminder")
		// The reminder asks who has not voted: not ops, who approved, nor the developer who requested it.
		if len(reminders) != 1 || !slices.Equal(reminders[0].Message.Notify, []Mention{{ID: relGroup, Group: true}}) {
			t.Fatalf("reminders at 20m: %s", dump(reminders))
		}
		time.Sleep(10 * time.Minute)
		settle()
		escalations := f.threadReplies(id, "production · ⏫ Escalated")
		if len(escalations) != 1 || !slices.Equal(escalations[0].Message.Notify, []Mention{{ID: lead}}) {
			t.Fatalf("escalations at 30m: %s", dump(escalations))
		}
		time.Sleep(10 * time.Minute)
		settle()
		reminders = f.threadReplies(id, "production · ⏰ Reminder")
		if len(reminders) != 2 || !slices.Equal(reminders[1].Message.Notify, []Mention{{ID: lead}, {ID: relGroup, Group: true}}) {
			t.Fatalf("reminders at 40m: %s", dump(reminders))
		}
		card := f.poster.latest(f.messageOf(id, store.MessageApproval).MessageID)
		if got := fieldValue(card, "Reminders"); !strings.HasPrefix(got, "reminded 2×, escalated to @engineering-leads at ") {
			t.Errorf("card's Reminders field: %q", got)
		}
		// The escalated role decides.
		if r := f.click(lead, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "2 of 2") {
			t.Fatalf("engineering-leads after the escalation: %+v", r.Private)
		}
		settle()
		time.Sleep(time.Hour)
		settle()
		if n := len(f.threadReplies(id, "production · ⏰ Reminder")); n != 2 {
			t.Errorf("%d reminders after the decision, want 2", n)
		}
		var actions []string
		for _, e := range f.audit(fmt.Sprintf("approval:%d", a.ID)) {
			if e.Action == "approval.reminded" || e.Action == "approval.escalated" {
				actions = append(actions, e.Action)
			}
		}
		if !slices.Equal(actions, []string{"approval.reminded", "approval.escalated", "approval.reminded"}) {
			t.Errorf("audit, newest first: %q", actions)
		}
	})
}

func fieldValue(m Message, label string) string {
	for _, f := range m.Fields {
		if f.Label == label {
			return f.Value
		}
	}
	return ""
}

// TestGoldenLadderMessages pins the timeout ladder's shapes: the pending card with its plan, the
// reminder and the escalation in the thread, and the card once reminded and escalated.
func TestGoldenLadderMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLadderFixture(t)
		ctx := context.Background()
		ch := f.bot.binding(engine.PlatformSlack, channel)
		approval := func(name string, id int64) {
			t.Helper()
			m, err := f.bot.renderApproval(ctx, ch, id)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, m)
		}
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		approval("approval-pending-ladder", a.ID)
		f.click(ops, ActionApprove, a.ID)
		time.Sleep(20*time.Minute - 2*DefaultEditInterval)
		settle()
		golden(t, "reply-approval-reminder", f.threadReplies(id, "production · ⏰ Reminder")[0].Message)
		time.Sleep(10 * time.Minute)
		settle()
		golden(t, "reply-approval-escalated", f.threadReplies(id, "production · ⏫ Escalated")[0].Message)
		time.Sleep(10 * time.Minute)
		settle()
		approval("approval-reminded-escalated", a.ID)
		f.click(lead, ActionApprove, a.ID)
		settle()
		approval("approval-approved-after-escalation", a.ID)
	})
}

// /deliver approvals lists, oldest first, what the asker may vote on, with how long each has waited;
// what they voted on or requested is counted below, and an escalation adds what its role may now decide.
func TestApprovalsCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLadderFixture(t)
		first := f.deliver("v0.1.1", 500)
		settle()
		time.Sleep(10 * time.Minute)
		// Another service: a newer delivery of the same one would supersede the first's approval.
		if r := f.command(developer, "orders ghcr.io/x/orders:v2"); !strings.HasPrefix(r.Message.Text, "🚀 Delivery #2") {
			t.Fatalf("deliver orders: %q", r.Message.Text)
		}
		settle()
		lines := func(user string) (string, string) {
			t.Helper()
			r := f.command(user, "approvals")
			return r.Message.Text, strings.Join(r.Message.Context, "\n")
		}
		text, _ := lines(qaLead)
		got := strings.Split(text, "\n")
		if len(got) != 2 || !strings.HasPrefix(got[0], "#1 helloservice v0.1.1 to production · 0 of 2 approvals · waiting 10m (since ") ||
			!strings.HasPrefix(got[1], "#2 orders v2 to production · 0 of 2 approvals · waiting 0s (since ") {
			t.Fatalf("approvals of release-managers, oldest first:\n%s", text)
		}
		f.click(ops, ActionApprove, f.pendingApproval(first).ID)
		text, context := lines(ops)
		if strings.Contains(text, "#1 ") || !strings.HasPrefix(text, "#2 ") || context != "Not listed: 1 you have voted on." {
			t.Errorf("approvals of ops after voting on #1:\n%s\n%s", text, context)
		}
		if text, _ := lines(lead); text != "" && !strings.HasPrefix(text, "Nothing") {
			t.Errorf("engineering-leads before any escalation:\n%s", text)
		}
		// Escalated at 30 minutes (the first) and 40 (the second); the first was reminded at 20 and 40.
		time.Sleep(30 * time.Minute)
		settle()
		text, _ = lines(lead)
		got = strings.Split(text, "\n")
		if len(got) != 2 || !strings.Contains(got[0], "· 1 of 2 approvals · waiting 40m") || !strings.HasSuffix(got[0], "· reminded 2× · escalated to @engineering-leads") ||
			!strings.HasPrefix(got[1], "#2 ") || !strings.HasSuffix(got[1], "· escalated to @engineering-leads") {
			t.Errorf("approvals of engineering-leads after the escalations:\n%s", text)
		}
	})
}
