package bot

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// maintenanceFreeze holds production for the first six hours of the synctest clock (2000-01-01, UTC).
const maintenanceFreeze = `freezes:
  - name: maintenance
    stages: [production]
    from: 2000-01-01T00:00:00Z
    to: 2000-01-01T06:00:00Z
    message: "Database maintenance."
  - name: weekend
    projects: [fulltour]
    stages: [production]
    start: "0 18 * * 5"
    end: "0 8 * * 1"
    time_zone: Europe/Berlin
    message: "No production deliveries over the weekend."
  - name: elsewhere
    projects: [billing]
    from: 2000-01-01T00:00:00Z
    to: 2000-01-02T00:00:00Z
`

func newFreezeFixture(t *testing.T) *fixture {
	t.Helper()
	parsed, diags := config.Parse("shipgate.yaml", []byte(maintenanceFreeze), func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return newFixtureWith(t, func(cfg *config.Config, _ map[string]string) {
		cfg.Freezes = parsed.Freezes
		cfg.Channels[0].Roles[config.FreezeExemptRole] = []string{ops}
	})
}

// TestFreezeInChat: a delivery reaches a production two windows hold (the one that ends last is shown),
// the card says why and until when, a
// deployer who is not exempt cannot unfreeze it, and an exempt one can, with a reason.
func TestFreezeInChat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFreezeFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		root := f.messageOf(id, store.MessageRoot)
		card := f.poster.latest(root.MessageID)
		if got := StatusLine(card.Stages); !strings.Contains(got, "production ❄️ weekend until 2000-01-03 07:00 UTC") {
			t.Errorf("status line %q", got)
		}
		if !strings.Contains(card.Text, "No production deliveries over the weekend.") {
			t.Errorf("card text %q", card.Text)
		}
		golden(t, "root-frozen", card)
		var frozenReply *Message
		for _, c := range f.poster.all() {
			if c.Op == "post" && strings.HasPrefix(c.Message.Text, "production · ❄️ frozen by weekend") {
				frozenReply = &c.Message
			}
		}
		if frozenReply == nil {
			t.Fatalf("no frozen reply: %s", dump(f.poster.all()))
		}
		golden(t, "reply-frozen", *frozenReply)

		list := f.command(outsider, "freezes")
		golden(t, "freezes-list", list.Message)
		if strings.Contains(list.Message.Text, "elsewhere") {
			t.Errorf("lists a window of another project: %q", list.Message.Text)
		}

		if r := f.command(developer, `unfreeze 1 --reason "hotfix"`); !strings.Contains(r.Message.Text, "freeze-exempt") {
			t.Errorf("deployer unfreeze: %q", r.Message.Text)
		}
		if r := f.command(ops, "unfreeze 1"); !strings.Contains(r.Message.Text, "missing --reason") {
			t.Errorf("unfreeze without a reason: %q", r.Message.Text)
		}
		settle()
		if d := f.delivery(id); d.State != "frozen" {
			t.Fatalf("refused unfreezes moved the delivery: %s", d.State)
		}
		if r := f.command(ops, `unfreeze #1 --reason "hotfix for INC-42"`); r.Message.Text != "Delivery #1 ▶️ unfrozen and started." {
			t.Errorf("exempt unfreeze: %q", r.Message.Text)
		}
		settle()
		if d := f.delivery(id); d.State != "waitingForApproval" {
			t.Errorf("after unfreeze: %s, want waitingForApproval", d.State)
		}
		audit, err := f.st.ListAudit(t.Context(), store.AuditQuery{Target: fmt.Sprintf("delivery:%d", id)})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range audit {
			if e.Action == "delivery.unfreeze" && e.Actor == ops && e.Reason == "hotfix for INC-42" && e.Platform == string(engine.PlatformSlack) {
				found = true
			}
		}
		if !found {
			t.Errorf("no delivery.unfreeze audit entry with the reason: %+v", audit)
		}
	})
}
