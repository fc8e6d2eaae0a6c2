package api

import (
	"fmt"
	"net/http"
	"testing"
)

// Pause, resume and abort act as the token; what the delivery's state does not allow is a 409 with the
// engine's reason.
func TestControl(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello())
	f.waitForApproval(id)
	base := fmt.Sprintf("/api/v1/deliveries/%d", id)
	for _, tt := range []struct {
		name   string
		tok    string
		path   string
		body   any
		status int
		state  string // the delivery's state in a 200 answer
		err    string // the error otherwise
	}{
		{"resume what runs", tokCI, base + "/resume", nil, 409, "", fmt.Sprintf("delivery %d has nothing to resume (it is waitingForApproval)", id)},
		{"pause", tokCI, base + "/pause", map[string]any{"stage": "production"}, 200, "paused", ""},
		{"pause again", tokCI, base + "/pause", nil, 409, "", fmt.Sprintf("delivery %d has nothing to pause (it is paused)", id)},
		{"resume", tokCI, base + "/resume", nil, 200, "waitingForApproval", ""},
		{"another project's token", tokShop, base + "/abort", nil, 403, "", "forbidden"},
		{"unknown delivery", tokCI, "/api/v1/deliveries/999/abort", nil, 404, "", "delivery 999 not found"},
		{"unknown field", tokCI, base + "/abort", map[string]any{"why": "x"}, 400, "", `unknown field "why"; expected stage, reason`},
		{"abort", tokCI, base + "/abort", map[string]any{"reason": "wrong build"}, 200, "aborted", ""},
		{"abort again", tokCI, base + "/abort", nil, 409, "", fmt.Sprintf("delivery %d has nothing to abort (it is aborted)", id)},
	} {
		r := f.as(tt.tok, "POST", tt.path, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
			continue
		}
		if tt.status == http.StatusOK {
			var d struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			}
			r.decode(t, &d)
			if d.ID != id || d.State != tt.state {
				t.Errorf("%s: delivery %s, want state %s", tt.name, r.body, tt.state)
			}
		} else if got := r.errorText(t); got != tt.err {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.err)
		}
	}
	// The engine audits each action as the token; the API adds the reason it was given.
	if got := f.audit("delivery.abort"); len(got) != 1 || got[0].Actor != tokCI || got[0].Platform != "api" {
		t.Errorf("abort audited as %+v", got)
	}
	// Refusals are audited by the API: another project's, unknown, malformed, nothing to abort.
	got := f.audit("api.deliveries.abort")
	allowed := 0
	for _, e := range got {
		if e.Allowed {
			allowed++
			if e.Reason != "wrong build" || e.Actor != tokCI {
				t.Errorf("abort reason audited as %+v", e)
			}
		}
	}
	if len(got) != 5 || allowed != 1 {
		t.Errorf("%d abort entries (%d allowed), want 4 refusals and the reason", len(got), allowed)
	}
}
