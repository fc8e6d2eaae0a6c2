package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/client-go/util/jsonpath"
)

// JobEventType is the event job-executor-service ran an action on for a shipyard task.
func JobEventType(task string) string {
	return "sh.keptn.event." + task + ".triggered"
}

// Match returns the first action, in file order, whose events match the task's triggered event: the
// event name (a regular expression) matches sh.keptn.event.TASK.triggered and, when the event has a
// jsonpath, the value at its property is the string it names. event is the whole triggered event as
// decoded from JSON ({"type": ..., "data": {...}}), which the property is evaluated on. A property that
// is not in the event does not match, as in job-executor-service.
func (c *JobConfig) Match(task string, event map[string]any) (*JobAction, bool) {
	if c == nil {
		return nil, false
	}
	typ := JobEventType(task)
	for _, a := range c.Actions {
		if a == nil {
			continue
		}
		for _, ev := range a.Events {
			if ev == nil || !ev.matchesType(typ) {
				continue
			}
			if ev.JSONPath == nil || ev.JSONPath.Property == "" {
				return a, true
			}
			v, err := EvalJSONPath(ev.JSONPath.Property, event)
			if err != nil {
				continue
			}
			if s, ok := v.(string); ok && s == ev.JSONPath.Match {
				return a, true
			}
		}
	}
	return nil, false
}

// HasAction reports whether some action runs on the task's triggered event, whatever its jsonpath
// condition says: such a task is the job executor's, and needs no entry in executors.yaml.
func (c *JobConfig) HasAction(task string) bool {
	if c == nil {
		return false
	}
	typ := JobEventType(task)
	for _, a := range c.Actions {
		if a != nil && slices.ContainsFunc(a.Events, func(ev *JobEvent) bool { return ev != nil && ev.matchesType(typ) }) {
			return true
		}
	}
	return false
}

func (ev *JobEvent) matchesType(typ string) bool {
	if ev.re == nil {
		// The name did not compile; validation reported it, and such an event never matches.
		return false
	}
	return ev.re.MatchString(typ)
}

// checkJSONPath reports whether expr is a JSONPath that EvalJSONPath can run.
func checkJSONPath(expr string) error {
	_, err := parseJSONPath(expr)
	return err
}

// parseJSONPath parses a bare JSONPath such as $.data.action.value. Kubernetes' parser wants it inside a
// template's braces ({$.data.action.value}), which job-executor-service's expressions never had.
func parseJSONPath(expr string) (*jsonpath.JSONPath, error) {
	expr = strings.TrimSpace(expr)
	if strings.ContainsAny(expr, "{}") {
		return nil, errors.New("expected a bare JSONPath such as $.data.project, without braces")
	}
	if !strings.HasPrefix(expr, "$") {
		return nil, errors.New("a JSONPath starts at the event's root, $, as in $.data.project")
	}
	jp := jsonpath.New("job")
	if err := jp.Parse("{" + expr + "}"); err != nil {
		return nil, err
	}
	return jp, nil
}

// EvalJSONPath evaluates a JSONPath such as $.data.configurationChange.values.image on a value decoded
// from JSON. A path that selects one value returns it; one that selects several (a wildcard) returns
// them as a list; one that selects nothing is an error.
func EvalJSONPath(expr string, data any) (any, error) {
	jp, err := parseJSONPath(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid JSONPath %q: %w", expr, err)
	}
	results, err := jp.FindResults(data)
	if err != nil {
		return nil, fmt.Errorf("JSONPath %q: %w", expr, err)
	}
	var values []any
	for _, r := range results {
		for _, v := range r {
			values = append(values, plainValue(v))
		}
	}
	switch len(values) {
	case 0:
		return nil, fmt.Errorf("JSONPath %q selects nothing in the event", expr)
	case 1:
		return values[0], nil
	}
	return values, nil
}

// plainValue unwraps a result that the JSONPath library reached through an interface.
func plainValue(v reflect.Value) any {
	for v.IsValid() && v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil
	}
	return v.Interface()
}

// JobEnvVar is one variable of a task's container. Exactly one of Value (with Name) and SecretName is
// meaningful.
type JobEnvVar struct {
	Name  string
	Value string
	// SecretName is set for valueFrom: secret. job-executor-service made every key of that Kubernetes
	// secret, in the Job's namespace, a variable of the same name (an envFrom secretRef does the same);
	// the value never passes through shipgate.
	SecretName string
}

// ResolveEnv turns a task's env entries into variables, in order: valueFrom event evaluates the JSONPath
// on the whole triggered event, string takes the value as written, and secret yields a reference to the
// secret. A JSONPath that selects nothing is an error, as it failed the task in job-executor-service.
func ResolveEnv(env []*JobEnv, event map[string]any) ([]JobEnvVar, error) {
	var out []JobEnvVar
	for _, e := range env {
		if e == nil {
			continue
		}
		switch e.ValueFrom {
		case JobEnvFromEvent:
			v, err := EvalJSONPath(e.Value, event)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			s, err := formatEnvValue(v, e.As)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			out = append(out, JobEnvVar{Name: e.Name, Value: s})
		case JobEnvFromString:
			out = append(out, JobEnvVar{Name: e.Name, Value: e.Value})
		case JobEnvFromSecret:
			out = append(out, JobEnvVar{Name: e.Name, SecretName: e.Name})
		default:
			return nil, fmt.Errorf("env %s: valueFrom %q is not one of event, secret, string", e.Name, e.ValueFrom)
		}
	}
	return out, nil
}

// formatEnvValue writes an event value the way job-executor-service did: as YAML or JSON when asked, a
// mapping as JSON, anything else with %v (so a JSON number 3 is "3").
func formatEnvValue(v any, as string) (string, error) {
	switch {
	case strings.EqualFold(as, "yaml"):
		b, err := yaml.Marshal(v)
		return string(b), err
	case strings.EqualFold(as, "json") || reflect.ValueOf(v).Kind() == reflect.Map:
		b, err := json.Marshal(v)
		return string(b), err
	}
	return fmt.Sprintf("%v", v), nil
}

// KeptnJobEnv is the variables job-executor-service gave every task's container besides its own env:
// KEPTN_PROJECT, KEPTN_STAGE, KEPTN_SERVICE, and LABELS_KEY for every label of the event (the key upper
// case, hyphens and spaces made underscores), labels sorted by key. They come after the task's own
// variables, as there, so that $(KEPTN_SERVICE) in cmd and args is expanded by Kubernetes.
func KeptnJobEnv(project, stage, service string, labels map[string]string) []JobEnvVar {
	out := []JobEnvVar{
		{Name: "KEPTN_PROJECT", Value: project},
		{Name: "KEPTN_STAGE", Value: stage},
		{Name: "KEPTN_SERVICE", Value: service},
	}
	replacer := strings.NewReplacer("-", "_", " ", "_")
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, JobEnvVar{Name: "LABELS_" + strings.ToUpper(replacer.Replace(k)), Value: labels[k]})
	}
	return out
}

// ExpandVars expands $(VAR) in s the way Kubernetes expands a container's command and args: a defined
// variable is replaced by its value, an undefined one is left as written, and $$ stands for a literal $.
// The executor passes cmd and args to Kubernetes unexpanded; this is for showing the command a Job ran
// and for tests, where no kubelet does the expansion.
func ExpandVars(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
