package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// approvalShipyard gates production on an approval after a qa test whose result the test chooses.
func approvalShipyard(props string) string {
	return `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: test}]
        - name: rollback
          triggeredOn: [{event: qa.delivery.finished, selector: {match: {result: fail}}}]
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual}
            - name: rollback
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks:
            - name: approval
              properties: ` + props + `
            - name: release
        - name: rollback
          triggeredOn: [{event: production.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: rollback}]
`
}

func TestApprovalStrategy(t *testing.T) {
	// Keptn's integration matrix (test_deliveryassistant.go, stages combi1 to combi4), plus a missing
	// property and no result at all, which both wait.
	tests := []struct {
		pass, warning string
		want          [3]string // for results pass, warning, fail
	}{
		{"automatic", "automatic", [3]string{"automatic", "automatic", "automatic"}},
		{"manual", "automatic", [3]string{"manual", "automatic", "automatic"}},
		{"automatic", "manual", [3]string{"automatic", "manual", "automatic"}},
		{"manual", "manual", [3]string{"manual", "manual", "automatic"}},
		{"", "", [3]string{"manual", "manual", "automatic"}},
	}
	for _, tt := range tests {
		p := approvalPolicy{pass: tt.pass, warning: tt.warning}
		for i, result := range []string{"pass", "warning", "fail"} {
			if got := p.strategy(result); got != tt.want[i] {
				t.Errorf("pass=%q warning=%q result=%s: %s, want %s", tt.pass, tt.warning, result, got, tt.want[i])
			}
		}
		if got := p.strategy(""); got != "manual" {
			t.Errorf("pass=%q warning=%q without a result: %s, want manual", tt.pass, tt.warning, got)
		}
	}
}

// The matrix through the engine: 4 strategies × the qa results pass and warning. (A fail result never
// reaches this approval, since a failed qa does not trigger production; the fail column is below.)
func TestApprovalMatrix(t *testing.T) {
	for _, strat := range [][2]string{{"automatic", "automatic"}, {"manual", "automatic"}, {"automatic", "manual"}, {"manual", "manual"}} {
		for _, result := range []store.Result{store.ResultPass, store.ResultWarning} {
			name := fmt.Sprintf("pass=%s,warning=%s/%s", strat[0], strat[1], result)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := newFixture(t, approvalShipyard(fmt.Sprintf("{pass: %s, warning: %s}", strat[0], strat[1])), "")
					f.fake.on("test", returns(result))
					id := f.trigger("carts", image)
					synctest.Wait()
					auto := strat[0] == "automatic" && result == store.ResultPass || strat[1] == "automatic" && result == store.ResultWarning
					seqs := f.sequences(id)
					if auto {
						equal(t, "sequences", seqs, []string{fmt.Sprintf("qa.delivery=finished/%s/succeeded", result), "production.delivery=finished/pass/succeeded"})
						return
					}
					equal(t, "sequences", seqs, []string{fmt.Sprintf("qa.delivery=finished/%s/succeeded", result), "production.delivery=waitingForApproval//"})
					if d := f.delivery(id); d.State != store.StateWaitingForApproval {
						t.Errorf("delivery state %s", d.State)
					}
					types := f.eventTypes(id)
					if types[len(types)-1] != "approval.started" {
						t.Errorf("last event %s, want approval.started sent at once", types[len(types)-1])
					}
				})
			})
		}
	}
}

// A fail result arriving with the payload is declined automatically, whatever the properties say: here
// the rollback sequence, triggered by a failed qa, starts with a manual approval.
func TestApprovalAutoDeclinesFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		f.fake.on("test", returns(store.ResultFail))
		id := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/fail/succeeded", "qa.rollback=finished/fail/succeeded"})
		equal(t, "tasks", f.tasks(id), []string{"qa.test=finished/fail", "qa.approval=finished/fail"})
	})
}

func TestApprovalVotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual, approvers: [release-managers], required: 2}"), "")
		id := f.trigger("carts", image) // triggered by U-dev
		synctest.Wait()
		a := f.pendingApproval(id)

		refusals := []struct {
			actor string
			roles []string
			code  RefusalCode
			want  string
		}{
			{"U-eve", []string{"approver", "deployer"}, RefusedNoRole, "you need the role release-managers to decide this approval"},
			{"U-dev", []string{"release-managers"}, RefusedRequester, "you triggered this delivery, so someone else has to approve it"},
		}
		for _, r := range refusals {
			out := f.vote(a.ID, r.actor, store.DecisionApprove, r.roles...)
			if out.Counted || out.Reason() != r.want || out.Refusal == nil || out.Refusal.Code != r.code || out.Refusal.Project != "shop" {
				t.Errorf("%s: counted=%v refusal=%+v, want refused (%s) with %q", r.actor, out.Counted, out.Refusal, r.code, r.want)
			}
		}
		out := f.vote(a.ID, "U-ann", store.DecisionApprove, "release-managers")
		if !out.Counted || len(out.Approval.Approvals) != 1 || out.Approval.Required != 2 {
			t.Fatalf("first approval: %+v", out)
		}
		synctest.Wait()
		equal(t, "after 1 of 2", f.sequences(id)[1:], []string{"production.delivery=waitingForApproval//"})
		if out := f.vote(a.ID, "U-ann", store.DecisionApprove, "release-managers"); out.Counted || out.Reason() != "you have already voted on this approval" {
			t.Errorf("second vote by the same person: %+v", out)
		}
		out = f.vote(a.ID, "U-bob", store.DecisionApprove, "release-managers")
		if !out.Counted || out.Approval.State != store.ApprovalApproved || strings.Join(out.Approval.Approvals, ",") != "U-ann,U-bob" {
			t.Fatalf("second approval: %+v", out)
		}
		synctest.Wait()
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		if out := f.vote(a.ID, "U-cat", store.DecisionReject, "release-managers"); out.Counted || out.Reason() != "this approval was already approved by U-ann, U-bob" {
			t.Errorf("vote after the decision: %+v", out)
		}

		// Every vote is audited, refusals with their reason.
		audit, err := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("approval:%d", a.ID)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(audit) - 1; i >= 0; i-- {
			got = append(got, fmt.Sprintf("%s %s %v %s", audit[i].Actor, audit[i].Action, audit[i].Allowed, audit[i].Reason))
		}
		equal(t, "audit", got, []string{
			"U-eve approval.approve false you need the role release-managers to decide this approval",
			"U-dev approval.approve false you triggered this delivery, so someone else has to approve it",
			"U-ann approval.approve true ",
			"U-ann approval.approve false you have already voted on this approval",
			"U-bob approval.approve true ",
			"U-cat approval.reject false this approval was already approved by U-ann, U-bob",
		})
	})
}

// A decline ends the sequence with fail (Keptn #3366, #3477): the remaining tasks do not run and the
// fail-selected rollback does.
func TestDeclineStopsSequence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		if out := f.vote(a.ID, "U-ann", store.DecisionReject); !out.Counted || out.Approval.State != store.ApprovalRejected {
			t.Fatalf("reject: %+v", out)
		}
		synctest.Wait()
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/fail/succeeded", "production.rollback=finished/pass/succeeded"})
		equal(t, "tasks", f.tasks(id), []string{"qa.test=finished/pass", "production.approval=finished/fail", "production.rollback=finished/pass"})
		if d := f.delivery(id); d.Result != store.ResultFail || !strings.HasPrefix(d.Message, "rejected by U-ann") {
			t.Errorf("delivery %s %q", d.Result, d.Message)
		}
	})
}

func TestSelfApprovalAllowedWhenConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual, allow_self_approval: true}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		if out := f.vote(f.pendingApproval(id).ID, "U-dev", store.DecisionApprove); !out.Counted {
			t.Fatalf("self-approval refused: %s", out.Reason())
		}
		synctest.Wait()
		equal(t, "sequences", f.sequences(id)[1:], []string{"production.delivery=finished/pass/succeeded"})
	})
}

func TestApprovalTimeout(t *testing.T) {
	for _, tt := range []struct{ onTimeout, want string }{
		{"reject", "production.delivery=finished/fail/succeeded"},
		{"approve", "production.delivery=finished/pass/succeeded"},
	} {
		t.Run(tt.onTimeout, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, approvalShipyard("{pass: manual, timeout: 24h, on_timeout: "+tt.onTimeout+"}"), "")
				id := f.trigger("carts", image)
				synctest.Wait()
				a := f.pendingApproval(id)
				timeSleep(24*3600 - 1)
				synctest.Wait()
				f.pendingApproval(id)
				// The process is down when the approval expires; it expires when the engine starts again.
				f.stop()
				timeSleep(3600)
				f.start()
				synctest.Wait()
				if got := f.sequences(id)[1]; got != tt.want {
					t.Errorf("after the timeout: %s, want %s", got, tt.want)
				}
				after, _ := f.st.GetApproval(context.Background(), a.ID)
				if after.State != store.ApprovalExpired || !strings.Contains(after.Reason, "nobody decided within 24h0m0s") {
					t.Errorf("approval %s %q", after.State, after.Reason)
				}
			})
		})
	}
}

func TestConcurrentVotesMakeOneTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		results := make(chan VoteOutcome, 6)
		for i := range 6 {
			go func() {
				d := store.DecisionApprove
				if i%2 == 1 {
					d = store.DecisionReject
				}
				out, err := f.e.Decide(context.Background(), Vote{ApprovalID: a.ID, Actor: fmt.Sprintf("U-%d", i), Roles: []string{DefaultApproverRole}, Decision: d})
				if err != nil {
					t.Error(err)
				}
				results <- out
			}()
		}
		counted := 0
		for range 6 {
			if out := <-results; out.Counted {
				counted++
			}
		}
		synctest.Wait()
		if counted != 1 {
			t.Errorf("%d votes counted, want exactly the first", counted)
		}
		n := 0
		for _, ev := range f.eventTypes(id) {
			if ev == "approval.finished" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d approval.finished events, want 1", n)
		}
	})
}

// CheckVote answers what Decide would, without casting: an allowed check leaves no vote and no audit
// row, a refused one is audited like a refused vote.
func TestCheckVote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		check := func(actor string, d store.Decision, roles ...string) VoteOutcome {
			t.Helper()
			out, err := f.e.CheckVote(context.Background(), Vote{ApprovalID: a.ID, Actor: actor, Roles: roles, Decision: d, Platform: PlatformSlack, Channel: "C1"})
			if err != nil {
				t.Fatalf("CheckVote: %v", err)
			}
			if out.Counted {
				t.Fatalf("CheckVote counted a vote")
			}
			return out
		}
		if out := check("U-ops", store.DecisionReject, DefaultApproverRole); out.Reason() != "" {
			t.Errorf("allowed reject refused: %s", out.Reason())
		}
		if out := check("U-ops", store.DecisionReject, "deployer"); !strings.Contains(out.Reason(), "you need the role approver") {
			t.Errorf("wrong role: %q", out.Reason())
		}
		if out := check("U-dev", store.DecisionApprove, DefaultApproverRole); !strings.Contains(out.Reason(), "you triggered this delivery") {
			t.Errorf("requester: %q", out.Reason())
		}
		f.vote(a.ID, "U-qa", store.DecisionApprove)
		if out := check("U-qa", store.DecisionReject, DefaultApproverRole); !strings.Contains(out.Reason(), "already") {
			t.Errorf("second vote: %q", out.Reason())
		}
		votes, _ := f.st.ListVotes(context.Background(), a.ID)
		if len(votes) != 1 {
			t.Errorf("%d votes after checks, want the one cast", len(votes))
		}
		audit, _ := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("approval:%d", a.ID)})
		var denied, allowed int
		for _, e := range audit {
			if e.Allowed {
				allowed++
			} else {
				denied++
			}
		}
		if allowed != 1 || denied != 3 {
			t.Errorf("audit: %d allowed, %d denied; want 1 (the vote) and 3 (wrong role, requester, second vote)", allowed, denied)
		}
	})
}
