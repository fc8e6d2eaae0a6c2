package config

import (
	"fmt"
	"maps"
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
	sy.checkLoops(d)
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
		validateApproval(d, where, task)
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

// followUp is a trigger that starts a sequence when another (or the same) one finishes.
type followUp struct {
	from, to string // STAGE.SEQUENCE
	source   *Sequence
	trigger  *Trigger
	stage    string // the triggered sequence's
	sequence string
}

// matches reports whether the trigger starts its sequence when the source ends with result after its
// task lastTask, as Keptn's GetTaskSequencesByTrigger decides: without a selector on pass or warning,
// with one when result or LASTTASK.result equals the result.
func (f followUp) matches(result, lastTask string) bool {
	m := f.trigger.Selector.Match
	if len(m) == 0 {
		return result == "pass" || result == "warning"
	}
	return m["result"] == result || m[lastTask+".result"] == result
}

// canFire reports whether some way the source can end starts the sequence: passing or with a warning
// after its last task, or failing at any task.
func (f followUp) canFire() bool {
	tasks := f.source.Tasks
	if len(tasks) == 0 {
		return false
	}
	last := tasks[len(tasks)-1].Name
	if f.matches("pass", last) || f.matches("warning", last) {
		return true
	}
	return slices.ContainsFunc(tasks, func(t Task) bool { return f.matches("fail", t.Name) })
}

// endsAtGetAction reports whether the loop through this trigger ends once a get-action task of the source
// fails, which is how Keptn's remediation loops ended: remediation-service fails get-action when the
// actions in remediation.yaml have run out, and the sequence then ends with get-action's result.
func (f followUp) endsAtGetAction() bool {
	return slices.ContainsFunc(f.source.Tasks, func(t Task) bool { return t.Name == getActionTask }) && !f.matches("fail", getActionTask)
}

// getActionTask hands out a remediation's next action, and fails once there is none.
const getActionTask = "get-action"

// checkLoops warns about sequences that start one another in a circle, the shortest a sequence triggered
// by its own finished event, when nothing in Keptn's rules ends the circle: each run can start the next
// for ever. A circle through a trigger that a failed get-action does not match ends when the remediation
// runs out of actions (Keptn's documented remediation sequence, triggered by its own finished event with
// evaluation.result: fail), and is left alone. Each circle is reported once, at the trigger that closes it.
func (sy *Shipyard) checkLoops(d diagnoser) {
	var edges []followUp
	for _, st := range sy.Spec.Stages {
		for i := range st.Sequences {
			seq := &st.Sequences[i]
			for j := range seq.TriggeredOn {
				tr := &seq.TriggeredOn[j]
				stage, name, ok := triggerSource(tr.Event)
				if !ok {
					continue
				}
				from, ok := sy.Stage(stage)
				if !ok {
					continue
				}
				source, ok := from.Sequence(name)
				if !ok {
					continue
				}
				f := followUp{from: stage + "." + name, to: st.Name + "." + seq.Name, source: source, trigger: tr, stage: st.Name, sequence: seq.Name}
				if f.canFire() && !f.endsAtGetAction() {
					edges = append(edges, f)
				}
			}
		}
	}
	reported := map[*Trigger]bool{}
	for _, e := range edges {
		if reported[e.trigger] {
			continue
		}
		path := loopBack(edges, e)
		if path == nil {
			continue
		}
		for _, p := range path {
			reported[p.trigger] = true
		}
		where := fmt.Sprintf("stage %q, sequence %q", e.stage, e.sequence)
		line := e.trigger.LineOf("event")
		if len(path) == 1 {
			d.warnf(line, "%s: triggeredOn %q starts this sequence again each time it %s, so it can repeat without end: %s",
				where, e.trigger.Event, e.condition(), e.getActionHint())
			continue
		}
		names := []string{path[0].from}
		for _, p := range path {
			names = append(names, p.to)
		}
		d.warnf(line, "%s: triggeredOn %q closes a loop of sequences that start one another, %s, which can repeat without end: no failing get-action task ends it, as one ends Keptn's remediation loops once the actions run out",
			where, e.trigger.Event, strings.Join(names, " → "))
	}
}

// loopBack returns the triggers of a circle that starts with e and comes back to e's source, the
// shortest one, or nil when e closes none.
func loopBack(edges []followUp, e followUp) []followUp {
	prev := map[string]int{e.to: -1} // sequence -> index of the edge that reached it
	queue := []string{e.to}
	for len(queue) > 0 {
		at := queue[0]
		queue = queue[1:]
		if at == e.from {
			var path []followUp
			for i := prev[at]; i >= 0; i = prev[edges[i].from] {
				path = append([]followUp{edges[i]}, path...)
			}
			return append([]followUp{e}, path...)
		}
		for i, next := range edges {
			if _, seen := prev[next.to]; next.from == at && !seen {
				prev[next.to] = i
				queue = append(queue, next.to)
			}
		}
	}
	return nil
}

// condition says when the trigger starts its sequence again.
func (f followUp) condition() string {
	m := f.trigger.Selector.Match
	if len(m) == 0 {
		return "passes or ends with a warning"
	}
	var ways []string
	for _, key := range slices.Sorted(maps.Keys(m)) {
		if key == "result" {
			ways = append(ways, fmt.Sprintf("ends with result %s", m[key]))
		} else if task, ok := strings.CutSuffix(key, ".result"); ok {
			ways = append(ways, fmt.Sprintf("ends at task %s with result %s", task, m[key]))
		}
	}
	return strings.Join(ways, " or ")
}

// getActionHint says how to let the loop end.
func (f followUp) getActionHint() string {
	if slices.ContainsFunc(f.source.Tasks, func(t Task) bool { return t.Name == getActionTask }) {
		return "a failing get-action, which ends Keptn's remediation loops once the actions run out, matches this selector too; select on a later task, such as evaluation.result: fail"
	}
	return "nothing ends it, as a failing get-action task ends Keptn's remediation loops once the actions run out"
}

// triggerSource splits STAGE.SEQUENCE.finished; validateTrigger reports any other form.
func triggerSource(event string) (stage, sequence string, ok bool) {
	parts := strings.Split(event, ".")
	if len(parts) != 3 || parts[2] != "finished" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
