package api

import (
	"fmt"
	"net/http"

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
