package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"
)

// loadChart finds and loads the task's chart: from a chart repository or an OCI registry when the
// settings name one, else among the service's files, a stage folder's copy first.
func (r *run) loadChart() (*chart.Chart, string, error) {
	var path, where string
	switch {
	case r.s.Repo != "" || registry.IsOCI(r.s.Chart):
		p, err := r.x.download(r.s)
		if err != nil {
			return nil, "", err
		}
		path = p
		where = r.s.Chart
		if r.s.Repo != "" {
			where = r.s.Repo + " " + r.s.Chart
		}
	default:
		p, err := r.localChart()
		if err != nil {
			return nil, "", err
		}
		path, where = p, p
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, "", fmt.Errorf("loading chart %s: %w", where, err)
	}
	if err := action.CheckDependencies(ch, ch.Metadata.Dependencies); err != nil {
		return nil, "", fmt.Errorf("chart %s: %w (package the dependencies into its charts/ folder)", where, err)
	}
	if ch.Metadata.Type != "" && ch.Metadata.Type != "application" {
		return nil, "", fmt.Errorf("chart %s is a %s chart, which cannot be installed", where, ch.Metadata.Type)
	}
	return ch, where, nil
}

// localChart is the chart among the service's files: the chart setting, or by default helm/SERVICE.tgz,
// helm/SERVICE or helm. Each is looked for in PROJECT/STAGE/SERVICE before PROJECT/SERVICE.
func (r *run) localChart() (string, error) {
	p := r.t.ProjectConfig
	if p == nil {
		return "", fmt.Errorf("%w: project %s is not loaded", errNoChart, r.t.Project)
	}
	candidates := []string{"helm/" + r.t.Service + ".tgz", "helm/" + r.t.Service, "helm"}
	if r.s.Chart != "" {
		candidates = []string{r.s.Chart}
	}
	for _, c := range candidates {
		if path, ok := resource(p.Dir, r.t.Stage, r.t.Service, c); ok {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w for %s in stage %s: looked for %s in %s and %s", errNoChart, r.t.Service, r.t.Stage,
		strings.Join(candidates, ", "), filepath.Join(p.Dir, r.t.Stage, r.t.Service), filepath.Join(p.Dir, r.t.Service))
}

// resource is config.Project.Resource for files and folders: PROJECT/STAGE/SERVICE/NAME when it exists,
// else PROJECT/SERVICE/NAME. A folder counts only when it holds a Chart.yaml, so that a helm folder of
// values files is not taken for a chart.
func resource(dir, stage, service, name string) (string, bool) {
	if filepath.IsAbs(name) || strings.HasPrefix(filepath.Clean(name), "..") {
		return "", false
	}
	for _, path := range []string{filepath.Join(dir, stage, service, name), filepath.Join(dir, service, name)} {
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !info.IsDir() {
			return path, true
		}
		if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err == nil {
			return path, true
		}
	}
	return "", false
}

// download fetches a chart from a repository or an OCI registry into the cache, as `helm pull` would.
func (x *Executor) download(s *settings) (string, error) {
	x.charts.Lock()
	defer x.charts.Unlock()
	cache := x.cacheDir()
	settings := cli.New()
	settings.RepositoryCache = filepath.Join(cache, "repository")
	settings.RepositoryConfig = filepath.Join(cache, "repositories.yaml")
	settings.RegistryConfig = filepath.Join(cache, "registry.json")
	if err := os.MkdirAll(settings.RepositoryCache, 0o755); err != nil {
		return "", fmt.Errorf("chart cache: %w", err)
	}
	var rc *registry.Client
	if registry.IsOCI(s.Chart) {
		var err error
		if rc, err = registry.NewClient(registry.ClientOptCredentialsFile(settings.RegistryConfig)); err != nil {
			return "", fmt.Errorf("registry client: %w", err)
		}
	}
	// The chart options take their registry client from the action that owns them.
	inst := action.NewInstall(&action.Configuration{RegistryClient: rc})
	inst.RepoURL, inst.Version = s.Repo, s.Version
	path, err := inst.LocateChart(s.Chart, settings)
	if err != nil {
		return "", fmt.Errorf("fetching chart %s: %w", s.Chart, err)
	}
	return path, nil
}
