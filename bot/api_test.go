package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// A vote through the API counts by the rules of a click, with the roles its actor holds in any channel
// bound to the project, and is audited with the token that cast it.
func TestDecideFromAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		ctx := context.Background()

		tests := []struct {
			name     string
			actor    string
			decision store.Decision
			counted  bool
			reason   string // part of the refusal
		}{
			{"requester", developer, store.DecisionApprove, false, "you triggered this delivery"},
			{"no role", outsider, store.DecisionApprove, false, "you need the role approver or release-managers to decide this approval"},
			{"not a decision", ops, "maybe", false, `"maybe" is not a decision`},
			{"approver", ops, store.DecisionApprove, true, ""},
			{"twice", ops, store.DecisionApprove, false, "already voted"},
			{"role through a user group", qaLead, store.DecisionApprove, true, ""},
			{"after the decision", outsider, store.DecisionReject, false, "already approved"},
		}
		for _, tt := range tests {
			out, err := f.bot.DecideFromAPI(ctx, a.ID, "fulltour", tt.actor, tt.decision, "ok from CI", "release")
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if out.Counted != tt.counted || !strings.Contains(out.Reason(), tt.reason) {
				t.Errorf("%s: counted %v reason %q; want %v and %q", tt.name, out.Counted, out.Reason(), tt.counted, tt.reason)
			}
		}
		settle()
		if d := f.delivery(id); d.State != store.StateFinished || d.Result != store.ResultPass {
			t.Errorf("after two approvals the delivery is %s/%s", d.State, d.Result)
		}

		entries := f.audit(fmt.Sprintf("approval:%d", a.ID))
		counted, refused := 0, 0
		for _, e := range entries {
			if e.Platform != string(engine.PlatformAPI) || e.Channel != "token:release" {
				t.Errorf("audit entry %s by %s from %s/%s; want platform api, channel token:release", e.Action, e.Actor, e.Platform, e.Channel)
			}
			if e.Allowed {
				counted++
			} else {
				refused++
			}
		}
		if counted != 2 || refused != 5 {
			t.Errorf("audited %d counted and %d refused votes, want 2 and 5", counted, refused)
		}

		if out, err := f.bot.DecideFromAPI(ctx, 999, "fulltour", ops, store.DecisionApprove, "", "release"); err != nil || out.Refusal == nil || out.Refusal.Code != engine.RefusedNotFound {
			t.Errorf("unknown approval: %+v %v, want refused as not found", out, err)
		}
		if es := f.audit("approval:999"); len(es) != 1 || es[0].Allowed || es[0].Reason != "no such approval" {
			t.Errorf("unknown approval audited as %+v", es)
		}
	})
}

// A token that triggered a delivery cannot approve it, whoever it names: the person behind both is the
// same.
func TestDecideFromAPITokenRequester(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		id, err := f.eng.Trigger(ctx, engine.Request{Project: "fulltour", Service: "helloservice", Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1",
			Labels: map[string]string{"latency": "500"}, Actor: "release", Source: "api"})
		if err != nil {
			t.Fatal(err)
		}
		settle()
		a := f.pendingApproval(id)
		out, err := f.bot.DecideFromAPI(ctx, a.ID, "fulltour", ops, store.DecisionApprove, "", "release")
		if err != nil {
			t.Fatal(err)
		}
		if out.Counted || out.Reason() != "token release triggered this delivery, so someone else has to approve it" {
			t.Errorf("approval by the triggering token: %+v", out)
		}
		if out.Approval.ID != a.ID || out.Approval.Required != 2 {
			t.Errorf("refusal carries approval %+v", out.Approval)
		}
		// Another token may approve as the same person, and the triggering token may still reject.
		if out, err := f.bot.DecideFromAPI(ctx, a.ID, "fulltour", ops, store.DecisionApprove, "", "other"); err != nil || !out.Counted {
			t.Errorf("approval by another token: %+v %v", out, err)
		}
		if out, err := f.bot.DecideFromAPI(ctx, a.ID, "fulltour", qaLead, store.DecisionReject, "too slow", "release"); err != nil || !out.Counted {
			t.Errorf("rejection by the triggering token: %+v %v", out, err)
		}
		refusals := 0
		for _, e := range f.audit(fmt.Sprintf("approval:%d", a.ID)) {
			if !e.Allowed {
				refusals++
				if !strings.Contains(e.Reason, "token release triggered") {
					t.Errorf("refusal audited with reason %q", e.Reason)
				}
			}
		}
		if refusals != 1 {
			t.Errorf("%d refusals audited, want 1", refusals)
		}
	})
}
