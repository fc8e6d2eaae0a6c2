package bot

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// evidenceField is the approval card's Evidence line.
func evidenceField(t *testing.T, m Message) string {
	t.Helper()
	for _, f := range m.Fields {
		if f.Label == "Evidence" {
			return f.Value
		}
	}
	t.Fatalf("no Evidence field in %+v", m.Fields)
	return ""
}

// The bug this guards: production evaluates after its approval, and a decided approval card, re-rendered
// afterwards, said "production evaluation …" instead of the qa evidence the approvers had seen. The
// evidence is captured when the approval is requested, stored with it, and never changes.
func TestDecidedApprovalKeepsItsEvidence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixtureWith(t, func(_ *config.Config, files map[string]string) {
			files["shipyard.yaml"] = configtest.Variant(testShipyard,
				"            - name: deployment\n            - name: release\n",
				"            - name: deployment\n            - name: evaluation\n            - name: release\n")
		})
		ctx := context.Background()
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		ch := f.bot.binding(engine.PlatformSlack, channel)
		pending, err := f.bot.renderApproval(ctx, ch, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		shown := evidenceField(t, pending)
		if !strings.HasPrefix(shown, "qa evaluation ✅ pass, score 100") {
			t.Fatalf("pending card's evidence %q, want the qa evaluation", shown)
		}

		f.click(ops, ActionApprove, a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		if d := f.delivery(id); d.Result != store.ResultPass {
			t.Fatalf("delivery %s %q", d.Result, d.Message)
		}
		evs, err := f.st.ListEvaluations(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].Stage != "production" {
			t.Fatalf("evaluations %+v, want qa's then production's", evs)
		}

		// The card as re-rendered now, and as last sent to the channel, still shows what was approved.
		decided, err := f.bot.renderApproval(ctx, ch, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := evidenceField(t, decided); got != shown {
			t.Errorf("decided card's evidence %q, want %q as the approvers saw it", got, shown)
		}
		msg := f.messageOf(id, store.MessageApproval)
		if got := evidenceField(t, f.poster.latest(msg.MessageID)); got != shown {
			t.Errorf("approval message as last sent: evidence %q, want %q", got, shown)
		}

		// And the record itself is the qa evaluation's, taken when the approval was requested.
		stored, err := f.st.GetApproval(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := engine.ApprovalEvidenceOf(ctx, f.st, stored, f.delivery(id))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Evaluation == nil || ev.Evaluation.ID != evs[0].ID || ev.Evaluation.Stage != "qa" || !ev.CapturedAt.Equal(stored.CreatedAt) {
			t.Errorf("stored evidence %+v, want qa's evaluation %d captured at %s", ev.Evaluation, evs[0].ID, stored.CreatedAt)
		}
	})
}
