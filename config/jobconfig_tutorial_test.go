package config_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
)

// The Keptn tutorial's job-executor configuration, read unchanged from the published project.
func TestKeptnTutorialJobConfig(t *testing.T) {
	src := configtest.KeptnTutorialDir(t)
	c, diags := config.ReadJobConfig(filepath.Join(src, "job-executor-config.yaml"))
	if len(diags) > 0 {
		t.Fatalf("the tutorial's job-executor-config.yaml has diagnostics:\n%v", diags)
	}
	var names []string
	for _, a := range c.Actions {
		names = append(names, a.Name)
	}
	want := []string{"Deploy using helm", "Rollback using helm", "Scale using kubectl", "Run tests using locust"}
	if !slices.Equal(names, want) {
		t.Errorf("actions = %q, want %q", names, want)
	}
}

// The tutorial's project assembled as Keptn stored it: it loads without errors, its Job-run tasks need
// no executors.yaml entry, and each triggered event selects the action, files and environment that
// job-executor-service would have used.
func TestKeptnTutorialJobProject(t *testing.T) {
	dir := configtest.KeptnTutorialProject(t)
	p, diags := config.LoadProject(dir)
	if p == nil || diags.HasErrors() {
		t.Fatalf("project does not load:\n%v", diags)
	}
	for _, d := range diags {
		if strings.HasSuffix(d.File, filepath.FromSlash(config.JobConfigFile)) {
			t.Errorf("diagnostic in the job configuration: %s", d)
		}
	}
	// get-action hands out remediation.yaml's actions; job-executor-service never ran it, so it alone
	// still needs an executor.
	for _, d := range p.CheckExecutors(config.SeverityError) {
		if !strings.Contains(d.Message, `task "get-action" has no executor`) {
			t.Errorf("unexpected executor diagnostic: %s", d)
		}
	}
	for _, task := range []string{"deployment", "test", "rollback", "action"} {
		for _, stage := range []string{"qa", "production"} {
			if !p.HasJobAction(stage, "helloservice", task) {
				t.Errorf("HasJobAction(%s, helloservice, %s) = false", stage, task)
			}
		}
	}

	jc, jd := p.JobConfig("qa", "helloservice")
	if jc == nil || len(jd) > 0 {
		t.Fatalf("JobConfig: %v", jd)
	}
	event := func(task, data string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(`{"type": "`+config.JobEventType(task)+`", "shkeptncontext": "c1", "id": "e1", "data": `+data+`}`), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		task, data string
		action     string
		files      []string
		env        []config.JobEnvVar
		args       string // after Kubernetes' $(VAR) expansion
	}{
		{
			task:   "deployment",
			data:   `{"project": "fulltour", "stage": "qa", "service": "helloservice", "configurationChange": {"values": {"image": "ghcr.io/podtato-head/podtatoserver:v0.1.1"}}}`,
			action: "Deploy using helm",
			files:  []string{"/keptn/charts/helloservice.tgz"},
			env:    []config.JobEnvVar{{Name: "IMAGE", Value: "ghcr.io/podtato-head/podtatoserver:v0.1.1"}},
			args:   "upgrade --create-namespace --install -n fulltour-qa helloservice /keptn/charts/helloservice.tgz --set image=ghcr.io/podtato-head/podtatoserver:v0.1.1 --wait",
		},
		{
			task:   "test",
			data:   `{"project": "fulltour", "stage": "qa", "service": "helloservice"}`,
			action: "Run tests using locust",
			files:  []string{"/keptn/locust/basic.py", "/keptn/locust/locust.conf"},
			args:   "--config /keptn/locust/locust.conf -f /keptn/locust/basic.py --host http://helloservice.fulltour-qa --only-summary",
		},
		{
			task:   "action",
			data:   `{"project": "fulltour", "stage": "qa", "service": "helloservice", "action": {"name": "scaling", "action": "scaling", "value": "3"}}`,
			action: "Scale using kubectl",
			env:    []config.JobEnvVar{{Name: "SCALING", Value: "3"}},
			// ${...} is the shell's, left for sh -c to expand.
			args: "-c REPLICAS=$(kubectl -n ${KEPTN_PROJECT}-${KEPTN_STAGE} get deployment/${KEPTN_SERVICE} -o go-template='{{.spec.replicas}}');DESIRED=$((${SCALING}+${REPLICAS}));echo Scaling deployment to ${DESIRED} && kubectl -n ${KEPTN_PROJECT}-${KEPTN_STAGE} scale --replicas=${DESIRED} deployment/${KEPTN_SERVICE}",
		},
		{
			task: "action",
			data: `{"project": "fulltour", "stage": "qa", "service": "helloservice", "action": {"name": "rollback", "action": "rollback", "value": ""}}`,
		},
	}
	for _, tt := range tests {
		a, ok := jc.Match(tt.task, event(tt.task, tt.data))
		if tt.action == "" {
			if ok {
				t.Errorf("%s %s matched %q", tt.task, tt.data, a.Name)
			}
			continue
		}
		if !ok || a.Name != tt.action {
			t.Errorf("%s matched %v, want %q", tt.task, a, tt.action)
			continue
		}
		task := a.Tasks[0]
		files, err := p.JobFiles("qa", "helloservice", task.Files)
		if err != nil {
			t.Fatal(err)
		}
		var mounts []string
		for m := range files {
			mounts = append(mounts, m)
		}
		slices.Sort(mounts)
		if !slices.Equal(mounts, tt.files) {
			t.Errorf("%s: files mounted at %q, want %q", tt.action, mounts, tt.files)
		}
		env, err := config.ResolveEnv(task.Env, event(tt.task, tt.data))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(env, tt.env) {
			t.Errorf("%s: env %+v, want %+v", tt.action, env, tt.env)
		}
		vars := map[string]string{}
		for _, v := range append(env, config.KeptnJobEnv("fulltour", "qa", "helloservice", nil)...) {
			vars[v.Name] = v.Value
		}
		var args []string
		for _, arg := range task.Args {
			args = append(args, config.ExpandVars(arg, vars))
		}
		if got := strings.Join(args, " "); got != tt.args {
			t.Errorf("%s: args\n%s\nwant\n%s", tt.action, got, tt.args)
		}
		if task.ServiceAccount != nil && *task.ServiceAccount != "jes-deploy-using-helm" {
			t.Errorf("%s: serviceAccount %q", tt.action, *task.ServiceAccount)
		}
	}
}
