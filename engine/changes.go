package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// Differ is implemented by executors that can tell, before a task runs, what it would change: the helm
// executor renders the upgrade as a dry run against the cluster and diffs it against the release that
// runs now. The engine asks it for the deployment task that follows an approval, so that the approvers
// see what they approve. It must change nothing, and return when ctx ends.
type Differ interface {
	Diff(ctx context.Context, t Task) (*Changes, error)
}

// Changes is what a delivery would change in a stage, computed when its approval is requested and kept
// with the approval, unchanged, as the record of what the approvers were shown.
type Changes struct {
	Summary ChangeSummary `json:"summary"`
	// Diff is a unified diff of the rendered manifests, one section per object, secrets' values masked;
	// empty when the deployment is not one that can be diffed.
	Diff string `json:"diff,omitempty"`
}

// ChangeSummary is the short form of Changes, for the approval card.
type ChangeSummary struct {
	Image *Change `json:"image,omitempty"` // image old → new; Old is "" before the first deployment
	Chart *Change `json:"chart,omitempty"` // chart NAME-VERSION old → new, for helm deployments
	// Objects are the manifests' objects that change, in manifest order; nil when nothing was diffed.
	Objects []ObjectChange `json:"objects,omitempty"`
	// Diffed says a manifest diff was made, so that no Objects means nothing changes rather than unknown.
	Diffed bool `json:"diffed,omitempty"`
	// Error says why the manifests could not be diffed (the cluster was unreachable, the chart does not
	// render); the image change, when known, is still there.
	Error string `json:"error,omitempty"`
}

// Change is a value before and after.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// ObjectChange is one object of the rendered manifests that a delivery adds, removes or changes.
type ObjectChange struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Change string `json:"change"` // added, removed or changed
	// Images is the containers' images old → new, for workloads whose images change.
	Images *Change `json:"images,omitempty"`
	// Keys is how many keys of a ConfigMap's or Secret's data are added, removed or changed.
	Keys int `json:"keys,omitempty"`
}

// Object change kinds.
const (
	ObjectAdded   = "added"
	ObjectRemoved = "removed"
	ObjectChanged = "changed"
)

// Short is the summary in one line for the approval card: "3 objects change: Deployment/helloservice
// image, ConfigMap/helloservice-config 2 keys, Service/helloservice".
func (s ChangeSummary) Short() string {
	switch {
	case s.Error != "" && len(s.Objects) == 0:
		return "manifests not diffed: " + s.Error
	case !s.Diffed:
		return ""
	case len(s.Objects) == 0:
		return "no object changes"
	}
	parts := make([]string, 0, len(s.Objects))
	for _, o := range s.Objects {
		p := o.Kind + "/" + o.Name
		switch {
		case o.Change != ObjectChanged:
			p += " " + o.Change
		case o.Images != nil:
			p += " image"
		case o.Keys == 1:
			p += " 1 key"
		case o.Keys > 1:
			p += fmt.Sprintf(" %d keys", o.Keys)
		}
		parts = append(parts, p)
	}
	noun := "objects change"
	if len(s.Objects) == 1 {
		noun = "object changes"
	}
	return fmt.Sprintf("%d %s: %s", len(s.Objects), noun, strings.Join(parts, ", "))
}

// EventApprovalChanges: the changes of a waiting approval were computed and recorded; Changes holds them.
const EventApprovalChanges = "sh.shipgate.approval.changes"

// diffTimeout bounds a dry run: an approval's changes are worth waiting for, a hung cluster is not.
const diffTimeout = 2 * time.Minute

// maxChangesError bounds the reason a diff is missing, as kept with the approval.
const maxChangesError = 300

// changesJob is the computation of one approval's changes, handed out once the approval is committed.
type changesJob struct {
	approvalID int64
	image      Change // old: the image running in the stage, as the approval's evidence recorded it
	differ     Differ // nil when no task after the approval can be diffed
	task       Task   // the task the differ is asked about
}

// changesJob prepares the changes of approval a: the image old → new, old being what the approval's
// evidence says runs in the stage (so that the card's "Now in" and its image change agree), and, when a
// task after the approval in its sequence runs on an executor that can diff (helm), that task as it
// would run.
func (t *txn) changesJob(d *store.Delivery, run *store.SequenceRun, tr *store.TaskRun, data map[string]any, a *store.Approval) (changesJob, error) {
	j := changesJob{approvalID: a.ID, image: Change{New: d.Image}}
	ev, err := ApprovalEvidenceOf(t.ctx, t.Tx, a, d)
	if err != nil {
		return j, err
	}
	if ev.Running != nil {
		j.image.Old = ev.Running.Image
	}
	p, seq, err := t.sequenceDef(d, run.Stage, run.Sequence)
	if err != nil {
		return j, err
	}
	for _, def := range seq.Tasks[tr.Position+1:] {
		r, err := t.e.resolve(p, run.Stage, def.Name)
		if err != nil {
			return j, err
		}
		if df, ok := r.executor.(Differ); ok && r.builtin == "" {
			j.differ = df
			j.task = Task{DeliveryID: d.ID, KeptnContext: d.KeptnContext, Project: d.Project, Stage: run.Stage, Service: d.Service,
				Sequence: run.Sequence, DeliverySequence: d.Sequence, Name: def.Name, Image: d.Image, Labels: d.Labels,
				Data: copyData(data), Properties: copyData(def.Properties), Config: copyData(r.config), ProjectConfig: p}
			break
		}
	}
	return j, nil
}

// computeChanges runs j's dry run, outside any transaction, then records the changes with the approval
// and publishes them. A failed dry run is recorded too, with why, and the image change that is known:
// the approvers are told the diff is missing rather than left waiting for it. When the engine closes
// first, nothing is recorded, and the next Start computes them again.
func (e *Engine) computeChanges(j changesJob) {
	ch := &Changes{Summary: ChangeSummary{Image: &Change{Old: j.image.Old, New: j.image.New}}}
	if j.differ != nil {
		ctx, cancel := context.WithTimeout(e.ctx, diffTimeout)
		got, err := diffSafely(ctx, j.differ, j.task)
		cancel()
		if e.ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			// A line for the card: the whole error is in the log.
			e.log.Warn("changes not diffed", "approval", j.approvalID, "err", err)
			line, _, _ := strings.Cut(err.Error(), "\n")
			ch.Summary.Error = truncate.Bytes(line, maxChangesError)
		default:
			if got.Summary.Image == nil || got.Summary.Image.Old == "" {
				got.Summary.Image = ch.Summary.Image
			}
			got.Diff = capDiff(got.Diff)
			ch = got
		}
	}
	e.settle(&owed{key: fmt.Sprintf("changes/%d", j.approvalID), what: fmt.Sprintf("changes of approval %d", j.approvalID),
		fn: func(t *txn) error { return t.saveChanges(j.approvalID, ch) }})
}

// MaxDiffBytes bounds the diff kept with an approval: a chart whose manifests change by megabytes (CRDs,
// dashboards in ConfigMaps) would otherwise fill the database and every chat thread it goes to.
const MaxDiffBytes = 1 << 20

// capDiff cuts a diff longer than MaxDiffBytes at a line's end and says so on its last line.
func capDiff(diff string) string {
	if len(diff) <= MaxDiffBytes {
		return diff
	}
	cut := strings.LastIndexByte(diff[:MaxDiffBytes], '\n') + 1
	return diff[:cut] + fmt.Sprintf("… cut: the diff is %d bytes, and shipgate keeps the first %d\n", len(diff), MaxDiffBytes)
}

// diffSafely calls the differ, turning a panic into an error: a broken differ costs the diff, not the
// process.
func diffSafely(ctx context.Context, df Differ, task Task) (ch *Changes, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("differ panicked: %v", p)
		}
	}()
	ch, err = df.Diff(ctx, task)
	if err == nil && ch == nil {
		err = errors.New("differ returned no changes")
	}
	return ch, err
}

// saveChanges records an approval's changes once and publishes them; changes already recorded (by a
// computation that raced a restart) stand, and nothing is published twice.
func (t *txn) saveChanges(approvalID int64, ch *Changes) error {
	summary, err := json.Marshal(ch.Summary)
	if err != nil {
		return err
	}
	err = t.SaveApprovalChanges(t.ctx, &store.ApprovalChanges{ApprovalID: approvalID, Summary: summary, Diff: ch.Diff})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := t.GetApproval(t.ctx, approvalID)
	if err != nil {
		return err
	}
	d, err := t.GetDelivery(t.ctx, a.DeliveryID)
	if err != nil {
		return err
	}
	votes, err := t.ListVotes(t.ctx, approvalID)
	if err != nil {
		return err
	}
	tr, err := t.GetTaskRun(t.ctx, a.TaskRunID)
	if err != nil {
		return err
	}
	run, err := t.GetSequenceRun(t.ctx, tr.SequenceRunID)
	if err != nil {
		return err
	}
	t.publish(d, Event{Type: EventApprovalChanges, Stage: a.Stage, Sequence: run.Sequence, Task: tr.Name, TaskRunID: tr.ID,
		Approval: t.approvalInfo(d, a, votes), Changes: ch})
	return nil
}

// ApprovalChanges returns the changes recorded for the newest approval of delivery id in stage, and
// that approval's id. It returns ErrNotFound when the delivery has no approval there, or its changes
// are not recorded (yet).
func (e *Engine) ApprovalChanges(ctx context.Context, deliveryID int64, stage string) (*Changes, int64, error) {
	as, err := e.store.ListApprovals(ctx, store.ApprovalQuery{DeliveryID: deliveryID})
	if err != nil {
		return nil, 0, err
	}
	var newest *store.Approval
	for _, a := range as {
		if a.Stage == stage && (newest == nil || a.ID > newest.ID) {
			newest = a
		}
	}
	if newest == nil {
		return nil, 0, notFoundf("delivery %d has no approval in stage %q", deliveryID, stage)
	}
	rec, err := e.store.GetApprovalChanges(ctx, newest.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newest.ID, notFoundf("the changes of delivery %d in stage %q are not computed yet", deliveryID, stage)
	}
	if err != nil {
		return nil, 0, err
	}
	ch := &Changes{Diff: rec.Diff}
	if err := json.Unmarshal(rec.Summary, &ch.Summary); err != nil {
		return nil, 0, fmt.Errorf("changes of approval %d: %w", newest.ID, err)
	}
	return ch, newest.ID, nil
}
