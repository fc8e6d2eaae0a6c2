package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// ladderProps is the approval of issue 19: release-managers decide, reminded every 4h, escalated to
// engineering-leads after 24h, rejected after 72h.
const ladderProps = "{pass: manual, warning: manual, approvers: [release-managers], remind_every: 4h, escalate_after: 24h, " +
	"escalate_to: [engineering-leads], timeout: 72h, on_timeout: reject}"

// ladderEvents lists the reminders and escalations published, as "reminded N" and "escalated ROLES".
func (f *fixture) ladderEvents() []string {
	var out []string
	for _, ev := range f.published() {
		switch ev.Type {
		case EventApprovalReminded:
			out = append(out, fmt.Sprintf("reminded %d", ev.Approval.Reminders))
		case EventApprovalEscalated:
			out = append(out, "escalated "+strings.Join(ev.Approval.EscalatedTo, ","))
		}
	}
	return out
}

// ladderAudit lists the ladder's audit entries of an approval, oldest first.
func (f *fixture) ladderAudit(approvalID int64) []string {
	f.t.Helper()
	audit, err := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("approval:%d", approvalID), OldestFirst: true})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range audit {
		if strings.HasPrefix(e.Action, "approval.reminded") || strings.HasPrefix(e.Action, "approval.escalated") {
			out = append(out, fmt.Sprintf("%s %s %s", e.Actor, e.Action, e.Reason))
		}
	}
	return out
}

func TestApprovalLadder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard(ladderProps), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		timeSleep(4*3600 - 1)
		synctest.Wait()
		equal(t, "before 4h", f.ladderEvents(), nil)
		timeSleep(1)
		synctest.Wait()
		equal(t, "at 4h", f.ladderEvents(), []string{"reminded 1"})
		timeSleep(4 * 3600)
		synctest.Wait()
		equal(t, "at 8h", f.ladderEvents(), []string{"reminded 1", "reminded 2"})

		// release-managers may vote before the escalation; engineering-leads may not.
		if out := f.vote(a.ID, "U-lead", store.DecisionApprove, "engineering-leads"); out.Counted || out.Refusal.Code != RefusedNoRole {
			t.Fatalf("engineering-leads before the escalation: %+v", out)
		}
		timeSleep(16 * 3600)
		synctest.Wait()
		evs := f.ladderEvents()
		if want := []string{"escalated engineering-leads", "reminded 1", "reminded 2", "reminded 3", "reminded 4", "reminded 5", "reminded 6"}; !slices.Equal(slices.Sorted(slices.Values(evs)), want) {
			t.Errorf("at 24h: %q, want %q in any order", evs, want)
		}
		stored, _ := f.st.GetApproval(context.Background(), a.ID)
		if !slices.Equal(stored.Roles, []string{"release-managers", "engineering-leads"}) || stored.EscalatedAt == nil {
			t.Errorf("after the escalation: roles %q escalated at %v", stored.Roles, stored.EscalatedAt)
		}
		var escalated *ApprovalInfo
		for _, ev := range f.published() {
			if ev.Type == EventApprovalEscalated {
				escalated = ev.Approval
			}
		}
		if escalated == nil || !slices.Equal(escalated.Roles, stored.Roles) || !slices.Equal(escalated.EscalatedTo, []string{"engineering-leads"}) {
			t.Errorf("escalation event: %+v", escalated)
		}
		// (The reminder due at 24h and the escalation fire at the same instant, in either order.)
		// The escalated role may vote now, and its approval decides.
		if out := f.vote(a.ID, "U-lead", store.DecisionApprove, "engineering-leads"); !out.Counted || out.Approval.State != store.ApprovalApproved {
			t.Fatalf("engineering-leads after the escalation: %+v", out)
		}
		synctest.Wait()
		equal(t, "sequences", f.sequences(id)[1:], []string{"production.delivery=finished/pass/succeeded"})

		// Decided: no reminder follows, however long it waits.
		before := len(f.ladderEvents())
		timeSleep(80 * 3600)
		synctest.Wait()
		if got := f.ladderEvents(); len(got) != before {
			t.Errorf("after the decision: %q", got[before:])
		}
		audit := f.ladderAudit(a.ID)
		if len(audit) != 7 || audit[0] != "shipgate approval.reminded reminder 1" || !slices.Contains(audit, "shipgate approval.escalated escalated after 24h0m0s") {
			t.Errorf("audit: %q", audit)
		}
	})
}

// Timers derive from stored times: a restart re-arms them without sending again what was sent, and what
// fell due while the process was down is sent once when it starts.
func TestApprovalLadderSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard(ladderProps), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		a := f.pendingApproval(id)
		timeSleep(5 * 3600)
		synctest.Wait()
		equal(t, "at 5h", f.ladderEvents(), []string{"reminded 1"})

		// A restart between reminders sends nothing at once, and the next one comes at 8h.
		f.restart()
		synctest.Wait()
		equal(t, "after a restart at 5h", f.ladderEvents(), []string{"reminded 1"})
		timeSleep(3 * 3600)
		synctest.Wait()
		equal(t, "at 8h", f.ladderEvents(), []string{"reminded 1", "reminded 2"})

		// Down from 9h to 26h: the reminders at 12h to 24h and the escalation fall due meanwhile, and are
		// sent once each when the process starts; the next reminder is at 28h.
		timeSleep(3600)
		f.stop()
		timeSleep(17 * 3600)
		f.start()
		synctest.Wait()
		f.restart() // and once more: nothing is sent twice
		synctest.Wait()
		got := slices.Sorted(slices.Values(f.ladderEvents()))
		equal(t, "at 26h", got, []string{"escalated engineering-leads", "reminded 1", "reminded 2", "reminded 3"})
		timeSleep(2*3600 - 1)
		synctest.Wait()
		if n := len(f.ladderEvents()); n != 4 {
			t.Errorf("before 28h: %q", f.ladderEvents())
		}
		timeSleep(1)
		synctest.Wait()
		if evs := f.ladderEvents(); len(evs) != 5 || evs[4] != "reminded 4" {
			t.Errorf("at 28h: %q", evs)
		}
		stored, _ := f.st.GetApproval(context.Background(), a.ID)
		if stored.Reminders != 4 || stored.EscalatedAt == nil {
			t.Errorf("stored: %d reminders, escalated at %v", stored.Reminders, stored.EscalatedAt)
		}
		if audit := f.ladderAudit(a.ID); len(audit) != 5 {
			t.Errorf("audit: %q", audit)
		}
	})
}

// Reminders stop at the timeout, which decides: none falls on or after it.
func TestApprovalLadderEndsAtTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual, remind_every: 4h, timeout: 10h}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		timeSleep(20 * 3600)
		synctest.Wait()
		equal(t, "reminders", f.ladderEvents(), []string{"reminded 1", "reminded 2"})
		equal(t, "sequences", f.sequences(id)[1:2], []string{"production.delivery=finished/fail/succeeded"})
	})
}

func TestParseApprovalLadder(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"none", map[string]any{}, "0s 0s []"},
		{"all", map[string]any{"remind_every": "4h", "escalate_after": "24h", "escalate_to": []any{"leads", "sre"}}, "4h0m0s 24h0m0s [leads sre]"},
		{"one role as a string", map[string]any{"escalate_to": "leads"}, "0s 0s [leads]"},
		// shipgate validate reports these; the engine runs without the step.
		{"malformed", map[string]any{"remind_every": "often", "escalate_after": "-1h"}, "0s 0s []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseApprovalPolicy(tt.props)
			if got := fmt.Sprintf("%s %s %v", p.remindEvery, p.escalateAfter, p.escalateTo); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
