package api

import (
	"fmt"
	"net/http"

	"github.com/shipgate/shipgate/engine"
)

// diffAnswer is the answer of GET /api/v1/deliveries/{id}/diff: what the delivery changes in a stage, as
// its approvers were shown it when the approval was requested.
type diffAnswer struct {
	Delivery int64  `json:"delivery"`
	Stage    string `json:"stage"`
	Approval int64  `json:"approval"`
	// Short is the summary in one line, as the approval card shows it.
	Short   string               `json:"short"`
	Summary engine.ChangeSummary `json:"summary"`
	// Diff is the unified diff of the rendered manifests, secrets' values masked; "" when not diffed.
	Diff string `json:"diff"`
}

// deliveryDiff answers the changes recorded with the delivery's approval in the stage ?stage= names.
func (a *API) deliveryDiff(c *call) reply {
	d, rep := a.delivery(c)
	if rep != nil {
		return *rep
	}
	q := c.r.URL.Query()
	for k := range q {
		if k != "stage" {
			return invalid("unknown parameter %q; expected stage", k)
		}
	}
	if len(q["stage"]) != 1 || q.Get("stage") == "" {
		return invalid("give the stage once: ?stage=NAME")
	}
	stage := q.Get("stage")
	target := fmt.Sprintf("delivery:%d", d.ID)
	ch, approval, err := a.eng.ApprovalChanges(c.ctx, d.ID, stage)
	if err != nil {
		return a.engineReply(c, target, "read changes", err)
	}
	return ok(http.StatusOK, diffAnswer{Delivery: d.ID, Stage: stage, Approval: approval, Short: ch.Summary.Short(), Summary: ch.Summary, Diff: ch.Diff})
}
