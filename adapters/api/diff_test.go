package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/shipgate/shipgate/engine"
)

// A delivery's changes in a stage are those recorded with its approval there; a stage without an
// approval, an unknown delivery and a bad query are told apart.
func TestDeliveryDiff(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello())
	f.waitFor(id, engine.EventApprovalChanges)
	a := f.waitFor(id, engine.EventApprovalWaiting).Approval

	r := f.as(tokCI, "GET", fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=production", id), nil)
	var got diffAnswer
	r.decode(t, &got)
	want := diffAnswer{Delivery: id, Stage: "production", Approval: a.ID, Summary: engine.ChangeSummary{Image: &engine.Change{New: helloImage}}}
	if r.status != http.StatusOK || got.Delivery != want.Delivery || got.Stage != want.Stage || got.Approval != want.Approval ||
		got.Summary.Image == nil || *got.Summary.Image != *want.Summary.Image || got.Summary.Diffed || got.Diff != "" {
		t.Fatalf("diff: %d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		tok, path string
		status    int
		err       string
	}{
		{tokCI, fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=qa", id), 404, fmt.Sprintf(`delivery %d has no approval in stage "qa"`, id)},
		{tokCI, "/api/v1/deliveries/999/diff?stage=production", 404, "delivery 999 not found"},
		{tokCI, fmt.Sprintf("/api/v1/deliveries/%d/diff", id), 400, "give the stage once: ?stage=NAME"},
		{tokCI, fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=production&stage=qa", id), 400, "give the stage once: ?stage=NAME"},
		{tokCI, fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=production&full=1", id), 400, `unknown parameter "full"; expected stage`},
		{tokShop, fmt.Sprintf("/api/v1/deliveries/%d/diff?stage=production", id), 403, "forbidden"},
	} {
		r := f.as(tt.tok, "GET", tt.path, nil)
		if r.status != tt.status || r.errorText(t) != tt.err {
			t.Errorf("%s as %s: %d %s, want %d %q", tt.path, tt.tok, r.status, r.body, tt.status, tt.err)
		}
	}
}
