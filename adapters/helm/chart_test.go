package helm

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/store"
)

// chartRepo serves testdata/helloservice as a chart repository on loopback, at versions 0.1.0 and 0.2.0.
func chartRepo(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	dir := t.TempDir()
	var downloads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			downloads.Add(1)
		}
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	}))
	t.Cleanup(srv.Close)
	idx := repo.NewIndexFile()
	for _, version := range []string{"0.1.0", "0.2.0"} {
		ch, err := loader.Load(filepath.Join("testdata", "helloservice"))
		if err != nil {
			t.Fatal(err)
		}
		ch.Metadata.Version = version
		path, err := chartutil.Save(ch, dir)
		if err != nil {
			t.Fatal(err)
		}
		digest, err := provenance.DigestFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.MustAdd(ch.Metadata, filepath.Base(path), srv.URL, digest); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, &downloads
}

// A chart from a repository, at a pinned version and at the newest.
func TestChartFromRepository(t *testing.T) {
	kube := kubetest.Shared(t)
	srv, downloads := chartRepo(t)
	p := project(t, "repotour", "", nil)
	x := newExecutor(t, kube)

	res := execute(t, x, task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1",
		map[string]any{"repo": srv.URL, "chart": "helloservice", "version": "0.1.0"}))
	wantResult(t, res, store.ResultPass, "chart helloservice-0.1.0")
	res = execute(t, x, task(p, 2, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.2",
		map[string]any{"repo": srv.URL, "chart": "helloservice"}))
	wantResult(t, res, store.ResultPass, "revision 2 in repotour-qa: chart helloservice-0.2.0")
	if h := helmData(t, res); h["previousChartVersion"] != "0.1.0" {
		t.Errorf("previous chart version %v", h["previousChartVersion"])
	}
	if n := downloads.Load(); n != 2 {
		t.Errorf("%d chart downloads, want 2", n)
	}

	res = execute(t, x, task(p, 3, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.2",
		map[string]any{"repo": srv.URL, "chart": "helloservice", "version": "9.9.9"}))
	wantResult(t, res, store.ResultFail, "fetching chart helloservice")
}

// A packaged chart among the service's files, and the chart setting pointing at it.
func TestPackagedChart(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "tgztour", "", nil)
	ch, err := loader.Load(filepath.Join("testdata", "helloservice"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(p.Dir, "qa", "helloservice", "charts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
	x := newExecutor(t, kube)
	res := execute(t, x, task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1",
		map[string]any{"chart": "charts/helloservice-0.1.0.tgz", "release": "hello-{{.Stage}}", "image": map[string]any{"value": "image"}}))
	wantResult(t, res, store.ResultPass, "hello-qa revision 1 in tgztour-qa")
}

// Settings are checked before anything runs, with messages naming what is wrong.
func TestCheckConfig(t *testing.T) {
	x := &Executor{}
	for _, tc := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"chart": "helm/x.tgz", "colour": "blue"}, "unknown setting colour"},
		{map[string]any{"action": "delete"}, `action "delete" is not upgrade or rollback`},
		{map[string]any{"image": map[string]any{"repository": "image.repository"}}, "image: repository and tag go together"},
		{map[string]any{"image": map[string]any{"value": "image", "tag": "image.tag"}}, "image: set either value"},
		{map[string]any{"repo": "https://charts.example"}, "repo needs chart"},
		{map[string]any{"version": "1.0.0"}, "version applies to charts from a repo"},
		{map[string]any{"namespace": "{{.Projcet"}, "namespace: template"},
		{map[string]any{"set": map[string]any{"a=b": "1"}}, `set: key "a=b"`},
		{map[string]any{"timeout": "soon"}, `value "soon" is not a valid time.Duration`},
		{map[string]any{"max_history": -1}, "max_history must be 0"},
		{map[string]any{"set": map[string]any{"ports": []any{80, 443}}}, "set: ports must be a string, number or boolean"},
	} {
		err := x.CheckConfig("deployment", tc.with)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.with, err, tc.want)
		}
	}
	if err := x.CheckConfig("deployment", map[string]any{"chart": "helm/x.tgz", "image": map[string]any{"repository": "image.repository", "tag": "image.tag"},
		"values_files": []any{"helm/values-{{.Stage}}.yaml"}, "set": map[string]any{"replicaCount": 2, "debug": true, "host": "{{.Service}}.example.com"}, "wait": true, "timeout": "2m"}); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}

// A template that names a key the task does not have fails the task, not the process.
func TestTemplateErrors(t *testing.T) {
	x := &Executor{}
	p := project(t, "templatetour", "helloservice", nil)
	res := execute(t, x, task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", map[string]any{"namespace": "{{.Labels.team}}"}))
	wantResult(t, res, store.ResultFail, `namespace: template: namespace:1:9: executing "namespace" at <.Labels.team>: map has no entry for key "team"`)
	res = execute(t, x, task(p, 1, "deployment", "ghcr.io/podtato-head/podtatoserver:v0.1.1", map[string]any{"release": "Hello_World"}))
	wantResult(t, res, store.ResultFail, `release name "Hello_World" is invalid`)
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ image, repo, tag, err string }{
		{"ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver", "v0.1.1", ""},
		{"localhost:5000/app:1.10", "localhost:5000/app", "1.10", ""},
		{"nginx@sha256:" + strings.Repeat("a", 64), "", "", "has no tag"},
		{"Not An Image", "", "", "invalid reference format"},
	} {
		repo, tag, err := splitImage(tc.image)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.image, err, tc.err)
			}
			continue
		}
		if err != nil || repo != tc.repo || tag != tc.tag {
			t.Errorf("%s: %q %q %v", tc.image, repo, tag, err)
		}
	}
}

// A split image keeps a numeric-looking tag a string, and the trigger's values other than the image
// reach the chart.
func TestImageValues(t *testing.T) {
	p := project(t, "splittour", "helloservice", nil)
	tk := task(p, 1, "deployment", "registry.local:5000/app:1.10", map[string]any{"image": map[string]any{"repository": "image.repository", "tag": "image.tag"}})
	tk.Data["configurationChange"].(map[string]any)["values"].(map[string]any)["replicaCount"] = 2
	s, err := parseSettings(tk.Name, tk.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{s: s, t: tk, data: tk.TemplateData()}
	vals, err := r.values()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := vals["image"].(map[string]any)
	if im["repository"] != "registry.local:5000/app" || im["tag"] != "1.10" || vals["replicaCount"] != 2 {
		t.Errorf("values %#v", vals)
	}
	if got := r.imageAt(vals); got != "registry.local:5000/app:1.10" {
		t.Errorf("image read back as %q", got)
	}
}
