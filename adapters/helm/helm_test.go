package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }

const shipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
metadata: {name: shipyard}
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
              properties: {deploymentstrategy: direct}
            - name: test
        - name: rollback
          triggeredOn:
            - event: qa.delivery.finished
              selector: {match: {result: fail}}
          tasks:
            - name: rollback
`

// project writes a project named name with service helloservice, whose chart is testdata/CHART copied to
// helloservice/helm/helloservice (the default place), plus any extra files (path -> content).
func project(t testing.TB, name, chart string, extra map[string]string) *config.Project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	files := map[string]string{"shipyard.yaml": shipyard, "helloservice/README.md": "the tutorial service\n"}
	if chart != "" {
		configtest.CopyDir(t, filepath.Join("testdata", chart), filepath.Join(dir, "helloservice", "helm", "helloservice"))
	}
	for k, v := range extra {
		files[k] = v
	}
	return configtest.WriteProject(t, dir, files)
}

var runIDs atomic.Int64

// task is a deployment task of delivery id in stage qa of p.
func task(p *config.Project, delivery int64, name, image string, with map[string]any) engine.Task {
	return engine.Task{
		RunID: runIDs.Add(1), Attempt: 1, DeliveryID: delivery, KeptnContext: fmt.Sprintf("ctx-%s-%d", p.Name, delivery),
		Project: p.Name, Stage: "qa", Service: "helloservice", Sequence: "delivery", DeliverySequence: "delivery", Name: name,
		Image: image, Labels: map[string]string{"version": "x"},
		Data:       map[string]any{"configurationChange": map[string]any{"values": map[string]any{"image": image}}},
		Properties: map[string]any{"deploymentstrategy": "direct"}, Config: with, ProjectConfig: p,
		Deadline: time.Now().Add(2 * time.Minute),
	}
}

func newExecutor(t *testing.T, kube *kubetest.Server) *Executor {
	return &Executor{Kubeconfig: kube.Kubeconfig, CacheDir: t.TempDir()}
}

func execute(t *testing.T, x *Executor, tk engine.Task) engine.Result {
	t.Helper()
	res, err := x.Execute(context.Background(), tk)
	if err != nil {
		t.Fatalf("%s: %v", tk.Name, err)
	}
	return res
}

// deploymentImage reads the Deployment's container image through the API.
func deploymentImage(t *testing.T, kube *kubetest.Server, ns, name string) string {
	t.Helper()
	body, err := kube.Do(context.Background(), "GET", "/apis/apps/v1/namespaces/"+ns+"/deployments/"+name)
	if err != nil {
		t.Fatalf("reading deployment %s/%s: %v", ns, name, err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct{ Image string }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// releaseSecrets counts Helm's release records (one Secret per revision) through the API.
func releaseSecrets(t *testing.T, kube *kubetest.Server, ns, name string) int {
	t.Helper()
	body, err := kube.Do(context.Background(), "GET", "/api/v1/namespaces/"+ns+"/secrets?labelSelector=owner%3Dhelm%2Cname%3D"+name)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

func helmData(t *testing.T, res engine.Result) map[string]any {
	t.Helper()
	dep, _ := res.Data["deployment"].(map[string]any)
	h, ok := dep["helm"].(map[string]any)
	if !ok {
		t.Fatalf("no deployment.helm in %v", res.Data)
	}
	return h
}

func wantResult(t *testing.T, res engine.Result, result store.Result, msgPart string) {
	t.Helper()
	if res.Result != result || !strings.Contains(res.Message, msgPart) {
		t.Fatalf("result %s %q (status %s), want %s containing %q", res.Result, res.Message, res.Status, result, msgPart)
	}
}

// Install, upgrade with a new image, roll back: three revisions, each checked through the API server.
func TestInstallUpgradeRollback(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "fulltour", "helloservice", nil)
	x := newExecutor(t, kube)
	const v1, v2 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2"

	res := execute(t, x, task(p, 1, "deployment", v1, nil))
	wantResult(t, res, store.ResultPass, "helloservice revision 1 in fulltour-qa")
	h := helmData(t, res)
	if h["revision"] != 1 || h["previousRevision"] != 0 || h["namespace"] != "fulltour-qa" || h["chartVersion"] != "0.1.0" || h["status"] != "deployed" {
		t.Errorf("install data %v", h)
	}
	dep := res.Data["deployment"].(map[string]any)
	if urls := fmt.Sprint(dep["deploymentURIsLocal"]); urls != "[http://helloservice.fulltour-qa:80]" {
		t.Errorf("deploymentURIsLocal %s", urls)
	}
	if fmt.Sprint(dep["deploymentNames"]) != "[direct]" {
		t.Errorf("deploymentNames %v", dep["deploymentNames"])
	}
	if got := deploymentImage(t, kube, "fulltour-qa", "helloservice"); got != v1 {
		t.Errorf("after install the Deployment runs %s, want %s", got, v1)
	}

	res = execute(t, x, task(p, 2, "deployment", v2, nil))
	wantResult(t, res, store.ResultPass, "revision 2")
	h = helmData(t, res)
	if h["revision"] != 2 || h["previousRevision"] != 1 || h["previousImage"] != v1 {
		t.Errorf("upgrade data %v", h)
	}
	if !strings.Contains(res.Message, "was revision 1, "+v1) {
		t.Errorf("upgrade message %q does not say what ran before", res.Message)
	}
	if got := deploymentImage(t, kube, "fulltour-qa", "helloservice"); got != v2 {
		t.Errorf("after upgrade the Deployment runs %s, want %s", got, v2)
	}

	// Delivery 2's qa sequence failed, and its rollback sequence runs.
	rb := task(p, 2, "rollback", v2, nil)
	rb.Sequence = "rollback"
	if x.Idempotent("rollback", nil) || !x.Idempotent("deployment", nil) {
		t.Error("a rollback must not declare itself idempotent, an upgrade must")
	}
	res = execute(t, x, rb)
	wantResult(t, res, store.ResultPass, "rolled helloservice in fulltour-qa back to revision 1 ("+v1+") as revision 3")
	if got := deploymentImage(t, kube, "fulltour-qa", "helloservice"); got != v1 {
		t.Errorf("after rollback the Deployment runs %s, want %s", got, v1)
	}
	if n := releaseSecrets(t, kube, "fulltour-qa", "helloservice"); n != 3 {
		t.Errorf("%d release records, want 3", n)
	}
	rbData := res.Data["rollback"].(map[string]any)["helm"].(map[string]any)
	if rbData["revision"] != 3 || rbData["rolledBackTo"] != 1 {
		t.Errorf("rollback data %v", rbData)
	}

	// Run again (a retry): the release is already back, so nothing more happens.
	res = execute(t, x, rb)
	wantResult(t, res, store.ResultPass, "already rolled back to revision 1 as revision 3")

	// Delivery 1 made revision 1, the release's first: there is nothing before it.
	rb1 := task(p, 1, "rollback", v1, nil)
	rb1.Sequence = "rollback"
	res = execute(t, x, rb1)
	wantResult(t, res, store.ResultFail, "nothing to roll back to: this delivery's revision 1 is the first good revision")

	// A delivery that never deployed here has nothing to undo.
	rb3 := task(p, 3, "rollback", v2, nil)
	rb3.Sequence = "rollback"
	res = execute(t, x, rb3)
	wantResult(t, res, store.ResultPass, "nothing to roll back: this delivery did not change release helloservice")

	// `/deliver rollback helloservice qa`: a delivery triggered as a rollback goes back from the current
	// revision (3, running v1) to the good one before it (2, running v2).
	manual := task(p, 4, "rollback", v1, nil)
	manual.Sequence, manual.DeliverySequence = "rollback", "rollback"
	res = execute(t, x, manual)
	wantResult(t, res, store.ResultPass, "back to revision 2 ("+v2+") as revision 4")
	if got := deploymentImage(t, kube, "fulltour-qa", "helloservice"); got != v2 {
		t.Errorf("after the manual rollback the Deployment runs %s, want %s", got, v2)
	}
}

// Values files (stage folder first), --set values, the trigger's values and a split image all reach the
// release; a missing values file fails the task by name.
func TestValues(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "valuetour", "helloservice", map[string]string{
		"helloservice/helm/values.yaml":    "replicaCount: 2\nservice: {port: 8080}\n",
		"qa/helloservice/helm/values.yaml": "replicaCount: 3\nservice: {port: 8081}\n",
	})
	x := newExecutor(t, kube)
	with := map[string]any{"values_files": []any{"helm/values.yaml"}, "set": map[string]any{"replicaCount": "4"}}
	tk := task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", with)
	tk.Data["configurationChange"].(map[string]any)["values"].(map[string]any)["extra"] = map[string]any{"flag": true}
	res := execute(t, x, tk)
	wantResult(t, res, store.ResultPass, "revision 1 in valuetour-qa")
	body, err := kube.Do(context.Background(), "GET", "/apis/apps/v1/namespaces/valuetour-qa/deployments/helloservice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"replicas":4`) {
		t.Errorf("--set replicaCount=4 did not win: %s", body)
	}
	dep := res.Data["deployment"].(map[string]any)
	if urls := fmt.Sprint(dep["deploymentURIsLocal"]); urls != "[http://helloservice.valuetour-qa:8081]" {
		t.Errorf("the stage's values file did not win: %s", urls)
	}

	missing := task(p, 2, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", map[string]any{"values_files": []any{"helm/values-{{.Stage}}.yaml"}})
	res = execute(t, x, missing)
	wantResult(t, res, store.ResultFail, "values_files[0]: helm/values-qa.yaml is not among the files of helloservice in stage qa")
	if res.Status != store.StatusErrored {
		t.Errorf("status %s, want errored", res.Status)
	}
}

// A broken chart and a missing chart fail the task with a clear message, and change nothing.
func TestBadCharts(t *testing.T) {
	kube := kubetest.Shared(t)
	x := newExecutor(t, kube)
	broken := project(t, "brokentour", "broken", nil)
	res := execute(t, x, task(broken, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", nil))
	wantResult(t, res, store.ResultFail, "helm install of helloservice in brokentour-qa failed")
	if !strings.Contains(res.Message, "parse error") {
		t.Errorf("message %q does not say what is wrong with the chart", res.Message)
	}

	none := project(t, "nocharttour", "", nil)
	res = execute(t, x, task(none, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", nil))
	wantResult(t, res, store.ResultFail, "no chart for helloservice in stage qa: looked for helm/helloservice.tgz, helm/helloservice, helm in")
	if _, err := kube.Do(context.Background(), "GET", "/api/v1/namespaces/nocharttour-qa"); !kubetest.IsNotFound(err) {
		t.Errorf("a task without a chart created its namespace: %v", err)
	}
}

// With no kubelet nothing becomes ready, so a waiting upgrade runs into its timeout: without atomic the
// failed revision stays, with atomic Helm rolls back to the last good revision.
func TestWaitAndAtomic(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "waittour", "helloservice", nil)
	x := newExecutor(t, kube)
	const v1, v2, v3 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2", "ghcr.io/podtato-head/podtatoserver:v0.1.3"
	wantResult(t, execute(t, x, task(p, 1, "deployment", v1, nil)), store.ResultPass, "revision 1")

	res := execute(t, x, task(p, 2, "deployment", v2, map[string]any{"wait": true, "timeout": "2s"}))
	wantResult(t, res, store.ResultFail, "helm upgrade of helloservice in waittour-qa failed")
	if h := helmData(t, res); h["revision"] != 2 || h["status"] != "failed" {
		t.Errorf("a failed upgrade reports its revision: %v", h)
	}
	if got := deploymentImage(t, kube, "waittour-qa", "helloservice"); got != v2 {
		t.Errorf("without atomic the failed upgrade's image stays: %s", got)
	}

	// Helm's rollback waits too, and also times out here; it has put the old objects back by then.
	res = execute(t, x, task(p, 3, "deployment", v3, map[string]any{"atomic": true, "timeout": "2s"}))
	wantResult(t, res, store.ResultFail, "an error occurred while rolling back the release. original upgrade error: context deadline exceeded")
	// Back to the last revision that deployed successfully: 1, since 2 failed.
	if got := deploymentImage(t, kube, "waittour-qa", "helloservice"); got != v1 {
		t.Errorf("atomic did not put the last good image back: %s", got)
	}
}

// A kubeconfig context that does not exist fails the task with a clear message.
func TestUnknownContext(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "contexttour", "helloservice", nil)
	res := execute(t, newExecutor(t, kube), task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", map[string]any{"context": "production"}))
	wantResult(t, res, store.ResultFail, `context "production" does not exist`)
}

// An upgrade interrupted by a restart leaves its revision pending, and Helm refuses to touch a pending
// release. The same delivery's retry settles its own interrupted revision and deploys; another delivery
// does not deploy over an operation it did not start.
func TestRetryAfterInterruptedUpgrade(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "retrytour", "helloservice", nil)
	x := newExecutor(t, kube)
	const v1, v2 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2"
	wantResult(t, execute(t, x, task(p, 1, "deployment", v1, nil)), store.ResultPass, "revision 1")
	tk := task(p, 2, "deployment", v2, nil)
	wantResult(t, execute(t, x, tk), store.ResultPass, "revision 2")

	// Leave revisions 1 and 2 as a crash in the middle of 2's upgrade would: 1 still deployed, 2 pending.
	r, failure := x.newRun(tk)
	if r == nil {
		t.Fatal(failure.Message)
	}
	history, err := r.history()
	if err != nil {
		t.Fatal(err)
	}
	history[0].SetStatus(release.StatusDeployed, history[0].Info.Description)
	history[1].SetStatus(release.StatusPendingUpgrade, history[1].Info.Description)
	for _, rel := range history {
		if err := r.cfg.Releases.Update(rel); err != nil {
			t.Fatal(err)
		}
	}

	other := task(p, 3, "deployment", v1, nil)
	wantResult(t, execute(t, x, other), store.ResultFail, "release helloservice in retrytour-qa has an operation in progress (revision 2 is pending-upgrade")

	tk.Attempt = 2
	res := execute(t, x, tk)
	wantResult(t, res, store.ResultPass, "helloservice revision 3 in retrytour-qa")
	if h := helmData(t, res); h["previousRevision"] != 1 {
		t.Errorf("after the interrupted revision 2, what ran before is revision 1: %v", h)
	}
}
