package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// jobTestConfig is a job-executor-service configuration that runs qa's test task.
const jobTestConfig = `apiVersion: v2
actions:
  - name: "Run tests using locust"
    events:
      - name: "sh.keptn.event.test.triggered"
    tasks:
      - name: "Run locust"
        image: "locustio/locust:2.8.6"
        cmd: ["locust"]
`

// A task that every service's job/config.yaml runs needs no executors.yaml mapping: it goes to the job
// executor, and a build without one refuses the project at start, naming the task.
func TestJobConfigTasksGoToTheJobExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shop")
		p := configtest.WriteProject(t, dir, map[string]string{
			"shipyard.yaml":          oneStage,
			"executors.yaml":         "tasks:\n  deployment: {type: fake}\n  rollback: {type: fake}\n",
			"carts/job/config.yaml":  jobTestConfig,
			"orders/job/config.yaml": jobTestConfig,
		})
		f := &fixture{t: t, dbPath: filepath.Join(t.TempDir(), "shipgate.db"), project: p,
			fake: &fakeExec{behaviours: map[string]behaviour{}}}
		jobs := &fakeExec{behaviours: map[string]behaviour{}}

		st, err := store.Open(context.Background(), f.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]Executor{"fake": f.fake}})
		st.Close()
		if err == nil || !strings.Contains(err.Error(), `task "test" runs as a Kubernetes Job`) {
			t.Fatalf("New without a job executor: %v", err)
		}

		f.opts = Options{Projects: []*config.Project{p}, Executors: map[string]Executor{"fake": f.fake, JobExecutorType: jobs}}
		f.start()
		t.Cleanup(f.stop)
		id := f.trigger("carts", image)
		synctest.Wait()
		if d := f.delivery(id); d.Result != store.ResultPass {
			t.Fatalf("delivery %s %q", d.Result, d.Message)
		}
		equal(t, "fake executor's tasks", f.fake.called(), []string{"carts/qa/deployment#1"})
		equal(t, "job executor's tasks", jobs.called(), []string{"carts/qa/test#1"})
	})
}
