package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadTutorialProject(t *testing.T) {
	for _, dir := range []string{"../examples/fulltour", "testdata/keptn-tutorial/fulltour"} {
		t.Run(dir, func(t *testing.T) {
			p, diags := LoadProject(dir)
			checkDiags(t, diags)
			if p.Name != "fulltour" || !slices.Equal(p.Services, []string{"helloservice"}) {
				t.Fatalf("project %q with services %v", p.Name, p.Services)
			}
			if !p.HasService("helloservice") || p.HasService("production") {
				t.Error("HasService disagrees with Services")
			}
			slo, sd := p.SLO("production", "helloservice")
			checkDiags(t, sd)
			if slo == nil || len(slo.Objectives) != 3 {
				t.Fatalf("production SLO = %+v", slo)
			}
			slis, sd := p.SLIs("qa", "helloservice", DefaultSLIProvider)
			checkDiags(t, sd)
			if len(slis) != 3 {
				t.Errorf("qa SLIs = %v", slis)
			}
			rem, rd := p.Remediation("production", "helloservice")
			checkDiags(t, rd)
			if rem == nil || rem.File != filepath.Join(dir, "production", "helloservice", RemediationFile) {
				t.Fatalf("production remediation = %+v", rem)
			}
			if got := rem.Spec.Remediations[0]; got.ProblemType != "Response time degradation" || got.ActionsOnOpen[0].Action != "scaling" || got.ActionsOnOpen[0].Value != "1" {
				t.Errorf("first remediation = %+v", got)
			}
			if rem, _ := p.Remediation("qa", "helloservice"); rem != nil {
				t.Error("qa found production's remediation file")
			}
		})
	}
}

// writeTree creates files (path -> content) under a new temporary directory named name.
func writeTree(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const twoStages = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences: [{name: delivery, tasks: [{name: evaluation}]}]
    - name: production
      sequences: [{name: delivery, tasks: [{name: evaluation}]}]
`

func sloFor(slis ...string) string {
	s := "objectives:\n"
	for _, sli := range slis {
		s += "  - sli: " + sli + "\n    pass: [{criteria: [\"<1\"]}]\n"
	}
	return s + "total_score: {pass: 90%}\n"
}

func TestStageOverridesAndSLIMerge(t *testing.T) {
	dir := writeTree(t, "shop", map[string]string{
		"shipyard.yaml":                          twoStages,
		"prometheus/sli.yaml":                    "indicators: {a: project-a, b: project-b, c: project-c, d: project-d}\n",
		"production/prometheus/sli.yaml":         "indicators: {b: stage-b, c: stage-c, d: stage-d}\n",
		"carts/prometheus/sli.yaml":              "indicators: {c: service-c, d: service-d}\n",
		"production/carts/prometheus/sli.yaml":   "indicators: {d: stage-service-d}\n",
		"carts/slo.yaml":                         sloFor("a"),
		"production/carts/slo.yaml":              sloFor("a", "b"),
		"orders/slo.yaml":                        sloFor("a", "throughput", "custom"),
		"production/payments/helm/values.yaml":   "replicas: 1\n",
		"Bad_Folder/readme.txt":                  "not a service\n",
		".git/HEAD":                              "ref: refs/heads/main\n",
		"production/carts/remediation.yaml":      "apiVersion: spec.keptn.sh/0.1.4\nkind: Remediation\nspec:\n  remediations: [{problemType: default, actionsOnOpen: [{action: scale}]}]\n",
		"production/payments/remediation.yaml":   "apiVersion: spec.keptn.sh/0.1.0\nkind: Remediation\nspec: {remediations: []}\n",
		"qa/orders/prometheus/sli.yaml":          "indicators: {custom: up}\n",
		"production/orders/prometheus/sli.yaml":  "indicators:\n  custom: ''\n",
		"production/payments/prometheus/sli.yml": "ignored: true\n",
	})
	p, diags := LoadProject(dir)
	checkDiags(t, diags,
		warnAt(0, `folder "Bad_Folder" is ignored`),
		errAt(1, `apiVersion is "spec.keptn.sh/0.1.0"`),
		errAt(2, `indicator "custom" has an empty query`),
		// production/orders has an empty query for custom, so it gets no value there; throughput is built in.
		warnAt(6, `objective "custom" has no query in any prometheus/sli.yaml for stage production`),
	)
	if want := []string{"carts", "orders", "payments"}; !slices.Equal(p.Services, want) {
		t.Fatalf("services = %v, want %v", p.Services, want)
	}

	slis, _ := p.SLIs("production", "carts", DefaultSLIProvider)
	want := map[string]string{"a": "project-a", "b": "stage-b", "c": "service-c", "d": "stage-service-d"}
	if !maps.Equal(slis, want) {
		t.Errorf("production/carts SLIs = %v, want %v", slis, want)
	}
	slis, _ = p.SLIs("qa", "carts", DefaultSLIProvider)
	want = map[string]string{"a": "project-a", "b": "project-b", "c": "service-c", "d": "service-d"}
	if !maps.Equal(slis, want) {
		t.Errorf("qa/carts SLIs = %v, want %v", slis, want)
	}

	qa, _ := p.SLO("qa", "carts")
	prod, _ := p.SLO("production", "carts")
	if len(qa.Objectives) != 1 || len(prod.Objectives) != 2 {
		t.Errorf("qa has %d objectives, production %d; want 1 and 2 (stage file wins)", len(qa.Objectives), len(prod.Objectives))
	}
	if slo, d := p.SLO("qa", "payments"); slo != nil || d != nil {
		t.Errorf("payments has no SLO, got %v %v", slo, d)
	}
}

func TestLoadProjectProblems(t *testing.T) {
	if _, diags := LoadProject(filepath.Join(t.TempDir(), "missing")); !diags.HasErrors() {
		t.Error("a missing directory loaded")
	}
	dir := writeTree(t, "Shop_1", map[string]string{"shipyard.yaml": twoStages})
	_, diags := LoadProject(dir)
	checkDiags(t, diags, errAt(0, `project name "Shop_1" (the directory's name) is invalid`))

	dir = writeTree(t, "empty", map[string]string{"readme.md": "no shipyard\n"})
	_, diags = LoadProject(dir)
	checkDiags(t, diags, errAt(0, "cannot read shipyard: no such file or directory"))
}

func TestConfigLoadProjects(t *testing.T) {
	root := writeTree(t, "etc", map[string]string{
		"projects/shop/shipyard.yaml": twoStages,
		"projects/notes/readme.md":    "not a project\n",
	})
	doc := `projects_dir: projects
slack: {bot_token: x, signing_secret: y}
channels:
  - platform: slack
    channel: C1
    projects: [shop, other]
api:
  tokens:
    - {name: ci, token: t, projects: [shop, "*", gone]}
`
	cfg, diags := Parse(filepath.Join(root, "shipgate.yaml"), []byte(doc), env(nil))
	checkDiags(t, diags)
	projects, diags := cfg.LoadProjects()
	checkDiags(t, diags,
		errAt(6, `channels[0]: project "other" is not in`),
		errAt(9, `api.tokens[0]: project "gone" is not in`),
	)
	if len(projects) != 1 || projects[0].Name != "shop" {
		t.Fatalf("projects = %v", projects)
	}

	// The default projects_dir may be absent; a named one may not.
	cfg, _ = Parse(filepath.Join(root, "other", "shipgate.yaml"), nil, env(nil))
	if projects, diags := cfg.LoadProjects(); projects != nil || diags != nil {
		t.Errorf("absent default projects_dir: %v %v", projects, diags)
	}
	cfg, _ = Parse(filepath.Join(root, "other", "shipgate.yaml"), []byte("projects_dir: nowhere\n"), env(nil))
	_, diags = cfg.LoadProjects()
	checkDiags(t, diags, errAt(1, "projects_dir "))
}

// Kubernetes mounts a ConfigMap's folders as symbolic links into its ..data folder; a project mounted
// that way has its services.
func TestProjectFoldersBehindLinks(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "..2026_12_02")
	for path, content := range map[string]string{
		"shipyard.yaml":          "apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nspec:\n  stages:\n    - name: qa\n",
		"helloservice/slo.yaml":  "objectives: [{sli: p95, pass: [{criteria: [\"<600\"]}]}]\ntotal_score: {pass: \"90%\"}\n",
		"qa/helloservice/README": "x\n",
	} {
		full := filepath.Join(data, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	project := filepath.Join(root, "fulltour")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", filepath.Base(data)), filepath.Join(project, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shipyard.yaml", "helloservice", "qa"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(project, name)); err != nil {
			t.Fatal(err)
		}
	}
	projects, diags := LoadProjects(root)
	if diags.HasErrors() || len(projects) != 1 {
		t.Fatalf("projects %v: %v", projects, diags)
	}
	if got := projects[0].Services; len(got) != 1 || got[0] != "helloservice" {
		t.Errorf("services %v, want [helloservice]", got)
	}
}

// When projects_dir gives no project, CheckProjectsFound says what it found instead, at projects_dir's
// line, with the severity asked for.
func TestCheckProjectsFound(t *testing.T) {
	root := writeTree(t, "etc", map[string]string{
		"fulltour/shipyard.yaml":          twoStages,
		"nested/keptn/shop/shipyard.yaml": twoStages,
		"plain/notes/readme.md":           "not a project\n",
		"plain/docs/readme.md":            "not a project\n",
		"broken/shop/shipyard.yaml":       "apiVersion: spec.keptn.sh/0.2.2\nspec:\n  stages: [\n",
		"files/readme.md":                 "no folders\n",
	})
	tests := []struct {
		dir  string
		sev  Severity
		want []want
	}{
		{"fulltour", SeverityError, []want{errAt(2, "projects_dir "+filepath.Join(root, "fulltour")+" holds a shipyard.yaml: it is a Keptn project itself, and projects_dir should be its parent folder, "+root)}},
		{"nested", SeverityWarning, []want{warnAt(2, "projects_dir "+filepath.Join(root, "nested")+" holds no project, but its folder keptn holds project folders: projects_dir should be "+filepath.Join(root, "nested", "keptn"))}},
		{"plain", SeverityError, []want{errAt(2, "projects_dir "+filepath.Join(root, "plain")+" holds no project: none of its folders (docs, notes) has a shipyard.yaml at its top")}},
		{"files", SeverityError, []want{errAt(2, "holds no project: it has no folders; put one folder per Keptn project in it")}},
		// A project folder that did not load has its own errors, which say why.
		{"broken", SeverityError, nil},
		// A projects_dir that cannot be read is LoadProjects' error.
		{"nowhere", SeverityError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			cfg, diags := Parse(filepath.Join(root, "shipgate.yaml"), []byte("listen: 127.0.0.1:0\nprojects_dir: "+tt.dir+"\n"), env(nil))
			checkDiags(t, diags)
			projects, _ := cfg.LoadProjects()
			checkDiags(t, cfg.CheckProjectsFound(projects, tt.sev), tt.want...)
		})
	}

	// The default projects_dir may be absent, but then nothing is served.
	cfg, _ := Parse(filepath.Join(root, "shipgate.yaml"), []byte("listen: 127.0.0.1:0\n"), env(nil))
	checkDiags(t, cfg.CheckProjectsFound(nil, SeverityWarning), warnAt(1, "no project: projects_dir is not set, and its default "+filepath.Join(root, "projects")+" does not exist"))
	// Loaded projects need no explanation.
	cfg, _ = Parse(filepath.Join(root, "shipgate.yaml"), []byte("projects_dir: .\n"), env(nil))
	projects, _ := cfg.LoadProjects()
	if len(projects) != 1 || cfg.CheckProjectsFound(projects, SeverityError) != nil {
		t.Errorf("projects %v: want fulltour and nothing to say", projects)
	}
}
