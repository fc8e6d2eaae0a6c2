package config

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseJobConfig(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		wants []want
	}{
		{
			name: "valid",
			yaml: `apiVersion: v2
actions:
  - name: deploy
    events:
      - name: sh.keptn.event.deployment.triggered
    tasks:
      - name: helm
        image: alpine/helm:3.7.2
        maxPollDuration: 600
        ttlSecondsAfterFinished: 600
        imagePullPolicy: IfNotPresent
        resources:
          limits: {cpu: 1, memory: 512Mi}
          requests: {cpu: 50m}
        securityContext:
          runAsUser: 7000
          readOnlyRootFilesystem: false
        env:
          - {name: IMAGE, value: "$.data.configurationChange.values.image", valueFrom: event, as: json}
          - {name: locust-secret, valueFrom: secret}
          - {name: DATA_DIR, value: /tmp/data, valueFrom: string}
`,
		},
		{
			name: "unknown keys are warnings",
			yaml: `apiVersion: v2
actions:
  - name: deploy
    evnts: []
    events:
      - name: sh.keptn.event.deployment.triggered
    tasks:
      - name: helm
        image: alpine
        comand: [helm]
`,
			wants: []want{warnAt(4, `unknown key "evnts"`), warnAt(10, `unknown key "comand"`)},
		},
		{
			name:  "missing apiVersion",
			yaml:  "actions:\n  - name: a\n    events: [{name: x}]\n    tasks: [{name: t, image: i}]\n",
			wants: []want{errAt(1, "apiVersion is missing; expected apiVersion: v2")},
		},
		{
			name:  "bad apiVersion",
			yaml:  "apiVersion: v1\nactions:\n  - name: a\n    events: [{name: x}]\n    tasks: [{name: t, image: i}]\n",
			wants: []want{errAt(1, `apiVersion "v1" is not supported; expected v2`)},
		},
		{
			name: "missing names and image",
			yaml: `apiVersion: v2
actions:
  - events: [{name: x}]
    tasks:
      - image: alpine
      - name: second
`,
			wants: []want{
				errAt(3, "actions[0]: name is missing"),
				errAt(5, "tasks[0]: name is missing"),
				errAt(6, `task "second": image is missing`),
			},
		},
		{
			name: "bad numbers and values",
			yaml: `apiVersion: v2
actions:
  - name: a
    events:
      - name: "sh.keptn.event.(test.triggered"
      - name: sh.keptn.event.action.triggered
        jsonpath: {match: scaling}
    tasks:
      - name: t
        image: i
        maxPollDuration: 5m
        ttlSecondsAfterFinished: 10
        imagePullPolicy: Sometimes
        resources:
          limits:
            cpu: lots
      - name: u
        image: i
        maxPollDuration: -1
`,
			wants: []want{
				errAt(5, "not a valid regular expression"),
				errAt(7, "jsonpath property is missing"),
				errAt(11, "maxPollDuration: expected a whole number"),
				warnAt(12, "ttlSecondsAfterFinished 10 is below 60 and is raised to 60"),
				errAt(13, `imagePullPolicy "Sometimes" is not one of Always, IfNotPresent, Never`),
				errAt(16, `resources.limits.cpu "lots" is not a Kubernetes quantity`),
				errAt(19, "maxPollDuration must be a positive number of seconds, got -1"),
			},
		},
		{
			name: "env problems",
			yaml: `apiVersion: v2
actions:
  - name: a
    events: [{name: x}]
    tasks:
      - name: t
        image: i
        env:
          - {name: A, value: "data.project", valueFrom: event}
          - {name: B, value: "$.data[", valueFrom: event}
          - {name: C, value: x, valueFrom: file}
          - {name: D, value: x}
          - {name: Not_A_Secret, valueFrom: secret}
          - {value: x, valueFrom: string}
          - {name: E, value: "$.data", valueFrom: event, as: toml}
`,
			wants: []want{
				errAt(9, `env "A": value "data.project" is not a valid JSONPath`),
				errAt(10, `env "B": value "$.data[" is not a valid JSONPath`),
				errAt(11, `valueFrom "file" is not one of event, secret, string`),
				errAt(12, `env "D": valueFrom is missing`),
				errAt(13, "is not a valid one"),
				errAt(14, "env name is missing"),
				warnAt(15, `as "toml" is not json, yaml or string`),
			},
		},
		{
			name: "securityContext",
			yaml: `apiVersion: v2
actions:
  - name: a
    events: [{name: x}]
    tasks:
      - name: t
        image: i
        securityContext: {runAsUsr: 7}
      - name: u
        image: i
        securityContext: {runAsUser: seven}
`,
			wants: []want{
				warnAt(8, `unknown field "runAsUsr"`),
				errAt(11, "invalid securityContext"),
			},
		},
		{
			name:  "nothing to run",
			yaml:  "apiVersion: v2\nactions:\n  - name: a\n    tasks: []\n",
			wants: []want{warnAt(3, `action "a": no events, so it never runs`), warnAt(4, `action "a": no tasks`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := ParseJobConfig("job/config.yaml", []byte(tt.yaml))
			if c == nil {
				t.Fatalf("no config; diagnostics: %v", diags)
			}
			for _, d := range diags {
				if d.File != "job/config.yaml" {
					t.Errorf("diagnostic names file %q", d.File)
				}
			}
			checkDiags(t, diags, tt.wants...)
		})
	}
}

func TestParseJobConfigFields(t *testing.T) {
	c, diags := ParseJobConfig("c.yaml", []byte(`apiVersion: v2
actions:
  - name: deploy
    silent: true
    events:
      - name: sh.keptn.event.deployment.triggered
    tasks:
      - name: helm
        image: alpine/helm:3.7.2
        cmd: [helm]
        args: [upgrade, "$(KEPTN_SERVICE)"]
        workingDir: /keptn
        serviceAccount: deployer
        namespace: carts
        maxPollDuration: 1200
        ttlSecondsAfterFinished: 30
        annotations: {team: shop}
        resources:
          limits: {cpu: 1, memory: 512Mi}
        securityContext: {runAsUser: 7000, readOnlyRootFilesystem: false}
      - name: plain
        image: alpine
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	task := c.Actions[0].Tasks[0]
	if task.Image != "alpine/helm:3.7.2" || !slices.Equal(task.Cmd, []string{"helm"}) || !slices.Equal(task.Args, []string{"upgrade", "$(KEPTN_SERVICE)"}) ||
		task.WorkingDir != "/keptn" || *task.ServiceAccount != "deployer" || task.Namespace != "carts" || task.Annotations["team"] != "shop" {
		t.Errorf("task decoded as %+v", task)
	}
	if task.MaxPoll() != 20*time.Minute || task.TTL() != MinJobTTLSecondsAfterFinished {
		t.Errorf("MaxPoll, TTL = %v, %d", task.MaxPoll(), task.TTL())
	}
	if sc := task.SecurityContext; sc == nil || *sc.RunAsUser != 7000 || *sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext = %+v", sc)
	}
	req, ok := task.Requirements()
	if !ok || req.Limits.Cpu().String() != "1" || req.Limits.Memory().String() != "512Mi" || req.Requests != nil {
		t.Errorf("Requirements = %+v, %v", req, ok)
	}
	plain := c.Actions[0].Tasks[1]
	if plain.MaxPoll() != DefaultJobMaxPollDuration || plain.TTL() != DefaultJobTTLSecondsAfterFinished || plain.ServiceAccount != nil {
		t.Errorf("defaults: MaxPoll %v, TTL %d, serviceAccount %v", plain.MaxPoll(), plain.TTL(), plain.ServiceAccount)
	}
	if _, ok := plain.Requirements(); ok {
		t.Error("a task without resources has requirements")
	}
}

func TestParseJobConfigEmpty(t *testing.T) {
	c, diags := ParseJobConfig("c.yaml", []byte("\n"))
	if c != nil {
		t.Errorf("empty file gave a config")
	}
	checkDiags(t, diags, errAt(0, "file is empty"))
}

// matchConfig has the tutorial's shape: plain event names, a jsonpath match and a wildcard last.
const matchConfig = `apiVersion: v2
actions:
  - name: deploy
    events: [{name: sh.keptn.event.deployment.triggered}]
    tasks: [{name: t, image: i}]
  - name: scale
    events:
      - name: sh.keptn.event.action.triggered
        jsonpath: {property: "$.data.action.action", match: scaling}
    tasks: [{name: t, image: i}]
  - name: count
    events:
      - name: sh.keptn.event.action.triggered
        jsonpath: {property: "$.data.action.value", match: "1"}
    tasks: [{name: t, image: i}]
  - name: any-test
    events: [{name: "sh.keptn.event.*test.triggered"}]
    tasks: [{name: t, image: i}]
`

func TestJobConfigMatch(t *testing.T) {
	c, diags := ParseJobConfig("c.yaml", []byte(matchConfig))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	event := func(data string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(`{"type": "x", "data": `+data+`}`), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		task   string
		data   string
		action string // "" for no match
	}{
		{"deployment", `{}`, "deploy"},
		{"action", `{"action": {"action": "scaling", "value": 1}}`, "scale"},
		{"action", `{"action": {"action": "toggle-feature"}}`, ""},
		// A number is not the string "1": job-executor-service compared values as they were.
		{"action", `{"action": {"action": "other", "value": 1}}`, ""},
		{"action", `{"action": {"action": "other", "value": "1"}}`, "count"},
		{"action", `{}`, ""},
		{"test", `{}`, "any-test"},
		{"load-test", `{}`, "any-test"},
		{"release", `{}`, ""},
	}
	for _, tt := range tests {
		a, ok := c.Match(tt.task, event(tt.data))
		got := ""
		if ok {
			got = a.Name
		}
		if got != tt.action {
			t.Errorf("Match(%s, %s) = %q, want %q", tt.task, tt.data, got, tt.action)
		}
	}
	for task, want := range map[string]bool{"deployment": true, "action": true, "test": true, "release": false, "rollback": false} {
		if got := c.HasAction(task); got != want {
			t.Errorf("HasAction(%s) = %v, want %v", task, got, want)
		}
	}
	var none *JobConfig
	if _, ok := none.Match("deployment", nil); ok || none.HasAction("deployment") {
		t.Error("a nil config matched")
	}
}

func TestResolveEnv(t *testing.T) {
	var event map[string]any
	if err := json.Unmarshal([]byte(`{"type": "sh.keptn.event.deployment.triggered", "data": {
		"project": "fulltour",
		"configurationChange": {"values": {"image": "ghcr.io/podtato-head/podtatoserver:v0.1.1"}},
		"action": {"value": 2},
		"deployment": {"deploymentURIsLocal": ["http://a", "http://b"]},
		"labels": {"build-id": "17"}}}`), &event); err != nil {
		t.Fatal(err)
	}
	env := []*JobEnv{
		{Name: "IMAGE", Value: "$.data.configurationChange.values.image", ValueFrom: JobEnvFromEvent},
		{Name: "SCALING", Value: "$.data.action.value", ValueFrom: JobEnvFromEvent},
		{Name: "HOST", Value: "$.data.deployment.deploymentURIsLocal[0]", ValueFrom: JobEnvFromEvent},
		{Name: "VALUES", Value: "$.data.configurationChange.values", ValueFrom: JobEnvFromEvent},
		{Name: "LABELS", Value: "$.data.labels", ValueFrom: JobEnvFromEvent, As: "yaml"},
		{Name: "PROJECT", Value: "$.data.project", ValueFrom: JobEnvFromEvent, As: "JSON"},
		{Name: "DATA_DIR", Value: "/tmp/data", ValueFrom: JobEnvFromString},
		{Name: "locust-secret", ValueFrom: JobEnvFromSecret},
		{Name: "EVENT", Value: "$", ValueFrom: JobEnvFromEvent, As: "json"},
	}
	got, err := ResolveEnv(env, event)
	if err != nil {
		t.Fatal(err)
	}
	want := []JobEnvVar{
		{Name: "IMAGE", Value: "ghcr.io/podtato-head/podtatoserver:v0.1.1"},
		{Name: "SCALING", Value: "2"},
		{Name: "HOST", Value: "http://a"},
		{Name: "VALUES", Value: `{"image":"ghcr.io/podtato-head/podtatoserver:v0.1.1"}`},
		{Name: "LABELS", Value: "build-id: \"17\"\n"},
		{Name: "PROJECT", Value: `"fulltour"`},
		{Name: "DATA_DIR", Value: "/tmp/data"},
		{Name: "locust-secret", SecretName: "locust-secret"},
	}
	// The whole event, as JSON: job-executor-service's documented way to hand a task everything.
	if n := len(got); n != len(want)+1 || got[n-1].Name != "EVENT" || !strings.HasPrefix(got[n-1].Value, `{"data":{"action":{"value":2}`) {
		t.Errorf("EVENT = %+v", got[len(got)-1])
	} else {
		got = got[:n-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("ResolveEnv =\n%+v\nwant\n%+v", got, want)
	}

	for _, bad := range []*JobEnv{
		{Name: "MISSING", Value: "$.data.nothing.here", ValueFrom: JobEnvFromEvent},
		{Name: "BAD", Value: "data", ValueFrom: JobEnvFromEvent},
		{Name: "FROM", Value: "x", ValueFrom: "file"},
	} {
		if _, err := ResolveEnv([]*JobEnv{bad}, event); err == nil || !strings.Contains(err.Error(), "env "+bad.Name) {
			t.Errorf("ResolveEnv(%s) error = %v, want one naming the variable", bad.Name, err)
		}
	}
}

func TestKeptnJobEnvAndExpandVars(t *testing.T) {
	got := KeptnJobEnv("fulltour", "qa", "helloservice", map[string]string{"build-id": "17", "owner name": "jo"})
	want := []JobEnvVar{
		{Name: "KEPTN_PROJECT", Value: "fulltour"},
		{Name: "KEPTN_STAGE", Value: "qa"},
		{Name: "KEPTN_SERVICE", Value: "helloservice"},
		{Name: "LABELS_BUILD_ID", Value: "17"},
		{Name: "LABELS_OWNER_NAME", Value: "jo"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("KeptnJobEnv = %+v", got)
	}
	vars := map[string]string{"KEPTN_PROJECT": "fulltour", "KEPTN_STAGE": "qa", "KEPTN_SERVICE": "helloservice", "IMAGE": "img:1"}
	for in, want := range map[string]string{
		"$(KEPTN_PROJECT)-$(KEPTN_STAGE)":    "fulltour-qa",
		"/keptn/charts/$(KEPTN_SERVICE).tgz": "/keptn/charts/helloservice.tgz",
		"image=$(IMAGE)":                     "image=img:1",
		"$(UNDEFINED) stays":                 "$(UNDEFINED) stays",
		"$$(IMAGE) is escaped":               "$(IMAGE) is escaped",
		"${KEPTN_PROJECT} is the shell's":    "${KEPTN_PROJECT} is the shell's",
		"$((${SCALING}+${REPLICAS}))":        "$((${SCALING}+${REPLICAS}))",
		"cost $5, unclosed $(KEPTN_PROJECT":  "cost $5, unclosed $(KEPTN_PROJECT",
		"trailing $":                         "trailing $",
	} {
		if got := ExpandVars(in, vars); got != want {
			t.Errorf("ExpandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

const twoStageShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: test}]
    - name: production
      sequences:
        - name: delivery
          tasks: [{name: deployment}]
`

func jobConfigFor(events ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v2\nactions:\n")
	for _, ev := range events {
		b.WriteString("  - name: run " + ev + "\n    events: [{name: sh.keptn.event." + ev + ".triggered}]\n    tasks: [{name: t, image: alpine}]\n")
	}
	return b.String()
}

func TestProjectJobConfigLayering(t *testing.T) {
	dir := writeTree(t, "shop", map[string]string{
		"shipyard.yaml":                    twoStageShipyard,
		"carts/job/config.yaml":            jobConfigFor("deployment", "test"),
		"production/carts/job/config.yaml": jobConfigFor("release"),
		"orders/helm/values.yaml":          "replicas: 1\n",
	})
	p, diags := LoadProject(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		stage, service, task string
		want                 bool
	}{
		{"qa", "carts", "deployment", true},
		{"qa", "carts", "test", true},
		{"qa", "carts", "release", false},
		// The stage's file replaces the service's whole, as Keptn resources did: no merging of actions.
		{"production", "carts", "deployment", false},
		{"production", "carts", "release", true},
		{"qa", "orders", "deployment", false},
	}
	for _, tt := range tests {
		if got := p.HasJobAction(tt.stage, tt.service, tt.task); got != tt.want {
			t.Errorf("HasJobAction(%s, %s, %s) = %v, want %v", tt.stage, tt.service, tt.task, got, tt.want)
		}
	}
	// A configuration with errors runs nothing.
	addFile(t, dir, "production/orders/job/config.yaml", "apiVersion: v1\n"+strings.TrimPrefix(jobConfigFor("deployment"), "apiVersion: v2\n"))
	if p.HasJobAction("production", "orders", "deployment") {
		t.Error("HasJobAction is true for a configuration with errors")
	}
	c, cd := p.JobConfig("production", "carts")
	if c == nil || len(cd) > 0 || c.File != filepath.Join(dir, "production", "carts", "job", "config.yaml") {
		t.Errorf("JobConfig(production, carts) = %v, %v", c, cd)
	}
	if c, cd := p.JobConfig("qa", "orders"); c != nil || cd != nil {
		t.Errorf("JobConfig of a service without one = %v, %v", c, cd)
	}
}

func TestCheckExecutorsJobActions(t *testing.T) {
	dir := writeTree(t, "shop", map[string]string{
		"shipyard.yaml":         twoStageShipyard,
		"carts/job/config.yaml": jobConfigFor("deployment", "test"),
		// orders runs only deployment as a Job; test needs an executor for it, so test is not covered.
		"orders/job/config.yaml": jobConfigFor("deployment"),
	})
	p, diags := LoadProject(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	checkDiags(t, p.CheckExecutors(SeverityError), errAt(8, `task "test" has no executor`))
}

func TestJobFiles(t *testing.T) {
	dir := writeTree(t, "shop", map[string]string{
		"shipyard.yaml":                      twoStageShipyard,
		"carts/locust/basic.py":              "basic",
		"carts/locust/locust.conf":           "conf",
		"carts/charts/carts.tgz":             "chart",
		"carts/charts/sub/values.yaml":       "values",
		"production/carts/charts/carts.tgz":  "production chart",
		"production/carts/charts/extra.yaml": "extra",
		"production/carts/locust/basic.py":   "production basic",
	})
	p, diags := LoadProject(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		name    string
		stage   string
		files   []string
		want    map[string]string
		wantErr string
	}{
		{
			name:  "files with and without a leading slash",
			stage: "qa",
			files: []string{"locust/basic.py", "/locust/locust.conf"},
			want:  map[string]string{"/keptn/locust/basic.py": "basic", "/keptn/locust/locust.conf": "conf"},
		},
		{
			name:  "a folder brings everything under it",
			stage: "qa",
			files: []string{"/charts"},
			want:  map[string]string{"/keptn/charts/carts.tgz": "chart", "/keptn/charts/sub/values.yaml": "values"},
		},
		{
			name:  "the stage's files win and add to the service's",
			stage: "production",
			files: []string{"/charts", "locust/basic.py"},
			want: map[string]string{
				"/keptn/charts/carts.tgz":       "production chart",
				"/keptn/charts/sub/values.yaml": "values",
				"/keptn/charts/extra.yaml":      "extra",
				"/keptn/locust/basic.py":        "production basic",
			},
		},
		{name: "missing", stage: "qa", files: []string{"locust/import.py"}, wantErr: `file "locust/import.py" does not exist`},
		{name: "the whole service", stage: "qa", files: []string{"/"}, wantErr: "names the whole service"},
		{name: "no escape from the service", stage: "qa", files: []string{"../shipyard.yaml"}, wantErr: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.JobFiles(tt.stage, "carts", tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if !maps.Equal(gotS, tt.want) {
				t.Errorf("JobFiles = %v, want %v", gotS, tt.want)
			}
		})
	}
}

func TestJobFilesSizeLimit(t *testing.T) {
	half := strings.Repeat("x", MaxJobFilesSize/2)
	dir := writeTree(t, "shop", map[string]string{
		"shipyard.yaml":    twoStageShipyard,
		"carts/data/a.bin": half,
		"carts/data/b.bin": half,
		"carts/data/c.bin": "1",
		"carts/job/config.yaml": `apiVersion: v2
actions:
  - name: load
    events: [{name: sh.keptn.event.test.triggered}]
    tasks:
      - name: big
        image: alpine
        files: [data/a.bin, data/b.bin]
      - name: too-big
        image: alpine
        files: [/data]
      - name: missing
        image: alpine
        files:
          - data/none.bin
`,
	})
	p, diags := LoadProject(dir)
	checkDiags(t, diags,
		errAt(11, `action "load", task "too-big": the task's files hold more than 1048576 bytes (1 MiB)`),
		errAt(15, `action "load", task "missing": file "data/none.bin" does not exist`),
	)
	for _, d := range diags {
		if !strings.HasSuffix(d.Message, "(stage qa, production)") {
			t.Errorf("diagnostic does not name both stages once: %s", d)
		}
	}
	if p == nil {
		t.Fatal("no project")
	}
	if files, err := p.JobFiles("qa", "carts", []string{"data/a.bin", "data/b.bin"}); err != nil || len(files) != 2 {
		t.Errorf("exactly 1 MiB: %d files, %v", len(files), err)
	}
}

func FuzzJobConfig(f *testing.F) {
	f.Add([]byte(matchConfig))
	f.Add([]byte(`apiVersion: v2
actions:
  - name: a
    events: [{name: "sh.keptn.event.*.triggered", jsonpath: {property: "$.data.x[0]", match: y}}]
    tasks:
      - name: t
        image: i
        files: [/charts, locust/basic.py]
        env: [{name: E, value: "$", valueFrom: event, as: yaml}, {name: s, valueFrom: secret}]
        resources: {limits: {cpu: 1, memory: 1Gi}, requests: {}}
        securityContext: {runAsUser: 1, capabilities: {drop: [ALL]}}
        maxPollDuration: 1
        ttlSecondsAfterFinished: 0
`))
	f.Add([]byte("apiVersion: v2\nactions: [~, {tasks: [~, {}]}]\n"))
	f.Add([]byte("a: &a [*a]"))
	event := map[string]any{"type": "sh.keptn.event.deployment.triggered", "data": map[string]any{"x": []any{"y"}, "action": map[string]any{"action": "scaling"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, diags := ParseJobConfig("job/config.yaml", data)
		for _, d := range diags {
			if d.File != "job/config.yaml" || d.Line < 0 || d.Message == "" {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
		if c == nil {
			if !diags.HasErrors() {
				t.Fatal("no configuration and no error")
			}
			return
		}
		// Matching never panics, whatever the file holds.
		for _, task := range []string{"deployment", "action", "test"} {
			c.Match(task, event)
			c.HasAction(task)
		}
		if diags.HasErrors() {
			return
		}
		if c.APIVersion != JobConfigAPIVersion {
			t.Fatalf("accepted apiVersion %q", c.APIVersion)
		}
		for _, a := range c.Actions {
			if a == nil || strings.TrimSpace(a.Name) == "" {
				t.Fatalf("accepted action %+v", a)
			}
			for _, task := range a.Tasks {
				if task == nil || strings.TrimSpace(task.Name) == "" || strings.TrimSpace(task.Image) == "" {
					t.Fatalf("accepted task %+v", task)
				}
				if task.MaxPoll() <= 0 || task.TTL() < MinJobTTLSecondsAfterFinished {
					t.Fatalf("task %q: MaxPoll %v, TTL %d", task.Name, task.MaxPoll(), task.TTL())
				}
				task.Requirements() // panics on a quantity that validation let through
				for _, e := range task.Env {
					if e.ValueFrom == JobEnvFromEvent {
						if _, err := parseJSONPath(e.Value); err != nil {
							t.Fatalf("accepted JSONPath %q: %v", e.Value, err)
						}
					}
				}
			}
		}
	})
}

// addFile writes one more file into a tree that writeTree made.
func addFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
