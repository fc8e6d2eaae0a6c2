package job

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// KeptnPlan is the Plan of a task that Keptn's job-executor-service configuration runs: the service's
// job/config.yaml (or the stage's), its first action matching the task's triggered event, and that
// action's tasks as Jobs, in order. The Jobs run in the task's namespace (the action task's namespace,
// else with.namespace in executors.yaml, else PROJECT-STAGE, where the helm executor deploys);
// with.kubeconfig and with.context choose another cluster. Variables are set as job-executor-service set
// them: the task's env, then KEPTN_PROJECT, KEPTN_STAGE, KEPTN_SERVICE and LABELS_*, which Kubernetes
// expands in cmd and args ($(KEPTN_SERVICE)).
func KeptnPlan(_ context.Context, t engine.Task) (Plan, error) {
	p := t.ProjectConfig
	if p == nil {
		return Plan{}, fmt.Errorf("task %s has no project to read job/config.yaml from", t.Name)
	}
	jc, diags := p.JobConfig(t.Stage, t.Service)
	if diags.HasErrors() {
		return Plan{}, diags.Err()
	}
	if jc == nil {
		return Plan{}, fmt.Errorf("service %s has no %s", t.Service, config.JobConfigFile)
	}
	event := keptnEvent(t)
	action, ok := jc.Match(t.Name, event)
	if !ok {
		return Plan{}, fmt.Errorf("no action in %s/%s matches %s", t.Service, config.JobConfigFile, config.JobEventType(t.Name))
	}
	with := func(key string) string { s, _ := t.Config[key].(string); return s }
	plan := Plan{Kubeconfig: with("kubeconfig"), Context: with("context")}
	namespace := with("namespace")
	if namespace == "" {
		namespace = t.Project + "-" + t.Stage
	}
	for _, task := range action.Tasks {
		spec := Spec{Namespace: namespace, Image: task.Image, Command: task.Cmd, Args: task.Args, WorkingDir: task.WorkingDir,
			ImagePullPolicy: task.ImagePullPolicy, MaxPollDuration: task.MaxPoll(), Annotations: task.Annotations}
		if task.Namespace != "" {
			spec.Namespace = task.Namespace
		}
		if task.ServiceAccount != nil {
			spec.ServiceAccount = *task.ServiceAccount
		}
		if r, ok := task.Requirements(); ok {
			spec.Resources = &r
		}
		if task.SecurityContext != nil {
			sc := task.SecurityContext.SecurityContext
			spec.SecurityContext = &sc
		}
		ttl := task.TTL()
		spec.TTLSecondsAfterFinished = &ttl
		vars, err := config.ResolveEnv(task.Env, event)
		if err != nil {
			return Plan{}, fmt.Errorf("action %q, task %q: %w", action.Name, task.Name, err)
		}
		for _, v := range append(vars, config.KeptnJobEnv(t.Project, t.Stage, t.Service, t.Labels)...) {
			if v.SecretName != "" {
				spec.EnvFromSecrets = append(spec.EnvFromSecrets, v.SecretName)
				continue
			}
			spec.Env = append(spec.Env, EnvVar{Name: v.Name, Value: v.Value})
		}
		if len(task.Files) > 0 {
			if spec.Files, err = p.JobFiles(t.Stage, t.Service, task.Files); err != nil {
				return Plan{}, fmt.Errorf("action %q, task %q: %w", action.Name, task.Name, err)
			}
		}
		plan.Jobs = append(plan.Jobs, spec)
	}
	return plan, nil
}

// keptnEvent is the task's triggered event as job-executor-service received it, for matching and for
// env JSONPaths such as $.data.configurationChange.values.image.
func keptnEvent(t engine.Task) map[string]any {
	data := map[string]any{}
	for k, v := range t.Data {
		data[k] = v
	}
	return map[string]any{
		"type": config.JobEventType(t.Name), "specversion": "1.0", "source": "shipgate",
		"id": t.TriggeredEventID, "shkeptncontext": t.KeptnContext, "data": data,
	}
}

// withKeys are the settings executors.yaml may give a task of type job: the cluster and the namespace.
var withKeys = []string{"kubeconfig", "context", "namespace"}

// CheckConfig accepts executors.yaml settings (with:) of kubeconfig, context and namespace, each a string.
func (x *Executor) CheckConfig(task string, with map[string]any) error {
	for k, v := range with {
		if !slices.Contains(withKeys, k) {
			return fmt.Errorf("task %q: job settings take %s, not %q", task, strings.Join(withKeys, ", "), k)
		}
		if _, ok := v.(string); !ok {
			return fmt.Errorf("task %q: job setting %s must be a string", task, k)
		}
	}
	if ns, _ := with["namespace"].(string); ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return fmt.Errorf("task %q: namespace %q: %s", task, ns, strings.Join(msgs, "; "))
		}
	}
	return nil
}
