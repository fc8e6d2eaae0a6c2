package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shipgate/shipgate/store"
)

// ApprovalEvidence is what an approval request showed its approvers: the evaluation that gated it and
// the version running in the stage. It is captured when the approval is requested and stored with it,
// so that a decided card, an audit and the evidence pack say what people decided on, not what happened
// after (production's own evaluation must not rewrite the qa evidence a release manager approved).
type ApprovalEvidence struct {
	// Evaluation is the delivery's latest evaluation when the approval was requested, nil when none.
	Evaluation *EvidenceEvaluation `json:"evaluation,omitempty"`
	// Running is what the stage ran then, nil when nothing had been delivered there.
	Running *EvidenceRunning `json:"running,omitempty"`
	// CapturedAt is when the evidence was taken: the approval's request time.
	CapturedAt time.Time `json:"captured_at"`
}

// EvidenceEvaluation is one evaluation as the approvers saw it.
type EvidenceEvaluation struct {
	ID         int64           `json:"id"`
	Stage      string          `json:"stage"`
	Result     store.Result    `json:"result"`
	Score      float64         `json:"score"`
	Objectives json.RawMessage `json:"objectives,omitempty"` // the scorer's per-objective results
}

// EvidenceRunning is the build a stage ran when the approval was requested: the newest earlier delivery
// of the service whose sequence there passed, and the Helm revision its deployment made.
type EvidenceRunning struct {
	DeliveryID   int64             `json:"delivery_id"`
	Image        string            `json:"image"`
	Labels       map[string]string `json:"labels,omitempty"`
	HelmRelease  string            `json:"helm_release,omitempty"`
	HelmRevision int               `json:"helm_revision,omitempty"`
}

// EvidenceReader is what capturing evidence reads: a transaction at request time, or the store when an
// approval from before shipgate recorded evidence is shown.
type EvidenceReader interface {
	ListEvaluations(ctx context.Context, deliveryID int64) ([]*store.Evaluation, error)
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]*store.Delivery, error)
	ListSequenceRuns(ctx context.Context, q store.SequenceRunQuery) ([]*store.SequenceRun, error)
	ListTaskRuns(ctx context.Context, q store.TaskRunQuery) ([]*store.TaskRun, error)
}

// CaptureEvidence is the evidence for an approval of delivery d in stage as it stood at time at: the
// latest evaluation of d made by then, and the newest earlier delivery of the service whose sequence in
// the stage had passed by then.
func CaptureEvidence(ctx context.Context, r EvidenceReader, d *store.Delivery, stage string, at time.Time) (*ApprovalEvidence, error) {
	ev := &ApprovalEvidence{CapturedAt: at.UTC()}
	evs, err := r.ListEvaluations(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("capture evidence: %w", err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if e := evs[i]; !e.CreatedAt.After(at) {
			ev.Evaluation = &EvidenceEvaluation{ID: e.ID, Stage: e.Stage, Result: e.Result, Score: e.Score, Objectives: e.Objectives}
			break
		}
	}
	if ev.Running, err = running(ctx, r, d, stage, at); err != nil {
		return nil, fmt.Errorf("capture evidence: %w", err)
	}
	return ev, nil
}

// running finds what stage ran at time at: the newest other delivery of d's service, created before d,
// whose sequence in the stage had finished with pass or warning by then.
func running(ctx context.Context, r EvidenceReader, d *store.Delivery, stage string, at time.Time) (*EvidenceRunning, error) {
	earlier, err := r.ListDeliveries(ctx, store.DeliveryQuery{Project: d.Project, Service: d.Service, Stage: stage, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, e := range earlier {
		if e.ID == d.ID || e.CreatedAt.After(d.CreatedAt) {
			continue
		}
		runs, err := r.ListSequenceRuns(ctx, store.SequenceRunQuery{DeliveryID: e.ID, Stage: stage})
		if err != nil {
			return nil, err
		}
		for _, run := range runs {
			passed := run.Result == store.ResultPass || run.Result == store.ResultWarning
			if run.State != store.StateFinished || run.Sequence != e.Sequence || !passed ||
				(run.FinishedAt != nil && run.FinishedAt.After(at)) {
				continue
			}
			out := &EvidenceRunning{DeliveryID: e.ID, Image: e.Image, Labels: e.Labels}
			if out.HelmRelease, out.HelmRevision, err = helmRevision(ctx, r, run.ID); err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	return nil, nil
}

// helmRevision is the Helm release and revision a sequence run's deployment made, from the helm
// executor's result data; zero when no task of the run reported one.
func helmRevision(ctx context.Context, r EvidenceReader, sequenceRunID int64) (string, int, error) {
	tasks, err := r.ListTaskRuns(ctx, store.TaskRunQuery{SequenceRunID: sequenceRunID})
	if err != nil {
		return "", 0, err
	}
	release, revision := "", 0
	for _, tr := range tasks {
		var data struct {
			Deployment struct {
				Helm struct {
					Release  string `json:"release"`
					Revision int    `json:"revision"`
				} `json:"helm"`
			} `json:"deployment"`
		}
		if tr.Result != store.ResultPass || len(tr.Data) == 0 || json.Unmarshal(tr.Data, &data) != nil {
			continue
		}
		if h := data.Deployment.Helm; h.Revision > 0 {
			release, revision = h.Release, h.Revision
		}
	}
	return release, revision, nil
}

// ApprovalEvidenceOf is the evidence stored with approval a, or, for an approval requested before
// shipgate recorded evidence, the same evidence reconstructed as it stood when a was requested.
func ApprovalEvidenceOf(ctx context.Context, r EvidenceReader, a *store.Approval, d *store.Delivery) (*ApprovalEvidence, error) {
	if len(a.Evidence) > 0 {
		var ev ApprovalEvidence
		if err := json.Unmarshal(a.Evidence, &ev); err != nil {
			return nil, fmt.Errorf("approval %d: evidence: %w", a.ID, err)
		}
		return &ev, nil
	}
	return CaptureEvidence(ctx, r, d, a.Stage, a.CreatedAt)
}

// VersionOf is what people call a build: its version label, else the image tag, else the image.
func VersionOf(image string, labels map[string]string) string {
	if v := labels["version"]; v != "" {
		return v
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return image
}

// String says what ran, as the approval card and the evidence pack show it: "v0.1.0 (delivery #3, Helm
// revision 4 of helloservice)", or "nothing delivered yet" for nil.
func (r *EvidenceRunning) String() string {
	if r == nil {
		return "nothing delivered yet"
	}
	where := fmt.Sprintf("delivery #%d", r.DeliveryID)
	if r.HelmRevision > 0 {
		where += fmt.Sprintf(", Helm revision %d of %s", r.HelmRevision, r.HelmRelease)
	}
	return fmt.Sprintf("%s (%s)", VersionOf(r.Image, r.Labels), where)
}
