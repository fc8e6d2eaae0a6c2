package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func TestCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		for _, tt := range []struct {
			name, user, text string
			want             []string // in the reply's header or text
		}{
			{"help", outsider, "help", []string{"/deliver SERVICE IMAGE"}},
			{"empty is help", outsider, "", []string{"/deliver SERVICE IMAGE"}},
			{"unknown service", developer, "carts ghcr.io/x/carts:v1", []string{`project fulltour has no service "carts"; services: helloservice, orders`, "/deliver SERVICE IMAGE"}},
			{"parse error", developer, "helloservice", []string{"IMAGE"}},
			{"not a deployer", outsider, "helloservice ghcr.io/x/y:v1", []string{"you need the role deployer in this channel to deliver"}},
			{"unknown stage", developer, "helloservice ghcr.io/x/y:v1 --stage staging", []string{`no stage "staging"; stages: qa, production`}},
			{"wrong project", developer, "helloservice ghcr.io/x/y:v1 --project shop", []string{"project shop is not served in this channel; projects here: fulltour"}},
			{"status of one", outsider, "status 1", []string{"Delivery #1: helloservice v0.1.1"}},
			{"status of all", outsider, "status", []string{"#1 helloservice v0.1.1 · ✋ waiting for approval · qa ✅ · production ✋ 0 of 2 approvals"}},
			{"status of another project's", outsider, "status 99", []string{"there is no delivery #99 in this channel's projects (fulltour)"}},
			{"history", outsider, "history helloservice", []string{"History of helloservice", "#1 helloservice v0.1.1", "by <@UDEV1>"}},
			{"history of a stage", outsider, "history helloservice --stage production", []string{"History of helloservice in production", "#1"}},
			{"history unknown", outsider, "history carts", []string{`no service "carts"`}},
			{"approvals of an approver", ops, "approvals", []string{"#1 helloservice v0.1.1 to production · 0 of 2 approvals · waiting "}},
			{"approvals of the requester", developer, "approvals", []string{"Nothing is waiting for your approval here.", "Not listed: 1 you requested, which someone else approves."}},
			{"approvals of an outsider", outsider, "approvals", []string{"Nothing is waiting"}},
			{"pause by outsider", outsider, "pause 1", []string{"you need the role deployer"}},
			{"resume what runs", developer, "resume 1", []string{"delivery 1 has nothing to resume (it is waitingForApproval)"}},
			{"rollback without a rollback sequence", developer, "rollback orders qa", []string{"nothing to roll back: no delivery of orders has reached qa"}},
		} {
			r := f.command(tt.user, tt.text)
			got := r.Message.Header + "\n" + r.Message.Text + "\n" + strings.Join(r.Message.Context, "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: /deliver %s answered\n%s\nwant %q", tt.name, tt.text, got, w)
				}
			}
			if r.Public {
				t.Errorf("%s: answered in the channel", tt.name)
			}
		}
		// Every command was audited, allowed or not.
		all, _ := f.st.ListAudit(context.Background(), store.AuditQuery{})
		commands := 0
		for _, e := range all {
			if strings.HasPrefix(e.Action, "command.") {
				commands++
			}
		}
		if commands != 20 { // the 19 above and the delivery's own
			t.Errorf("%d commands audited, want 20", commands)
		}
		if d := f.delivery(id); d.State != store.StateWaitingForApproval {
			t.Fatalf("delivery %s", d.State)
		}
	})
}

func TestControlCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		if r := f.command(developer, "pause 1"); !strings.Contains(r.Message.Text, "Delivery #1 ⏸️ paused.") {
			t.Errorf("pause: %q", r.Message.Text)
		}
		settle()
		if got := StatusLine(f.poster.latest(f.messageOf(id, store.MessageRoot).MessageID).Stages); got != "qa ✅ · production ⏸️" {
			t.Errorf("paused card: %q", got)
		}
		if r := f.command(developer, "resume 1"); !strings.Contains(r.Message.Text, "resumed") {
			t.Errorf("resume: %q", r.Message.Text)
		}
		if r := f.command(ops, "abort #1"); !strings.Contains(r.Message.Text, "Delivery #1 🛑 aborted.") {
			t.Errorf("abort: %q", r.Message.Text)
		}
		settle()
		msg := f.poster.latest(f.messageOf(id, store.MessageApproval).MessageID)
		if len(msg.Buttons) != 0 || !strings.HasPrefix(msg.Text, "🛑 Closed at") || !strings.Contains(msg.Text, "aborted by UOPS1") {
			t.Errorf("approval request after abort: %q %v", msg.Text, msg.Buttons)
		}
		if r := f.command(developer, "rollback helloservice production"); !strings.Contains(r.Message.Text, "Rollback #2 of helloservice in production started (from v0.1.1, delivery #1)") {
			t.Errorf("rollback: %q", r.Message.Text)
		}
		settle()
		if d := f.delivery(2); d.Sequence != "rollback" || d.State != store.StateFinished || d.Result != store.ResultPass {
			t.Errorf("rollback delivery: %s %s %s", d.Sequence, d.State, d.Result)
		}
	})
}

// Roles come from user ids and user groups; group members are fetched at start and
// refreshed before the TTL ends, so checks within it cost no lookup.
func TestGroupMembersAreCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ch := f.bot.binding(engine.PlatformSlack, channel)
		qa := Actor{Platform: engine.PlatformSlack, ID: qaLead}
		for range 3 {
			if got := f.bot.rolesOf(context.Background(), ch, qa); len(got) != 1 || got[0] != "release-managers" {
				t.Fatalf("roles of the group member: %v", got)
			}
		}
		if f.dirs.count() != 1 {
			t.Errorf("%d group lookups for 3 checks within the TTL", f.dirs.count())
		}
		time.Sleep(DefaultGroupTTL)
		f.bot.rolesOf(context.Background(), ch, qa)
		if f.dirs.count() != 2 {
			t.Errorf("%d group lookups after the TTL, want 2", f.dirs.count())
		}
		if got := f.bot.rolesOf(context.Background(), ch, Actor{Platform: engine.PlatformSlack, ID: ops}); strings.Join(got, ",") != "approver,deployer" {
			t.Errorf("roles of ops: %v", got)
		}
	})
}

// A click from a channel that does not serve the approval's project is refused and audited.
func TestClickFromAnotherChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		r := f.bot.HandleClick(context.Background(), ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: ops}, Channel: "COTHER1",
			ActionID: ActionApprove, Value: approvalValue(a.ID), RequestID: "x"})
		if r.Private == nil || !strings.Contains(r.Private.Text, "approvals of project fulltour are decided in its bound channel") {
			t.Errorf("click elsewhere: %+v", r)
		}
		for _, bad := range []string{"42", "approval-x", "approval-999"} {
			r := f.bot.HandleClick(context.Background(), ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: ops}, Channel: channel,
				ActionID: ActionApprove, Value: bad})
			if r.Private == nil {
				t.Errorf("value %q: %+v", bad, r)
			}
		}
		entries := f.audit("approval:" + "999")
		if len(entries) != 1 || entries[0].Allowed {
			t.Errorf("audit of a click on a missing approval: %+v", entries)
		}
	})
}

// A click from a thread counts only in the delivery's own thread: the one its root card started. Another
// thread of the bound channel is refused, with the reason, and audited.
func TestClickFromAnotherThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		root := f.messageOf(id, store.MessageRoot)
		click := func(thread string) ClickReply {
			return f.bot.HandleClick(context.Background(), ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: ops}, Channel: channel,
				Thread: thread, ActionID: ActionApprove, Value: approvalValue(a.ID), RequestID: f.requestID()})
		}
		r := click("1700000999.000001")
		if r.Private == nil || !strings.Contains(r.Private.Text, "not the thread of delivery #1") {
			t.Errorf("click in another thread: %+v", r.Private)
		}
		if entries := f.audit(fmt.Sprintf("approval:%d", a.ID)); len(entries) != 1 || entries[0].Allowed || !strings.Contains(entries[0].Reason, "thread") {
			t.Errorf("audit of the refused click: %+v", entries)
		}
		if r := click(root.ThreadID); r.Private == nil || !strings.Contains(r.Private.Text, "Your approval counted") {
			t.Errorf("click in the delivery's thread: %+v", r.Private)
		}
	})
}

// A pending approval notifies its approvers: each user once and each group as itself, never the
// requester, who may not approve, nor who has voted.
func TestApprovalNotifiesApprovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		notified := func() string {
			m, err := f.bot.renderApproval(context.Background(), f.bot.binding(engine.PlatformSlack, channel), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(m.Notify)
		}
		if got := notified(); got != "[{UOPS1 false} {SREL1 true}]" {
			t.Errorf("pending: %s", got)
		}
		f.click(ops, ActionApprove, a.ID)
		if got := notified(); got != "[{SREL1 true}]" {
			t.Errorf("after ops voted: %s", got)
		}
	})
}

// /deliver history shows each delivery's score, who approved it and a link to its thread; /deliver stats
// its DORA figures; /deliver audit
// shows the trail of the channel's projects to auditors only, refusals included.
func TestHistoryAndAudit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		f.click(ops, ActionApprove, a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		root := f.messageOf(id, store.MessageRoot)

		r := f.command(outsider, "history helloservice")
		for _, want := range []string{"#1 helloservice v0.1.1", "score 100 (qa)", "approved by <@UOPS1>, <@UQA1>",
			"thread: https://chat.test/archives/" + channel + "/" + root.MessageID} {
			if !strings.Contains(r.Message.Text, want) {
				t.Errorf("history lacks %q:\n%s", want, r.Message.Text)
			}
		}

		r = f.command(outsider, "stats helloservice")
		if want := "last 30 days in production: 1 deployment (0.03/day) · lead time "; r.Message.Header != "DORA figures of helloservice" || !strings.HasPrefix(r.Message.Text, want) ||
			!strings.Contains(r.Message.Text, "change failure rate 0% (0 of 1)") {
			t.Errorf("stats: %s\n%s\nwant it to start %q", r.Message.Header, r.Message.Text, want)
		}
		if r := f.command(outsider, "stats helloservice --stage staging"); !strings.Contains(r.Message.Text, `no stage "staging"`) {
			t.Errorf("stats of an unknown stage: %q", r.Message.Text)
		}

		if r := f.command(ops, "audit"); !strings.Contains(r.Message.Text, "you need the role auditor in this channel") {
			t.Errorf("audit by a non-auditor: %q", r.Message.Text)
		}
		r = f.command(auditor, "audit --since 2h")
		text := r.Message.Header + "\n" + r.Message.Text
		for _, want := range []string{"Audit trail since", "✅", "<@UDEV1> · command.deliver", "<@UQA1> · approval.approve approval:1",
			"⛔", "<@UOPS1> · command.audit: you need the role auditor in this channel"} {
			if !strings.Contains(text, want) {
				t.Errorf("audit lacks %q:\n%s", want, text)
			}
		}
		if r := f.command(auditor, "audit --since 0d"); !strings.Contains(r.Message.Text, "--since must look back some time") {
			t.Errorf("audit --since 0d: %q", r.Message.Text)
		}
	})
}
