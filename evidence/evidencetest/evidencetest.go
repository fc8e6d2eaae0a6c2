// Package evidencetest drives deliveries through a real engine on a real SQLite file, so that tests of
// the evidence pack (and of the command and the API that serve it) read what the engine records.
package evidencetest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Shipyard is the tutorial's: qa deploys, tests, evaluates and rolls a failed build back; production
// waits for two approvals, then deploys and releases.
var Shipyard = configtest.Variant(configtest.TutorialShipyard,
	"properties: {pass: manual, warning: manual}", "properties: {pass: manual, warning: manual, approvers: [release-managers], required: 2}")

const executors = `tasks:
  deployment: {type: noop}
  test: {type: noop}
  release: {type: noop}
  rollback: {type: noop}
`

const slo = `spec_version: '0.1.0'
comparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass: [{criteria: ["<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    key_sli: true
    pass: [{criteria: ["<=1"]}]
total_score: {pass: "90%", warning: "75%"}
`

const sli = `spec_version: "1.0"
indicators:
  response_time_p95: "histogram_quantile(0.95, x)"
  error_rate: "sum(rate(errors[5m]))"
`

// People of the fixture.
const (
	Developer = "U-dev"  // triggers deliveries
	Ann       = "U-ann"  // release manager
	Bob       = "U-bob"  // release manager
	Outsider  = "U-mall" // holds no role
)

// Images: v0.1.1 passes qa, v0.1.2 is slow and fails it.
const (
	GoodImage = "ghcr.io/podtato-head/podtatoserver:v0.1.1"
	SlowImage = "ghcr.io/podtato-head/podtatoserver:v0.1.2"
)

// slis measures v0.1.2 as slow and everything else as healthy.
type slis struct{}

func (slis) GetSLIs(_ context.Context, r engine.SLIRequest) ([]engine.SLIValue, error) {
	rt := 420.0
	if r.Labels["version"] == "v0.1.2" {
		rt = 1250
	}
	return []engine.SLIValue{{Metric: "response_time_p95", Value: rt, Success: true}, {Metric: "error_rate", Value: 0.5, Success: true}}, nil
}

// Fixture is an engine on a real store with project fulltour (service helloservice).
type Fixture struct {
	t       testing.TB
	Store   *store.Store
	DBPath  string
	Engine  *engine.Engine
	Project *config.Project
}

// New starts the fixture; call it inside a synctest bubble, so that every stored time is the bubble's
// clock and a pack's bytes are the same at each run.
func New(t *testing.T) *Fixture {
	t.Helper()
	return NewIn(t, t.TempDir())
}

// NewIn is New with the database in dir, for a test that reads it after the bubble (whose temporary
// directories go with it) has ended.
func NewIn(t *testing.T, dir string) *Fixture {
	t.Helper()
	p := configtest.WriteProject(t, filepath.Join(t.TempDir(), "fulltour"), map[string]string{
		"shipyard.yaml": Shipyard, "executors.yaml": executors,
		"helloservice/slo.yaml": slo, "helloservice/prometheus/sli.yaml": sli,
	})
	f := &Fixture{t: t, DBPath: filepath.Join(dir, "shipgate.db"), Project: p}
	st, err := store.Open(context.Background(), f.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	projects := []*config.Project{p}
	eng, err := engine.New(engine.Options{Store: st, Projects: projects, Executors: map[string]engine.Executor{"noop": engine.Noop{}},
		Evaluator: &engine.Evaluator{Store: st, Provider: slis{}, Projects: projects}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.Store, f.Engine = st, eng
	t.Cleanup(func() {
		eng.Close()
		st.Close()
	})
	return f
}

// Trigger starts a delivery of helloservice from CI, with the labels a pipeline sets, and waits until
// the engine has nothing more to do.
func (f *Fixture) Trigger(image, version string) int64 {
	f.t.Helper()
	id, err := f.Engine.Trigger(context.Background(), engine.Request{Project: "fulltour", Service: "helloservice", Image: image,
		Labels: map[string]string{"version": version, "ci.run": "https://ci.example.test/runs/1842", "commit": "9f2c1e7"},
		Actor:  Developer, Source: "api"})
	if err != nil {
		f.t.Fatalf("trigger: %v", err)
	}
	synctest.Wait()
	return id
}

// PendingApproval is the delivery's one pending approval.
func (f *Fixture) PendingApproval(id int64) *store.Approval {
	f.t.Helper()
	as, err := f.Store.ListApprovals(context.Background(), store.ApprovalQuery{DeliveryID: id, State: store.ApprovalPending})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(as) != 1 {
		f.t.Fatalf("delivery %d has %d pending approvals, want 1", id, len(as))
	}
	return as[0]
}

// Vote casts a vote as actor holding roles, from Slack, and returns whether it counted.
func (f *Fixture) Vote(approvalID int64, actor string, d store.Decision, reason string, roles ...string) bool {
	f.t.Helper()
	out, err := f.Engine.Decide(context.Background(), engine.Vote{ApprovalID: approvalID, Actor: actor, Roles: roles, Decision: d,
		Reason: reason, Platform: engine.PlatformSlack, Channel: "CREL1"})
	if err != nil {
		f.t.Fatalf("vote: %v", err)
	}
	synctest.Wait()
	return out.Counted
}

// Audit appends an audit entry as another part of shipgate would (the approval ladder, freezes).
func (f *Fixture) Audit(e *store.AuditEntry) {
	f.t.Helper()
	if err := f.Store.Update(context.Background(), func(tx *store.Tx) error { return tx.AppendAudit(context.Background(), e) }); err != nil {
		f.t.Fatal(err)
	}
}

// Wait advances the bubble's clock by d.
func Wait(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// Released drives the story the evidence tests read: v0.1.1 passes qa; production meets a freeze, which
// Ann breaks; its approval is requested, reminded and escalated (as the approval ladder audits it); the developer's own approval and
// an outsider's are refused; Ann and Bob approve, with reasons; production deploys and releases. Then
// v0.1.2 fails qa and is rolled back. It returns the two delivery ids.
func (f *Fixture) Released() (released, rolledBack int64) {
	f.t.Helper()
	released = f.Trigger(GoodImage, "v0.1.1")
	a := f.PendingApproval(released)
	// A freeze window met and broken, as freezes audit it.
	dt := fmt.Sprintf("delivery:%d", released)
	f.Audit(&store.AuditEntry{Actor: "shipgate", Action: "delivery.frozen", Target: dt, Allowed: true,
		Details: []byte(`{"freeze":"weekend","stage":"production"}`)})
	f.Audit(&store.AuditEntry{Actor: Ann, Platform: "slack", Channel: "CREL1", Action: "delivery.unfreeze", Target: dt, Allowed: true,
		Reason: "hotfix for INC-77", Details: []byte(`{"freeze":"weekend","stage":"production"}`)})
	target := fmt.Sprintf("approval:%d", a.ID)
	Wait(4 * time.Hour)
	f.Audit(&store.AuditEntry{Actor: "shipgate", Platform: "slack", Channel: "CREL1", Action: "approval.reminded", Target: target, Allowed: true,
		Details: []byte(`{"pinged":["release-managers"]}`)})
	if f.Vote(a.ID, Developer, store.DecisionApprove, "my own change", "release-managers") {
		f.t.Fatal("the developer approved their own delivery")
	}
	if f.Vote(a.ID, Outsider, store.DecisionApprove, "") {
		f.t.Fatal("someone without a role approved")
	}
	Wait(20 * time.Hour)
	f.Audit(&store.AuditEntry{Actor: "shipgate", Platform: "slack", Channel: "CREL1", Action: "approval.escalated", Target: target, Allowed: true,
		Details: []byte(`{"roles":["engineering-leads"]}`)})
	Wait(15 * time.Minute)
	if !f.Vote(a.ID, Ann, store.DecisionApprove, "qa <green>, change ticket CHG-1042", "release-managers") {
		f.t.Fatal("Ann's vote did not count")
	}
	Wait(3 * time.Minute)
	if !f.Vote(a.ID, Bob, store.DecisionApprove, "", "release-managers") {
		f.t.Fatal("Bob's vote did not count")
	}
	Wait(time.Hour)
	rolledBack = f.Trigger(SlowImage, "v0.1.2")
	return released, rolledBack
}
