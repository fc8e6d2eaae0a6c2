package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// controlAction is one of the engine's controls of a running delivery.
type controlAction struct {
	name string // abort, pause, resume
	run  func(*engine.Op, engine.Control) error
}

var (
	actionAbort  = controlAction{"abort", (*engine.Op).Abort}
	actionPause  = controlAction{"pause", (*engine.Op).Pause}
	actionResume = controlAction{"resume", (*engine.Op).Resume}
)

// controlRequest is the optional body of POST /api/v1/deliveries/{id}/abort|pause|resume.
type controlRequest struct {
	Stage  string `json:"stage"`  // only this stage; default all
	Reason string `json:"reason"` // recorded in the audit trail
}

// maxReason bounds a reason kept in the audit trail.
const maxReason = 500

// control pauses, resumes or aborts a delivery as the caller and answers the delivery as it is then.
// The engine refuses with 409 what the delivery's state does not allow ("nothing to resume").
func (a *API) control(act controlAction) func(*call) reply {
	return func(c *call) reply {
		var req controlRequest
		if msg := decodeStrict(c.body, &req, false); msg != "" {
			return invalid("%s", msg)
		}
		d, rep := a.delivery(c)
		if rep != nil {
			return *rep
		}
		target := fmt.Sprintf("delivery:%d", d.ID)
		// The action and its reason commit together: the engine audits the action, and the reason,
		// which it has no place for, goes beside it.
		_, err := a.eng.Handle(c.ctx, engine.Key{}, func(op *engine.Op) ([]byte, error) {
			if err := act.run(op, engine.Control{DeliveryID: d.ID, Stage: req.Stage, Actor: c.caller.name, Platform: string(engine.PlatformAPI)}); err != nil {
				return nil, err
			}
			if req.Reason == "" {
				return nil, nil
			}
			return nil, op.Audit(&store.AuditEntry{Actor: c.caller.name, Platform: string(engine.PlatformAPI), Action: "api.deliveries." + act.name,
				Target: target, Allowed: true, Reason: truncate.Excerpt(req.Reason, maxReason)})
		})
		if err != nil {
			return a.engineReply(c, target, act.name+" delivery", err)
		}
		if d, err = a.st.GetDelivery(c.ctx, d.ID); err != nil {
			return a.internal(c, "read delivery", err)
		}
		return ok(http.StatusOK, a.summary(d))
	}
}

// unfreezeRequest is the body of POST /api/v1/deliveries/{id}/unfreeze.
type unfreezeRequest struct {
	Reason string `json:"reason"` // required; recorded in the audit trail
}

// unfreeze starts a delivery a freeze window holds, now, as the token's person, who must hold the role
// freeze-exempt in a channel bound to the delivery's project (break-glass): 200 with the delivery, 403
// when the person may not, 409 when nothing of it is frozen, 400 without a reason.
func (a *API) unfreeze(c *call) reply {
	var req unfreezeRequest
	if msg := decodeStrict(c.body, &req, true); msg != "" {
		return invalid("%s", msg)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return invalid("reason is required: say why the delivery cannot wait for the freeze window to end")
	}
	if len(req.Reason) > maxReason {
		return invalid("reason is %d bytes long; at most %d", len(req.Reason), maxReason)
	}
	d, rep := a.delivery(c)
	if rep != nil {
		return *rep
	}
	target := fmt.Sprintf("delivery:%d", d.ID)
	if c.caller.actor == "" {
		// Who may break a freeze is a role a person holds in a channel; a token that names nobody holds none.
		return reply{status: http.StatusForbidden, outcome: outcomeForbidden, target: target, reason: "the caller names no actor",
			body: errorBody{"this token names no actor, so it cannot unfreeze; set actor (a chat user id) in its api.tokens entry"}}
	}
	if a.approver == nil {
		return reply{status: http.StatusNotImplemented, outcome: outcomeError, target: target,
			body: errorBody{"unfreezing through the API is not available in this shipgate"}}
	}
	if err := a.approver.UnfreezeFromAPI(c.ctx, d.ID, d.Project, c.caller.actor, req.Reason, c.caller.name); err != nil {
		var rf *engine.Refusal
		if errors.As(err, &rf) && rf.Code == engine.RefusedNoRole {
			return reply{status: http.StatusForbidden, outcome: outcomeRefused, target: target,
				body: errorBody{fmt.Sprintf("you need the role %s in a channel bound to project %s to unfreeze delivery #%d", strings.Join(rf.Roles, " or "), d.Project, d.ID)}}
		}
		return a.engineReply(c, target, "unfreeze delivery", err)
	}
	d, err := a.st.GetDelivery(c.ctx, d.ID)
	if err != nil {
		return a.internal(c, "read delivery", err)
	}
	return ok(http.StatusOK, a.summary(d))
}
