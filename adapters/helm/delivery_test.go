package helm

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// slowVersion fails the test task, as the tutorial's slow build fails its quality gate.
type slowVersion struct{}

func (slowVersion) Execute(_ context.Context, t engine.Task) (engine.Result, error) {
	if strings.HasSuffix(t.Image, ":v0.1.2") {
		return engine.Result{Result: store.ResultFail, Message: "response time p95 1020ms > 600ms"}, nil
	}
	return engine.Result{Result: store.ResultPass}, nil
}

// Two deliveries through the engine, whose deployment and rollback tasks are Helm: v0.1.1 is installed
// and passes; v0.1.2 is upgraded, fails its test, and the shipyard's rollback sequence puts v0.1.1 back.
func TestDeliveryThroughEngine(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "enginetour", "helloservice", map[string]string{
		"executors.yaml": "tasks:\n  deployment: {type: helm}\n  test: {type: gate}\n  rollback: {type: helm}\n",
	})
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	x := newExecutor(t, kube)
	e, err := engine.New(engine.Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]engine.Executor{"helm": x, "gate": slowVersion{}}})
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan engine.Event, 4)
	e.Subscribe(func(ev engine.Event) {
		if ev.Type == engine.EventDeliveryFinished {
			finished <- ev
		}
	})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	deliver := func(image string) (int64, engine.Event) {
		t.Helper()
		id, err := e.Trigger(ctx, engine.Request{Project: "enginetour", Service: "helloservice", Image: image, Actor: "U1", Source: "api"})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-finished:
			if ev.DeliveryID != id {
				t.Fatalf("delivery #%d finished while #%d ran", ev.DeliveryID, id)
			}
			return id, ev
		case <-time.After(2 * time.Minute):
			t.Fatalf("delivery #%d of %s did not finish", id, image)
		}
		return 0, engine.Event{}
	}
	const v1, v2 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2"

	_, ev := deliver(v1)
	if ev.Result != store.ResultPass {
		t.Fatalf("v0.1.1: %s %q", ev.Result, ev.Message)
	}
	if got := deploymentImage(t, kube, "enginetour-qa", "helloservice"); got != v1 {
		t.Fatalf("after v0.1.1 the Deployment runs %s", got)
	}

	id, ev := deliver(v2)
	if ev.Result != store.ResultFail {
		t.Fatalf("v0.1.2: %s %q, want fail", ev.Result, ev.Message)
	}
	if got := deploymentImage(t, kube, "enginetour-qa", "helloservice"); got != v1 {
		t.Errorf("after v0.1.2 failed and rolled back the Deployment runs %s, want %s", got, v1)
	}
	runs, err := st.ListTaskRuns(ctx, store.TaskRunQuery{DeliveryID: id})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range runs {
		got = append(got, tr.Name+"="+string(tr.Result))
		var data map[string]any
		_ = json.Unmarshal(tr.Data, &data)
		switch tr.Name {
		case "deployment":
			h := data["deployment"].(map[string]any)["helm"].(map[string]any)
			if h["revision"] != 2.0 || h["previousRevision"] != 1.0 || h["previousImage"] != v1 {
				t.Errorf("the deployment's stored revisions: %v", h)
			}
		case "rollback":
			if !strings.Contains(tr.Message, "back to revision 1 ("+v1+") as revision 3") {
				t.Errorf("rollback message %q", tr.Message)
			}
		}
	}
	if strings.Join(got, " ") != "deployment=pass test=fail rollback=pass" {
		t.Errorf("task runs %v", got)
	}

	// `/deliver rollback helloservice qa` triggers the stage's rollback sequence as a delivery of its own:
	// the current revision (3, v0.1.1) goes back to the good one before it (2, v0.1.2).
	id, err = e.Trigger(ctx, engine.Request{Project: "enginetour", Service: "helloservice", Stage: "qa", Sequence: "rollback", Image: v1, Actor: "U1", Source: "slack"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev = <-finished:
	case <-time.After(2 * time.Minute):
		t.Fatal("the rollback delivery did not finish")
	}
	if ev.DeliveryID != id || ev.Result != store.ResultPass {
		t.Fatalf("rollback delivery #%d: %s %q", ev.DeliveryID, ev.Result, ev.Message)
	}
	if got := deploymentImage(t, kube, "enginetour-qa", "helloservice"); got != v2 {
		t.Errorf("after the requested rollback the Deployment runs %s, want %s", got, v2)
	}
}
