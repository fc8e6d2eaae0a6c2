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

// settle lets the engine and the bot finish, and the coalesced edits their second.
func settle() {
	synctest.Wait()
	time.Sleep(2 * DefaultEditInterval)
	synctest.Wait()
}

// A day with shipgate (DESIGN.md): /deliver → root card → thread replies → score table → approval
// request → refused clicks → two approvals → production → the card shows the final state.
func TestDeliveryThroughApproval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()

		root := f.messageOf(id, store.MessageRoot)
		calls := f.poster.all()
		if calls[0].Op != "post" || calls[0].ID != root.MessageID || !calls[0].Opts.StartThread {
			t.Fatalf("first call is not the root card: %s", dump(calls))
		}
		var replies []string
		var table *Message
		for _, c := range calls[1:] {
			if c.Op != "post" {
				continue
			}
			if c.Thread != root.ThreadID {
				t.Errorf("reply %q not in the root's thread", c.Message.Fallback())
			}
			replies = append(replies, c.Message.Text)
			if c.Message.Table != nil {
				table = &c.Message
			}
		}
		for _, want := range []string{"qa · `deployment` ✅ pass in", "qa · `test` ✅ pass", "qa · `evaluation` ✅ pass",
			"qa · ✅ `delivery` finished"} {
			if !containsPrefix(replies, want) {
				t.Errorf("no thread reply starting %q in %q", want, replies)
			}
		}
		// The default thread_detail, results, leaves out the tasks' starts: the root card shows what runs.
		for _, r := range replies {
			if strings.Contains(r, "` started") {
				t.Errorf("thread reply %q at the default thread_detail", r)
			}
		}
		if table == nil || len(table.Table.Rows) != 2 || !strings.HasPrefix(table.Table.Summary, "Score 100 of 100") {
			t.Fatalf("score table: %+v", table)
		}
		approvalMsg := f.messageOf(id, store.MessageApproval)
		a := f.pendingApproval(id)
		if approvalMsg.ApprovalID != a.ID {
			t.Fatalf("approval message for approval %d, want %d", approvalMsg.ApprovalID, a.ID)
		}
		req := f.poster.latest(approvalMsg.MessageID)
		if len(req.Buttons) != 2 || req.Buttons[0].ActionID != ActionApprove || req.Buttons[1].ActionID != ActionReject {
			t.Fatalf("approval request buttons: %+v", req.Buttons)
		}
		for _, c := range calls {
			if c.ID == approvalMsg.MessageID && c.Op == "post" && !c.Opts.Broadcast {
				t.Error("the approval request is not broadcast to the channel")
			}
		}
		if got := StatusLine(f.poster.latest(root.MessageID).Stages); got != "qa ✅ · production ✋ 0 of 2 approvals" {
			t.Errorf("root card while waiting: %q", got)
		}

		refused := func(user, action, want string) {
			t.Helper()
			r := f.click(user, action, a.ID)
			if r.Private == nil || !strings.Contains(r.Private.Text, want) {
				t.Errorf("%s %s: %+v, want a private %q", user, action, r, want)
			}
		}
		refused(outsider, ActionApprove, "You need the role approver or release-managers in this channel")
		refused(developer, ActionApprove, "You triggered this delivery, so someone else has to approve it")
		if r := f.click(ops, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "counted: 1 of 2") {
			t.Errorf("first approval: %+v", r)
		}
		settle()
		if got := f.poster.latest(approvalMsg.MessageID).Fields; !hasField(got, "Approvals", "1 of 2: <@UOPS1>") {
			t.Errorf("approval request after one vote: %+v", got)
		}
		refused(ops, ActionApprove, "You have already voted on this approval")
		// UQA1 holds release-managers through the user group SREL1.
		if r := f.click(qaLead, ActionApprove, a.ID); r.Private == nil || !strings.Contains(r.Private.Text, "counted: 2 of 2") {
			t.Errorf("second approval: %+v", r)
		}
		settle()

		d := f.delivery(id)
		if d.State != store.StateFinished || d.Result != store.ResultPass {
			t.Fatalf("delivery %s/%s", d.State, d.Result)
		}
		final := f.poster.latest(root.MessageID)
		if got := StatusLine(final.Stages); got != "qa ✅ · production ✅" {
			t.Errorf("final root card: %q", got)
		}
		if !hasField(final.Fields, "State", "✅ pass") {
			t.Errorf("final root card fields: %+v", final.Fields)
		}
		decided := f.poster.latest(approvalMsg.MessageID)
		if len(decided.Buttons) != 0 || !strings.HasPrefix(decided.Text, "✅ Approved by <@UOPS1>, <@UQA1> at 2000-01-01") {
			t.Errorf("decided approval request: buttons %v, text %q", decided.Buttons, decided.Text)
		}
		// Every click, refused or counted, is in the audit trail.
		var allowed, denied int
		for _, e := range f.audit(fmt.Sprintf("approval:%d", a.ID)) {
			if e.Allowed {
				allowed++
			} else {
				denied++
			}
		}
		if allowed != 2 || denied != 3 {
			t.Errorf("audit: %d allowed, %d denied; want 2 and 3", allowed, denied)
		}
		assertCoalesced(t, f.poster.all())
	})
}

// assertCoalesced checks that no message was edited twice within an edit interval.
func assertCoalesced(t *testing.T, calls []sent) {
	t.Helper()
	last := map[string]time.Time{}
	for _, c := range calls {
		if c.Op != "post" && c.Op != "update" {
			continue
		}
		if prev, ok := last[c.ID]; ok && c.At.Sub(prev) < DefaultEditInterval {
			t.Errorf("message %s written at %s and again %s later", c.ID, prev.Format(time.TimeOnly), c.At.Sub(prev))
		}
		last[c.ID] = c.At
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func hasField(fields []Field, label, value string) bool {
	for _, f := range fields {
		if f.Label == label && f.Value == value {
			return true
		}
	}
	return false
}

// A slow build fails the qa evaluation: the table shows what failed, production never starts, the
// rollback runs, and the root card says so.
func TestFailingEvaluationStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		good := f.deliver("v0.1.1", 500)
		settle()
		f.click(ops, ActionApprove, f.pendingApproval(good).ID)
		f.click(qaLead, ActionApprove, f.pendingApproval(good).ID)
		settle()

		id := f.deliver("v0.1.2", 900)
		settle()
		var table *Message
		for _, c := range f.poster.all() {
			if c.Op == "post" && c.Message.Table != nil && strings.Contains(c.Message.Text, "`evaluation` ❌ fail") {
				table = &c.Message
			}
		}
		if table == nil {
			t.Fatalf("no failing score table: %s", dump(f.poster.all()))
		}
		row := table.Table.Rows[0]
		if row[0] != "Response time P95" || row[1] != "900" || row[2] != "500" || row[3] != "+80.0%" || row[6] != "fail" {
			t.Errorf("response time row: %q", row)
		}
		if !strings.Contains(table.Text, "Not passed: Response time P95 fail (900; broke <=+10%, <600)") {
			t.Errorf("score table text: %q", table.Text)
		}
		root := f.poster.latest(f.messageOf(id, store.MessageRoot).MessageID)
		if got := StatusLine(root.Stages); got != "qa ❌ rollback ✅ · production ·" {
			t.Errorf("root card: %q", got)
		}
		if !hasField(root.Fields, "State", "❌ fail") {
			t.Errorf("root fields: %+v", root.Fields)
		}
		for _, m := range f.messages(id) {
			if m.Kind == store.MessageApproval {
				t.Error("an approval request was posted for a failed delivery")
			}
		}
	})
}

// After a restart the same messages are edited and the same thread is replied to: references live in
// SQLite, not in memory.
func TestMessagesSurviveRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		root := f.messageOf(id, store.MessageRoot)
		approvalMsg := f.messageOf(id, store.MessageApproval)
		posts := countOps(f.poster.all(), "post")
		f.restart()
		settle()
		if got := countOps(f.poster.all(), "post"); got != posts {
			t.Errorf("the restart posted %d new messages: %s", got-posts, dump(f.poster.all()[posts:]))
		}
		a := f.pendingApproval(id)
		f.click(ops, ActionApprove, a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		if got := f.poster.latest(approvalMsg.MessageID).Text; !strings.HasPrefix(got, "✅ Approved") {
			t.Errorf("approval request after restart: %q", got)
		}
		if got := StatusLine(f.poster.latest(root.MessageID).Stages); got != "qa ✅ · production ✅" {
			t.Errorf("root card after restart: %q", got)
		}
		for _, c := range f.poster.all()[posts:] {
			if c.Op == "post" && c.Thread != root.ThreadID {
				t.Errorf("post after restart outside the delivery's thread: %q", c.Message.Fallback())
			}
		}
	})
}

func countOps(calls []sent, op string) int {
	n := 0
	for _, c := range calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

// A platform that answers 429 is waited for as it asked, and nothing is lost or reordered.
func TestRateLimitIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		f.poster.rateLimit = 2
		id := f.deliver("v0.1.1", 500)
		settle()
		calls := f.poster.all()
		if calls[0].Op != "429" || calls[1].Op != "429" || calls[2].Op != "post" || !calls[2].Opts.StartThread {
			t.Fatalf("calls: %s", dump(calls))
		}
		if gap := calls[2].At.Sub(calls[1].At); gap < time.Second {
			t.Errorf("retried after %s, before the 1s Retry-After", gap)
		}
		root := f.messageOf(id, store.MessageRoot)
		if root.MessageID != calls[2].ID {
			t.Errorf("root recorded as %s, posted as %s", root.MessageID, calls[2].ID)
		}
	})
}

// Rejecting asks for a reason first, and the decision shows who rejected and why.
func TestRejectWithReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		if r := f.click(outsider, ActionReject, a.ID); r.AskReason != nil || r.Private == nil {
			t.Errorf("an outsider's reject opened the dialog: %+v", r)
		}
		r := f.click(ops, ActionReject, a.ID)
		if r.AskReason == nil || r.AskReason.Value != approvalValue(a.ID) {
			t.Fatalf("reject without a reason: %+v", r)
		}
		if f.pendingApproval(id).State != store.ApprovalPending {
			t.Fatal("asking for a reason decided the approval")
		}
		f.click(ops, ActionReject, a.ID, "error budget is spent")
		settle()
		got := f.poster.latest(f.messageOf(id, store.MessageApproval).MessageID)
		if !strings.HasPrefix(got.Text, "❌ Rejected by <@UOPS1> at") || !strings.HasSuffix(got.Text, ": error budget is spent") || len(got.Buttons) != 0 {
			t.Errorf("rejected request: %q %v", got.Text, got.Buttons)
		}
		if d := f.delivery(id); d.Result != store.ResultFail {
			t.Errorf("delivery result %s after a rejection", d.Result)
		}
	})
}

// A replayed request (same platform request id) is answered as the first time and changes nothing.
func TestReplayedRequestsApplyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		req := CommandRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: developer}, Channel: channel,
			Text: "helloservice ghcr.io/podtato-head/podtatoserver:v1 --label latency=1", RequestID: "T-1"}
		first := f.bot.HandleCommand(context.Background(), req)
		again := f.bot.HandleCommand(context.Background(), req)
		if first.Duplicate || !again.Duplicate || again.Message.Text != first.Message.Text {
			t.Errorf("first %+v, again %+v", first, again)
		}
		settle()
		ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{})
		if len(ds) != 1 {
			t.Fatalf("%d deliveries from one replayed command", len(ds))
		}
		a := f.pendingApproval(ds[0].ID)
		click := ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: ops}, Channel: channel, ActionID: ActionApprove,
			Value: approvalValue(a.ID), RequestID: "T-2"}
		f.bot.HandleClick(context.Background(), click)
		if r := f.bot.HandleClick(context.Background(), click); !r.Duplicate {
			t.Errorf("replayed click not recognised: %+v", r)
		}
		votes, _ := f.st.ListVotes(context.Background(), a.ID)
		denied := 0
		for _, e := range f.audit(fmt.Sprintf("approval:%d", a.ID)) {
			if !e.Allowed {
				denied++
			}
		}
		if len(votes) != 1 || denied != 0 {
			t.Errorf("after a replayed click: %d votes, %d denials; want 1 and 0", len(votes), denied)
		}
	})
}

// The approval request says which Helm revision runs in the stage now, when the deployment that put it
// there was a Helm deployment (its task's result data names the revision).
func TestApprovalNamesTheHelmRevisionThere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		first := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(first)
		f.click(ops, ActionApprove, a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		if d := f.delivery(first); d.Result != store.ResultPass {
			t.Fatalf("first delivery %s %q", d.Result, d.Message)
		}
		// What the helm executor reports for the production deployment; the fixture's executors are noop.
		runs, err := f.st.ListTaskRuns(ctx, store.TaskRunQuery{DeliveryID: first})
		if err != nil {
			t.Fatal(err)
		}
		marked := false
		for _, tr := range runs {
			seq, err := f.st.GetSequenceRun(ctx, tr.SequenceRunID)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Name != "deployment" || seq.Stage != "production" {
				continue
			}
			data := []byte(`{"deployment":{"helm":{"release":"helloservice","namespace":"fulltour-production","revision":7}}}`)
			if err := f.st.Update(ctx, func(tx *store.Tx) error {
				_, err := tx.UpdateTaskRun(ctx, tr.ID, store.TaskRunUpdate{Data: data})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			marked = true
		}
		if !marked {
			t.Fatal("no production deployment task run")
		}

		second := f.deliver("v0.1.2", 500)
		settle()
		m, err := f.bot.renderApproval(ctx, f.bot.binding(engine.PlatformSlack, channel), f.pendingApproval(second).ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range m.Fields {
			if field.Label == "Now in production" {
				if want := fmt.Sprintf("v0.1.1 (delivery #%d, Helm revision 7 of helloservice)", first); field.Value != want {
					t.Errorf("Now in production: %q, want %q", field.Value, want)
				}
				return
			}
		}
		t.Errorf("no 'Now in production' field in %+v", m.Fields)
	})
}
