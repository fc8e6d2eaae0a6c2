package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
)

// The JSON a delivery is answered with. Names are camelCase, as in Keptn's API; states, results and
// statuses are Keptn's words. Times are RFC 3339 in UTC; absent ones are left out.

// deliverySummary is a delivery without its stages: what a list and a trigger answer hold.
type deliverySummary struct {
	ID           int64               `json:"id"`
	KeptnContext string              `json:"keptnContext"`
	URL          string              `json:"url"`
	Project      string              `json:"project"`
	Service      string              `json:"service"`
	Image        string              `json:"image"`
	Labels       map[string]string   `json:"labels,omitempty"`
	Values       json.RawMessage     `json:"values,omitempty"`
	Stage        string              `json:"stage"`    // the stage it was triggered in
	Sequence     string              `json:"sequence"` // the sequence it was triggered with
	State        store.SequenceState `json:"state"`
	Result       store.Result        `json:"result,omitempty"`
	// WorstResult is the worst task result seen, which Keptn's Result (the last sequence's) can hide.
	WorstResult store.Result `json:"worstResult,omitempty"`
	Message     string       `json:"message,omitempty"`
	Actor       string       `json:"actor"`
	Source      string       `json:"source"`
	CreatedAt   time.Time    `json:"createdAt"`
	UpdatedAt   time.Time    `json:"updatedAt"`
	FinishedAt  *time.Time   `json:"finishedAt,omitempty"`
}

// deliveryView is one delivery in full: every stage it reached, with sequences, tasks, evaluations and
// approvals, and the chat messages posted for it.
type deliveryView struct {
	deliverySummary
	Stages []stageView `json:"stages"`
	Chat   []chatView  `json:"chat"`
}

type stageView struct {
	Name        string           `json:"name"`
	Sequences   []sequenceView   `json:"sequences"`
	Evaluations []evaluationView `json:"evaluations"`
	Approvals   []approvalView   `json:"approvals"`
}

type sequenceView struct {
	ID          int64               `json:"id"`
	Name        string              `json:"name"`
	State       store.SequenceState `json:"state"`
	Result      store.Result        `json:"result,omitempty"`
	Status      store.Status        `json:"status,omitempty"`
	Message     string              `json:"message,omitempty"`
	TriggeredAt time.Time           `json:"triggeredAt"`
	StartedAt   *time.Time          `json:"startedAt,omitempty"`
	FinishedAt  *time.Time          `json:"finishedAt,omitempty"`
	Tasks       []taskView          `json:"tasks"`
}

// taskView is a task run without the data it returned, which can be large and is in the event log;
// an evaluation task carries its evaluation's summary instead.
type taskView struct {
	ID          int64              `json:"id"`
	Name        string             `json:"name"`
	Executor    string             `json:"executor,omitempty"`
	State       store.TaskState    `json:"state"`
	Result      store.Result       `json:"result,omitempty"`
	Status      store.Status       `json:"status,omitempty"`
	Message     string             `json:"message,omitempty"`
	Attempt     int                `json:"attempt"`
	TriggeredAt time.Time          `json:"triggeredAt"`
	StartedAt   *time.Time         `json:"startedAt,omitempty"`
	FinishedAt  *time.Time         `json:"finishedAt,omitempty"`
	Evaluation  *evaluationSummary `json:"evaluation,omitempty"`
}

type evaluationSummary struct {
	ID     int64        `json:"id"`
	Result store.Result `json:"result"`
	Score  float64      `json:"score"`
}

type evaluationView struct {
	evaluationSummary
	TaskRunID   int64           `json:"taskRunId,omitempty"`
	Status      store.Status    `json:"status,omitempty"`
	Message     string          `json:"message,omitempty"`
	TimeStart   time.Time       `json:"timeStart"`
	TimeEnd     time.Time       `json:"timeEnd"`
	Objectives  []objectiveView `json:"objectives"`
	ComparedIDs []int64         `json:"comparedIds,omitempty"`
	Invalidated bool            `json:"invalidated,omitempty"`
}

// objectiveView is one SLO objective's outcome (engine/slo.Objective) in the API's naming.
type objectiveView struct {
	SLI            string       `json:"sli"`
	DisplayName    string       `json:"displayName,omitempty"`
	Value          *float64     `json:"value"`
	ComparedValue  *float64     `json:"comparedValue"`
	Status         string       `json:"status"`
	Score          float64      `json:"score"`
	Weight         int          `json:"weight"`
	KeySLI         bool         `json:"keySli"`
	PassTargets    []targetView `json:"passTargets"`
	WarningTargets []targetView `json:"warningTargets"`
	Message        string       `json:"message,omitempty"`
}

type targetView struct {
	Criteria    string  `json:"criteria"`
	TargetValue float64 `json:"targetValue"`
	Violated    bool    `json:"violated"`
}

type approvalView struct {
	ID             int64               `json:"id"`
	Stage          string              `json:"stage"`
	State          store.ApprovalState `json:"state"`
	Required       int                 `json:"required"`
	Roles          []string            `json:"roles"`
	AllowRequester bool                `json:"allowRequester"`
	Voters         []voterView         `json:"voters"`
	DecidedBy      string              `json:"decidedBy,omitempty"`
	Reason         string              `json:"reason,omitempty"`
	CreatedAt      time.Time           `json:"createdAt"`
	DecidedAt      *time.Time          `json:"decidedAt,omitempty"`
	ExpiresAt      *time.Time          `json:"expiresAt,omitempty"`
	// The timeout ladder: the reminders sent and the latest one's time, and the roles an escalation
	// added to roles with when (absent before it, or without one).
	Reminders      int        `json:"reminders,omitempty"`
	LastRemindedAt *time.Time `json:"lastRemindedAt,omitempty"`
	EscalatedTo    []string   `json:"escalatedTo,omitempty"`
	EscalatedAt    *time.Time `json:"escalatedAt,omitempty"`
}

type voterView struct {
	Actor    string          `json:"actor"`
	Platform engine.Platform `json:"platform"`
	Decision store.Decision  `json:"decision"`
	Reason   string          `json:"reason,omitempty"`
	Time     time.Time       `json:"time"`
}

// chatView is a message posted for the delivery: its ids, and for the root card a link from the
// platform (Slack's permalink) when a Linker is set, since a link needs what only the platform knows.
type chatView struct {
	Platform   engine.Platform   `json:"platform"`
	Channel    string            `json:"channel"`
	MessageID  string            `json:"messageId"`
	ThreadID   string            `json:"threadId,omitempty"`
	Kind       store.MessageKind `json:"kind"`
	ApprovalID int64             `json:"approvalId,omitempty"`
	// Link opens the message in the platform's client, where the platform can say (Slack's permalink);
	// given for the root card, whose thread holds the delivery's history.
	Link string `json:"link,omitempty"`
}

func (a *API) summary(d *store.Delivery) deliverySummary {
	return deliverySummary{ID: d.ID, KeptnContext: d.KeptnContext, URL: a.deliveryURL(d.ID), Project: d.Project, Service: d.Service,
		Image: d.Image, Labels: d.Labels, Values: d.Values, Stage: d.Stage, Sequence: d.Sequence, State: d.State, Result: d.Result,
		WorstResult: d.WorstResult, Message: d.Message, Actor: d.Actor, Source: d.Source, CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt), FinishedAt: utcPtr(d.FinishedAt)}
}

// view reads everything recorded about a delivery. The reads are separate, so a delivery that moves
// meanwhile may show a task a step ahead of its sequence; each part is itself consistent.
func (a *API) view(ctx context.Context, d *store.Delivery) (*deliveryView, error) {
	v := &deliveryView{deliverySummary: a.summary(d), Stages: []stageView{}, Chat: []chatView{}}
	stages := map[string]*stageView{}
	var order []string
	stage := func(name string) *stageView {
		if s, ok := stages[name]; ok {
			return s
		}
		s := &stageView{Name: name, Sequences: []sequenceView{}, Evaluations: []evaluationView{}, Approvals: []approvalView{}}
		stages[name] = s
		order = append(order, name)
		return s
	}

	evals, err := a.st.ListEvaluations(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	byTask := map[int64]*evaluationSummary{}
	for _, e := range evals {
		ev, err := evaluation(e)
		if err != nil {
			return nil, fmt.Errorf("evaluation %d: %w", e.ID, err)
		}
		s := stage(e.Stage)
		s.Evaluations = append(s.Evaluations, ev)
		if e.TaskRunID != 0 {
			byTask[e.TaskRunID] = &evaluationSummary{ID: e.ID, Result: e.Result, Score: e.Score}
		}
	}

	runs, err := a.st.ListSequenceRuns(ctx, store.SequenceRunQuery{DeliveryID: d.ID})
	if err != nil {
		return nil, err
	}
	tasks, err := a.st.ListTaskRuns(ctx, store.TaskRunQuery{DeliveryID: d.ID})
	if err != nil {
		return nil, err
	}
	byRun := map[int64][]taskView{}
	for _, t := range tasks {
		byRun[t.SequenceRunID] = append(byRun[t.SequenceRunID], taskView{ID: t.ID, Name: t.Name, Executor: t.Executor, State: t.State,
			Result: t.Result, Status: t.Status, Message: t.Message, Attempt: t.Attempt, TriggeredAt: utc(t.TriggeredAt),
			StartedAt: utcPtr(t.StartedAt), FinishedAt: utcPtr(t.FinishedAt), Evaluation: byTask[t.ID]})
	}
	for _, r := range runs {
		s := stage(r.Stage)
		ts := byRun[r.ID]
		if ts == nil {
			ts = []taskView{}
		}
		s.Sequences = append(s.Sequences, sequenceView{ID: r.ID, Name: r.Sequence, State: r.State, Result: r.Result, Status: r.Status,
			Message: r.Message, TriggeredAt: utc(r.TriggeredAt), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt), Tasks: ts})
	}

	approvals, err := a.st.ListApprovals(ctx, store.ApprovalQuery{DeliveryID: d.ID})
	if err != nil {
		return nil, err
	}
	for _, ap := range approvals {
		av, err := a.approval(ctx, ap)
		if err != nil {
			return nil, err
		}
		s := stage(ap.Stage)
		s.Approvals = append(s.Approvals, *av)
	}

	msgs, err := a.st.ListChatMessages(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		cv := chatView{Platform: engine.Platform(m.Platform), Channel: m.Channel, MessageID: m.MessageID, ThreadID: m.ThreadID, Kind: m.Kind, ApprovalID: m.ApprovalID}
		if a.links != nil && m.Kind == store.MessageRoot {
			cv.Link = a.links.MessageLink(ctx, engine.Platform(m.Platform), m.Channel, m.MessageID)
		}
		v.Chat = append(v.Chat, cv)
	}

	// Stages in the shipyard's order; one the shipyard no longer has goes last.
	rank := func(name string) int { return len(order) + slices.Index(order, name) }
	if p := a.projects[d.Project]; p != nil {
		names := p.Shipyard.StageNames()
		rank = func(name string) int {
			if i := slices.Index(names, name); i >= 0 {
				return i
			}
			return len(names) + slices.Index(order, name)
		}
	}
	slices.SortStableFunc(order, func(x, y string) int { return rank(x) - rank(y) })
	for _, name := range order {
		v.Stages = append(v.Stages, *stages[name])
	}
	return v, nil
}

// approval reads an approval's votes into its view.
func (a *API) approval(ctx context.Context, ap *store.Approval) (*approvalView, error) {
	votes, err := a.st.ListVotes(ctx, ap.ID)
	if err != nil {
		return nil, err
	}
	roles := ap.Roles
	if roles == nil {
		roles = []string{}
	}
	av := &approvalView{ID: ap.ID, Stage: ap.Stage, State: ap.State, Required: ap.Required, Roles: roles, AllowRequester: ap.AllowRequester,
		Voters: []voterView{}, DecidedBy: ap.DecidedBy, Reason: ap.Reason, CreatedAt: utc(ap.CreatedAt), DecidedAt: utcPtr(ap.DecidedAt),
		ExpiresAt: utcPtr(ap.ExpiresAt), Reminders: ap.Reminders, LastRemindedAt: utcPtr(ap.LastRemindedAt), EscalatedAt: utcPtr(ap.EscalatedAt)}
	if ap.EscalatedAt != nil {
		av.EscalatedTo = ap.EscalateTo
	}
	for _, vt := range votes {
		av.Voters = append(av.Voters, voterView{Actor: vt.Voter, Platform: engine.Platform(vt.Platform), Decision: vt.Decision, Reason: vt.Reason, Time: utc(vt.CreatedAt)})
	}
	return av, nil
}

// evaluation decodes an evaluation's per-objective results, which the engine stores as engine/slo
// objectives.
func evaluation(e *store.Evaluation) (evaluationView, error) {
	v := evaluationView{evaluationSummary: evaluationSummary{ID: e.ID, Result: e.Result, Score: e.Score}, TaskRunID: e.TaskRunID,
		Status: e.Status, Message: e.Message, TimeStart: utc(e.TimeStart), TimeEnd: utc(e.TimeEnd), Objectives: []objectiveView{},
		ComparedIDs: e.ComparedIDs, Invalidated: e.Invalidated}
	if len(e.Objectives) == 0 {
		return v, nil
	}
	var objectives []slo.Objective
	if err := json.Unmarshal(e.Objectives, &objectives); err != nil {
		return v, fmt.Errorf("decode objectives: %w", err)
	}
	for _, o := range objectives {
		v.Objectives = append(v.Objectives, objectiveView{SLI: o.SLI, DisplayName: o.DisplayName, Value: o.Value, ComparedValue: o.ComparedValue,
			Status: o.Status, Score: o.Score, Weight: o.Weight, KeySLI: o.KeySLI, PassTargets: targets(o.PassTargets),
			WarningTargets: targets(o.WarningTargets), Message: o.Message})
	}
	return v, nil
}

func targets(ts []slo.Target) []targetView {
	out := make([]targetView, len(ts))
	for i, t := range ts {
		out[i] = targetView{Criteria: t.Criteria, TargetValue: t.TargetValue, Violated: t.Violated}
	}
	return out
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
