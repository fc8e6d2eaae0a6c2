// Package tutorialtest runs the Keptn tutorial's job-executor configuration through the job executor
// against kube-apiserver with kube-controller-manager. It is a package of its own so that its test binary
// gets a cluster of its own: the job controller it starts would also act on the Jobs of adapters/job's
// tests, which play the controller's part themselves.
package tutorialtest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/adapters/job"
	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }

// The Keptn tutorial's job-executor configuration, read unchanged, runs through the job executor against
// the real API server with kube-controller-manager's job controller: each task becomes the Job the
// tutorial's action describes, and the simulated node sees the Pod Kubernetes made of it.
func TestKeptnTutorialRunsAsJobs(t *testing.T) {
	p, diags := config.LoadProject(configtest.KeptnTutorialProject(t))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	kube := kubetest.SharedWithControllers(t)
	client, err := job.NewClient(kube.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	ns := "keptn-tutorial-jobs"
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var pods []*corev1.Pod
	kube.StartNode(t, ns, func(pod *corev1.Pod) kubetest.Outcome {
		mu.Lock()
		defer mu.Unlock()
		pods = append(pods, pod.DeepCopy())
		return kubetest.Outcome{Log: "ran " + pod.Spec.Containers[0].Image + "\n"}
	})
	x := &job.Executor{Client: client, Resolve: job.KeptnPlan}
	const image = "ghcr.io/podtato-head/podtatoserver:v0.1.1"
	run := func(stage, task string, data map[string]any) *corev1.Pod {
		t.Helper()
		base := map[string]any{"project": "fulltour", "stage": stage, "service": "helloservice",
			"configurationChange": map[string]any{"values": map[string]any{"image": image}}}
		for k, v := range data {
			base[k] = v
		}
		res, err := x.Execute(t.Context(), engine.Task{RunID: int64(len(pods) + 1), Attempt: 1, DeliveryID: 7, KeptnContext: "ctx-7",
			Project: "fulltour", Stage: stage, Service: "helloservice", Name: task, Data: base, ProjectConfig: p,
			Config: map[string]any{"namespace": ns}})
		if err != nil || res.Result != store.ResultPass {
			t.Fatalf("%s %s: %+v %v", stage, task, res, err)
		}
		mu.Lock()
		defer mu.Unlock()
		return pods[len(pods)-1]
	}
	env := func(c corev1.Container) map[string]string {
		m := map[string]string{}
		for _, e := range c.Env {
			m[e.Name] = e.Value
		}
		return m
	}
	mounts := func(pod *corev1.Pod) []string {
		var keys []string
		for _, v := range pod.Spec.Volumes {
			if v.ConfigMap != nil {
				for _, it := range v.ConfigMap.Items {
					keys = append(keys, "/keptn/"+it.Path)
				}
			}
		}
		slices.Sort(keys)
		return keys
	}

	// "Deploy using helm": the chart mounted from /charts, the image from the event.
	deploy := run("qa", "deployment", nil)
	c := deploy.Spec.Containers[0]
	e := env(c)
	if c.Image != "alpine/helm:3.7.2" || !slices.Equal(c.Command, []string{"helm"}) || deploy.Spec.ServiceAccountName != "jes-deploy-using-helm" ||
		e["IMAGE"] != image || e["KEPTN_PROJECT"] != "fulltour" || e["KEPTN_STAGE"] != "qa" || e["KEPTN_SERVICE"] != "helloservice" ||
		!slices.Contains(c.Args, "/keptn/charts/$(KEPTN_SERVICE).tgz") || !slices.Contains(c.Args, "image=$(IMAGE)") {
		t.Errorf("deployment pod: image %s command %q args %q account %s env %v", c.Image, c.Command, c.Args, deploy.Spec.ServiceAccountName, e)
	}
	if got := mounts(deploy); !slices.Contains(got, "/keptn/charts/helloservice.tgz") {
		t.Errorf("deployment mounts %q, want the chart", got)
	}
	// "Run tests using locust": locust's files at /keptn/locust/.
	test := run("qa", "test", nil)
	c = test.Spec.Containers[0]
	if c.Image != "locustio/locust:2.8.6" || !slices.Equal(c.Command, []string{"locust"}) ||
		!strings.Contains(strings.Join(c.Args, " "), "--host http://$(KEPTN_SERVICE).$(KEPTN_PROJECT)-$(KEPTN_STAGE)") {
		t.Errorf("test pod: image %s command %q args %q", c.Image, c.Command, c.Args)
	}
	if got := mounts(test); !slices.Equal(got, []string{"/keptn/locust/basic.py", "/keptn/locust/locust.conf"}) {
		t.Errorf("test mounts %q", got)
	}
	// "Scale using kubectl": the action.triggered event whose jsonpath matches scaling, SCALING from it.
	scale := run("production", "action", map[string]any{"action": map[string]any{"action": "scaling", "value": "1"}})
	c = scale.Spec.Containers[0]
	if c.Image != "alpine/k8s:1.20.15" || !slices.Equal(c.Command, []string{"sh"}) || env(c)["SCALING"] != "1" || env(c)["KEPTN_STAGE"] != "production" {
		t.Errorf("scale pod: image %s command %q env %v", c.Image, c.Command, env(c))
	}
	// An action.triggered for another action matches nothing: the task errs, naming why, and no Job is made.
	before := len(pods)
	res, err := x.Execute(t.Context(), engine.Task{RunID: 99, Attempt: 1, DeliveryID: 7, Project: "fulltour", Stage: "production",
		Service: "helloservice", Name: "action", ProjectConfig: p, Config: map[string]any{"namespace": ns},
		Data: map[string]any{"action": map[string]any{"action": "restart"}}})
	if err != nil || res.Status != store.StatusErrored || !strings.Contains(res.Message, "no action") || len(pods) != before {
		t.Errorf("unmatched action: %+v %v, %d pods", res, err, len(pods)-before)
	}
}

// A delivery of the tutorial project, through the engine with a real store: qa's deployment and test run
// as Jobs in fulltour-qa, in that order, with no executors.yaml entry for them; after the approval,
// production's deployment runs as a Job in fulltour-production. (get-action, Keptn's remediation
// service's task, is the one task the project maps, to noop.)
func TestKeptnTutorialDeliveryRunsJobsInOrder(t *testing.T) {
	dir := configtest.KeptnTutorialProject(t)
	if err := os.WriteFile(filepath.Join(dir, config.ExecutorsFileName), []byte("tasks:\n  get-action: {type: noop}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := config.LoadProject(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	kube := kubetest.SharedWithControllers(t)
	client, err := job.NewClient(kube.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ran []string // namespace/image of each pod, in the order the node ran them
	for _, ns := range []string{"fulltour-qa", "fulltour-production"} {
		if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		kube.StartNode(t, ns, func(pod *corev1.Pod) kubetest.Outcome {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, pod.Namespace+"/"+pod.Spec.Containers[0].Image)
			return kubetest.Outcome{Log: "done\n"}
		})
	}
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "shipgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(engine.Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]engine.Executor{
		"noop": engine.Noop{}, engine.JobExecutorType: &job.Executor{Client: client, Resolve: job.KeptnPlan}}})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan engine.Event, 256)
	e.Subscribe(func(ev engine.Event) { events <- ev })
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wait := func(typ string) engine.Event {
		t.Helper()
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case ev := <-events:
				if ev.Type == typ {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s event", typ)
			}
		}
	}
	id, err := e.Trigger(t.Context(), engine.Request{Project: "fulltour", Service: "helloservice",
		Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1", Actor: "U-dev", Source: "api"})
	if err != nil {
		t.Fatal(err)
	}
	ev := wait(engine.EventApprovalWaiting)
	mu.Lock()
	qa := slices.Clone(ran)
	mu.Unlock()
	if want := []string{"fulltour-qa/alpine/helm:3.7.2", "fulltour-qa/locustio/locust:2.8.6"}; !slices.Equal(qa, want) {
		t.Fatalf("before the approval the node ran %q, want %q", qa, want)
	}
	if _, err := e.Decide(t.Context(), engine.Vote{ApprovalID: ev.Approval.ID, Actor: "U-ops", Roles: []string{engine.DefaultApproverRole},
		Decision: store.DecisionApprove, Platform: engine.PlatformSlack, Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	wait(engine.EventDeliveryFinished)
	d, err := st.GetDelivery(t.Context(), id)
	if err != nil || d.Result != store.ResultPass {
		t.Fatalf("delivery %+v %v", d, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := append(qa, "fulltour-production/alpine/helm:3.7.2"); !slices.Equal(ran, want) {
		t.Errorf("the node ran %q, want %q", ran, want)
	}
}
