package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ExecutorsFile is a project's executors.yaml: which executor carries out each task the shipyard names.
// It is shipgate's own file, not a Keptn one, so unknown keys are errors.
//
//	tasks:                       # task name -> executor, in every stage
//	  deployment: {type: noop, timeout: 15m}
//	stages:                      # per-stage overrides
//	  production:
//	    tasks:
//	      test: {type: noop, timeout: 1h}
type ExecutorsFile struct {
	Pos  `yaml:"-"`
	File string `yaml:"-"`
	// Tasks maps a task name to its executor in every stage.
	Tasks map[string]*ExecutorSpec `yaml:"tasks"`
	// Stages overrides Tasks per stage: an entry replaces the task's whole mapping in that stage.
	Stages map[string]*StageExecutors `yaml:"stages"`
}

// StageExecutors maps task names to executors in one stage.
type StageExecutors struct {
	Pos   `yaml:"-"`
	Tasks map[string]*ExecutorSpec `yaml:"tasks"`
}

// ExecutorSpec says which executor runs a task and how.
type ExecutorSpec struct {
	Pos `yaml:"-"`
	// Type names the executor (noop, and the types later executors register); the engine checks it.
	Type string `yaml:"type"`
	// Timeout is the task's default timeout, 0 when unset; a timeout property on the task in the shipyard
	// wins over it.
	Timeout time.Duration `yaml:"timeout"`
	// Idempotent says the task may safely run again after a restart interrupted it.
	Idempotent bool `yaml:"idempotent"`
	// With holds free-form settings for the executor type, which validates them.
	With map[string]any `yaml:"with"`
}

// ExecutorsFileName is the name of the executor mapping, at the root of a project.
const ExecutorsFileName = "executors.yaml"

// BuiltinTasks are the tasks shipgate runs itself; they need no executor.
var BuiltinTasks = []string{"approval", "evaluation"}

// ReadExecutors reads and validates an executors.yaml. Stage names are checked against the shipyard by
// Project.CheckExecutors, since the file alone does not know them.
func ReadExecutors(path string) (*ExecutorsFile, Diagnostics) {
	return readFile(path, "executors file", ParseExecutors)
}

// ParseExecutors decodes and validates executors.yaml content; file names the source in diagnostics. An
// empty file maps no task. It returns nil only when the content is not YAML.
func ParseExecutors(file string, data []byte) (*ExecutorsFile, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	f := &ExecutorsFile{File: file}
	root := parseYAML(d, data)
	if root == nil {
		if diags.HasErrors() {
			return nil, diags
		}
		return f, diags
	}
	decodeYAML(d, root, f, SeverityError)
	f.validate(d, errorLines(diags))
	return f, diags
}

// errorLines lists the lines that already have an error, so that a value that failed to decode (and kept
// its zero value) draws no second complaint.
func errorLines(diags Diagnostics) map[int]bool {
	lines := map[int]bool{}
	for _, d := range diags.Errors() {
		lines[d.Line] = true
	}
	return lines
}

func (f *ExecutorsFile) validate(d diagnoser, decodeFailed map[int]bool) {
	f.Tasks = validateTaskMap(d, "", f.Tasks, f.Pos, decodeFailed)
	for _, stage := range slices.Sorted(maps.Keys(f.Stages)) {
		se := f.Stages[stage]
		line := f.LineOf("stages." + stage)
		if se == nil {
			// "production:" with nothing under it; keep an empty entry so that lookups need no nil check.
			se = &StageExecutors{Pos: Pos{Line: line}}
			f.Stages[stage] = se
		}
		se.Tasks = validateTaskMap(d, fmt.Sprintf("stage %q: ", stage), se.Tasks, se.Pos, decodeFailed)
	}
}

// validateTaskMap checks the task mappings of one tasks: block, whose parent is at pos, and returns it
// with entries written without a value ("test:") replaced by empty specs, which the checks report.
func validateTaskMap(d diagnoser, where string, tasks map[string]*ExecutorSpec, pos Pos, decodeFailed map[int]bool) map[string]*ExecutorSpec {
	for _, name := range slices.Sorted(maps.Keys(tasks)) {
		spec := tasks[name]
		line := pos.LineOf("tasks." + name)
		if spec == nil {
			spec = &ExecutorSpec{Pos: Pos{Line: line}}
			tasks[name] = spec
		}
		switch {
		case name == "":
			d.errorf(line, "%stask name is empty, so it never matches; expected the name of a shipyard task such as deployment", where)
		case !validEventPart(name):
			d.errorf(line, "%stask name %q never matches: shipyard task names contain only letters, digits, hyphens and underscores", where, name)
		case name == "approval":
			// Approvals are shipgate's own: chat buttons, channel roles and votes; no executor can take them over.
			d.errorf(line, "%stask \"approval\" is built into shipgate and cannot be mapped to an executor; configure it with properties in %s", where, ShipyardFile)
		}
		if tl, set := spec.Lines["type"]; strings.TrimSpace(spec.Type) == "" && !(set && decodeFailed[tl]) {
			d.errorf(line, "%stask %q: type is missing; expected the executor that runs the task, such as type: noop", where, name)
		}
		if tl, set := spec.Lines["timeout"]; set && spec.Timeout <= 0 && !decodeFailed[tl] {
			d.errorf(tl, "%stask %q: timeout must be positive; expected a duration such as 15m or 1h, or leave timeout out to use the default", where, name)
		}
	}
	return tasks
}

// ExecutorFor returns the executor of a task in a stage: the stage's override when executors.yaml has one,
// else the mapping for every stage. It returns false when the task has no executor there, which is always
// the case for a project without executors.yaml.
func (p *Project) ExecutorFor(stage, task string) (*ExecutorSpec, bool) {
	if p.Executors == nil {
		return nil, false
	}
	if se := p.Executors.Stages[stage]; se != nil {
		if spec := se.Tasks[task]; spec != nil {
			return spec, true
		}
	}
	spec := p.Executors.Tasks[task]
	return spec, spec != nil
}

// CheckExecutors reports, with severity sev, every task of every sequence in the shipyard that is not
// built in and has no executor in its stage, at the task's line. A task that every service's
// job/config.yaml has an action for needs no executor: it runs as a Kubernetes Job. Callers choose the
// severity: a bare Keptn project is valid with warnings, but a server cannot run it. Stages in executors.yaml that the
// shipyard lacks are always errors, and mappings for tasks the shipyard never runs are warnings.
func (p *Project) CheckExecutors(sev Severity) Diagnostics {
	if p.Shipyard == nil {
		return nil
	}
	var diags Diagnostics
	sd := diagnoser{file: p.Shipyard.File, diags: &diags}
	used := map[string]map[string]bool{} // stage -> task names its sequences run
	for _, st := range p.Shipyard.Spec.Stages {
		// Every stage has the built-in evaluation sequence, whose only task is evaluation.
		used[st.Name] = map[string]bool{"evaluation": true}
		for _, seq := range st.Sequences {
			for _, task := range seq.Tasks {
				used[st.Name][task.Name] = true
				// Built-in tasks need no executor. Names that are empty or invalid, which shipyard validation
				// has reported, cannot be mapped at all.
				if !validEventPart(task.Name) || slices.Contains(BuiltinTasks, task.Name) {
					continue
				}
				if _, ok := p.ExecutorFor(st.Name, task.Name); !ok && !p.RunsAsJob(st.Name, task.Name) {
					sd.report(sev, task.LineOf("name"), "stage %q, sequence %q: task %q has no executor; map it in %s, for example tasks: {%s: {type: noop}}",
						st.Name, seq.Name, task.Name, ExecutorsFileName, task.Name)
				}
			}
		}
	}
	if ex := p.Executors; ex != nil {
		ed := diagnoser{file: ex.File, diags: &diags}
		for _, name := range slices.Sorted(maps.Keys(ex.Tasks)) {
			if !validEventPart(name) {
				continue
			}
			if !slices.ContainsFunc(p.Shipyard.StageNames(), func(st string) bool { return used[st][name] }) {
				ed.warnf(ex.LineOf("tasks."+name), "task %q is not a task of any sequence in %s; this mapping is never used", name, ShipyardFile)
			}
		}
		for _, stage := range slices.Sorted(maps.Keys(ex.Stages)) {
			if _, ok := used[stage]; !ok {
				ed.errorf(ex.LineOf("stages."+stage), "stage %q is not in %s; expected one of its stages: %s", stage, ShipyardFile, strings.Join(p.Shipyard.StageNames(), ", "))
				continue
			}
			se := ex.Stages[stage]
			if se == nil {
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(se.Tasks)) {
				if validEventPart(name) && !used[stage][name] {
					ed.warnf(se.LineOf("tasks."+name), "stage %q: task %q is not a task of any sequence of stage %q in %s; this mapping is never used", stage, name, stage, ShipyardFile)
				}
			}
		}
	}
	diags.Sort()
	return diags
}

// RunsAsJob reports whether every service of the project has a job/config.yaml action for the task in
// the stage, so that the task runs as a Kubernetes Job without an executors.yaml mapping. A task that
// only some services run as a Job still needs an executor for the others.
func (p *Project) RunsAsJob(stage, task string) bool {
	if len(p.Services) == 0 {
		return false
	}
	for _, svc := range p.Services {
		if !p.HasJobAction(stage, svc, task) {
			return false
		}
	}
	return true
}

// SettingsChecker checks one executors.yaml mapping: that its type exists and its settings (with:) are
// valid for the task. The server and `shipgate validate` pass one that knows the executor types.
type SettingsChecker func(task, typ string, with map[string]any) error

// CheckExecutorSettings runs check on every mapping in executors.yaml, stage overrides included, and
// reports each problem as an error at the mapping's with: line (or its type: line for an unknown type).
func (p *Project) CheckExecutorSettings(check SettingsChecker) Diagnostics {
	ex := p.Executors
	if ex == nil {
		return nil
	}
	var diags Diagnostics
	d := diagnoser{file: ex.File, diags: &diags}
	checkMap := func(where string, tasks map[string]*ExecutorSpec) {
		for _, name := range slices.Sorted(maps.Keys(tasks)) {
			spec := tasks[name]
			if spec == nil || strings.TrimSpace(spec.Type) == "" || !validEventPart(name) || name == "approval" {
				continue // reported by validate
			}
			if err := check(name, spec.Type, spec.With); err != nil {
				line := spec.LineOf("with")
				if _, set := spec.Lines["with"]; !set {
					line = spec.LineOf("type")
				}
				d.errorf(line, "%stask %q (type %s): %v", where, name, spec.Type, err)
			}
		}
	}
	checkMap("", ex.Tasks)
	for _, stage := range slices.Sorted(maps.Keys(ex.Stages)) {
		if se := ex.Stages[stage]; se != nil {
			checkMap(fmt.Sprintf("stage %q: ", stage), se.Tasks)
		}
	}
	diags.Sort()
	return diags
}
