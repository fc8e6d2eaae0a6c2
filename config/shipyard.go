package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Shipyard is a Keptn shipyard (apiVersion spec.keptn.sh/0.2.x): the stages a delivery moves through and
// the sequences of tasks each stage runs. Field names follow Keptn's go-utils model so that files written
// for Keptn decode unchanged.
type Shipyard struct {
	Pos        `yaml:"-"`
	File       string       `yaml:"-"`
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   Metadata     `yaml:"metadata"`
	Spec       ShipyardSpec `yaml:"spec"`
}

// Metadata names a Keptn resource.
type Metadata struct {
	Pos  `yaml:"-"`
	Name string `yaml:"name"`
}

// ShipyardSpec holds the stages, in the order deliveries move through them.
type ShipyardSpec struct {
	Pos    `yaml:"-"`
	Stages []Stage `yaml:"stages"`
}

// Stage is one environment (qa, production, …) with the sequences that can run in it.
type Stage struct {
	Pos       `yaml:"-"`
	Name      string     `yaml:"name"`
	Sequences []Sequence `yaml:"sequences"`
}

// Sequence is an ordered list of tasks, started by a trigger or by another sequence finishing.
type Sequence struct {
	Pos         `yaml:"-"`
	Name        string    `yaml:"name"`
	TriggeredOn []Trigger `yaml:"triggeredOn"`
	Tasks       []Task    `yaml:"tasks"`
}

// Trigger starts a sequence when the named sequence event happens and the selector matches.
type Trigger struct {
	Pos      `yaml:"-"`
	Event    string   `yaml:"event"`
	Selector Selector `yaml:"selector"`
}

// Selector narrows a trigger to certain results of the finished sequence.
type Selector struct {
	Pos   `yaml:"-"`
	Match map[string]string `yaml:"match"`
}

// Task is one step of a sequence, carried out by an executor or built into shipgate.
type Task struct {
	Pos            `yaml:"-"`
	Name           string         `yaml:"name"`
	TriggeredAfter string         `yaml:"triggeredAfter"`
	Properties     map[string]any `yaml:"properties"`
}

// Delay returns how long the task waits before it is triggered. Validation has already rejected a value
// that does not parse, so an error here means the shipyard was built without Validate.
func (t Task) Delay() (time.Duration, error) {
	if t.TriggeredAfter == "" {
		return 0, nil
	}
	return time.ParseDuration(t.TriggeredAfter)
}

// EvaluationSequence is the sequence every stage has even when the shipyard does not declare it
// (Keptn's GetTaskSequenceInStage): one evaluation task, started by `trigger evaluation`.
const EvaluationSequence = "evaluation"

// Stage returns the named stage.
func (s *Shipyard) Stage(name string) (*Stage, bool) {
	for i := range s.Spec.Stages {
		if s.Spec.Stages[i].Name == name {
			return &s.Spec.Stages[i], true
		}
	}
	return nil, false
}

// StageNames lists the stages in shipyard order.
func (s *Shipyard) StageNames() []string {
	names := make([]string, len(s.Spec.Stages))
	for i, st := range s.Spec.Stages {
		names[i] = st.Name
	}
	return names
}

// Sequence returns the named sequence of the stage. A declared sequence wins over the implicit
// evaluation sequence, as in Keptn.
func (st *Stage) Sequence(name string) (*Sequence, bool) {
	for i := range st.Sequences {
		if st.Sequences[i].Name == name {
			return &st.Sequences[i], true
		}
	}
	if name == EvaluationSequence {
		return &Sequence{Name: EvaluationSequence, Tasks: []Task{{Name: "evaluation"}}}, true
	}
	return nil, false
}

// ShipyardFile is the file name Keptn gave the shipyard, at the root of a project.
const ShipyardFile = "shipyard.yaml"

// ReadShipyard reads and validates a shipyard file. The shipyard is returned whenever it could be decoded,
// even with errors, so that callers can show everything that is wrong at once.
func ReadShipyard(path string) (*Shipyard, Diagnostics) {
	return readFile(path, "shipyard", ParseShipyard)
}

// ParseShipyard decodes and validates shipyard content; file names the source in diagnostics.
func ParseShipyard(file string, data []byte) (*Shipyard, Diagnostics) {
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	sy := &Shipyard{File: file}
	if !decodeKeptnFile(d, data, sy, "apiVersion, kind, metadata and spec.stages") {
		return nil, diags
	}
	sy.validate(d)
	return sy, diags
}

// namePattern is Keptn's rule for stage, project and service names (ValidateKeptnEntityName).
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// maxStageNameLength is what Keptn's docs recommend so that Helm release and namespace names still fit.
const maxStageNameLength = 43

var resultValues = []string{"pass", "warning", "fail"}

func (sy *Shipyard) validate(d diagnoser) {
	sy.validateVersion(d)
	if sy.Kind != "" && sy.Kind != "Shipyard" {
		d.warnf(sy.LineOf("kind"), "kind is %q; a shipyard has kind: Shipyard", sy.Kind)
	}
	if len(sy.Spec.Stages) == 0 {
		d.errorf(sy.Spec.LineOf("stages"), "spec.stages: a shipyard needs at least one stage")
		return
	}

	stageLines := map[string]int{}
	for i, st := range sy.Spec.Stages {
		line := st.LineOf("name")
		switch {
		case st.Name == "":
			d.errorf(st.Line, "stage %d has no name", i+1)
		case !namePattern.MatchString(st.Name):
			d.errorf(line, "stage name %q is invalid: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens", st.Name)
		case len(st.Name) > maxStageNameLength:
			d.warnf(line, "stage name %q is %d characters long; keep it to %d so Helm release and namespace names fit", st.Name, len(st.Name), maxStageNameLength)
		}
		if prev, dup := stageLines[st.Name]; dup && st.Name != "" {
			d.errorf(line, "stage %q is already defined at line %d", st.Name, prev)
		} else {
			stageLines[st.Name] = line
		}
		sy.validateStage(d, &st)
	}
	for _, st := range sy.Spec.Stages {
		for _, seq := range st.Sequences {
			for _, tr := range seq.TriggeredOn {
				sy.validateTrigger(d, st.Name, &seq, &tr)
			}
		}
	}
}

func (sy *Shipyard) validateVersion(d diagnoser) {
	line := sy.LineOf("apiVersion")
	if sy.APIVersion == "" {
		d.errorf(line, "apiVersion is missing; expected spec.keptn.sh/0.2.x")
		return
	}
	v, err := semver.NewVersion(strings.TrimPrefix(sy.APIVersion, "spec.keptn.sh/"))
	if err != nil {
		d.errorf(line, "apiVersion %q is not a version; expected spec.keptn.sh/0.2.x", sy.APIVersion)
		return
	}
	if v.LessThan(semver.MustParse("0.2.0")) {
		d.errorf(line, "apiVersion %q is too old: shipyards before spec.keptn.sh/0.2.0 use a different format; convert it as Keptn's upgrade guide describes", sy.APIVersion)
	}
}

func (sy *Shipyard) validateStage(d diagnoser, st *Stage) {
	seqLines := map[string]int{}
	for i, seq := range st.Sequences {
		line := seq.LineOf("name")
		if seq.Name == "" {
			d.errorf(seq.Line, "stage %q: sequence %d has no name", st.Name, i+1)
		} else if !validEventPart(seq.Name) {
			d.errorf(line, "stage %q: sequence name %q is invalid: it becomes part of event types, so it may contain only letters, digits, hyphens and underscores", st.Name, seq.Name)
		}
		if prev, dup := seqLines[seq.Name]; dup && seq.Name != "" {
			d.errorf(line, "stage %q: sequence %q is already defined at line %d", st.Name, seq.Name, prev)
		} else {
			seqLines[seq.Name] = line
		}
		if len(seq.Tasks) == 0 {
			d.errorf(seq.LineOf("tasks"), "stage %q: sequence %q has no tasks; a sequence needs at least one", st.Name, seq.Name)
		}
		taskLines := map[string]int{}
		for j, task := range seq.Tasks {
			validateTask(d, st.Name, seq.Name, j, &task, taskLines)
		}
	}
}

func validateTask(d diagnoser, stage, seq string, idx int, task *Task, taskLines map[string]int) {
	where := fmt.Sprintf("stage %q, sequence %q", stage, seq)
	line := task.LineOf("name")
	if task.Name == "" {
		d.errorf(task.Line, "%s: task %d has no name", where, idx+1)
	} else if !validEventPart(task.Name) {
		d.errorf(line, "%s: task name %q is invalid: it becomes part of event types, so it may contain only letters, digits, hyphens and underscores", where, task.Name)
	}
	if prev, dup := taskLines[task.Name]; dup && task.Name != "" {
		// Task data is merged under data.<task>, so two tasks of one name would overwrite each other.
		d.errorf(line, "%s: task %q is already defined at line %d", where, task.Name, prev)
	} else {
		taskLines[task.Name] = line
	}
	if task.TriggeredAfter != "" {
		dur, err := time.ParseDuration(task.TriggeredAfter)
		switch {
		case err != nil:
			d.errorf(task.LineOf("triggeredAfter"), "%s: task %q: triggeredAfter %q is not a duration; use a Go duration such as 10m or 1h30m (Keptn ignored it and ran the task at once)", where, task.Name, task.TriggeredAfter)
		case dur < 0:
			d.errorf(task.LineOf("triggeredAfter"), "%s: task %q: triggeredAfter %q is negative", where, task.Name, task.TriggeredAfter)
		}
	}
	if task.Name == "approval" {
		for _, key := range []string{"pass", "warning"} {
			v, ok := task.Properties[key]
			if !ok {
				continue
			}
			if s, _ := v.(string); s != "automatic" && s != "manual" {
				d.warnf(task.LineOf("properties."+key), "%s: approval %s strategy %v is neither automatic nor manual; it behaves as manual", where, key, v)
			}
		}
	}
}

// validEventPart reports whether a name can stand between the dots of a Keptn event type.
func validEventPart(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return name != ""
}

func (sy *Shipyard) validateTrigger(d diagnoser, stage string, seq *Sequence, tr *Trigger) {
	where := fmt.Sprintf("stage %q, sequence %q", stage, seq.Name)
	line := tr.LineOf("event")
	if tr.Event == "" {
		d.errorf(tr.Line, "%s: triggeredOn entry has no event; expected STAGE.SEQUENCE.finished", where)
		return
	}
	parts := strings.Split(tr.Event, ".")
	if len(parts) != 3 || parts[2] != "finished" {
		d.errorf(line, "%s: triggeredOn event %q never happens: expected STAGE.SEQUENCE.finished, for example %s.delivery.finished", where, tr.Event, sy.Spec.Stages[0].Name)
		return
	}
	from, ok := sy.Stage(parts[0])
	if !ok {
		d.errorf(line, "%s: triggeredOn event %q names stage %q, which does not exist; stages are: %s", where, tr.Event, parts[0], strings.Join(sy.StageNames(), ", "))
		return
	}
	source, ok := from.Sequence(parts[1])
	if !ok {
		d.errorf(line, "%s: triggeredOn event %q names sequence %q, which stage %q does not have; its sequences are: %s", where, tr.Event, parts[1], from.Name, strings.Join(sequenceNames(from), ", "))
		return
	}
	keys := make([]string, 0, len(tr.Selector.Match))
	for k := range tr.Selector.Match {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		val := tr.Selector.Match[key]
		kline := tr.Selector.LineOf("match." + key)
		if kline == 0 {
			kline = line
		}
		switch {
		case val == "failed":
			d.errorf(kline, "%s: selector %s: %q never matches: results are compared literally and a failed sequence has result \"fail\" (Keptn's docs showed \"failed\", which silently never matched)", where, key, val)
		case !slices.Contains(resultValues, val):
			d.errorf(kline, "%s: selector %s: %q is not a result; expected pass, warning or fail", where, key, val)
		}
		if key == "result" {
			continue
		}
		task, ok := strings.CutSuffix(key, ".result")
		if !ok {
			d.errorf(kline, "%s: selector key %q is never matched; expected result or TASK.result", where, key)
			continue
		}
		if !slices.ContainsFunc(source.Tasks, func(t Task) bool { return t.Name == task }) {
			d.warnf(kline, "%s: selector %s never matches: sequence %q has no task %q, and TASK.result only matches when that task ended the sequence", where, key, tr.Event[:len(tr.Event)-len(".finished")], task)
		}
	}
}

func sequenceNames(st *Stage) []string {
	names := []string{}
	hasEval := false
	for _, seq := range st.Sequences {
		names = append(names, seq.Name)
		hasEval = hasEval || seq.Name == EvaluationSequence
	}
	if !hasEval {
		names = append(names, EvaluationSequence+" (built in)")
	}
	return names
}
