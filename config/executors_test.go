package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseExecutors(t *testing.T) {
	doc := `# executors.yaml
tasks:
  deployment:
    type: noop
    timeout: 15m
    idempotent: true
    with:
      chart: helm/chart.tgz
      replicas: 2
  release: {type: noop}
stages:
  production:
    tasks:
      test: {type: noop, timeout: 1h}
`
	f, diags := ParseExecutors("executors.yaml", []byte(doc))
	checkDiags(t, diags)
	dep := f.Tasks["deployment"]
	if dep.Type != "noop" || dep.Timeout != 15*time.Minute || !dep.Idempotent || dep.Line != 4 {
		t.Errorf("deployment = %+v", dep)
	}
	if want := map[string]any{"chart": "helm/chart.tgz", "replicas": 2}; !reflect.DeepEqual(dep.With, want) {
		t.Errorf("deployment.with = %#v, want %#v", dep.With, want)
	}
	if rel := f.Tasks["release"]; rel.Type != "noop" || rel.Timeout != 0 || rel.Idempotent || rel.With != nil {
		t.Errorf("release = %+v, want type noop and nothing else", rel)
	}
	if test := f.Stages["production"].Tasks["test"]; test.Type != "noop" || test.Timeout != time.Hour || test.Line != 14 {
		t.Errorf("production test = %+v", test)
	}
	if f.File != "executors.yaml" || f.LineOf("stages.production") != 12 {
		t.Errorf("file %q, stages.production at line %d", f.File, f.LineOf("stages.production"))
	}
}

func TestExecutorsValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{
			name: "type missing, in every stage and in a stage",
			doc: `tasks:
  deployment:
    timeout: 5m
  test: {}
  release:
stages:
  production:
    tasks:
      rollback: {idempotent: true}
`,
			want: []want{
				errAt(2, `task "deployment": type is missing; expected the executor that runs the task, such as type: noop`),
				errAt(4, `task "test": type is missing`),
				errAt(5, `task "release": type is missing`),
				errAt(9, `stage "production": task "rollback": type is missing`),
			},
		},
		{
			name: "approval is built in",
			doc:  "tasks:\n  approval: {type: webhook}\nstages:\n  production:\n    tasks:\n      approval: {type: noop}\n",
			want: []want{
				errAt(2, `task "approval" is built into shipgate and cannot be mapped to an executor`),
				errAt(6, `stage "production": task "approval" is built into shipgate`),
			},
		},
		{
			name: "zero and negative timeouts",
			doc: `tasks:
  deployment: {type: noop, timeout: 0s}
  test:
    type: noop
    timeout: 0
  release: {type: noop, timeout: -1m}
  rollback: {type: noop, timeout: ~}
stages:
  qa:
    tasks:
      test: {type: noop, timeout: -5s}
`,
			want: []want{
				errAt(2, `task "deployment": timeout must be positive; expected a duration such as 15m or 1h, or leave timeout out to use the default`),
				errAt(5, `task "test": timeout must be positive`),
				errAt(6, `task "release": timeout must be positive`),
				errAt(7, `task "rollback": timeout must be positive`),
				errAt(11, `stage "qa": task "test": timeout must be positive`),
			},
		},
		{
			name: "a value that does not decode is reported once",
			doc: `tasks:
  deployment: {type: noop, timeout: soon}
  test: {type: noop, timeout: 10}
  release: {type: [noop]}
  rollback: {type: noop, idempotent: maybe, with: [a]}
  action: {timeout: soon}
`,
			want: []want{
				errAt(6, `tasks.action.timeout: expected a duration`),
				errAt(6, `task "action": type is missing`),
				errAt(2, `tasks.deployment.timeout: expected a duration such as 30s, 5m or 1h, got "soon"`),
				errAt(3, `tasks.test.timeout: expected a duration such as 30s, 5m or 1h, got "10"`),
				errAt(4, `tasks.release.type: expected a string, got a list`),
				errAt(5, `tasks.rollback.idempotent: expected true or false, got "maybe"`),
				errAt(5, `tasks.rollback.with: expected a mapping, got a list`),
			},
		},
		{
			name: "task names that never match",
			doc: `tasks:
  "": {type: noop}
  deploy.ment: {type: noop}
stages:
  production:
    tasks:
      "smoke test": {type: noop}
`,
			want: []want{
				errAt(2, `task name is empty, so it never matches; expected the name of a shipyard task such as deployment`),
				errAt(3, `task name "deploy.ment" never matches: shipyard task names contain only letters, digits, hyphens and underscores`),
				errAt(7, `stage "production": task name "smoke test" never matches`),
			},
		},
		{
			name: "unknown keys are errors in shipgate's own file",
			doc: `task:
  deployment: {type: noop}
tasks:
  deployment: {type: noop, timout: 5m}
stages:
  production:
    test: {type: noop}
`,
			want: []want{
				errAt(1, `unknown key "task" at the top level; expected one of: tasks, stages`),
				errAt(4, `unknown key "timout" in tasks.deployment; expected one of: type, timeout, idempotent, with`),
				errAt(7, `unknown key "test" in stages.production; expected one of: tasks`),
			},
		},
		{
			name: "wrong shapes",
			doc: `tasks: [deployment]
stages:
  production: noop
`,
			want: []want{
				errAt(1, `tasks: expected a mapping, got a list`),
				errAt(3, `stages.production: expected a mapping, got "noop"`),
			},
		},
		{
			name: "duplicate tasks",
			doc: `tasks:
  deployment: {type: noop}
  deployment: {type: noop}
`,
			want: []want{errAt(3, `tasks: key "deployment" is already defined at line 2`)},
		},
		{
			name: "a stage without tasks maps nothing",
			doc: `stages:
  production:
`,
		},
		{name: "empty file", doc: "# no executors yet\n"},
		{name: "not YAML", doc: "tasks:\n  deployment: [\n", want: []want{errAt(2, "invalid YAML: did not find expected node content")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := ParseExecutors("executors.yaml", []byte(tt.doc))
			checkDiags(t, diags, tt.want...)
			for _, d := range diags {
				if d.File != "executors.yaml" {
					t.Errorf("diagnostic for file %q", d.File)
				}
			}
			if f == nil {
				if !diags.HasErrors() {
					t.Fatal("no file and no error")
				}
				return
			}
			for _, spec := range f.Tasks {
				if spec == nil {
					t.Error("nil spec kept in tasks")
				}
			}
			for name, se := range f.Stages {
				if se == nil {
					t.Errorf("nil stage %q kept", name)
				}
			}
		})
	}
}

func TestExecutorFor(t *testing.T) {
	f, diags := ParseExecutors("executors.yaml", []byte(`tasks:
  deployment: {type: noop, timeout: 15m}
  test: {type: noop}
stages:
  production:
    tasks:
      deployment: {type: helm}
      smoke: {type: exec}
  qa:
`))
	checkDiags(t, diags)
	p := &Project{Executors: f}
	tests := []struct {
		stage, task string
		typ         string // "" when there is no executor
		timeout     time.Duration
	}{
		// The stage entry replaces the whole mapping: no timeout inherited from tasks.
		{"production", "deployment", "helm", 0},
		{"production", "smoke", "exec", 0},
		{"production", "test", "noop", 0},
		{"qa", "deployment", "noop", 15 * time.Minute},
		{"qa", "smoke", "", 0},
		{"staging", "deployment", "noop", 15 * time.Minute},
		{"production", "release", "", 0},
	}
	for _, tt := range tests {
		spec, ok := p.ExecutorFor(tt.stage, tt.task)
		if ok != (tt.typ != "") || ok && (spec.Type != tt.typ || spec.Timeout != tt.timeout) || !ok && spec != nil {
			t.Errorf("ExecutorFor(%q, %q) = %+v, %v; want type %q, timeout %v", tt.stage, tt.task, spec, ok, tt.typ, tt.timeout)
		}
	}
	if spec, ok := (&Project{}).ExecutorFor("qa", "deployment"); ok || spec != nil {
		t.Errorf("a project without executors.yaml has executor %+v", spec)
	}
}

const executorsShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: test
            - name: evaluation
        - name: hotfix
          tasks:
            - name: deployment
    - name: production
      sequences:
        - name: delivery
          tasks:
            - name: approval
            - name: deployment
            - name: release
        - name: evaluation
          tasks:
            - name: test
            - name: evaluation
`

func TestCheckExecutors(t *testing.T) {
	tests := []struct {
		name      string
		executors string // "" for a project without executors.yaml
		sev       Severity
		shipyard  []want // diagnostics in shipyard.yaml
		file      []want // diagnostics in executors.yaml
	}{
		{
			name: "no executors.yaml: every non-built-in task occurrence, as warnings",
			sev:  SeverityWarning,
			shipyard: []want{
				warnAt(9, `stage "qa", sequence "delivery": task "deployment" has no executor; map it in executors.yaml, for example tasks: {deployment: {type: noop}}`),
				warnAt(10, `stage "qa", sequence "delivery": task "test" has no executor`),
				warnAt(14, `stage "qa", sequence "hotfix": task "deployment" has no executor`),
				warnAt(20, `stage "production", sequence "delivery": task "deployment" has no executor`),
				warnAt(21, `stage "production", sequence "delivery": task "release" has no executor`),
				warnAt(24, `stage "production", sequence "evaluation": task "test" has no executor`),
			},
		},
		{
			name:      "a stage override covers only its stage, as errors",
			executors: "tasks:\n  deployment: {type: noop}\nstages:\n  production:\n    tasks:\n      test: {type: noop}\n      release: {type: noop}\n",
			sev:       SeverityError,
			shipyard:  []want{errAt(10, `stage "qa", sequence "delivery": task "test" has no executor; map it in executors.yaml, for example tasks: {test: {type: noop}}`)},
		},
		{
			name:      "everything mapped",
			executors: "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n  release: {type: noop}\n",
			sev:       SeverityError,
		},
		{
			name:      "a stage the shipyard lacks is an error whatever the severity",
			executors: "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n  release: {type: noop}\nstages:\n  staging:\n    tasks:\n      test: {type: noop}\n  prod:\n",
			sev:       SeverityWarning,
			file: []want{
				errAt(6, `stage "staging" is not in shipyard.yaml; expected one of its stages: qa, production`),
				errAt(9, `stage "prod" is not in shipyard.yaml`),
			},
		},
		{
			name: "mappings the shipyard never uses",
			// evaluation is used in every stage by the built-in evaluation sequence; qa has no rollback.
			executors: "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n  release: {type: noop}\n  deploymnet: {type: noop}\n  evaluation: {type: noop}\nstages:\n  qa:\n    tasks:\n      release: {type: noop}\n      rollback: {type: noop}\n      evaluation: {type: noop}\n",
			sev:       SeverityError,
			file: []want{
				warnAt(5, `task "deploymnet" is not a task of any sequence in shipyard.yaml; this mapping is never used`),
				warnAt(10, `stage "qa": task "release" is not a task of any sequence of stage "qa" in shipyard.yaml; this mapping is never used`),
				warnAt(11, `stage "qa": task "rollback" is not a task of any sequence of stage "qa"`),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{ShipyardFile: executorsShipyard}
			if tt.executors != "" {
				files[ExecutorsFileName] = tt.executors
			}
			dir := writeTree(t, "shop", files)
			p, diags := LoadProject(dir)
			// LoadProject leaves the executor check to its callers; executors.yaml alone is valid here.
			checkDiags(t, diags)
			if (p.Executors != nil) != (tt.executors != "") {
				t.Fatalf("Executors = %+v with executors.yaml %q", p.Executors, tt.executors)
			}
			var shipyard, file Diagnostics
			for _, d := range p.CheckExecutors(tt.sev) {
				switch d.File {
				case filepath.Join(dir, ShipyardFile):
					shipyard = append(shipyard, d)
				case filepath.Join(dir, ExecutorsFileName):
					file = append(file, d)
				default:
					t.Errorf("diagnostic for another file: %s", d)
				}
			}
			checkDiags(t, shipyard, tt.shipyard...)
			checkDiags(t, file, tt.file...)
		})
	}
}

func TestTutorialExecutors(t *testing.T) {
	// The example maps every task to noop; the Keptn tutorial copy is a bare Keptn project.
	p, diags := LoadProject("../examples/fulltour")
	checkDiags(t, diags)
	checkDiags(t, p.CheckExecutors(SeverityError))
	if spec, ok := p.ExecutorFor("production", "deployment"); !ok || spec.Type != "noop" || spec.Timeout != 15*time.Minute {
		t.Errorf("production deployment executor = %+v, %v", spec, ok)
	}
	if spec, ok := p.ExecutorFor("qa", "release"); !ok || !spec.Idempotent {
		t.Errorf("qa release executor = %+v, %v; want idempotent", spec, ok)
	}

	p, diags = LoadProject("testdata/keptn-tutorial/fulltour")
	checkDiags(t, diags)
	if p.Executors != nil {
		t.Fatalf("bare project has executors %+v", p.Executors)
	}
	checkDiags(t, p.CheckExecutors(SeverityError),
		errAt(11, `stage "qa", sequence "delivery": task "deployment" has no executor`),
		errAt(14, `stage "qa", sequence "delivery": task "test" has no executor`),
		errAt(20, `stage "qa", sequence "delivery": task "release" has no executor`),
		errAt(28, `stage "qa", sequence "rollback": task "rollback" has no executor`),
		errAt(40, `stage "production", sequence "delivery": task "deployment" has no executor`),
		errAt(43, `stage "production", sequence "delivery": task "test" has no executor`),
		errAt(49, `stage "production", sequence "delivery": task "release" has no executor`),
		errAt(57, `stage "production", sequence "rollback": task "rollback" has no executor`),
		errAt(65, `stage "production", sequence "remediation": task "get-action" has no executor`),
		errAt(66, `stage "production", sequence "remediation": task "action" has no executor`),
	)
}

func TestLoadProjectReportsExecutorsFile(t *testing.T) {
	dir := writeTree(t, "shop", map[string]string{
		ShipyardFile:      twoStages,
		ExecutorsFileName: "tasks:\n  deployment: {timeout: 0s}\n",
	})
	p, diags := LoadProject(dir)
	checkDiags(t, diags,
		errAt(2, `task "deployment": type is missing`),
		errAt(2, `task "deployment": timeout must be positive`),
	)
	for _, d := range diags {
		if d.File != filepath.Join(dir, ExecutorsFileName) {
			t.Errorf("diagnostic for %s, want executors.yaml", d.File)
		}
	}
	if p.Executors == nil || p.Executors.Tasks["deployment"] == nil {
		t.Fatalf("executors not kept: %+v", p.Executors)
	}

	dir = writeTree(t, "shop", map[string]string{ShipyardFile: twoStages, ExecutorsFileName: "tasks:\n  a: [\n"})
	p, diags = LoadProject(dir)
	checkDiags(t, diags, errAt(2, "invalid YAML"))
	if p.Executors != nil {
		t.Errorf("executors.yaml that is not YAML loaded as %+v", p.Executors)
	}
}

func TestConfigLoadProjectsNeedsExecutors(t *testing.T) {
	root := writeTree(t, "etc", map[string]string{
		"projects/shop/shipyard.yaml":  executorsShipyard,
		"projects/shop/executors.yaml": "tasks:\n  deployment: {type: noop}\n  release: {type: noop}\n",
	})
	cfg, diags := Parse(filepath.Join(root, "shipgate.yaml"), []byte("projects_dir: projects\n"), env(nil))
	checkDiags(t, diags)
	projects, diags := cfg.LoadProjects()
	if len(projects) != 1 {
		t.Fatalf("projects = %v", projects)
	}
	checkDiags(t, diags,
		errAt(10, `stage "qa", sequence "delivery": task "test" has no executor`),
		errAt(24, `stage "production", sequence "evaluation": task "test" has no executor`),
	)
}

func FuzzExecutors(f *testing.F) {
	seed, err := os.ReadFile("../examples/fulltour/executors.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("tasks:\n  deployment: {type: noop, timeout: 15m, idempotent: true, with: {a: [1]}}\nstages:\n  production:\n    tasks:\n      test: {type: noop, timeout: 1h}\n"))
	f.Add([]byte("tasks: {\"\": {timeout: 0}, approval: ~}\nstages: {qa: ~}\n"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, diags := ParseExecutors("executors.yaml", data)
		for _, d := range diags {
			if d.File != "executors.yaml" || d.Line < 0 || d.Message == "" {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
		if ex == nil {
			if !diags.HasErrors() {
				t.Fatal("no executors file and no error")
			}
			return
		}
		check := func(tasks map[string]*ExecutorSpec) {
			for name, spec := range tasks {
				if spec == nil {
					t.Fatalf("task %q kept without a spec", name)
				}
				if diags.HasErrors() {
					continue
				}
				if !validEventPart(name) || spec.Type == "" {
					t.Fatalf("accepted task %q with type %q", name, spec.Type)
				}
				if _, set := spec.Lines["timeout"]; set && spec.Timeout <= 0 || spec.Timeout < 0 {
					t.Fatalf("accepted task %q with timeout %v", name, spec.Timeout)
				}
			}
		}
		check(ex.Tasks)
		for name, se := range ex.Stages {
			if se == nil {
				t.Fatalf("stage %q kept without an entry", name)
			}
			check(se.Tasks)
		}
	})
}
