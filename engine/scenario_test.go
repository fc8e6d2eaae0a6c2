package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

const twoStages = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
              properties: {deploymentstrategy: direct}
            - name: test
            - name: evaluation
        - name: rollback
          triggeredOn:
            - event: qa.delivery.finished
              selector:
                match:
                  result: fail
          tasks:
            - name: rollback
    - name: production
      sequences:
        - name: delivery
          triggeredOn:
            - event: qa.delivery.finished
          tasks:
            - name: deployment
            - name: release
`

const image = "ghcr.io/podtato-head/podtatoserver:v0.1.1"

// Keptn's Test_shipyardController_Scenario1: a passing delivery moves on to the next stage, carrying the
// image, and every transition is in the event log with Keptn's event types.
func TestScenario1NextStageOnPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		id := f.trigger("carts", image, "version=v0.1.1")
		synctest.Wait()

		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		equal(t, "executor calls", f.fake.called(), []string{"carts/qa/deployment#1", "carts/qa/test#1", "carts/qa/evaluation#1", "carts/production/deployment#1", "carts/production/release#1"})
		equal(t, "event log", f.eventTypes(id), []string{
			"qa.delivery.triggered", "qa.delivery.started",
			"deployment.triggered", "deployment.started", "deployment.finished",
			"test.triggered", "test.started", "test.finished",
			"evaluation.triggered", "evaluation.started", "evaluation.finished",
			"qa.delivery.finished",
			"production.delivery.triggered", "production.delivery.started",
			"deployment.triggered", "deployment.started", "deployment.finished",
			"release.triggered", "release.started", "release.finished",
			"production.delivery.finished",
		})
		d := f.delivery(id)
		if d.State != store.StateFinished || d.Result != store.ResultPass || d.FinishedAt == nil {
			t.Errorf("delivery = %s/%s, want finished/pass", d.State, d.Result)
		}
		// The image travels to the next stage's deployment as configurationChange.values.image, and the
		// task's properties arrive under its name (Keptn's payload merging).
		call, _ := f.fake.lastCall("deployment")
		cc, _ := call.Data["configurationChange"].(map[string]any)
		values, _ := cc["values"].(map[string]any)
		if values["image"] != image || call.Data["stage"] != "production" || call.Image != image {
			t.Errorf("production deployment data = %v", call.Data)
		}
		if labels, _ := call.Data["labels"].(map[string]any); labels["version"] != "v0.1.1" {
			t.Errorf("labels = %v", call.Data["labels"])
		}
		if call.Data["result"] != "pass" {
			t.Errorf("production deployment sees result %v of qa, want pass", call.Data["result"])
		}
		trs, err := f.st.ListTaskRuns(context.Background(), store.TaskRunQuery{DeliveryID: id})
		if err != nil || len(trs) != 5 || trs[0].Executor != "fake" {
			t.Errorf("task runs record executor %q, want the executors.yaml type fake", trs[0].Executor)
		}
	})
}

func TestTaskPayloadMerging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		f.fake.on("deployment", func(_ context.Context, tk Task) (Result, error) {
			return Result{Result: store.ResultPass, Data: map[string]any{"deployment": map[string]any{"deploymentURIsLocal": []any{"http://carts"}}}}, nil
		})
		f.fake.on("test", returns(store.ResultWarning))
		f.trigger("carts", image)
		synctest.Wait()

		qaDeploy := f.fake.snapshot()[0]
		if qaDeploy.Data["deployment"].(map[string]any)["deploymentstrategy"] != "direct" || qaDeploy.Properties["deploymentstrategy"] != "direct" {
			t.Errorf("deployment properties not under data.deployment: %v", qaDeploy.Data)
		}
		test, _ := f.fake.lastCall("test")
		if test.Data["result"] != "pass" || test.Data["deployment"].(map[string]any)["deploymentURIsLocal"] == nil || test.Data["message"] != "" {
			t.Errorf("test sees %v; want the deployment's data, its result and an empty message", test.Data)
		}
		eval, _ := f.fake.lastCall("evaluation")
		if eval.Data["result"] != "warning" {
			t.Errorf("evaluation sees result %v, want the test's warning", eval.Data["result"])
		}
	})
}

// Keptn's Scenario1 step 7: warning does not stop a sequence, and the next stage starts on warning too.
// The sequence result is the last task's (pass), not the worst; the delivery keeps the worst for display.
func TestNextStageOnWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		f.fake.on("carts/test", returns(store.ResultWarning))
		id := f.trigger("carts", image)
		synctest.Wait()

		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
		if d := f.delivery(id); d.Result != store.ResultPass || d.WorstResult != store.ResultWarning {
			t.Errorf("delivery result %s, worst %s; want pass, warning", d.Result, d.WorstResult)
		}
	})
}

// Keptn's Scenario4 and Test_shipyardController_TriggerOnFail: a failed evaluation ends the sequence, the
// next stage is not triggered, the rollback sequence selected by result: fail is.
func TestScenario4NotOnFailRollbackOnFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, twoStages, "")
		f.fake.on("evaluation", returns(store.ResultFail))
		id := f.trigger("carts", image)
		synctest.Wait()

		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/fail/succeeded", "qa.rollback=finished/pass/succeeded"})
		equal(t, "calls", f.fake.called(), []string{"carts/qa/deployment#1", "carts/qa/test#1", "carts/qa/evaluation#1", "carts/qa/rollback#1"})
		if d := f.delivery(id); d.Result != store.ResultFail || d.State != store.StateFinished {
			t.Errorf("delivery = %s/%s, want finished/fail (the delivery sequence's result)", d.State, d.Result)
		}
	})
}

// Keptn's Scenario3: an errored task fails the sequence with status errored; an executor error or panic
// becomes that, not a crash.
func TestErroredTaskStopsSequence(t *testing.T) {
	for name, b := range map[string]behaviour{
		"error": func(context.Context, Task) (Result, error) { return Result{}, context.DeadlineExceeded },
		"panic": func(context.Context, Task) (Result, error) { panic("boom") },
		"empty": func(context.Context, Task) (Result, error) { return Result{}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, twoStages, "")
				f.fake.on("test", b)
				id := f.trigger("carts", image)
				synctest.Wait()
				seqs := f.sequences(id)
				want := "qa.delivery=finished/fail/errored"
				if name == "empty" {
					want = "qa.delivery=finished/fail/succeeded" // an empty result is fail (Keptn)
				}
				if seqs[0] != want || len(seqs) != 2 || seqs[1] != "qa.rollback=finished/pass/succeeded" {
					t.Errorf("sequences = %q, want %s then the rollback", seqs, want)
				}
				if slices.Contains(f.fake.called(), "carts/qa/evaluation#1") {
					t.Error("the evaluation ran after the test failed")
				}
			})
		})
	}
}

const remediation = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: production
      sequences:
        - name: remediation
          tasks:
            - name: get-action
            - name: action
            - name: evaluation
        - name: escalate
          triggeredOn:
            - event: production.remediation.finished
              selector:
                match:
                  evaluation.result: fail
          tasks:
            - name: action
`

// The evaluation.result: fail selector matches only when the evaluation ended the sequence.
func TestLastTaskResultSelector(t *testing.T) {
	for _, tt := range []struct {
		failing string
		want    []string
	}{
		{"evaluation", []string{"production.remediation=finished/fail/succeeded", "production.escalate=finished/pass/succeeded"}},
		{"action", []string{"production.remediation=finished/fail/succeeded"}},
		{"", []string{"production.remediation=finished/pass/succeeded"}},
	} {
		t.Run("fail at "+tt.failing, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, remediation, "")
				if tt.failing != "" {
					f.fake.on(tt.failing, returns(store.ResultFail))
				}
				id, err := f.e.Trigger(context.Background(), Request{Project: "shop", Service: "carts", Sequence: "remediation", Image: image})
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				equal(t, "sequences", f.sequences(id), tt.want)
			})
		})
	}
}

const parallelStages = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
    - name: canary
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished}]
          tasks: [{name: deployment}]
    - name: perf
      sequences:
        - name: delivery
          triggeredOn: [{event: qa.delivery.finished, selector: {match: {result: pass}}}]
          tasks: [{name: test}]
`

// Several sequences matching one finished event start together, in every stage.
func TestSeveralMatchingSequencesStartTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, parallelStages, "")
		release := make(chan struct{})
		started := make(chan string, 2)
		block := func(_ context.Context, tk Task) (Result, error) {
			started <- tk.Stage
			<-release
			return Result{Result: store.ResultPass}, nil
		}
		f.fake.on("test", block)
		id := f.trigger("carts", image)
		synctest.Wait()
		f.fake.on("deployment", block)
		// perf is running its test; canary already deployed before the block was installed.
		if got := <-started; got != "perf" {
			t.Fatalf("started %s, want perf", got)
		}
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "canary.delivery=finished/pass/succeeded", "perf.delivery=started//"})
		close(release)
		synctest.Wait()
		if d := f.delivery(id); d.State != store.StateFinished {
			t.Errorf("delivery %s", d.State)
		}
	})
}

func TestTriggeredAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shipyard := strings.Replace(twoStages, "            - name: test\n", "            - name: test\n              triggeredAfter: 10m\n", 1)
		f := newFixture(t, shipyard, "")
		id := f.trigger("carts", image)
		synctest.Wait()
		equal(t, "tasks before the delay", f.tasks(id), []string{"qa.deployment=finished/pass", "qa.test=scheduled/"})
		if slices.Contains(f.fake.called(), "carts/qa/test#1") {
			t.Fatal("test ran before its triggeredAfter delay")
		}
		// A restart during the delay keeps the schedule.
		f.restart()
		synctest.Wait()
		equal(t, "tasks after a restart", f.tasks(id), []string{"qa.deployment=finished/pass", "qa.test=scheduled/"})
		timeSleep(9*60 + 59)
		synctest.Wait()
		if slices.Contains(f.fake.called(), "carts/qa/test#1") {
			t.Fatal("test ran a second early")
		}
		timeSleep(1)
		synctest.Wait()
		equal(t, "sequences", f.sequences(id), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=finished/pass/succeeded"})
	})
}
