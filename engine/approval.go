package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// DefaultApproverRole may vote on approvals whose task names no approvers.
const DefaultApproverRole = "approver"

// approvalPolicy is an approval task's properties: Keptn's pass/warning strategies and shipgate's
// approvers, required, allow_self_approval, timeout and on_timeout, and the timeout ladder before the
// timeout: remind_every, escalate_after and escalate_to.
type approvalPolicy struct {
	pass, warning string
	roles         []string
	required      int
	allowSelf     bool
	timeout       time.Duration
	onTimeout     string
	remindEvery   time.Duration
	escalateAfter time.Duration
	escalateTo    []string
}

// stringList reads a property that is one string or a list of them.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, r := range v {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// positiveDuration reads a duration property; a missing, malformed or non-positive one is none
// (shipgate validate reports the malformed ones).
func positiveDuration(v any) time.Duration {
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

func parseApprovalPolicy(props map[string]any) approvalPolicy {
	p := approvalPolicy{required: 1, onTimeout: "reject", roles: []string{DefaultApproverRole}}
	p.pass, _ = props["pass"].(string)
	p.warning, _ = props["warning"].(string)
	if v, ok := props["approvers"]; ok {
		switch v.(type) {
		case string, []any:
			p.roles = stringList(v)
		}
	}
	switch v := props["required"].(type) {
	case int:
		p.required = max(v, 1)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			p.required = max(n, 1)
		}
	}
	p.allowSelf, _ = props["allow_self_approval"].(bool)
	if s, ok := props["timeout"].(string); ok {
		p.timeout, _ = time.ParseDuration(s)
	}
	if s, _ := props["on_timeout"].(string); s == "approve" {
		p.onTimeout = s
	}
	p.remindEvery = positiveDuration(props["remind_every"])
	p.escalateAfter = positiveDuration(props["escalate_after"])
	p.escalateTo = stringList(props["escalate_to"])
	return p
}

// strategy is Keptn's approval matrix: a fail result is declined automatically, pass and warning follow
// their property, and anything but "automatic" (including no property or no result) waits for people.
func (p approvalPolicy) strategy(result string) string {
	switch result {
	case string(store.ResultFail):
		return "automatic"
	case string(store.ResultPass):
		if p.pass == "automatic" {
			return "automatic"
		}
	case string(store.ResultWarning):
		if p.warning == "automatic" {
			return "automatic"
		}
	}
	return "manual"
}

// startApproval carries out an approval task: it sends approval.started at once (so, as since Keptn's
// fix for #4620, a manual approval never times out for lack of a .started), then decides automatically or
// opens the approval for votes.
func (t *txn) startApproval(d *store.Delivery, run *store.SequenceRun, tr *store.TaskRun, def config.Task, data map[string]any) error {
	result, _ := data["result"].(string)
	if result == "" { // approval as the first task: fall back to the evaluation's result (#4391)
		if ev, ok := data["evaluation"].(map[string]any); ok {
			result, _ = ev["result"].(string)
		}
	}
	policy := parseApprovalPolicy(def.Properties)
	strategy := policy.strategy(result)
	if _, err := t.markStarted(d, run, tr, fmt.Sprintf("Approval strategy for result '%s': %s", result, strategy)); err != nil {
		return err
	}
	if strategy == "automatic" {
		res := store.ResultPass
		if result == string(store.ResultFail) {
			res = store.ResultFail
		}
		return t.finishTask(tr.ID, tr.Attempt, Result{Result: res, Status: store.StatusSucceeded})
	}
	// What the approvers are shown is captured now, in the transaction that opens the approval, and
	// stored with it: later evaluations of the delivery never rewrite it.
	evidence, err := CaptureEvidence(t.ctx, t.Tx, d, run.Stage, t.Now())
	if err != nil {
		return err
	}
	rawEvidence, err := json.Marshal(evidence)
	if err != nil {
		return fmt.Errorf("approval evidence: %w", err)
	}
	a := &store.Approval{TaskRunID: tr.ID, Required: policy.required, Roles: policy.roles, AllowRequester: policy.allowSelf,
		RemindEvery: policy.remindEvery, Evidence: rawEvidence}
	if policy.escalateAfter > 0 && len(policy.escalateTo) > 0 {
		a.EscalateAfter, a.EscalateTo = policy.escalateAfter, policy.escalateTo
	}
	if policy.timeout > 0 {
		at := t.Now().Add(policy.timeout)
		a.ExpiresAt = &at
	}
	if err := t.CreateApproval(t.ctx, a); err != nil {
		return err
	}
	if _, err := t.UpdateSequenceRun(t.ctx, run.ID, store.SequenceRunUpdate{State: new(store.StateWaitingForApproval)}); err != nil {
		return err
	}
	t.approvalTimers(a)
	// What the delivery would change is computed after the commit: a dry run against a cluster is no
	// work for a transaction.
	j, err := t.changesJob(d, run, tr, data, a)
	if err != nil {
		return err
	}
	t.fx.changes = append(t.fx.changes, j)
	t.publish(d, Event{Type: EventApprovalWaiting, Stage: run.Stage, Sequence: run.Sequence, Task: tr.Name, TaskRunID: tr.ID,
		Result: store.Result(result), Data: data, Approval: t.approvalInfo(d, a, nil)})
	return t.refreshDelivery(d.ID)
}

func (t *txn) approvalInfo(d *store.Delivery, a *store.Approval, votes []*store.Vote) *ApprovalInfo {
	info := &ApprovalInfo{ID: a.ID, State: a.State, Required: a.Required, Roles: a.Roles, AllowRequester: a.AllowRequester,
		Requester: d.Actor, ExpiresAt: a.ExpiresAt, DecidedBy: a.DecidedBy, Reason: a.Reason,
		Reminders: a.Reminders, EscalatedAt: a.EscalatedAt}
	if a.EscalatedAt != nil {
		info.EscalatedTo = a.EscalateTo
	}
	for _, v := range votes {
		info.Voted = append(info.Voted, v.Voter)
	}
	for _, v := range votes {
		if v.Decision == store.DecisionApprove {
			info.Approvals = append(info.Approvals, v.Voter)
		}
	}
	return info
}

// Vote is one person's click on an approval.
type Vote struct {
	ApprovalID int64
	Actor      string   // the platform's user id
	Roles      []string // the shipgate roles the actor holds where the vote came from
	Decision   store.Decision
	Reason     string
	Platform   Platform
	Channel    string
	// Where is where the vote came from, for the checks that depend on it (authorizeVote); nil judges
	// the vote on its roles alone.
	Where *Where
}

// VoteOutcome says whether a vote counted and, when it did not, why.
type VoteOutcome struct {
	Counted bool
	// Refusal says why the vote was refused, nil when it counted (or, for CheckVote, would count).
	Refusal *Refusal
	// DeliveryID is the delivery the approval belongs to, 0 when there is no such approval; Delivery
	// is that delivery and Stage the approval's stage, for words about what was voted on.
	DeliveryID int64
	Delivery   *store.Delivery
	Stage      string
	Approval   ApprovalInfo
}

// Decide applies a vote. A refused vote is not an error: the outcome says why (wrong role, own delivery,
// already decided, already voted, no such approval), and the refusal is audited like every counted vote.
// One reject ends the approval; Required distinct approvals pass it. Votes are serialised, so two clicks
// at once never cause two transitions.
func (e *Engine) Decide(ctx context.Context, v Vote) (VoteOutcome, error) {
	var out VoteOutcome
	err := e.transition(ctx, func(t *txn) error {
		var err error
		out, err = t.decide(v, false)
		return err
	})
	return out, err
}

// CheckVote tells whether v would count, without casting it: the chat adapters ask before they open a
// dialog for a rejection's reason, so that someone who may not reject is told at once. A refusal is
// audited as Decide audits it; an allowed check records nothing, and the vote itself goes to Decide.
// Counted is always false; Refusal is nil when the vote would count.
func (e *Engine) CheckVote(ctx context.Context, v Vote) (VoteOutcome, error) {
	var out VoteOutcome
	err := e.transition(ctx, func(t *txn) error {
		var err error
		out, err = t.decide(v, true)
		return err
	})
	return out, err
}

const alreadyVoted = "you have already voted on this approval"

// Reason is why the vote was refused, or "" when it was not.
func (o VoteOutcome) Reason() string {
	if o.Refusal == nil {
		return ""
	}
	return o.Refusal.Reason
}

// decide casts v, or with check only tells whether it would count.
func (t *txn) decide(v Vote, check bool) (VoteOutcome, error) {
	s, refusal, err := t.authorizeVote(v)
	if err != nil {
		return VoteOutcome{}, err
	}
	refuse := func(r *Refusal) (VoteOutcome, error) {
		out := VoteOutcome{Refusal: r}
		if s.a != nil {
			out.Approval, out.DeliveryID, out.Delivery, out.Stage = *t.approvalInfo(s.d, s.a, s.votes), s.d.ID, s.d, s.a.Stage
		}
		return out, t.auditVote(v, s.a, false, r.Reason)
	}
	if refusal != nil {
		return refuse(refusal)
	}
	a, d, votes := s.a, s.d, s.votes
	if check {
		return VoteOutcome{Approval: *t.approvalInfo(d, a, votes), DeliveryID: d.ID, Delivery: d, Stage: a.Stage}, nil
	}
	cast := &store.Vote{ApprovalID: a.ID, Voter: v.Actor, Platform: string(v.Platform), Decision: v.Decision, Reason: v.Reason}
	err = t.CastVote(t.ctx, cast)
	if errors.Is(err, store.ErrConflict) {
		return refuse(&Refusal{Code: RefusedVoted, Reason: alreadyVoted, Project: d.Project, DeliveryID: d.ID})
	}
	if err != nil {
		return VoteOutcome{}, err
	}
	if err := t.auditVote(v, a, true, ""); err != nil {
		return VoteOutcome{}, err
	}
	// Votes are serialised, so the cast one is the newest: no need to read them again.
	votes = append(votes, cast)
	info := t.approvalInfo(d, a, votes)
	b := s.b
	t.publish(d, Event{Type: EventApprovalVoted, Stage: a.Stage, Sequence: b.Sequence, Task: b.Task, TaskRunID: a.TaskRunID, Message: v.Reason, Approval: info})
	switch {
	case v.Decision == store.DecisionReject:
		msg := "rejected by " + v.Actor
		if v.Reason != "" {
			msg += ": " + v.Reason
		}
		a, err = t.closeApproval(a, b.Attempt, store.ApprovalRejected, v.Actor, msg, store.ResultFail)
	case len(info.Approvals) >= a.Required:
		a, err = t.closeApproval(a, b.Attempt, store.ApprovalApproved, strings.Join(info.Approvals, ", "), "approved by "+strings.Join(info.Approvals, ", "), store.ResultPass)
	}
	if err != nil {
		return VoteOutcome{}, err
	}
	return VoteOutcome{Counted: true, Approval: *t.approvalInfo(d, a, votes), DeliveryID: d.ID, Delivery: d, Stage: a.Stage}, nil
}

// auditVote records a vote, cast or refused; a is nil for a vote on an approval that does not exist.
func (t *txn) auditVote(v Vote, a *store.Approval, allowed bool, reason string) error {
	details := map[string]any{"roles": v.Roles, "reason": v.Reason}
	if a != nil {
		details["delivery"], details["stage"] = a.DeliveryID, a.Stage
	}
	if v.Where != nil && v.Where.Token != "" {
		details["token"] = v.Where.Token
	}
	if v.Where != nil && v.Where.Thread != "" {
		details["thread"] = truncate.Bytes(v.Where.Thread, 100)
	}
	return t.AppendAudit(t.ctx, &store.AuditEntry{Actor: v.Actor, Platform: string(v.Platform), Channel: v.Channel,
		Action: "approval." + string(v.Decision), Target: fmt.Sprintf("approval:%d", v.ApprovalID), Allowed: allowed, Reason: reason,
		Details: mustJSON(details)})
}

// closeApproval decides an approval; its task ends with result in the transition that follows, so that
// a vote's transaction stays small and its answer quick. If the process stops in between, recover ends
// the task from the decided approval (approvalOutcome).
func (t *txn) closeApproval(a *store.Approval, attempt int, state store.ApprovalState, by, msg string, result store.Result) (*store.Approval, error) {
	a, err := t.DecideApproval(t.ctx, a.ID, state, by, msg)
	if err != nil {
		return nil, err
	}
	id, res := a.TaskRunID, approvalOutcome(a, result)
	t.fx.later = append(t.fx.later, &owed{key: resultKey(id, attempt), what: fmt.Sprintf("result of approval task run %d", id),
		fn:       func(t *txn) error { return t.finishTask(id, attempt, res) },
		fallback: recordResultFallback(id, attempt)})
	return a, nil
}

// approvalOutcome is the result an approval task ends with once its approval is decided.
func approvalOutcome(a *store.Approval, result store.Result) Result {
	return Result{Result: result, Status: store.StatusSucceeded, Message: a.Reason,
		Data: map[string]any{"approval": map[string]any{"state": string(a.State), "decidedBy": a.DecidedBy}}}
}

// decidedResult is the result of a decided approval, read back from the store: approved passes, rejected
// fails, and an expired one follows its task's on_timeout.
func decidedResult(a *store.Approval, policy approvalPolicy) store.Result {
	switch {
	case a.State == store.ApprovalApproved:
		return store.ResultPass
	case a.State == store.ApprovalExpired && policy.onTimeout == "approve":
		return store.ResultPass
	}
	return store.ResultFail
}

// expiryTimer applies an approval's on_timeout when nobody decided in time.
func (t *txn) expiryTimer(approvalID int64, at time.Time) {
	t.fx.timers = append(t.fx.timers, timer{key: fmt.Sprintf("approval/%d", approvalID), at: at, fn: func(_ context.Context, t *txn) error {
		a, err := t.GetApproval(t.ctx, approvalID)
		if err != nil || a.State != store.ApprovalPending {
			return err
		}
		tr, err := t.GetTaskRun(t.ctx, a.TaskRunID)
		if err != nil {
			return err
		}
		tc, err := t.loadTask(tr)
		if err != nil {
			return err
		}
		policy := parseApprovalPolicy(tc.def.Properties)
		if policy.onTimeout == "approve" {
			_, err = t.closeApproval(a, tr.Attempt, store.ApprovalExpired, "", fmt.Sprintf("approved automatically: nobody decided within %s", policy.timeout), store.ResultPass)
			return err
		}
		_, err = t.closeApproval(a, tr.Attempt, store.ApprovalExpired, "", fmt.Sprintf("rejected: nobody decided within %s", policy.timeout), store.ResultFail)
		return err
	}})
}

// supersede ends older deliveries' approvals in the same project, stage and service when a newer
// delivery arrives there: approving them now would promote a build that is already out of date.
func (t *txn) supersede(d *store.Delivery, newer *store.SequenceRun) error {
	runs, err := t.ListSequenceRuns(t.ctx, store.SequenceRunQuery{Project: d.Project, Stage: newer.Stage, Service: d.Service,
		States: []store.SequenceState{store.StateWaitingForApproval}})
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.DeliveryID == d.ID {
			continue
		}
		older, err := t.GetDelivery(t.ctx, r.DeliveryID)
		if err != nil {
			return err
		}
		if err := t.abortSequence(older, r, fmt.Sprintf("superseded by delivery %d", d.ID), store.ApprovalSuperseded); err != nil {
			return err
		}
	}
	return nil
}
