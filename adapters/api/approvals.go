package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// Approver decides an approval for a token that names a person (api.tokens[].actor). The bot implements
// it: it knows which roles the person holds in the channels bound to the delivery's project, and audits
// the vote as it audits clicks. A refused vote is an outcome with a Refusal, not an error. project is the
// project the caller may act on; an approval of another one is refused.
type Approver interface {
	DecideFromAPI(ctx context.Context, approvalID int64, project, actor string, decision store.Decision, reason, tokenName string) (engine.VoteOutcome, error)
	// UnfreezeFromAPI starts a delivery's frozen sequences now as the person, who must hold the role
	// freeze-exempt in a channel bound to project; a refusal is an *engine.Refusal error.
	UnfreezeFromAPI(ctx context.Context, deliveryID int64, project, actor, reason, tokenName string) error
}

// decisionRequest is the body of POST /api/v1/approvals/{id}.
type decisionRequest struct {
	Decision store.Decision `json:"decision"` // approve or reject
	Reason   string         `json:"reason"`
}

// decided answers a vote: whether it counted, why not, and the approval as it is now.
type decided struct {
	Counted  bool          `json:"counted"`
	Reason   string        `json:"reason,omitempty"`
	Error    string        `json:"error,omitempty"` // the reason again, where every refusal has it
	Approval *approvalView `json:"approval"`
}

// decide casts the token's person's vote on an approval: 200 when it counted, 403 with the reason when
// the rules refused it (no role, own delivery, already voted, already decided).
func (a *API) decide(c *call) reply {
	id, bad := pathID(c, "approval")
	if bad != nil {
		return *bad
	}
	target := fmt.Sprintf("approval:%d", id)
	var req decisionRequest
	if msg := decodeStrict(c.body, &req, true); msg != "" {
		return invalid("%s", msg)
	}
	if req.Decision != store.DecisionApprove && req.Decision != store.DecisionReject {
		return invalid("decision %q is not approve or reject", truncate.Excerpt(string(req.Decision), 40))
	}
	if c.caller.actor == "" {
		msg := "this token names no actor, so it cannot vote; set actor (a chat user id) in its api.tokens entry"
		if c.caller.webhook {
			msg = "a signed request names no person, so it cannot vote; use a token that names an actor"
		}
		return reply{status: http.StatusForbidden, outcome: outcomeForbidden, target: target, reason: "the caller names no actor", body: errorBody{msg}}
	}
	ap, err := a.st.GetApproval(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(target, "approval %d not found", id)
	}
	if err != nil {
		return a.internal(c, "read approval", err)
	}
	d, err := a.st.GetDelivery(c.ctx, ap.DeliveryID)
	if err != nil {
		return a.internal(c, "read delivery", err)
	}
	if !c.caller.may(d.Project) {
		return forbidden(c, target, d.Project)
	}
	if a.approver == nil {
		return reply{status: http.StatusNotImplemented, outcome: outcomeError, target: target,
			body: errorBody{"approvals through the API are not available in this shipgate"}}
	}
	out, err := a.approver.DecideFromAPI(c.ctx, id, d.Project, c.caller.actor, req.Decision, truncate.Excerpt(req.Reason, maxReason), c.caller.name)
	if out.Refusal != nil && out.Refusal.Code == engine.RefusedNotFound {
		return notFound(target, "approval %d not found", id)
	}
	if err != nil {
		return a.internal(c, "decide approval", err)
	}
	if ap, err = a.st.GetApproval(c.ctx, id); err != nil {
		return a.internal(c, "read approval", err)
	}
	view, err := a.approval(c.ctx, ap)
	if err != nil {
		return a.internal(c, "read approval", err)
	}
	if out.Refusal != nil {
		reason := refusalReason(out.Refusal)
		return reply{status: http.StatusForbidden, outcome: outcomeRefused, target: target, audited: true,
			body: decided{Reason: reason, Error: reason, Approval: view}}
	}
	return ok(http.StatusOK, decided{Counted: true, Approval: view})
}

// refusalReason words the engine's refusal of a vote for a caller of the API, which comes from no channel.
func refusalReason(r *engine.Refusal) string {
	if r.Code == engine.RefusedNoRole {
		return fmt.Sprintf("you need the role %s in a channel bound to project %s to decide this approval", strings.Join(r.Roles, " or "), r.Project)
	}
	return r.Reason
}
