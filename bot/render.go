package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// maxResultText bounds the result a task reply quotes; the whole message is in the event log.
const maxResultText = 300

// version is what people call a build: its version label, else the image tag, else the image.
func version(image string, labels map[string]string) string { return engine.VersionOf(image, labels) }

// who names the person behind an action: a mention on the platform they acted from, else the name
// with where it came from (a CI token's name, "api").
func who(actor, source string, ch *config.ChannelBinding) string {
	switch {
	case actor == "":
		return "shipgate"
	case ch != nil && source == ch.Platform:
		return mention(actor)
	case source != "":
		return actor + " (" + source + ")"
	}
	return actor
}

func mention(id string) string { return "<@" + id + ">" }

// clock formats a time as messages show it.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// duration rounds a duration for people: tenths of seconds under a minute, whole seconds above, and
// without the zero units Go prints ("1h", not "1h0m0s").
func duration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// stageState maps a sequence run to the root card's word for it.
func stageState(r *store.SequenceRun) StageState {
	switch r.State {
	case store.StateTriggered:
		return StageQueued
	case store.StateStarted, store.StateWaiting:
		return StageRunning
	case store.StateWaitingForApproval:
		return StageWaiting
	case store.StatePaused:
		return StagePaused
	case store.StateFrozen:
		return StageFrozen
	case store.StateAborted:
		return StageAborted
	case store.StateTimedOut:
		return StageTimedOut
	}
	return resultState(r.Result)
}

func resultState(r store.Result) StageState {
	switch r {
	case store.ResultPass:
		return StagePassed
	case store.ResultWarning:
		return StageWarning
	case store.ResultFail:
		return StageFailed
	}
	return StageRunning
}

// deliveryState describes a delivery's overall state in words.
func deliveryState(d *store.Delivery) string {
	switch d.State {
	case store.StateFinished:
		return fmt.Sprintf("%s %s", resultState(d.Result).Emoji(), orNone(string(d.Result)))
	case store.StateWaitingForApproval:
		return "✋ waiting for approval"
	case store.StateTriggered:
		return "🕓 queued"
	case store.StateStarted, store.StateWaiting:
		return "⏳ running"
	case store.StatePaused:
		return "⏸️ paused"
	case store.StateFrozen:
		return StageFrozen.Emoji() + " frozen"
	case store.StateAborted:
		return "🛑 aborted"
	case store.StateTimedOut:
		return "⌛ timed out"
	}
	return string(d.State)
}

func orNone(s string) string {
	if s == "" {
		return "no result"
	}
	return s
}

// renderRoot is a delivery's root card as shown in channel ch: what is delivered, by whom, and one
// status per stage of the shipyard.
func (b *Bot) renderRoot(ctx context.Context, ch *config.ChannelBinding, deliveryID int64) (Message, error) {
	d, err := b.st.GetDelivery(ctx, deliveryID)
	if err != nil {
		return Message{}, err
	}
	runs, err := b.st.ListSequenceRuns(ctx, store.SequenceRunQuery{DeliveryID: d.ID})
	if err != nil {
		return Message{}, err
	}
	stages, err := b.stageStatuses(ctx, d, runs)
	if err != nil {
		return Message{}, err
	}
	m := Message{
		Header: fmt.Sprintf("Delivery #%d: %s %s", d.ID, d.Service, version(d.Image, d.Labels)),
		Stages: stages,
		Fields: []Field{
			{"Project", d.Project},
			{"Service", d.Service},
			{"Image", "`" + d.Image + "`"},
			{"Triggered by", who(d.Actor, d.Source, ch)},
			{"State", deliveryState(d)},
		},
	}
	if d.State.Terminal() && d.Message != "" && d.Result != store.ResultPass {
		m.Text = truncate.Bytes(d.Message, maxResultText)
	}
	for _, r := range runs {
		if r.State == store.StateFrozen {
			// Why it waits, and until when, in the window's own words.
			text := fmt.Sprintf("%s %s is frozen by %s", StageFrozen.Emoji(), r.Stage, frozenNote(r))
			if r.FreezeMessage != "" {
				text += ": " + truncate.Bytes(r.FreezeMessage, maxResultText)
			}
			m.Text = text
		}
	}
	ctxLine := "started " + clock(d.CreatedAt)
	if d.FinishedAt != nil {
		ctxLine += " · took " + duration(d.FinishedAt.Sub(d.CreatedAt))
	}
	m.Context = []string{ctxLine, "Keptn context " + d.KeptnContext}
	return m, nil
}

// stageStatuses gives each stage of the delivery's shipyard its state: that of the first sequence run
// there (the one the delivery chain triggered); later runs (rollback, remediation) are noted beside it.
func (b *Bot) stageStatuses(ctx context.Context, d *store.Delivery, runs []*store.SequenceRun) ([]StageStatus, error) {
	var names []string
	if p := b.projects[d.Project]; p != nil {
		names = p.Shipyard.StageNames()
	}
	for _, r := range runs {
		if !slices.Contains(names, r.Stage) {
			names = append(names, r.Stage)
		}
	}
	out := make([]StageStatus, 0, len(names))
	for _, name := range names {
		s := StageStatus{Stage: name, State: StageNotReached}
		first := true
		var notes []string
		for _, r := range runs {
			if r.Stage != name {
				continue
			}
			if first {
				first = false
				s.State = stageState(r)
				if r.State == store.StateWaitingForApproval {
					note, err := b.approvalProgress(ctx, r)
					if err != nil {
						return nil, err
					}
					notes = append(notes, note)
				}
				if r.State == store.StateFrozen {
					notes = append(notes, frozenNote(r))
				}
				continue
			}
			notes = append(notes, r.Sequence+" "+stageState(r).Emoji())
		}
		s.Detail = strings.Join(notes, ", ")
		out = append(out, s)
	}
	return out, nil
}

// frozenNote is "weekend until 2026-06-08 06:00 UTC" for a run a freeze window holds.
func frozenNote(r *store.SequenceRun) string {
	note := r.FreezeName
	if r.FrozenUntil != nil {
		note += " until " + clock(*r.FrozenUntil)
	}
	return note
}

// approvalProgress is "1 of 2 approvals" for the pending approval of a sequence run waiting for one.
func (b *Bot) approvalProgress(ctx context.Context, r *store.SequenceRun) (string, error) {
	approvals, err := b.st.ListApprovals(ctx, store.ApprovalQuery{DeliveryID: r.DeliveryID, State: store.ApprovalPending})
	if err != nil {
		return "", err
	}
	for _, a := range approvals {
		if a.Stage != r.Stage {
			continue
		}
		votes, err := b.st.ListVotes(ctx, a.ID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d of %d approvals", countApprovals(votes), a.Required), nil
	}
	return "", nil
}

func countApprovals(votes []*store.Vote) int {
	n := 0
	for _, v := range votes {
		if v.Decision == store.DecisionApprove {
			n++
		}
	}
	return n
}

// renderTaskStarted is the thread reply when a task starts.
func renderTaskStarted(ev engine.Event) Message {
	text := fmt.Sprintf("%s · `%s` started", ev.Stage, ev.Task)
	if ev.Task == "approval" && ev.Message != "" {
		text += ": " + ev.Message
	}
	return Message{Text: text}
}

// renderTaskFinished is the thread reply when a task ends: its result, how long it took, and the short
// result message its executor gave (a Helm revision, a test summary, an evaluation score).
func renderTaskFinished(ev engine.Event, tr *store.TaskRun) Message {
	state := resultState(ev.Result)
	if ev.Status == store.StatusErrored && ev.Result == store.ResultFail {
		state = StageFailed
	}
	text := fmt.Sprintf("%s · `%s` %s %s", ev.Stage, ev.Task, state.Emoji(), orNone(string(ev.Result)))
	if ev.Status == store.StatusErrored {
		text += " (errored)"
	}
	if tr != nil && tr.StartedAt != nil && tr.FinishedAt != nil {
		text += " in " + duration(tr.FinishedAt.Sub(*tr.StartedAt))
	}
	if ev.Message != "" {
		text += ": " + truncate.Bytes(ev.Message, maxResultText)
	}
	return Message{Text: text}
}

// renderScoreTable is the thread reply of a finished evaluation: the same rows as `shipgate evaluate
// --output table`, the total score, and the objectives that did not pass.
func renderScoreTable(ev engine.Event, scored slo.Evaluation, tr *store.TaskRun) Message {
	reply := renderTaskFinished(ev, tr)
	m := Message{
		Header: fmt.Sprintf("%s evaluation: %s", ev.Stage, strings.ToUpper(string(ev.Result))),
		Table:  &Table{Columns: slo.TableHeader, Rows: scored.Rows(), Summary: scored.Summary()},
		Text:   reply.Text,
	}
	if bad := notPassed(scored.Objectives); bad != "" {
		m.Text += "\nNot passed: " + bad
	}
	if len(scored.ComparedIDs) > 0 {
		m.Context = []string{fmt.Sprintf("baseline: %d earlier evaluation(s)", len(scored.ComparedIDs))}
	} else {
		m.Context = []string{"baseline: none (no earlier evaluation to compare with)"}
	}
	return m
}

// notPassed lists the objectives whose status is warning or fail, with their value and the criteria
// they broke.
func notPassed(objectives []slo.Objective) string {
	var parts []string
	for _, o := range objectives {
		if o.Status != slo.Warning && o.Status != slo.Fail {
			continue
		}
		name := o.DisplayName
		if name == "" {
			name = o.SLI
		}
		value := "no value"
		if o.Value != nil {
			value = fmt.Sprintf("%g", *o.Value)
		}
		var broke []string
		for _, t := range o.PassTargets {
			if t.Violated {
				broke = append(broke, t.Criteria)
			}
		}
		s := fmt.Sprintf("%s %s (%s", name, o.Status, value)
		if len(broke) > 0 {
			s += "; broke " + strings.Join(broke, ", ")
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, "; ")
}

// renderNote is a one-line thread reply (paused, resumed, a sequence that finished).
func renderNote(text string) Message { return Message{Text: text} }

// renderApproval is an approval request as shown in channel ch: what is promoted and what was there,
// the evidence, who may approve and how many must, the timeout, and the buttons while it is pending;
// once decided, who decided, when and why.
func (b *Bot) renderApproval(ctx context.Context, ch *config.ChannelBinding, approvalID int64) (Message, error) {
	a, err := b.st.GetApproval(ctx, approvalID)
	if err != nil {
		return Message{}, err
	}
	d, err := b.st.GetDelivery(ctx, a.DeliveryID)
	if err != nil {
		return Message{}, err
	}
	votes, err := b.st.ListVotes(ctx, a.ID)
	if err != nil {
		return Message{}, err
	}
	ev, err := engine.ApprovalEvidenceOf(ctx, b.st, a, d)
	if err != nil {
		return Message{}, err
	}
	previous, evidence := ev.Running.String(), evidenceLine(ev.Evaluation)
	ver := version(d.Image, d.Labels)
	m := Message{
		Header: fmt.Sprintf("Approval: %s %s to %s", d.Service, ver, a.Stage),
		Fields: []Field{
			{"Service", d.Service},
			{"Version", ver},
			{"Image", "`" + d.Image + "`"},
			{"Now in " + a.Stage, previous},
			{"Requested by", who(d.Actor, d.Source, ch)},
			{"Evidence", evidence},
		},
	}
	if line, err := b.changesLine(ctx, a.ID); err != nil {
		return Message{}, err
	} else if line != "" {
		m.Fields = append(m.Fields, Field{"Changes", line})
	}
	approvers := "role " + strings.Join(a.Roles, " or ")
	if ms := b.approverMentions(ctx, ch, a.Roles); len(ms) > 0 {
		approvers += ": " + strings.Join(ms, ", ")
	} else {
		approvers += " (nobody holds it in this channel)"
	}
	if !a.AllowRequester && d.Actor != "" {
		approvers += "; not the requester"
	}
	m.Fields = append(m.Fields, Field{"Approvers", approvers})
	progress := fmt.Sprintf("%d of %d", countApprovals(votes), a.Required)
	if names := voterList(votes, store.DecisionApprove, ch); names != "" {
		progress += ": " + names
	}
	m.Fields = append(m.Fields, Field{"Approvals", progress})
	if a.ExpiresAt != nil {
		exp := clock(*a.ExpiresAt)
		if a.State == store.ApprovalPending {
			if left := a.ExpiresAt.Sub(b.now()); left > 0 {
				exp += " (in " + duration(left.Round(time.Minute)) + ")"
			}
		}
		m.Fields = append(m.Fields, Field{"Expires", exp})
	}
	if ladder := ladderLine(a); ladder != "" {
		m.Fields = append(m.Fields, Field{"Reminders", ladder})
	}
	m.Context = []string{fmt.Sprintf("delivery #%d · approval %d", d.ID, a.ID)}
	if a.State == store.ApprovalPending {
		// Whom the request asks: not the requester, who may not approve, nor who has voted already.
		var skip []string
		if !a.AllowRequester {
			skip = append(skip, d.Actor)
		}
		for _, v := range votes {
			skip = append(skip, v.Voter)
		}
		m.Notify = b.approverNotify(ch, a.Roles, skip)
		value := approvalValue(a.ID)
		m.Buttons = []Button{
			{ActionID: ActionApprove, Label: "✅ Approve", Value: value, Style: StylePrimary,
				Confirm: &Confirm{Title: "Approve?", Text: fmt.Sprintf("Promote %s %s to %s.", d.Service, ver, a.Stage), Yes: "Approve", No: "Cancel"}},
			{ActionID: ActionReject, Label: "❌ Reject", Value: value, Style: StyleDanger},
		}
		return m, nil
	}
	m.Text = decisionLine(a, votes, ch)
	return m, nil
}

// ladderLine is the approval card's account of its timeout ladder: what it did ("reminded 2×, escalated
// to @engineering-leads at …") and, while pending, what it will do next; "" for an approval without one.
func ladderLine(a *store.Approval) string {
	var parts []string
	if a.Reminders > 0 {
		parts = append(parts, fmt.Sprintf("reminded %d×", a.Reminders))
	}
	if a.EscalatedAt != nil {
		parts = append(parts, fmt.Sprintf("escalated to %s at %s", roleMentions(a.EscalateTo), clock(*a.EscalatedAt)))
	}
	if next, ok := a.NextReminder(); ok {
		parts = append(parts, "next reminder "+clock(next))
	}
	if at, ok := a.EscalatesAt(); ok {
		parts = append(parts, fmt.Sprintf("escalates to %s at %s", roleMentions(a.EscalateTo), clock(at)))
	}
	return strings.Join(parts, ", ")
}

// roleMentions names shipgate roles as the card shows them, "@engineering-leads, @sre": roles, not
// platform groups, so they notify nobody; the people behind them are pinged by Notify.
func roleMentions(roles []string) string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = "@" + r
	}
	return strings.Join(out, ", ")
}

// renderLadderStep is the thread reply of a reminder or an escalation of a pending approval: it asks
// again, pinging those who may still vote (a reminder: every approver who has not voted; an escalation:
// the roles it adds), never the requester who may not approve.
func (b *Bot) renderLadderStep(ch *config.ChannelBinding, ev engine.Event) Message {
	a := ev.Approval
	skip := slices.Clone(a.Voted)
	if !a.AllowRequester {
		skip = append(skip, a.Requester)
	}
	progress := fmt.Sprintf("%d of %d approvals", len(a.Approvals), a.Required)
	if ev.Type == engine.EventApprovalEscalated {
		return Message{
			Text: fmt.Sprintf("%s · ⏫ Escalated to %s: approval %d is still waiting (%s), and %s may decide it now.",
				ev.Stage, roleMentions(a.EscalatedTo), a.ID, progress, roleMentions(a.EscalatedTo)),
			Notify: b.approverNotify(ch, a.EscalatedTo, skip),
		}
	}
	text := fmt.Sprintf("%s · ⏰ Reminder %d: approval %d is still waiting (%s)", ev.Stage, a.Reminders, a.ID, progress)
	if a.ExpiresAt != nil {
		text += "; it expires " + clock(*a.ExpiresAt)
	}
	return Message{Text: text + ".", Notify: b.approverNotify(ch, a.Roles, skip)}
}

// decisionLine says how a decided approval ended: who, when and why.
func decisionLine(a *store.Approval, votes []*store.Vote, ch *config.ChannelBinding) string {
	at := ""
	if a.DecidedAt != nil {
		at = " at " + clock(*a.DecidedAt)
	}
	switch a.State {
	case store.ApprovalApproved:
		return fmt.Sprintf("✅ Approved by %s%s", voterList(votes, store.DecisionApprove, ch), at)
	case store.ApprovalRejected:
		line := fmt.Sprintf("❌ Rejected by %s%s", voterList(votes, store.DecisionReject, ch), at)
		for _, v := range votes {
			if v.Decision == store.DecisionReject && v.Reason != "" {
				line += ": " + truncate.Bytes(v.Reason, maxResultText)
			}
		}
		return line
	case store.ApprovalExpired:
		return "⌛ Expired" + at + ": " + a.Reason
	case store.ApprovalSuperseded:
		return "⏭️ Superseded" + at + ": " + a.Reason
	case store.ApprovalAborted:
		return "🛑 Closed" + at + ": " + a.Reason
	}
	return string(a.State) + at
}

// voterList names who voted d as the channel's platform shows people: a mention for its own users, and
// the id with the platform for someone who voted on another platform or through the API.
func voterList(votes []*store.Vote, d store.Decision, ch *config.ChannelBinding) string {
	var names []string
	for _, v := range votes {
		if v.Decision == d {
			names = append(names, who(v.Voter, string(v.Platform), ch))
		}
	}
	return strings.Join(names, ", ")
}

// evidenceLine is the evaluation the approvers were shown: score, result and the objectives that did
// not pass.
func evidenceLine(e *engine.EvidenceEvaluation) string {
	if e == nil {
		return "no evaluation"
	}
	s := fmt.Sprintf("%s evaluation %s, score %s", e.Stage, resultState(e.Result).Emoji()+" "+string(e.Result), slo.FormatScore(e.Score))
	var objectives []slo.Objective
	if len(e.Objectives) > 0 && json.Unmarshal(e.Objectives, &objectives) == nil {
		if bad := notPassed(objectives); bad != "" {
			s += "; not passed: " + bad
		}
	}
	return s
}

// changesLine is the approval card's line on what the delivery changes in the stage, from the changes
// recorded with the approval: the chart and the manifests' objects. It is "" before they are recorded,
// and when the deployment is not one that is diffed: the card's Image and "Now in" fields already say
// image old → new.
func (b *Bot) changesLine(ctx context.Context, approvalID int64) (string, error) {
	rec, err := b.st.GetApprovalChanges(ctx, approvalID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var s engine.ChangeSummary
	if err := json.Unmarshal(rec.Summary, &s); err != nil {
		return "", fmt.Errorf("changes of approval %d: %w", approvalID, err)
	}
	if !s.Diffed && s.Error == "" {
		return "", nil
	}
	return changesSummary(s, rec.Diff != ""), nil
}

// changesSummary says in one line what changes: "chart a-0.1.0 → a-0.2.0 · 3 objects change: …".
func changesSummary(s engine.ChangeSummary, diffInThread bool) string {
	var parts []string
	if c := s.Chart; c != nil && c.Old != c.New {
		parts = append(parts, fmt.Sprintf("chart %s → %s", orNone(c.Old), c.New))
	}
	if short := s.Short(); short != "" {
		parts = append(parts, truncate.Bytes(short, maxResultText))
	}
	line := strings.Join(parts, " · ")
	if diffInThread {
		line += " (diff in the thread)"
	}
	return line
}

// renderChanges is the thread reply with what a delivery changes in a stage: the summary, then the
// manifests' diff as a code block.
func renderChanges(ev engine.Event) Message {
	s := ev.Changes.Summary
	return Message{
		Text: fmt.Sprintf("%s · what changes: %s", ev.Stage, changesSummary(s, false)),
		Code: &CodeBlock{Language: "diff", Text: ev.Changes.Diff, Filename: fmt.Sprintf("delivery-%d-%s.diff", ev.DeliveryID, ev.Stage)},
	}
}

// approvalValue is the opaque id an approval's buttons carry.
func approvalValue(id int64) string { return fmt.Sprintf("approval-%d", id) }
