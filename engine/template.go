package engine

import (
	"fmt"
	"maps"
	"strings"
	"text/template"

	"github.com/distribution/reference"
)

// TemplateData is what executors' Go templates (a Helm namespace, a webhook's URL and body) see of a
// task, for example {{.Project}}-{{.Stage}}, {{.Labels.version}} or {{.Data.deployment.deploymentNames}}.
type TemplateData struct {
	Project, Stage, Service string
	Sequence, Task          string
	// Image is the artifact as triggered; Tag is its tag ("" for a digest or no tag).
	Image, Tag   string
	Labels       map[string]string
	KeptnContext string
	DeliveryID   int64
	TaskRunID    int64
	Attempt      int
	// DeploymentURL is the URL the deployment reported (DeploymentURL), or "".
	DeploymentURL string
	// Data is the task's merged .triggered payload (Task.Data).
	Data map[string]any
}

// TemplateData returns the task as its executor's templates see it.
func (t Task) TemplateData() TemplateData {
	labels := map[string]string{}
	maps.Copy(labels, t.Labels)
	return TemplateData{
		Project: t.Project, Stage: t.Stage, Service: t.Service, Sequence: t.Sequence, Task: t.Name,
		Image: t.Image, Tag: ImageTag(t.Image), Labels: labels, KeptnContext: t.KeptnContext,
		DeliveryID: t.DeliveryID, TaskRunID: t.RunID, Attempt: t.Attempt,
		DeploymentURL: t.DeploymentURL(), Data: copyData(t.Data),
	}
}

// DeploymentURL is the first URL an earlier deployment task of the sequence reported, in Keptn's
// deployment.finished shape: data.deployment.deploymentURIsPublic, else deploymentURIsLocal. It is ""
// when no deployment reported one.
func (t Task) DeploymentURL() string {
	dep, _ := t.Data["deployment"].(map[string]any)
	for _, key := range []string{"deploymentURIsPublic", "deploymentURIsLocal"} {
		switch uris := dep[key].(type) {
		case []any:
			for _, u := range uris {
				if s, ok := u.(string); ok && s != "" {
					return s
				}
			}
		case []string:
			for _, s := range uris {
				if s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// ImageTag is an image reference's tag, or "" when it has none or cannot be parsed.
func ImageTag(image string) string {
	ref, err := reference.Parse(image)
	if err != nil {
		return ""
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		return tagged.Tag()
	}
	return ""
}

// ParseTemplate parses an executor setting as a Go template that fails on a missing key, so that a typo
// such as {{.Projcet}} is an error instead of an empty string. what names the setting in the error.
// funcs are the executor's own template functions, which must be known before parsing.
func ParseTemplate(what, text string, funcs ...template.FuncMap) (*template.Template, error) {
	tmpl := template.New(what).Option("missingkey=error")
	for _, f := range funcs {
		tmpl = tmpl.Funcs(f)
	}
	tmpl, err := tmpl.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return tmpl, nil
}

// Render executes a template parsed by ParseTemplate over data.
func Render(tmpl *template.Template, data any) (string, error) {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s: %w", tmpl.Name(), err)
	}
	return b.String(), nil
}
