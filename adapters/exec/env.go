package exec

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/engine"
)

// inheritedEnv is what children get of shipgate's own environment when Executor.Env is nil: enough to
// find programs, a home and a locale. The rest stays out because shipgate's environment holds its chat
// and Prometheus tokens, which every command would otherwise see.
var inheritedEnv = []string{"PATH", "HOME", "LANG", "TMPDIR"}

// baseEnv is the environment every command starts from.
func (x *Executor) baseEnv() []string {
	if x.Env != nil {
		return slices.Clone(x.Env)
	}
	var env []string
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// taskEnv describes the task to its command in SHIPGATE_* variables.
func taskEnv(t engine.Task, started time.Time, sliPath string) []string {
	env := []string{
		"SHIPGATE_PROJECT=" + t.Project,
		"SHIPGATE_STAGE=" + t.Stage,
		"SHIPGATE_SERVICE=" + t.Service,
		"SHIPGATE_IMAGE=" + t.Image,
		"SHIPGATE_TAG=" + engine.ImageTag(t.Image),
		"SHIPGATE_TASK=" + t.Name,
		"SHIPGATE_SEQUENCE=" + t.Sequence,
		"SHIPGATE_DELIVERY_ID=" + strconv.FormatInt(t.DeliveryID, 10),
		"SHIPGATE_KEPTN_CONTEXT=" + t.KeptnContext,
		"SHIPGATE_TASK_STARTED=" + started.UTC().Format(time.RFC3339),
		"SHIPGATE_SLI_FILE=" + sliPath,
	}
	if u := t.DeploymentURL(); u != "" {
		env = append(env, "SHIPGATE_DEPLOYMENT_URL="+u)
	}
	// Sorted, so that when two keys map to one name (app.name and app-name) the same one always wins.
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		env = append(env, labelVar(k)+"="+t.Labels[k])
	}
	return env
}

// labelVar is the variable of a label: SHIPGATE_LABEL_ and the key upper-cased, with every character a
// shell cannot have in a name (app.kubernetes.io/name) turned into an underscore.
func labelVar(key string) string {
	var b strings.Builder
	b.WriteString("SHIPGATE_LABEL_")
	for _, r := range strings.ToUpper(key) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// renderEnv renders the env: settings over the task.
func renderEnv(s settings, data engine.TemplateData) ([]string, error) {
	env := make([]string, 0, len(s.env))
	for _, e := range s.env {
		v, err := engine.Render(e.tmpl, data)
		if err != nil {
			return nil, err
		}
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("env %s: the rendered value contains a NUL character", e.name)
		}
		env = append(env, e.name+"="+v)
	}
	return env, nil
}

// getenv is the value of key in env as a child sees it: the last entry wins, as in os/exec.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
