package api

import (
	"fmt"
	"testing"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// TestUnfreeze: POST /api/v1/deliveries/{id}/unfreeze starts a frozen delivery as the token's person,
// who must hold freeze-exempt in a channel bound to the project, with a reason the audit trail keeps.
func TestUnfreeze(t *testing.T) {
	parsed, diags := config.Parse("shipgate.yaml", []byte(`freezes:
  - name: forever
    stages: [production]
    from: 2000-01-01T00:00:00Z
    to: 2100-01-01T00:00:00Z
    message: "Production is closed."
`), func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f := newFixtureWith(t, testShipyard, func(cfg *config.Config) {
		cfg.Freezes = parsed.Freezes
		cfg.Channels[0].Roles[config.FreezeExemptRole] = []string{opsUser}
	})
	id := f.trigger(tokCI, hello())
	f.waitFor(id, engine.EventSequenceFrozen)
	path := fmt.Sprintf("/api/v1/deliveries/%d/unfreeze", id)
	for _, tt := range []struct {
		name   string
		tok    string
		body   any
		status int
		err    string
	}{
		{"no body", tokRelease, nil, 400, "request body is empty; expected a JSON object"},
		{"no reason", tokRelease, map[string]any{"reason": " "}, 400, "reason is required: say why the delivery cannot wait for the freeze window to end"},
		{"unknown field", tokRelease, map[string]any{"why": "x"}, 400, `unknown field "why"; expected reason`},
		{"a token without a person", tokCI, map[string]any{"reason": "hotfix"}, 403, "this token names no actor, so it cannot unfreeze; set actor (a chat user id) in its api.tokens entry"},
		{"a person without the role", tokOutsider, map[string]any{"reason": "hotfix"}, 403, fmt.Sprintf("you need the role freeze-exempt in a channel bound to project fulltour to unfreeze delivery #%d", id)},
		{"another project's token", tokShop, map[string]any{"reason": "hotfix"}, 403, "forbidden"},
		{"unknown delivery", tokRelease, map[string]any{"reason": "hotfix"}, 404, "delivery 999 not found"},
		{"exempt", tokRelease, map[string]any{"reason": "hotfix for INC-42"}, 200, ""},
		{"again", tokRelease, map[string]any{"reason": "hotfix for INC-42"}, 409, fmt.Sprintf("delivery %d has nothing to unfreeze (it is waitingForApproval)", id)},
	} {
		p := path
		if tt.name == "unknown delivery" {
			p = "/api/v1/deliveries/999/unfreeze"
		}
		if tt.name == "again" {
			f.waitForApproval(id)
		}
		r := f.as(tt.tok, "POST", p, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
			continue
		}
		if tt.status != 200 {
			if got := r.errorText(t); got != tt.err {
				t.Errorf("%s: %q, want %q", tt.name, got, tt.err)
			}
		}
	}
	got := f.audit("delivery.unfreeze")
	if len(got) != 1 || got[0].Actor != opsUser || got[0].Platform != "api" || got[0].Channel != "token:"+tokRelease || got[0].Reason != "hotfix for INC-42" {
		t.Errorf("unfreeze audited as %+v", got)
	}
}
