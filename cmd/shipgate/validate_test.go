package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
)

const example = "../../examples/fulltour"

func TestValidateExampleProject(t *testing.T) {
	code, out, errOut := runCLI(t, "validate", "--project", example)
	if code != exitOK || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and no diagnostics", code, out, errOut)
	}
	if !strings.Contains(errOut, "valid: 1 project checked, 0 warnings") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestValidateExampleConfig(t *testing.T) {
	code, out, errOut := runCLI(t, "validate", "--config", "../../examples/shipgate.yaml", "--print")
	if code != exitOK {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "valid: 1 project checked") {
		t.Errorf("stderr = %q; want the fulltour project checked", errOut)
	}
	if !strings.Contains(out, "listen: 127.0.0.1:8080\n") || !strings.Contains(out, "shutdown_timeout: 10s\n") {
		t.Errorf("--print output lacks the defaults:\n%s", out)
	}
}

// breakLine replaces old with new in one file of the project, and returns the 1-based line it was on.
func breakLine(t *testing.T, dir, file, old, new string) int {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	content := string(data)
	i := strings.Index(content, old)
	if i < 0 || strings.Count(content, old) != 1 {
		t.Fatalf("%s: %q must occur exactly once", file, old)
	}
	if err := os.WriteFile(path, []byte(content[:i]+new+content[i+len(old):]), 0o644); err != nil {
		t.Fatal(err)
	}
	return strings.Count(content[:i], "\n") + 1
}

// TestValidateReportsEveryMistake breaks a copy of the tutorial project in five different ways, across
// three files, and expects all five reported with the right file and line, and exit status 1.
func TestValidateReportsEveryMistake(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fulltour")
	configtest.CopyDir(t, example, dir)
	shipyard := filepath.Join(dir, "shipyard.yaml")
	slo := filepath.Join(dir, "helloservice", "slo.yaml")
	remediation := filepath.Join(dir, "production", "helloservice", "remediation.yaml")
	want := []string{
		fmt.Sprintf("%s:%d: stage \"production\", sequence \"delivery\": triggeredOn event \"qa.delivry.finished\" names sequence \"delivry\", which stage \"qa\" does not have",
			shipyard, breakLine(t, dir, "shipyard.yaml", "            - event: \"qa.delivery.finished\"\n          tasks:\n            - name: \"approval\"", "            - event: \"qa.delivry.finished\"\n          tasks:\n            - name: \"approval\"")),
		fmt.Sprintf("%s:%d: stage \"production\", sequence \"rollback\": selector result: \"failed\" never matches",
			shipyard, breakLine(t, dir, "shipyard.yaml", "production.delivery.finished\"\n              selector:\n                match:\n                  result: \"fail\"", "production.delivery.finished\"\n              selector:\n                match:\n                  result: \"failed\"")+3),
		fmt.Sprintf("%s:%d: stage \"production\", sequence \"remediation\": task \"evaluation\": triggeredAfter \"2 minutes\" is not a duration",
			shipyard, breakLine(t, dir, "shipyard.yaml", `triggeredAfter: "2m"`, `triggeredAfter: "2 minutes"`)),
		fmt.Sprintf("%s:%d: objective \"Throughput\": pass criterion \">=-80 percent\": could not parse criteria target value",
			slo, breakLine(t, dir, "helloservice/slo.yaml", `">=-80%"`, `">=-80 percent"`)),
		fmt.Sprintf("%s:%d: kind is \"Remediations\"; a remediation file has kind: Remediation",
			remediation, breakLine(t, dir, "production/helloservice/remediation.yaml", "kind: Remediation", "kind: Remediations")),
	}

	code, out, errOut := runCLI(t, "validate", "--project", dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1; stdout:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Errorf("got %d diagnostics, want %d:\n%s", len(lines), len(want), out)
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("missing diagnostic starting with:\n  %s\ngot:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, "5 errors, 0 warnings") {
		t.Errorf("stderr = %q", errOut)
	}
}

// validate --print shows each binding's effective thread_detail, results when the file leaves it out,
// and a value that is not a level is one FILE:LINE error.
func TestValidateThreadDetail(t *testing.T) {
	dir := t.TempDir()
	configtest.CopyDir(t, example, filepath.Join(dir, "projects", "fulltour"))
	path := filepath.Join(dir, "shipgate.yaml")
	doc := `listen: 127.0.0.1:0
projects_dir: projects
slack: {bot_token: xoxb-test, signing_secret: s3cr3t}
channels:
  - platform: slack
    channel: C1
    projects: [fulltour]
  - platform: slack
    channel: C2
    projects: [fulltour]
    thread_detail: stages
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "validate", "--config", path, "--print")
	if code != exitOK {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Count(out, "thread_detail: results\n") != 1 || strings.Count(out, "thread_detail: stages\n") != 1 {
		t.Errorf("--print does not show thread_detail results for C1 and stages for C2:\n%s", out)
	}

	if err := os.WriteFile(path, []byte(strings.Replace(doc, "thread_detail: stages", "thread_detail: Stages", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "validate", "--config", path)
	want := path + `:11: channels[1].thread_detail must be one of tasks, results, stages, not "Stages"` + "\n"
	if code != exitFailed || out != want {
		t.Errorf("exit %d, output %q; want exit 1 and %q", code, out, want)
	}
}

func TestValidateBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.yaml")
	if err := os.WriteFile(path, []byte("listen: :8080\nlog:\n  levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "validate", "--config", path)
	want := path + `:3: unknown key "levle" in log; expected one of: level, format` + "\n"
	if code != exitFailed || out != want {
		t.Fatalf("exit %d, output %q; want exit 1 and %q", code, out, want)
	}
}

// bareProject is Keptn's tutorial project as Keptn had it: no executors.yaml.
const bareProject = "../../config/testdata/keptn-tutorial/fulltour"

// noExecutorDiags is what shipgate says about a copy of bareProject whose shipyard is at shipyard: one
// line per occurrence of a task that is neither built in nor mapped, as a warning or as an error.
func noExecutorDiags(shipyard string, sev config.Severity) string {
	tasks := []struct {
		line             int
		stage, seq, name string
	}{
		{11, "qa", "delivery", "deployment"},
		{14, "qa", "delivery", "test"},
		{20, "qa", "delivery", "release"},
		{28, "qa", "rollback", "rollback"},
		{40, "production", "delivery", "deployment"},
		{43, "production", "delivery", "test"},
		{49, "production", "delivery", "release"},
		{57, "production", "rollback", "rollback"},
		{65, "production", "remediation", "get-action"},
		{66, "production", "remediation", "action"},
	}
	var b strings.Builder
	for _, tk := range tasks {
		d := config.Diagnostic{File: shipyard, Line: tk.line, Severity: sev,
			Message: fmt.Sprintf("stage %q, sequence %q: task %q has no executor; map it in executors.yaml, for example tasks: {%s: {type: noop}}", tk.stage, tk.seq, tk.name, tk.name)}
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

func TestValidateBareKeptnProjectWarns(t *testing.T) {
	code, out, errOut := runCLI(t, "validate", "--project", bareProject)
	if code != exitOK {
		t.Fatalf("exit %d, stdout:\n%s\nstderr %q; want 0: a Keptn project without executors.yaml is valid", code, out, errOut)
	}
	if want := noExecutorDiags(filepath.Join(bareProject, "shipyard.yaml"), config.SeverityWarning); out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "valid: 1 project checked, 10 warnings") {
		t.Errorf("stderr = %q", errOut)
	}
}

// bareProjectsConfig writes a shipgate.yaml whose projects_dir holds a copy of bareProject, and returns
// the config's path and the copied shipyard's path.
func bareProjectsConfig(t *testing.T) (cfgPath, shipyard string) {
	t.Helper()
	dir := t.TempDir()
	configtest.CopyDir(t, bareProject, filepath.Join(dir, "projects", "fulltour"))
	cfgPath = filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\nprojects_dir: projects\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, filepath.Join(dir, "projects", "fulltour", "shipyard.yaml")
}

func TestValidateConfigNeedsExecutors(t *testing.T) {
	cfgPath, shipyard := bareProjectsConfig(t)
	code, out, errOut := runCLI(t, "validate", "--config", cfgPath)
	if code != exitFailed {
		t.Fatalf("exit %d, stdout:\n%s; want 1: serve could not run these tasks", code, out)
	}
	if want := noExecutorDiags(shipyard, config.SeverityError); out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "10 errors, 0 warnings") {
		t.Errorf("stderr = %q", errOut)
	}
}

// Executor settings are checked by the executors themselves, and each mistake is reported at its line.
func TestValidateExecutorSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fulltour")
	configtest.CopyDir(t, example, dir)
	executors := `tasks:
  deployment:
    type: helm
    with: {colour: blue}
  test:
    type: exec
  release: {type: noop}
  rollback: {type: helm}
  get-action: {type: noop}
  action: {type: noop}
stages:
  production:
    tasks:
      test:
        type: webhook
        with:
          method: POST
`
	if err := os.WriteFile(filepath.Join(dir, "executors.yaml"), []byte(executors), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "validate", "--project", dir)
	file := filepath.Join(dir, "executors.yaml")
	for _, want := range []string{
		file + `:4: task "deployment" (type helm): unknown setting colour`,
		file + `:6: task "test" (type exec): command or shell is required`,
		file + `:16: stage "production": task "test" (type webhook): url: required`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
}

// A projects_dir that gives no project fails validation with what it holds instead; here the Keptn
// project itself, whose parent folder was meant.
func TestValidateConfigWithoutProjects(t *testing.T) {
	dir := t.TempDir()
	configtest.CopyDir(t, example, filepath.Join(dir, "fulltour"))
	path := filepath.Join(dir, "shipgate.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\nprojects_dir: fulltour\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "validate", "--config", path)
	want := path + ":2: projects_dir " + filepath.Join(dir, "fulltour") + " holds a shipyard.yaml: it is a Keptn project itself, and projects_dir should be its parent folder, " + dir + "\n"
	if code != exitFailed || out != want || errOut != "1 error, 0 warnings\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
	}
}

// --project takes several directories at once, as the README writes it, and may be repeated.
func TestValidateSeveralProjects(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "fulltour")
	configtest.CopyDir(t, example, broken)
	line := breakLine(t, broken, "shipyard.yaml", `triggeredAfter: "2m"`, `triggeredAfter: "2 minutes"`)
	for _, args := range [][]string{
		{"validate", "--project", example, broken},
		{"validate", "--project", example, "--project", broken},
		{"validate", "-p", broken, example},
	} {
		code, out, errOut := runCLI(t, args...)
		want := fmt.Sprintf("%s:%d: stage \"production\", sequence \"remediation\": task \"evaluation\": triggeredAfter \"2 minutes\" is not a duration", filepath.Join(broken, "shipyard.yaml"), line)
		if code != exitFailed || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 || errOut != "1 error, 0 warnings\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 with the broken copy's one error", args, code, out, errOut)
		}
	}
	code, _, errOut := runCLI(t, "validate", "--project", example, example)
	if code != exitOK || errOut != "valid: 2 projects checked, 0 warnings\n" {
		t.Errorf("two valid projects: exit %d, stderr %q", code, errOut)
	}
	// Without --project, an argument is a mistake, not a project.
	code, _, errOut = runCLI(t, "validate", "--config", "../../examples/shipgate.yaml", example)
	if code != exitUsage || !strings.Contains(errOut, `unexpected argument "`+example+`"; project directories follow --project`) {
		t.Errorf("stray argument: exit %d, stderr %q", code, errOut)
	}
}

// validate --config checks an approval's timeout ladder against the channel bindings: a role it escalates
// to that no binding of the project gives anyone is an error at the escalate_to line; bound, it is valid.
func TestValidateEscalationRoles(t *testing.T) {
	dir := t.TempDir()
	project := filepath.Join(dir, "projects", "fulltour")
	configtest.CopyDir(t, example, project)
	line := breakLine(t, project, "shipyard.yaml", `                pass: "manual"
                warning: "manual"
            - name: "deployment"`, `                pass: "manual"
                warning: "manual"
                approvers: [approver]
                remind_every: 4h
                escalate_after: 24h
                escalate_to: [engineering-leads, sre]
                timeout: 72h
            - name: "deployment"`) + 5
	path := filepath.Join(dir, "shipgate.yaml")
	doc := `listen: 127.0.0.1:0
projects_dir: projects
slack: {bot_token: xoxb-test, signing_secret: s3cr3t}
channels:
  - platform: slack
    channel: C1
    projects: [fulltour]
    roles: {approver: [U1], sre: [U2]}
  - platform: slack
    channel: C2
    projects: [fulltour]
    roles: {engineering-leads: []}
`
	tests := []struct {
		name, doc, want string
		code            int
	}{
		{"a role nobody holds", doc, fmt.Sprintf(
			"%s:12: warning: channels[1]: role \"engineering-leads\" has no members, so nobody can act with it\n"+
				"%s:%d: stage \"production\", sequence \"delivery\": approval escalate_to engineering-leads: no channel binding of project fulltour gives this role to anyone; add it under roles in %s\n",
			path, filepath.Join(project, "shipyard.yaml"), line, path), exitFailed},
		{"every role bound", strings.Replace(doc, "engineering-leads: []", "engineering-leads: [U3]", 1), "", exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "validate", "--config", path)
			if out != tt.want || code != tt.code {
				t.Errorf("exit %d, output %q; want exit %d and %q (stderr %q)", code, out, tt.code, tt.want, errOut)
			}
		})
	}
}

// The Keptn tutorial's project, with its job-executor configuration as the service's job/config.yaml,
// validates unchanged: the tasks its actions run need no executors.yaml entry, leaving get-action (which
// job-executor-service never ran) as the only warning about executors.
func TestValidateKeptnTutorialJobConfig(t *testing.T) {
	dir := configtest.KeptnTutorialProject(t)
	code, out, errOut := runCLI(t, "validate", "--project", dir)
	if code != exitOK {
		t.Fatalf("exit %d, stdout:\n%s\nstderr %q", code, out, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, "has no executor") && !strings.Contains(line, `task "get-action"`) {
			t.Errorf("a task run by job/config.yaml is reported: %s", line)
		}
		if strings.Contains(line, filepath.Join("job", "config.yaml")) {
			t.Errorf("the tutorial's job configuration draws a diagnostic: %s", line)
		}
	}
	if !strings.Contains(out, `task "get-action" has no executor`) {
		t.Errorf("stdout lacks the get-action warning:\n%s", out)
	}

	// The same project with a file its job configuration mounts taken away: an error at the entry's line.
	if err := os.Remove(filepath.Join(dir, "helloservice", "locust", "basic.py")); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "validate", "--project", dir)
	want := filepath.Join(dir, "helloservice", "job", "config.yaml") + `:53: action "Run tests using locust", task "Run locust": file "locust/basic.py" does not exist`
	if code != exitFailed || !strings.Contains(out, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant exit %d and %s", code, out, exitFailed, want)
	}
}
