package helm

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// Settings are a helm task's executors.yaml settings (`with:`). Every string but chart, repo, version,
// kubeconfig and context is a Go template over engine.TemplateData.
type Settings struct {
	// Action is upgrade (upgrade-or-install) or rollback; a task named rollback rolls back by default.
	Action string `yaml:"action"`
	// Chart is a .tgz or chart folder among the service's files (PROJECT/[STAGE/]SERVICE/...), a chart
	// name in Repo, or an oci:// reference. Default: helm/SERVICE.tgz, helm/SERVICE or helm, the first
	// that exists.
	Chart string `yaml:"chart"`
	// Repo is a chart repository URL that Chart is the name of a chart in.
	Repo string `yaml:"repo"`
	// Version constrains the chart version taken from Repo or an OCI registry ("" is the newest).
	Version string `yaml:"version"`
	// Release is the release name; default the service's name, as Keptn's helm-service had it.
	Release string `yaml:"release"`
	// Namespace is the release's namespace; default PROJECT-STAGE, as Keptn had it.
	Namespace string `yaml:"namespace"`
	// CreateNamespace creates the namespace when it is missing (default true).
	CreateNamespace *bool `yaml:"create_namespace"`
	// Image says where in the chart's values the artifact's image goes.
	Image ImageSettings `yaml:"image"`
	// ValuesFiles are values files among the service's files, merged in order over the chart's values;
	// a stage folder's file wins over the service-wide one (PROJECT/STAGE/SERVICE/NAME).
	ValuesFiles []string `yaml:"values_files"`
	// Set are --set values: a key path and a value in --set syntax (a string template, or a number or
	// boolean written as such), applied after the values files.
	Set map[string]any `yaml:"set"`
	// Wait waits until the release's resources are ready, for at most Timeout.
	Wait bool `yaml:"wait"`
	// Timeout bounds Helm's wait (and hooks); default 5m, and never past the task's deadline.
	Timeout time.Duration `yaml:"timeout"`
	// Atomic rolls a failed upgrade back (and deletes a failed install); it implies Wait.
	Atomic bool `yaml:"atomic"`
	// MaxHistory is how many revisions Helm keeps per release; default 10, 0 means no limit.
	MaxHistory *int `yaml:"max_history"`
	// URL is the deployment's public URL (deploymentURIsPublic), for tests and chat links.
	URL string `yaml:"url"`
	// Kubeconfig and Context override shipgate.yaml's helm section for this task (say, a production
	// cluster in a stage override).
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
}

// ImageSettings places the image in the chart's values: the whole reference at one path (the default,
// path "image", as Keptn's helm-service did), or its repository and tag at two paths.
type ImageSettings struct {
	Value      string `yaml:"value"`
	Repository string `yaml:"repository"`
	Tag        string `yaml:"tag"`
}

const (
	actionUpgrade  = "upgrade"
	actionRollback = "rollback"

	defaultTimeout    = 5 * time.Minute
	defaultMaxHistory = 10
)

// settings are Settings decoded, defaulted and with their templates parsed.
type settings struct {
	Settings
	release, namespace, url *template.Template
	valuesFiles             []*template.Template
	set                     map[string]*template.Template
}

// parseSettings decodes a task's settings, fills in the defaults and parses every template, so that a
// mistake is found by CheckConfig when shipgate starts.
func parseSettings(task string, with map[string]any) (*settings, error) {
	s := &settings{}
	if err := config.DecodeSettings(with, &s.Settings); err != nil {
		return nil, err
	}
	var errs []error
	switch s.Action {
	case "":
		s.Action = actionUpgrade
		if task == "rollback" {
			s.Action = actionRollback
		}
	case actionUpgrade, actionRollback:
	default:
		errs = append(errs, fmt.Errorf("action %q is not upgrade or rollback", s.Action))
	}
	if s.Release == "" {
		s.Release = "{{.Service}}"
	}
	if s.Namespace == "" {
		s.Namespace = "{{.Project}}-{{.Stage}}"
	}
	if s.CreateNamespace == nil {
		s.CreateNamespace = new(true)
	}
	if s.MaxHistory == nil {
		s.MaxHistory = new(defaultMaxHistory)
	}
	if *s.MaxHistory < 0 {
		errs = append(errs, fmt.Errorf("max_history must be 0 (no limit) or more, not %d", *s.MaxHistory))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive, such as 5m"))
	}
	if s.Timeout == 0 {
		s.Timeout = defaultTimeout
	}
	im := &s.Image
	switch {
	case im.Value != "" && (im.Repository != "" || im.Tag != ""):
		errs = append(errs, errors.New("image: set either value (the whole reference) or repository and tag, not both"))
	case (im.Repository == "") != (im.Tag == ""):
		errs = append(errs, errors.New("image: repository and tag go together; set both, or value for the whole reference"))
	case im.Value == "" && im.Repository == "":
		im.Value = "image"
	}
	if s.Repo != "" && s.Chart == "" {
		errs = append(errs, errors.New("repo needs chart: the name of the chart in that repository"))
	}
	if s.Repo != "" && strings.HasPrefix(s.Chart, "oci://") {
		errs = append(errs, errors.New("chart is an oci:// reference, which needs no repo"))
	}
	if s.Version != "" && s.Repo == "" && !strings.HasPrefix(s.Chart, "oci://") {
		errs = append(errs, errors.New("version applies to charts from a repo or an oci:// registry; a chart among the service's files has its own version"))
	}
	var err error
	parse := func(what, text string) *template.Template {
		tmpl, perr := engine.ParseTemplate(what, text)
		if perr != nil {
			errs = append(errs, perr)
		}
		return tmpl
	}
	s.release = parse("release", s.Release)
	s.namespace = parse("namespace", s.Namespace)
	if s.URL != "" {
		s.url = parse("url", s.URL)
	}
	for i, f := range s.ValuesFiles {
		s.valuesFiles = append(s.valuesFiles, parse(fmt.Sprintf("values_files[%d]", i), f))
	}
	s.set = map[string]*template.Template{}
	for _, k := range slices.Sorted(maps.Keys(s.Set)) {
		if k == "" || strings.ContainsAny(k, "=,") {
			errs = append(errs, fmt.Errorf("set: key %q must be a values path such as replicaCount or service.port", k))
			continue
		}
		switch v := s.Set[k].(type) {
		case string:
			s.set[k] = parse("set."+k, v)
		case int, float64, bool:
			s.set[k] = parse("set."+k, fmt.Sprint(v))
		default:
			errs = append(errs, fmt.Errorf("set: %s must be a string, number or boolean; use a values file for lists and maps", k))
		}
	}
	if err = errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}
