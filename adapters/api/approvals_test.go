package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/store"
)

// A token that names an approver decides an approval as that person; others are refused with the reason.
func TestDecideThroughAPI(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello())
	f.waitForApproval(id)
	approvals, err := f.st.ListApprovals(t.Context(), store.ApprovalQuery{DeliveryID: id})
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals %v %v", approvals, err)
	}
	path := fmt.Sprintf("/api/v1/approvals/%d", approvals[0].ID)
	approve := map[string]any{"decision": "approve", "reason": "qa evidence is fine"}

	for _, tt := range []struct {
		name   string
		tok    string
		path   string
		body   any
		status int
		want   string // the error
	}{
		{"token without an actor", tokCI, path, approve, 403, "this token names no actor"},
		{"actor without the role", tokOutsider, path, approve, 403, "you need the role approver in a channel bound to project fulltour to decide this approval"},
		{"token of another project", tokShop, path, approve, 403, "forbidden"},
		{"not a decision", tokRelease, path, map[string]any{"decision": "lgtm"}, 400, `decision "lgtm" is not approve or reject`},
		{"unknown field", tokRelease, path, map[string]any{"decision": "approve", "comment": "x"}, 400, `unknown field "comment"; expected decision, reason`},
		{"unknown approval", tokRelease, "/api/v1/approvals/999", approve, 404, "approval 999 not found"},
	} {
		r := f.as(tt.tok, "POST", tt.path, tt.body)
		if r.status != tt.status || !strings.Contains(r.errorText(t), tt.want) {
			t.Errorf("%s: %d %s, want %d and %q", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}

	if r := f.signed("POST", path, jsonBody(t, approve), f.clock()); r.status != http.StatusForbidden ||
		r.errorText(t) != "a signed request names no person, so it cannot vote; use a token that names an actor" {
		t.Errorf("a signed vote: %d %s", r.status, r.body)
	}

	r := f.as(tokRelease, "POST", path, approve)
	var out struct {
		Counted  bool   `json:"counted"`
		Reason   string `json:"reason"`
		Approval struct {
			State  string `json:"state"`
			Voters []struct {
				Actor    string `json:"actor"`
				Platform string `json:"platform"`
				Decision string `json:"decision"`
				Reason   string `json:"reason"`
				Time     string `json:"time"`
			} `json:"voters"`
		} `json:"approval"`
	}
	r.decode(t, &out)
	if r.status != http.StatusOK || !out.Counted || out.Approval.State != "approved" || len(out.Approval.Voters) != 1 {
		t.Fatalf("approval: %d %s", r.status, r.body)
	}
	if v := out.Approval.Voters[0]; v.Actor != opsUser || v.Platform != "api" || v.Decision != "approve" || v.Reason != "qa evidence is fine" || v.Time == "" {
		t.Errorf("voter %+v", v)
	}
	f.waitFinished(id)
	if d, _ := f.st.GetDelivery(t.Context(), id); d.State != store.StateFinished || d.Result != store.ResultPass {
		t.Errorf("after the approval the delivery is %s/%s", d.State, d.Result)
	}

	r = f.as(tokRelease, "POST", path, approve)
	r.decode(t, &out)
	if r.status != http.StatusForbidden || out.Counted || out.Reason != "this approval was already approved by "+opsUser || r.errorText(t) != out.Reason {
		t.Errorf("a second vote: %d %s", r.status, r.body)
	}

	// Every vote is audited once, with the token it came through; refusals before the vote by the API.
	votes := 0
	for _, e := range f.audit("approval.approve") {
		votes++
		if e.Platform != "api" || !strings.HasPrefix(e.Channel, "token:") {
			t.Errorf("vote audited as %+v", e)
		}
	}
	if votes != 3 { // the outsider's, the counted one and the late one
		t.Errorf("%d votes audited, want 3", votes)
	}
	if got := f.audit("api.approvals.decide"); len(got) != 6 {
		t.Errorf("%d refusals of the API audited, want 6 (no actor, other project, not a decision, unknown field, unknown approval, signed)", len(got))
	}
}

// A token cannot approve what it triggered: the person behind it would approve their own delivery.
func TestDecideOwnTrigger(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokRelease, hello())
	f.waitForApproval(id)
	approvals, _ := f.st.ListApprovals(t.Context(), store.ApprovalQuery{DeliveryID: id})
	r := f.as(tokRelease, "POST", fmt.Sprintf("/api/v1/approvals/%d", approvals[0].ID), map[string]any{"decision": "approve"})
	if r.status != http.StatusForbidden || r.errorText(t) != "token release triggered this delivery, so someone else has to approve it" {
		t.Errorf("approving its own delivery: %d %s", r.status, r.body)
	}
}
