package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsjson "sigs.k8s.io/json"
)

// JobConfigFile is where Keptn's job-executor-service read its configuration: a resource of the service,
// so PROJECT/SERVICE/job/config.yaml here, overridden whole by PROJECT/STAGE/SERVICE/job/config.yaml.
const JobConfigFile = "job/config.yaml"

// JobConfigAPIVersion is the only apiVersion job-executor-service accepted for its configuration.
const JobConfigAPIVersion = "v2"

// Defaults job-executor-service applied to a task that does not set them.
const (
	// DefaultJobMaxPollDuration is how long a job may run before the task is given up (maxPollDuration).
	DefaultJobMaxPollDuration = 5 * time.Minute
	// DefaultJobTTLSecondsAfterFinished is how long a finished Job stays in the cluster: six hours.
	DefaultJobTTLSecondsAfterFinished int32 = 21600
	// MinJobTTLSecondsAfterFinished is the least TTL job-executor-service allowed; lower values were raised
	// to it so that a Job's logs can still be read when it has just finished.
	MinJobTTLSecondsAfterFinished int32 = 60
)

// JobConfig is Keptn job-executor-service's job/config.yaml, read unchanged: actions that run tasks as
// Kubernetes Jobs when a matching event arrives.
type JobConfig struct {
	Pos        `yaml:"-"`
	File       string       `yaml:"-"`
	APIVersion string       `yaml:"apiVersion"`
	Actions    []*JobAction `yaml:"actions"`
}

// JobAction is one action: the events that start it and the tasks it runs, in order, each as one Job.
type JobAction struct {
	Pos    `yaml:"-"`
	Name   string      `yaml:"name"`
	Events []*JobEvent `yaml:"events"`
	Tasks  []*JobTask  `yaml:"tasks"`
	// Silent made job-executor-service send no started/finished events. shipgate reports every task it
	// runs, so the key is accepted and otherwise ignored.
	Silent bool `yaml:"silent"`
}

// JobEvent selects the events an action runs on. Name is a regular expression matched (unanchored, as
// job-executor-service did) against the event type, so sh.keptn.event.*.triggered matches every task.
type JobEvent struct {
	Pos      `yaml:"-"`
	Name     string       `yaml:"name"`
	JSONPath *JobJSONPath `yaml:"jsonpath"`

	re *regexp.Regexp
}

// JobJSONPath narrows an event: the value at Property (a JSONPath into the whole event, such as
// $.data.action.action) must be the string Match.
type JobJSONPath struct {
	Pos      `yaml:"-"`
	Property string `yaml:"property"`
	Match    string `yaml:"match"`
}

// JobTask is one container run as a Kubernetes Job.
type JobTask struct {
	Pos   `yaml:"-"`
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	// Files are project files (or folders, taken whole) mounted under /keptn; see Project.JobFiles.
	Files []string `yaml:"files"`
	// Cmd and Args are passed as they are: Kubernetes expands $(VAR) in them from the container's
	// environment, which is how job-executor-service's $(KEPTN_PROJECT) and the like worked.
	Cmd        []string  `yaml:"cmd"`
	Args       []string  `yaml:"args"`
	Env        []*JobEnv `yaml:"env"`
	WorkingDir string    `yaml:"workingDir"`
	// ServiceAccount is nil when unset, so that the executor's default applies; an empty string is the
	// namespace's default account.
	ServiceAccount  *string       `yaml:"serviceAccount"`
	Resources       *JobResources `yaml:"resources"`
	ImagePullPolicy string        `yaml:"imagePullPolicy"`
	// MaxPollDuration is in seconds; see MaxPoll.
	MaxPollDuration *int `yaml:"maxPollDuration"`
	// Namespace overrides the namespace the Job runs in.
	Namespace string `yaml:"namespace"`
	// TTLSecondsAfterFinished is nil when unset; see TTL.
	TTLSecondsAfterFinished *int32              `yaml:"ttlSecondsAfterFinished"`
	SecurityContext         *JobSecurityContext `yaml:"securityContext"`
	Annotations             map[string]string   `yaml:"annotations"`
}

// Where an env entry's value comes from (valueFrom).
const (
	// JobEnvFromEvent: Value is a JSONPath into the triggered event.
	JobEnvFromEvent = "event"
	// JobEnvFromSecret: Name is a Kubernetes secret whose every key becomes a variable.
	JobEnvFromSecret = "secret"
	// JobEnvFromString: Value is the value.
	JobEnvFromString = "string"
)

// JobEnv is one env entry of a task.
type JobEnv struct {
	Pos       `yaml:"-"`
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom string `yaml:"valueFrom"`
	// As formats an event value: json or yaml. Unset, a mapping is written as JSON and anything else as
	// Go's %v prints it, as job-executor-service did.
	As string `yaml:"as"`
}

// JobResources are a task's resource limits and requests. When present (even empty), the executor's
// defaults do not apply, as in job-executor-service.
type JobResources struct {
	Pos      `yaml:"-"`
	Limits   JobResourceList `yaml:"limits"`
	Requests JobResourceList `yaml:"requests"`
}

// JobResourceList holds Kubernetes quantities such as 500m or 512Mi; empty means not set.
type JobResourceList struct {
	Pos    `yaml:"-"`
	CPU    string `yaml:"cpu"`
	Memory string `yaml:"memory"`
}

// JobSecurityContext is a container's securityContext as Kubernetes spells it (runAsUser,
// readOnlyRootFilesystem, ...). Keys Kubernetes does not know are reported as warnings.
type JobSecurityContext struct {
	corev1.SecurityContext
	unknown []string
}

// UnmarshalYAML reads the mapping through Kubernetes' own JSON field names, which yaml.v3 does not know.
func (s *JobSecurityContext) UnmarshalYAML(n *yaml.Node) error {
	var raw any
	if err := n.Decode(&raw); err != nil {
		return err
	}
	if _, ok := raw.(map[string]any); !ok {
		return fmt.Errorf("expected a mapping, got %s", describeNode(n))
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(data, &s.SecurityContext)
	if err != nil {
		return fmt.Errorf("invalid securityContext: %v", err)
	}
	for _, e := range strict {
		s.unknown = append(s.unknown, e.Error())
	}
	return nil
}

// MaxPoll is how long the task's Job may run: maxPollDuration seconds, or five minutes.
func (t *JobTask) MaxPoll() time.Duration {
	if t.MaxPollDuration == nil {
		return DefaultJobMaxPollDuration
	}
	return time.Duration(*t.MaxPollDuration) * time.Second
}

// TTL is the Job's ttlSecondsAfterFinished: the task's, raised to the minimum, or six hours.
func (t *JobTask) TTL() int32 {
	if t.TTLSecondsAfterFinished == nil {
		return DefaultJobTTLSecondsAfterFinished
	}
	return max(*t.TTLSecondsAfterFinished, MinJobTTLSecondsAfterFinished)
}

// Requirements converts the task's resources for a container. It returns false when the task sets none,
// so that the executor's defaults apply. The quantities were checked when the file was read.
func (t *JobTask) Requirements() (corev1.ResourceRequirements, bool) {
	if t.Resources == nil {
		return corev1.ResourceRequirements{}, false
	}
	list := func(l JobResourceList) corev1.ResourceList {
		out := corev1.ResourceList{}
		if l.CPU != "" {
			out[corev1.ResourceCPU] = resource.MustParse(l.CPU)
		}
		if l.Memory != "" {
			out[corev1.ResourceMemory] = resource.MustParse(l.Memory)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return corev1.ResourceRequirements{Limits: list(t.Resources.Limits), Requests: list(t.Resources.Requests)}, true
}

// ReadJobConfig reads and validates a job/config.yaml. Problems in the project files it names are checked
// by LoadProject, which knows where the files are.
func ReadJobConfig(path string) (*JobConfig, Diagnostics) {
	return readFile(path, "job-executor configuration", ParseJobConfig)
}

// ParseJobConfig decodes and validates job/config.yaml content; file names the source in diagnostics.
// Unknown keys are warnings, as in other Keptn files: job-executor-service ignored them. It returns nil
// when the content is not YAML or is empty.
func ParseJobConfig(file string, data []byte) (*JobConfig, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	c := &JobConfig{File: file}
	if !decodeKeptnFile(d, data, c, "a job-executor configuration with apiVersion: v2 and actions") {
		return nil, diags
	}
	c.validate(d, errorLines(diags))
	diags.Sort()
	return c, diags
}

var imagePullPolicies = []string{string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever)}

func (c *JobConfig) validate(d diagnoser, decodeFailed map[int]bool) {
	switch {
	case c.APIVersion == "":
		d.errorf(c.Line, "apiVersion is missing; expected apiVersion: %s, the only version job-executor-service read", JobConfigAPIVersion)
	case c.APIVersion != JobConfigAPIVersion:
		d.errorf(c.LineOf("apiVersion"), "apiVersion %q is not supported; expected %s", c.APIVersion, JobConfigAPIVersion)
	}
	if len(c.Actions) == 0 && !decodeFailed[c.LineOf("actions")] {
		d.warnf(c.LineOf("actions"), "no actions; this configuration runs nothing")
	}
	for i, a := range c.Actions {
		if a == nil {
			d.errorf(c.LineOf(fmt.Sprintf("actions[%d]", i)), "actions[%d] is empty; expected an action with name, events and tasks", i)
			continue
		}
		a.validate(d, fmt.Sprintf("actions[%d]", i), decodeFailed)
	}
}

func (a *JobAction) validate(d diagnoser, where string, decodeFailed map[int]bool) {
	if strings.TrimSpace(a.Name) == "" {
		d.errorf(a.LineOf("name"), "%s: name is missing; every action needs a name", where)
	} else {
		where = fmt.Sprintf("action %q", a.Name)
	}
	if len(a.Events) == 0 && !decodeFailed[a.LineOf("events")] {
		d.warnf(a.LineOf("events"), "%s: no events, so it never runs; expected events: [{name: sh.keptn.event.TASK.triggered}]", where)
	}
	for i, ev := range a.Events {
		if ev == nil {
			d.errorf(a.LineOf(fmt.Sprintf("events[%d]", i)), "%s: events[%d] is empty; expected name: sh.keptn.event.TASK.triggered", where, i)
			continue
		}
		ev.validate(d, where)
	}
	if len(a.Tasks) == 0 && !decodeFailed[a.LineOf("tasks")] {
		d.warnf(a.LineOf("tasks"), "%s: no tasks; it succeeds without running anything", where)
	}
	for i, t := range a.Tasks {
		if t == nil {
			d.errorf(a.LineOf(fmt.Sprintf("tasks[%d]", i)), "%s: tasks[%d] is empty; expected a task with name and image", where, i)
			continue
		}
		t.validate(d, where, fmt.Sprintf("tasks[%d]", i), decodeFailed)
	}
}

func (ev *JobEvent) validate(d diagnoser, where string) {
	if strings.TrimSpace(ev.Name) == "" {
		d.errorf(ev.LineOf("name"), "%s: event name is missing; expected sh.keptn.event.TASK.triggered", where)
	} else if re, err := regexp.Compile(ev.Name); err != nil {
		d.errorf(ev.LineOf("name"), "%s: event name %q is not a valid regular expression, which job-executor-service matched it as: %v", where, ev.Name, err)
	} else {
		ev.re = re
	}
	if jp := ev.JSONPath; jp != nil {
		if strings.TrimSpace(jp.Property) == "" {
			d.errorf(jp.LineOf("property"), "%s: jsonpath property is missing; expected a JSONPath into the event such as $.data.action.action", where)
		} else if err := checkJSONPath(jp.Property); err != nil {
			d.errorf(jp.LineOf("property"), "%s: jsonpath property %q: %v", where, jp.Property, err)
		}
	}
}

func (t *JobTask) validate(d diagnoser, action, where string, decodeFailed map[int]bool) {
	if strings.TrimSpace(t.Name) == "" {
		d.errorf(t.LineOf("name"), "%s, %s: name is missing; every task needs a name", action, where)
	} else {
		where = fmt.Sprintf("task %q", t.Name)
	}
	if tl, set := t.Lines["image"]; strings.TrimSpace(t.Image) == "" && !(set && decodeFailed[tl]) {
		d.errorf(t.LineOf("image"), "%s, %s: image is missing; expected the container image to run, such as alpine:3.20", action, where)
	}
	for i, f := range t.Files {
		if strings.Trim(f, "/ ") == "" {
			d.errorf(t.LineOf(fmt.Sprintf("files[%d]", i)), "%s, %s: files[%d] is empty; expected a file or folder of the service such as locust/basic.py", action, where, i)
		}
	}
	for i, e := range t.Env {
		if e == nil {
			d.errorf(t.LineOf(fmt.Sprintf("env[%d]", i)), "%s, %s: env[%d] is empty; expected name, value and valueFrom", action, where, i)
			continue
		}
		e.validate(d, action+", "+where)
	}
	if l, set := t.Lines["maxPollDuration"]; set && t.MaxPollDuration != nil && *t.MaxPollDuration <= 0 && !decodeFailed[l] {
		d.errorf(l, "%s, %s: maxPollDuration must be a positive number of seconds, got %d", action, where, *t.MaxPollDuration)
	}
	if l, set := t.Lines["ttlSecondsAfterFinished"]; set && t.TTLSecondsAfterFinished != nil && !decodeFailed[l] {
		if ttl := *t.TTLSecondsAfterFinished; ttl < MinJobTTLSecondsAfterFinished {
			d.warnf(l, "%s, %s: ttlSecondsAfterFinished %d is below %d and is raised to %d, as job-executor-service did", action, where, ttl, MinJobTTLSecondsAfterFinished, MinJobTTLSecondsAfterFinished)
		}
	}
	if p := t.ImagePullPolicy; p != "" && !slices.Contains(imagePullPolicies, p) {
		d.errorf(t.LineOf("imagePullPolicy"), "%s, %s: imagePullPolicy %q is not one of %s", action, where, p, strings.Join(imagePullPolicies, ", "))
	}
	if r := t.Resources; r != nil {
		for _, q := range []struct {
			list JobResourceList
			name string
		}{{r.Limits, "limits"}, {r.Requests, "requests"}} {
			for _, v := range []struct{ key, val string }{{"cpu", q.list.CPU}, {"memory", q.list.Memory}} {
				if v.val == "" {
					continue
				}
				if _, err := resource.ParseQuantity(v.val); err != nil {
					d.errorf(q.list.LineOf(v.key), "%s, %s: resources.%s.%s %q is not a Kubernetes quantity such as 500m or 512Mi", action, where, q.name, v.key, v.val)
				}
			}
		}
	}
	if sc := t.SecurityContext; sc != nil {
		for _, u := range sc.unknown {
			d.warnf(t.LineOf("securityContext"), "%s, %s: securityContext: %s; Kubernetes ignores it", action, where, u)
		}
	}
}

func (e *JobEnv) validate(d diagnoser, where string) {
	if strings.TrimSpace(e.Name) == "" {
		d.errorf(e.LineOf("name"), "%s: env name is missing", where)
		return
	}
	where = fmt.Sprintf("%s, env %q", where, e.Name)
	switch e.ValueFrom {
	case JobEnvFromEvent:
		if strings.TrimSpace(e.Value) == "" {
			d.errorf(e.LineOf("value"), "%s: value is missing; with valueFrom: event it is a JSONPath into the event such as $.data.project", where)
		} else if err := checkJSONPath(e.Value); err != nil {
			d.errorf(e.LineOf("value"), "%s: value %q is not a valid JSONPath: %v", where, e.Value, err)
		}
		if as := strings.ToLower(e.As); as != "" && as != "json" && as != "yaml" && as != "string" {
			d.warnf(e.LineOf("as"), "%s: as %q is not json, yaml or string; the value is formatted as if as were unset", where, e.As)
		}
	case JobEnvFromSecret:
		if errs := validation.IsDNS1123Subdomain(e.Name); len(errs) > 0 {
			d.errorf(e.LineOf("name"), "%s: with valueFrom: secret the name is a Kubernetes secret, and %q is not a valid one: %s", where, e.Name, strings.Join(errs, "; "))
		}
	case JobEnvFromString:
	case "":
		d.errorf(e.LineOf("valueFrom"), "%s: valueFrom is missing; expected event, secret or string", where)
	default:
		d.errorf(e.LineOf("valueFrom"), "%s: valueFrom %q is not one of event, secret, string", where, e.ValueFrom)
	}
}
