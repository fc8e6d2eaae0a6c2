// Package evidence assembles the evidence pack of one delivery for change-management audits: who
// triggered it and from where, every stage, sequence and task with times and results, each evaluation's
// score table, each approval (when it was requested, who could approve, every vote with its time and
// reason, how it was decided), rollbacks, freezes, and every audit entry that touches the delivery.
//
// The pack is one document with two forms. Its JSON form is canonical: the same records give the same
// bytes (lists in a fixed order, times in UTC), so the SHA-256 of those bytes identifies the pack and
// anyone can check a copy later with sha256sum. The HTML form is the same content for people, printed
// with that SHA-256, needing no network.
//
// It reads the store only, and changes nothing.
package evidence

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
)

// Format names the pack's JSON shape. A change that moves or retypes a field gets a new one; new fields
// that may be absent do not.
const Format = "shipgate-evidence/1"

// RollbackSequence is the sequence that rolls a stage back, as in Keptn's shipyards.
const RollbackSequence = "rollback"

// Audit actions the pack sorts into its own sections, besides listing them with the rest of the trail.
// The approval ladder writes approval.reminded and approval.escalated on approval:<id>; freeze windows
// write delivery.frozen, delivery.unfreeze (break-glass, with its reason) and delivery.thawed on
// delivery:<id>.
const (
	ActionReminded  = "approval.reminded"
	ActionEscalated = "approval.escalated"
	ActionFrozen    = "delivery.frozen"
	ActionUnfreeze  = "delivery.unfreeze"
	ActionThawed    = "delivery.thawed"
)

// Source is what a pack is read from: a *store.Store, or a *store.Reader for a command that only reads.
// The pack is read in one read transaction, so its parts agree with each other even while the delivery
// moves.
type Source interface {
	View(ctx context.Context, fn func(*store.Snapshot) error) error
}

// reader is what the builder reads through; a *store.Snapshot is one.
type reader interface {
	GetDelivery(ctx context.Context, id int64) (*store.Delivery, error)
	ListSequenceRuns(ctx context.Context, sq store.SequenceRunQuery) ([]*store.SequenceRun, error)
	ListTaskRuns(ctx context.Context, tq store.TaskRunQuery) ([]*store.TaskRun, error)
	ListEvaluations(ctx context.Context, deliveryID int64) ([]*store.Evaluation, error)
	ListApprovals(ctx context.Context, aq store.ApprovalQuery) ([]*store.Approval, error)
	ListVotes(ctx context.Context, approvalID int64) ([]*store.Vote, error)
	ListAudit(ctx context.Context, aq store.AuditQuery) ([]*store.AuditEntry, error)
	GetApprovalChanges(ctx context.Context, approvalID int64) (*store.ApprovalChanges, error)
}

// Pack is the evidence of one delivery. Field names are camelCase, as in the API; states, results and
// statuses are Keptn's words; times are UTC. Lists are never null: an empty list says there was none.
type Pack struct {
	Format   string   `json:"format"`
	Delivery Delivery `json:"delivery"`
	// Complete is true once the delivery has ended: its pack changes no more, unless someone acts on it
	// afterwards (an evaluation invalidated, a refused click), which the audit trail then shows.
	Complete bool `json:"complete"`
	// AsOf is the time of the latest record in the pack, so two packs of a live delivery can be told
	// apart; it is not when the pack was made, which would change the bytes at every request.
	AsOf      time.Time    `json:"asOf"`
	Trigger   Trigger      `json:"trigger"`
	Stages    []Stage      `json:"stages"`
	Rollbacks []Rollback   `json:"rollbacks"`
	Freezes   []AuditEntry `json:"freezes"`
	Audit     []AuditEntry `json:"audit"`
}

// Delivery is what was delivered, and how it ended.
type Delivery struct {
	ID           int64               `json:"id"`
	KeptnContext string              `json:"keptnContext"`
	Project      string              `json:"project"`
	Service      string              `json:"service"`
	Image        string              `json:"image"`
	Stage        string              `json:"stage"`    // the stage it was triggered in
	Sequence     string              `json:"sequence"` // the sequence it was triggered with
	State        store.SequenceState `json:"state"`
	Result       store.Result        `json:"result,omitempty"`
	WorstResult  store.Result        `json:"worstResult,omitempty"`
	Message      string              `json:"message,omitempty"`
	CreatedAt    time.Time           `json:"createdAt"`
	UpdatedAt    time.Time           `json:"updatedAt"`
	FinishedAt   *time.Time          `json:"finishedAt,omitempty"`
}

// Trigger is who started the delivery, from where, and with what: the labels CI sets (version, run id,
// commit) and the extra values.
type Trigger struct {
	Actor   string            `json:"actor"`
	Source  string            `json:"source"` // slack, discord, web, api, cli
	Channel string            `json:"channel,omitempty"`
	At      time.Time         `json:"at"`
	Labels  map[string]string `json:"labels"`
	Values  json.RawMessage   `json:"values,omitempty"`
}

// Stage is everything that happened in one stage, in the order the delivery reached the stages.
type Stage struct {
	Name        string       `json:"name"`
	Sequences   []Sequence   `json:"sequences"`
	Evaluations []Evaluation `json:"evaluations"`
	Approvals   []Approval   `json:"approvals"`
}

// Sequence is one sequence run of a stage with its tasks.
type Sequence struct {
	ID          int64               `json:"id"`
	Name        string              `json:"name"`
	State       store.SequenceState `json:"state"`
	Result      store.Result        `json:"result,omitempty"`
	Status      store.Status        `json:"status,omitempty"`
	Message     string              `json:"message,omitempty"`
	TriggeredAt time.Time           `json:"triggeredAt"`
	StartedAt   *time.Time          `json:"startedAt,omitempty"`
	FinishedAt  *time.Time          `json:"finishedAt,omitempty"`
	Tasks       []Task              `json:"tasks"`
}

// Task is one task run. What the executor returned is left out: it can be large, may hold what a
// webhook answered, and is in the delivery's event log; the message summarises it.
type Task struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Executor    string          `json:"executor,omitempty"`
	State       store.TaskState `json:"state"`
	Result      store.Result    `json:"result,omitempty"`
	Status      store.Status    `json:"status,omitempty"`
	Message     string          `json:"message,omitempty"`
	Attempt     int             `json:"attempt"`
	TriggeredAt time.Time       `json:"triggeredAt"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
}

// Evaluation is one SLO evaluation and its score table.
type Evaluation struct {
	ID          int64        `json:"id"`
	TaskRunID   int64        `json:"taskRunId,omitempty"`
	Result      store.Result `json:"result"`
	Status      store.Status `json:"status,omitempty"`
	Score       float64      `json:"score"`
	Message     string       `json:"message,omitempty"`
	TimeStart   time.Time    `json:"timeStart"`
	TimeEnd     time.Time    `json:"timeEnd"`
	ComparedIDs []int64      `json:"comparedIds"` // the evaluations used as baseline
	Invalidated bool         `json:"invalidated"`
	CreatedAt   time.Time    `json:"createdAt"`
	Objectives  []Objective  `json:"objectives"`
}

// Objective is one row of a score table.
type Objective struct {
	SLI            string     `json:"sli"`
	DisplayName    string     `json:"displayName,omitempty"`
	Value          *float64   `json:"value"`         // nil: the provider gave none
	ComparedValue  *float64   `json:"comparedValue"` // nil: no usable baseline
	Status         string     `json:"status"`
	Score          float64    `json:"score"`
	Weight         int        `json:"weight"`
	KeySLI         bool       `json:"keySli"`
	PassTargets    []Criteria `json:"passTargets"`
	WarningTargets []Criteria `json:"warningTargets"`
	Message        string     `json:"message,omitempty"`
}

// Criteria is one criterion of an objective and the value it worked out to.
type Criteria struct {
	Criteria    string  `json:"criteria"`
	TargetValue float64 `json:"targetValue"`
	Violated    bool    `json:"violated"`
}

// Approval is one approval gate: what was asked, of whom, and how it was decided.
type Approval struct {
	ID          int64               `json:"id"`
	TaskRunID   int64               `json:"taskRunId"`
	State       store.ApprovalState `json:"state"`
	RequestedAt time.Time           `json:"requestedAt"`
	ExpiresAt   *time.Time          `json:"expiresAt,omitempty"`
	Required    int                 `json:"required"`
	// EligibleRoles are the roles whose holders could vote, as recorded when the approval was requested;
	// who held them is the chat bindings' business at that time.
	EligibleRoles []string `json:"eligibleRoles"`
	// Requester triggered the delivery; AllowRequester says whether they could approve it themselves.
	Requester      string `json:"requester"`
	AllowRequester bool   `json:"allowRequester"`
	// Evidence is what the request showed the approvers, frozen when it was asked; absent when this
	// shipgate did not record it.
	Evidence *ApprovalEvidence `json:"evidence,omitempty"`
	// Changes is what the delivery would change in the stage, as the request showed it; absent when
	// not recorded.
	Changes *Changes `json:"changes,omitempty"`
	Votes   []Vote   `json:"votes"`
	// RefusedVotes are clicks and API votes that did not count (no role, own delivery, already decided),
	// from the audit trail.
	RefusedVotes []AuditEntry `json:"refusedVotes"`
	// Reminders and Escalations are the approval ladder's notices, from the audit trail.
	Reminders   []AuditEntry `json:"reminders"`
	Escalations []AuditEntry `json:"escalations"`
	// Decision is how it ended; absent while pending.
	Decision *Decision `json:"decision,omitempty"`
	// Overrides are decisions not made by the approvers' votes: the timeout's default action, an abort, a
	// newer delivery superseding this one.
	Overrides []Override `json:"overrides"`
}

// ApprovalEvidence is the quality evidence an approval request showed, as stored when it was requested.
type ApprovalEvidence struct {
	CapturedAt       time.Time    `json:"capturedAt"`
	Stage            string       `json:"stage,omitempty"` // the stage whose evaluation it was; empty: none
	EvaluationID     int64        `json:"evaluationId,omitempty"`
	Result           store.Result `json:"result,omitempty"`
	Score            *float64     `json:"score,omitempty"`
	FailedObjectives []string     `json:"failedObjectives,omitempty"`
	RunningVersion   string       `json:"runningVersion,omitempty"` // what ran in the approval's stage
}

// Changes is what a delivery would change in a stage.
type Changes struct {
	Summary string   `json:"summary"`
	Items   []Change `json:"items,omitempty"`
	Diff    string   `json:"diff,omitempty"` // unified diff of the rendered manifests, secrets masked
}

// Change is one thing that changes, old → new.
type Change struct {
	What string `json:"what"` // image, chart, Deployment/helloservice
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Vote is one counted vote.
type Vote struct {
	Voter    string         `json:"voter"`
	Platform string         `json:"platform"`
	Decision store.Decision `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
	At       time.Time      `json:"at"`
}

// Decision is how an approval ended.
type Decision struct {
	State  store.ApprovalState `json:"state"`
	By     string              `json:"by,omitempty"` // the deciding voter; empty for the timeout, an abort, a supersede
	At     time.Time           `json:"at"`
	Reason string              `json:"reason,omitempty"`
	// How is votes, timeout, aborted or superseded.
	How string `json:"how"`
}

// Ways an approval is decided.
const (
	HowVotes      = "votes"
	HowTimeout    = "timeout"
	HowAborted    = "aborted"
	HowSuperseded = "superseded"
)

// Override is a decision that was not the approvers'.
type Override struct {
	Kind   string    `json:"kind"` // timeout, aborted, superseded
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// Rollback is a rollback sequence run of the delivery.
type Rollback struct {
	Stage         string              `json:"stage"`
	SequenceRunID int64               `json:"sequenceRunId"`
	State         store.SequenceState `json:"state"`
	Result        store.Result        `json:"result,omitempty"`
	Message       string              `json:"message,omitempty"`
	TriggeredAt   time.Time           `json:"triggeredAt"`
	FinishedAt    *time.Time          `json:"finishedAt,omitempty"`
}

// AuditEntry is one entry of the audit trail, as `shipgate audit export` writes it.
type AuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Platform string          `json:"platform,omitempty"`
	Channel  string          `json:"channel,omitempty"`
	Action   string          `json:"action"`
	Target   string          `json:"target,omitempty"`
	Allowed  bool            `json:"allowed"`
	Reason   string          `json:"reason,omitempty"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// Build reads the pack of delivery id, in one read transaction of src. A delivery that does not exist is
// store.ErrNotFound (wrapped).
func Build(ctx context.Context, src Source, id int64) (*Pack, error) {
	var p *Pack
	err := src.View(ctx, func(sn *store.Snapshot) error {
		d, err := sn.GetDelivery(ctx, id)
		if err != nil {
			return err
		}
		b := &builder{ctx: ctx, r: sn, d: d, stages: map[string]*Stage{}}
		if err := b.build(); err != nil {
			return fmt.Errorf("evidence of delivery %d: %w", id, err)
		}
		p = b.p
		return nil
	})
	return p, err
}

type builder struct {
	ctx    context.Context
	r      reader
	d      *store.Delivery
	p      *Pack
	stages map[string]*Stage
	order  []string
	asOf   time.Time
}

// seen moves AsOf to t when t is later.
func (b *builder) seen(t time.Time) {
	if t.After(b.asOf) {
		b.asOf = t
	}
}

func (b *builder) seenPtr(t *time.Time) {
	if t != nil {
		b.seen(*t)
	}
}

// stage returns the named stage, adding it in the order stages are first met.
func (b *builder) stage(name string) *Stage {
	if s, ok := b.stages[name]; ok {
		return s
	}
	s := &Stage{Name: name, Sequences: []Sequence{}, Evaluations: []Evaluation{}, Approvals: []Approval{}}
	b.stages[name] = s
	b.order = append(b.order, name)
	return s
}

func (b *builder) build() error {
	d := b.d
	b.p = &Pack{Format: Format, Complete: d.State.Terminal(), Stages: []Stage{}, Rollbacks: []Rollback{}, Freezes: []AuditEntry{}, Audit: []AuditEntry{},
		Delivery: Delivery{ID: d.ID, KeptnContext: d.KeptnContext, Project: d.Project, Service: d.Service, Image: d.Image, Stage: d.Stage,
			Sequence: d.Sequence, State: d.State, Result: d.Result, WorstResult: d.WorstResult, Message: d.Message, CreatedAt: utc(d.CreatedAt),
			UpdatedAt: utc(d.UpdatedAt), FinishedAt: utcPtr(d.FinishedAt)},
		Trigger: Trigger{Actor: d.Actor, Source: d.Source, Channel: d.SourceChannel, At: utc(d.CreatedAt), Labels: d.Labels, Values: d.Values}}
	if b.p.Trigger.Labels == nil {
		b.p.Trigger.Labels = map[string]string{}
	}
	b.seen(d.UpdatedAt)
	b.seenPtr(d.FinishedAt)
	// The delivery's first stage leads even if a crash left it without a run.
	b.stage(d.Stage)
	if err := b.sequences(); err != nil {
		return err
	}
	evalIDs, err := b.evaluations()
	if err != nil {
		return err
	}
	approvals, err := b.approvals()
	if err != nil {
		return err
	}
	targets := []string{target("delivery", d.ID)}
	for _, a := range approvals {
		targets = append(targets, target("approval", a.ID))
	}
	for _, id := range evalIDs {
		targets = append(targets, target("evaluation", id))
	}
	if err := b.audit(targets, approvals); err != nil {
		return err
	}
	for _, name := range b.order {
		b.p.Stages = append(b.p.Stages, *b.stages[name])
	}
	b.p.AsOf = utc(b.asOf)
	return nil
}

func (b *builder) sequences() error {
	runs, err := b.r.ListSequenceRuns(b.ctx, store.SequenceRunQuery{DeliveryID: b.d.ID})
	if err != nil {
		return err
	}
	tasks, err := b.r.ListTaskRuns(b.ctx, store.TaskRunQuery{DeliveryID: b.d.ID})
	if err != nil {
		return err
	}
	byRun := map[int64][]Task{}
	for _, t := range tasks {
		b.seen(t.TriggeredAt)
		b.seenPtr(t.StartedAt)
		b.seenPtr(t.FinishedAt)
		byRun[t.SequenceRunID] = append(byRun[t.SequenceRunID], Task{ID: t.ID, Name: t.Name, Executor: t.Executor, State: t.State,
			Result: t.Result, Status: t.Status, Message: t.Message, Attempt: t.Attempt, TriggeredAt: utc(t.TriggeredAt),
			StartedAt: utcPtr(t.StartedAt), FinishedAt: utcPtr(t.FinishedAt)})
	}
	for _, r := range runs {
		b.seen(r.TriggeredAt)
		b.seenPtr(r.StartedAt)
		b.seenPtr(r.FinishedAt)
		ts := byRun[r.ID]
		if ts == nil {
			ts = []Task{}
		}
		s := b.stage(r.Stage)
		s.Sequences = append(s.Sequences, Sequence{ID: r.ID, Name: r.Sequence, State: r.State, Result: r.Result, Status: r.Status,
			Message: r.Message, TriggeredAt: utc(r.TriggeredAt), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt), Tasks: ts})
		if r.Sequence == RollbackSequence {
			b.p.Rollbacks = append(b.p.Rollbacks, Rollback{Stage: r.Stage, SequenceRunID: r.ID, State: r.State, Result: r.Result,
				Message: r.Message, TriggeredAt: utc(r.TriggeredAt), FinishedAt: utcPtr(r.FinishedAt)})
		}
	}
	return nil
}

// evaluations adds each evaluation to its stage and returns their ids.
func (b *builder) evaluations() ([]int64, error) {
	evals, err := b.r.ListEvaluations(b.ctx, b.d.ID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range evals {
		b.seen(e.CreatedAt)
		ev := Evaluation{ID: e.ID, TaskRunID: e.TaskRunID, Result: e.Result, Status: e.Status, Score: e.Score, Message: e.Message,
			TimeStart: utc(e.TimeStart), TimeEnd: utc(e.TimeEnd), ComparedIDs: e.ComparedIDs, Invalidated: e.Invalidated,
			CreatedAt: utc(e.CreatedAt), Objectives: []Objective{}}
		if ev.ComparedIDs == nil {
			ev.ComparedIDs = []int64{}
		}
		if len(e.Objectives) > 0 {
			var objectives []slo.Objective
			if err := json.Unmarshal(e.Objectives, &objectives); err != nil {
				return nil, fmt.Errorf("evaluation %d: decode objectives: %w", e.ID, err)
			}
			for _, o := range objectives {
				ev.Objectives = append(ev.Objectives, Objective{SLI: o.SLI, DisplayName: o.DisplayName, Value: o.Value,
					ComparedValue: o.ComparedValue, Status: o.Status, Score: o.Score, Weight: o.Weight, KeySLI: o.KeySLI,
					PassTargets: criteria(o.PassTargets), WarningTargets: criteria(o.WarningTargets), Message: o.Message})
			}
		}
		s := b.stage(e.Stage)
		s.Evaluations = append(s.Evaluations, ev)
		ids = append(ids, e.ID)
	}
	return ids, nil
}

func criteria(ts []slo.Target) []Criteria {
	out := make([]Criteria, len(ts))
	for i, t := range ts {
		out[i] = Criteria{Criteria: t.Criteria, TargetValue: t.TargetValue, Violated: t.Violated}
	}
	return out
}

// approvals adds each approval, with its votes and decision, to its stage; the audit trail's parts of
// them come in audit. It returns the approvals' places in their stages.
func (b *builder) approvals() ([]*Approval, error) {
	as, err := b.r.ListApprovals(b.ctx, store.ApprovalQuery{DeliveryID: b.d.ID})
	if err != nil {
		return nil, err
	}
	type place struct {
		stage string
		i     int
	}
	var places []place
	for _, a := range as {
		b.seen(a.CreatedAt)
		b.seenPtr(a.DecidedAt)
		votes, err := b.r.ListVotes(b.ctx, a.ID)
		if err != nil {
			return nil, err
		}
		roles := a.Roles
		if roles == nil {
			roles = []string{}
		}
		ap := Approval{ID: a.ID, TaskRunID: a.TaskRunID, State: a.State, RequestedAt: utc(a.CreatedAt), ExpiresAt: utcPtr(a.ExpiresAt),
			Required: a.Required, EligibleRoles: roles, Requester: b.d.Actor, AllowRequester: a.AllowRequester, Votes: []Vote{},
			RefusedVotes: []AuditEntry{}, Reminders: []AuditEntry{}, Escalations: []AuditEntry{}, Overrides: []Override{}}
		for _, v := range votes {
			b.seen(v.CreatedAt)
			ap.Votes = append(ap.Votes, Vote{Voter: v.Voter, Platform: v.Platform, Decision: v.Decision, Reason: v.Reason, At: utc(v.CreatedAt)})
		}
		if a.State != store.ApprovalPending && a.DecidedAt != nil {
			dec := &Decision{State: a.State, By: a.DecidedBy, At: utc(*a.DecidedAt), Reason: a.Reason, How: HowVotes}
			switch a.State {
			case store.ApprovalExpired:
				dec.How = HowTimeout
			case store.ApprovalAborted:
				dec.How = HowAborted
			case store.ApprovalSuperseded:
				dec.How = HowSuperseded
			}
			ap.Decision = dec
			if dec.How != HowVotes {
				ap.Overrides = append(ap.Overrides, Override{Kind: dec.How, At: dec.At, By: dec.By, Reason: dec.Reason})
			}
		}
		if ap.Evidence, err = b.approvalEvidence(a); err != nil {
			return nil, err
		}
		if ap.Changes, err = b.approvalChanges(a); err != nil {
			return nil, err
		}
		s := b.stage(a.Stage)
		s.Approvals = append(s.Approvals, ap)
		places = append(places, place{a.Stage, len(s.Approvals) - 1})
	}
	out := make([]*Approval, len(places))
	for i, pl := range places {
		out[i] = &b.stages[pl.stage].Approvals[pl.i]
	}
	return out, nil
}

// audit reads the entries on each target, merges them oldest first, and sorts those that belong to an
// approval's ladder, its refused votes, or a freeze into their sections as well.
func (b *builder) audit(targets []string, approvals []*Approval) error {
	byTarget := map[string]*Approval{}
	for _, a := range approvals {
		byTarget[target("approval", a.ID)] = a
	}
	var all []*store.AuditEntry
	for _, t := range targets {
		// One index range per target, each in time order; a delivery has a handful of targets.
		es, err := b.r.ListAudit(b.ctx, store.AuditQuery{Target: t, OldestFirst: true})
		if err != nil {
			return err
		}
		all = append(all, es...)
	}
	slices.SortFunc(all, func(x, y *store.AuditEntry) int {
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.ID, y.ID))
	})
	for _, e := range all {
		b.seen(e.At)
		entry := AuditEntry{ID: e.ID, At: utc(e.At), Actor: e.Actor, Platform: e.Platform, Channel: e.Channel, Action: e.Action,
			Target: e.Target, Allowed: e.Allowed, Reason: e.Reason, Details: e.Details}
		b.p.Audit = append(b.p.Audit, entry)
		if a := byTarget[e.Target]; a != nil {
			switch {
			case e.Action == ActionReminded:
				a.Reminders = append(a.Reminders, entry)
			case e.Action == ActionEscalated:
				a.Escalations = append(a.Escalations, entry)
			case !e.Allowed && isVote(e.Action):
				a.RefusedVotes = append(a.RefusedVotes, entry)
			}
		}
		if e.Target == target("delivery", b.d.ID) && slices.Contains([]string{ActionFrozen, ActionUnfreeze, ActionThawed}, e.Action) {
			b.p.Freezes = append(b.p.Freezes, entry)
		}
	}
	return nil
}

// isVote reports whether an audit action is a vote: the engine's approval.approve and approval.reject,
// and the API's approvals.decide.
func isVote(action string) bool {
	return action == "approval."+string(store.DecisionApprove) || action == "approval."+string(store.DecisionReject) ||
		action == "api.approvals.decide"
}

func target(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// approvalEvidence is what approval a showed its approvers, as stored with it when it was requested; nil
// for an approval from before shipgate stored it (the pack records, it does not reconstruct).
func (b *builder) approvalEvidence(a *store.Approval) (*ApprovalEvidence, error) {
	if len(a.Evidence) == 0 {
		return nil, nil
	}
	var ev engine.ApprovalEvidence
	if err := json.Unmarshal(a.Evidence, &ev); err != nil {
		return nil, fmt.Errorf("approval %d: evidence: %w", a.ID, err)
	}
	out := &ApprovalEvidence{CapturedAt: utc(ev.CapturedAt), RunningVersion: ev.Running.String()}
	if e := ev.Evaluation; e != nil {
		score := e.Score
		out.Stage, out.EvaluationID, out.Result, out.Score = e.Stage, e.ID, e.Result, &score
		var objectives []slo.Objective
		if len(e.Objectives) > 0 {
			if err := json.Unmarshal(e.Objectives, &objectives); err != nil {
				return nil, fmt.Errorf("approval %d: evidence objectives: %w", a.ID, err)
			}
		}
		for _, o := range objectives {
			if o.Status == slo.Warning || o.Status == slo.Fail {
				out.FailedObjectives = append(out.FailedObjectives, cmp.Or(o.DisplayName, o.SLI))
			}
		}
	}
	return out, nil
}

// approvalChanges is what approval a showed would change in its stage; nil when none were recorded
// (not a deployment that can be diffed, or the approval predates them).
func (b *builder) approvalChanges(a *store.Approval) (*Changes, error) {
	rec, err := b.r.GetApprovalChanges(b.ctx, a.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.seen(rec.CreatedAt)
	var sum engine.ChangeSummary
	if err := json.Unmarshal(rec.Summary, &sum); err != nil {
		return nil, fmt.Errorf("approval %d: changes: %w", a.ID, err)
	}
	out := &Changes{Summary: cmp.Or(sum.Short(), "manifests not diffed"), Diff: rec.Diff}
	if c := sum.Image; c != nil {
		out.Items = append(out.Items, Change{What: "image", From: c.Old, To: c.New})
	}
	if c := sum.Chart; c != nil {
		out.Items = append(out.Items, Change{What: "chart", From: c.Old, To: c.New})
	}
	for _, o := range sum.Objects {
		ch := Change{What: o.Kind + "/" + o.Name}
		switch {
		case o.Images != nil:
			ch.From, ch.To = o.Images.Old, o.Images.New
		case o.Change != engine.ObjectChanged:
			ch.To = o.Change
		case o.Keys > 0:
			ch.To = fmt.Sprintf("%d keys changed", o.Keys)
		default:
			ch.To = o.Change
		}
		out.Items = append(out.Items, ch)
	}
	return out, nil
}
