package evidence_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/evidence"
	"github.com/shipgate/shipgate/evidence/evidencetest"
	"github.com/shipgate/shipgate/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedContext replaces the delivery's Keptn context, a random UUID, so that the golden files and their
// SHA-256 are the same at every run.
const fixedContext = "00000000-0000-0000-0000-000000000000"

// released builds the pack of the fixture's released delivery, with its Keptn context fixed.
func released(t *testing.T) (*evidence.Pack, *evidencetest.Fixture, int64, int64) {
	t.Helper()
	f := evidencetest.New(t)
	ok, failed := f.Released()
	p, err := evidence.Build(t.Context(), f.Store, ok)
	if err != nil {
		t.Fatal(err)
	}
	p.Delivery.KeptnContext = fixedContext
	return p, f, ok, failed
}

func TestPackOfReleasedDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _, id, _ := released(t)
		if p.Format != evidence.Format || p.Delivery.ID != id || !p.Complete || p.Delivery.State != store.StateFinished {
			t.Errorf("pack head: format %q, delivery %d, complete %v, state %s", p.Format, p.Delivery.ID, p.Complete, p.Delivery.State)
		}
		tr := p.Trigger
		if tr.Actor != evidencetest.Developer || tr.Source != "api" || tr.Labels["ci.run"] != "https://ci.example.test/runs/1842" || tr.Labels["version"] != "v0.1.1" {
			t.Errorf("trigger: %+v", tr)
		}
		if got := stageNames(p); !slices.Equal(got, []string{"qa", "production"}) {
			t.Fatalf("stages %v, want qa then production", got)
		}
		qa, prod := p.Stages[0], p.Stages[1]
		if got := taskNames(qa); !slices.Equal(got, []string{"deployment", "test", "evaluation"}) {
			t.Errorf("qa tasks %v", got)
		}
		if got := taskNames(prod); !slices.Equal(got, []string{"approval", "deployment", "release"}) {
			t.Errorf("production tasks %v", got)
		}
		for _, s := range p.Stages {
			for _, q := range s.Sequences {
				for _, tk := range q.Tasks {
					if tk.StartedAt == nil || tk.FinishedAt == nil || tk.Result != store.ResultPass {
						t.Errorf("%s task %s: started %v, finished %v, result %q", s.Name, tk.Name, tk.StartedAt, tk.FinishedAt, tk.Result)
					}
				}
			}
		}
		if len(qa.Evaluations) != 1 || qa.Evaluations[0].Score != 100 || len(qa.Evaluations[0].Objectives) != 2 {
			t.Fatalf("qa evaluations: %+v", qa.Evaluations)
		}
		if o := qa.Evaluations[0].Objectives[0]; o.SLI != "response_time_p95" || o.Value == nil || *o.Value != 420 || o.Status != "pass" || len(o.PassTargets) != 1 {
			t.Errorf("first objective: %+v", o)
		}
		if len(prod.Approvals) != 1 {
			t.Fatalf("production approvals: %d, want 1", len(prod.Approvals))
		}
		a := prod.Approvals[0]
		if a.Required != 2 || !slices.Equal(a.EligibleRoles, []string{"release-managers"}) || a.Requester != evidencetest.Developer || a.AllowRequester {
			t.Errorf("approval policy: required %d, roles %v, requester %q, allow %v", a.Required, a.EligibleRoles, a.Requester, a.AllowRequester)
		}
		var voters []string
		for _, v := range a.Votes {
			voters = append(voters, v.Voter+"/"+string(v.Decision)+"/"+v.Reason)
		}
		if want := []string{evidencetest.Ann + "/approve/qa <green>, change ticket CHG-1042", evidencetest.Bob + "/approve/"}; !slices.Equal(voters, want) {
			t.Errorf("votes %q, want %q", voters, want)
		}
		if !a.Votes[0].At.Before(a.Votes[1].At) || a.Votes[0].At.Location().String() != "UTC" {
			t.Errorf("vote times %v, %v: want Ann's first, in UTC", a.Votes[0].At, a.Votes[1].At)
		}
		var refused []string
		for _, e := range a.RefusedVotes {
			refused = append(refused, e.Actor)
		}
		if !slices.Equal(refused, []string{evidencetest.Developer, evidencetest.Outsider}) {
			t.Errorf("refused votes by %v, want the developer's and the outsider's", refused)
		}
		if len(a.Reminders) != 1 || len(a.Escalations) != 1 || string(a.Escalations[0].Details) != `{"roles":["engineering-leads"]}` {
			t.Errorf("reminders %+v, escalations %+v", a.Reminders, a.Escalations)
		}
		if a.Decision == nil || a.Decision.State != store.ApprovalApproved || a.Decision.How != evidence.HowVotes || !a.Decision.At.Equal(a.Votes[1].At) {
			t.Errorf("decision %+v", a.Decision)
		}
		if len(a.Overrides) != 0 {
			t.Errorf("overrides %v, want none", a.Overrides)
		}
		// What the approvers were shown, as stored when the approval was requested: qa's evaluation,
		// nothing in production yet, and the image the delivery brings.
		if e := a.Evidence; e == nil || e.Stage != "qa" || e.Result != store.ResultPass || e.Score == nil ||
			e.RunningVersion != "nothing delivered yet" || !e.CapturedAt.Equal(a.RequestedAt) {
			t.Errorf("evidence %+v, want qa's evaluation captured at the request", e)
		}
		if c := a.Changes; c == nil || len(c.Items) != 1 || c.Items[0].What != "image" || c.Items[0].From != "" ||
			!strings.HasSuffix(c.Items[0].To, ":v0.1.1") {
			t.Errorf("changes %+v, want the image the delivery brings", c)
		}
		var freezes []string
		for _, e := range p.Freezes {
			freezes = append(freezes, e.Action)
		}
		if !slices.Equal(freezes, []string{evidence.ActionFrozen, evidence.ActionUnfreeze}) || p.Freezes[1].Reason != "hotfix for INC-77" {
			t.Errorf("freezes %v", p.Freezes)
		}
		if len(p.Rollbacks) != 0 {
			t.Errorf("rollbacks %+v, want none", p.Rollbacks)
		}
		// The trail: every entry on the delivery and its approval, oldest first.
		var actions []string
		for i, e := range p.Audit {
			actions = append(actions, e.Action)
			if i > 0 && (e.At.Before(p.Audit[i-1].At) || (e.At.Equal(p.Audit[i-1].At) && e.ID < p.Audit[i-1].ID)) {
				t.Errorf("audit entry %d is older than the one before", e.ID)
			}
		}
		want := []string{"delivery.trigger", "delivery.frozen", "delivery.unfreeze", "approval.reminded", "approval.approve", "approval.approve",
			"approval.escalated", "approval.approve", "approval.approve"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit actions\n got %v\nwant %v", actions, want)
		}
		last := a.Votes[1].At
		for _, s := range p.Stages {
			for _, q := range s.Sequences {
				if q.FinishedAt != nil && q.FinishedAt.After(last) {
					last = *q.FinishedAt
				}
			}
		}
		if !p.AsOf.Equal(last) {
			t.Errorf("asOf %v, want the last record's time %v", p.AsOf, last)
		}
	})
}

// A delivery that fails qa is rolled back: the rollback is its own section, the failed objective is in
// the score table, production never appears, and an invalidated evaluation's audit entry is the pack's.
func TestPackOfRolledBackDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, f, _, id := released(t)
		evs, err := f.Store.ListEvaluations(t.Context(), id)
		if err != nil || len(evs) != 1 {
			t.Fatalf("evaluations %v, %v", evs, err)
		}
		if err := f.Engine.InvalidateEvaluation(t.Context(), evs[0].ID, evidencetest.Ann); err != nil {
			t.Fatal(err)
		}
		p, err := evidence.Build(t.Context(), f.Store, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageNames(p); !slices.Equal(got, []string{"qa"}) {
			t.Errorf("stages %v, want qa only", got)
		}
		if len(p.Rollbacks) != 1 || p.Rollbacks[0].Stage != "qa" || p.Rollbacks[0].State != store.StateFinished {
			t.Errorf("rollbacks %+v", p.Rollbacks)
		}
		ev := p.Stages[0].Evaluations[0]
		if ev.Result != store.ResultFail || !ev.Invalidated || ev.Objectives[0].Status != "fail" || *ev.Objectives[0].Value != 1250 {
			t.Errorf("evaluation %+v", ev)
		}
		if n := len(p.Audit); n != 2 || p.Audit[1].Action != "evaluation.invalidate" || p.Audit[1].Actor != evidencetest.Ann {
			t.Errorf("audit %+v, want the trigger and the invalidation", p.Audit)
		}
	})
}

// The JSON form is the same bytes at each build, and its SHA-256 is that of exactly those bytes.
func TestPackJSONIsCanonical(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f, id, _ := released(t)
		doc, err := evidence.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := evidence.Build(t.Context(), f.Store, id)
		if err != nil {
			t.Fatal(err)
		}
		again.Delivery.KeptnContext = fixedContext
		doc2, err := evidence.Encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc.JSON, doc2.JSON) || doc.SHA256 != doc2.SHA256 {
			t.Error("two builds of the same delivery differ")
		}
		sum := sha256.Sum256(doc.JSON)
		if doc.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256 %s is not the hash of the JSON", doc.SHA256)
		}
		if !bytes.HasSuffix(doc.JSON, []byte("}\n")) || !bytes.Contains(doc.JSON, []byte(`"reason": "qa <green>`)) {
			t.Error("JSON does not end in one newline, or escapes HTML characters")
		}
		golden(t, "released.json", doc.JSON)
	})
}

func TestPackOfUnknownDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := evidencetest.New(t)
		if _, err := evidence.Build(t.Context(), f.Store, 99); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Build of a delivery that does not exist: %v, want store.ErrNotFound", err)
		}
	})
}

func stageNames(p *evidence.Pack) []string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.Name)
	}
	return out
}

func taskNames(s evidence.Stage) []string {
	var out []string
	for _, q := range s.Sequences {
		for _, tk := range q.Tasks {
			out = append(out, tk.Name)
		}
	}
	return out
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./evidence -update and review the diff", path)
	}
}
