package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// CommandRequest is a /deliver command as an adapter received it.
type CommandRequest struct {
	Actor Actor
	// Channel is where the command was typed: on platforms whose threads are channels of their own
	// (Discord), the thread's parent channel, with the thread in Thread.
	Channel string
	Thread  string
	Text    string
	// RequestID is the platform's id of this request (Slack's trigger_id, Discord's interaction id); a
	// request seen before is answered as it was the first time and does nothing again.
	RequestID string
}

// Reply answers a command.
type Reply struct {
	// Public shows the reply in the channel; otherwise only the person who asked sees it.
	Public  bool
	Message Message
	// Duplicate marks the answer to a request seen before: the adapter answers it and does nothing else.
	Duplicate bool `json:"-"`
}

// ClickRequest is a button click, or the submission of the dialog a click opened.
type ClickRequest struct {
	Actor Actor
	// Channel is the channel the clicked message is in; for a message in a thread, the thread's parent
	// channel, with the thread in Thread (a Slack thread_ts, a Discord thread's channel id).
	Channel   string
	Thread    string
	MessageID string
	ActionID  string // ActionApprove or ActionReject
	Value     string // the button's opaque value
	// Reason is the reason given in the dialog a reject click opened; ReasonGiven says the dialog was
	// submitted (or that the platform asks for no reason), so that the vote is cast now.
	Reason      string
	ReasonGiven bool
	RequestID   string
}

// ClickReply says what the adapter should do after acknowledging a click.
type ClickReply struct {
	// Private is shown to the clicker only: why the click was refused, or that it counted.
	Private *Message
	// AskReason asks the adapter to open a dialog for a rejection's reason, then to send the click again
	// with ReasonGiven.
	AskReason *ReasonRequest
	Duplicate bool `json:"-"`
}

// ReasonRequest is the dialog that asks why someone rejects.
type ReasonRequest struct {
	Value   string // the approval's opaque id, to send back with the reason
	Title   string
	Summary string
}

// idempotencyScope keeps each platform's request ids apart from the API's keys.
func idempotencyScope(p store.Platform) string { return string(p) + ".request" }

// HandleCommand answers a /deliver command. Everything it is asked, allowed or refused, is audited.
// It records what the command asks for (a delivery, an abort) before it returns, and the engine does
// the work after, so adapters can answer within the platform's deadline.
func (b *Bot) HandleCommand(ctx context.Context, req CommandRequest) Reply {
	var r Reply
	dup := b.once(ctx, req.Actor.Platform, req.RequestID, &r, func(au *auditTrail) (any, error) {
		var err error
		r, err = b.command(ctx, req, au)
		return r, err
	})
	r.Duplicate = dup
	return r
}

// HandleClick applies a click on an approval's buttons. Every click, allowed or refused, is audited.
func (b *Bot) HandleClick(ctx context.Context, req ClickRequest) ClickReply {
	var r ClickReply
	dup := b.once(ctx, req.Actor.Platform, req.RequestID, &r, func(au *auditTrail) (any, error) {
		var err error
		r, err = b.click(ctx, req, au)
		return r, err
	})
	r.Duplicate = dup
	return r
}

// once runs fn for a request id the first time it is seen, records its answer, and on any later
// sighting (a platform retry, a replayed request) decodes the recorded answer into out instead and
// reports true. When fn fails inside shipgate (it changed nothing), the claim is released so that a
// retry of the request can act. What fn audits is written with the answer, in one transaction, to keep
// the answer quick. Without an id, fn just runs.
func (b *Bot) once(ctx context.Context, platform store.Platform, id string, out any, fn func(*auditTrail) (any, error)) bool {
	au := &auditTrail{}
	if id == "" {
		_, _ = fn(au)
		b.write(ctx, au, nil)
		return false
	}
	scope := idempotencyScope(platform)
	var (
		rec   *store.IdempotencyRecord
		first bool
	)
	err := b.st.Update(ctx, func(tx *store.Tx) error {
		var err error
		rec, first, err = tx.ClaimIdempotencyKey(ctx, scope, id)
		return err
	})
	if err != nil {
		b.log.Error("claim request id", "platform", platform, "request", id, "err", err)
		_, _ = fn(au) // better to answer than to drop the request; the engine's own rules still hold
		b.write(ctx, au, nil)
		return false
	}
	if !first {
		if len(rec.Response) == 0 || json.Unmarshal(rec.Response, out) != nil {
			// The first request is still being answered (or left no answer): say so, do nothing.
			if r, ok := out.(*Reply); ok {
				*r = Reply{Message: Message{Text: "This request is already being handled."}}
			}
		}
		return true
	}
	answer, ferr := fn(au)
	if ferr != nil {
		b.write(ctx, au, func(tx *store.Tx) error { return tx.ReleaseIdempotencyKey(ctx, scope, id) })
		return false
	}
	raw, err := json.Marshal(answer)
	if err != nil {
		b.log.Error("record request answer", "platform", platform, "request", id, "err", err)
		raw = nil
	}
	b.write(ctx, au, func(tx *store.Tx) error { return tx.SetIdempotencyResult(ctx, scope, id, 0, raw) })
	return false
}

// auditTrail collects the audit entries of one request, written when its answer is recorded.
type auditTrail struct{ entries []*store.AuditEntry }

// add records a command or click that the engine did not audit itself.
func (au *auditTrail) add(a Actor, channel, action, target string, allowed bool, reason string, details map[string]any) {
	raw, _ := json.Marshal(details)
	au.entries = append(au.entries, &store.AuditEntry{Actor: a.ID, Platform: string(a.Platform), Channel: channel, Action: action,
		Target: target, Allowed: allowed, Reason: reason, Details: raw})
}

// write appends a request's audit entries, and does also in the same transaction.
func (b *Bot) write(ctx context.Context, au *auditTrail, also func(*store.Tx) error) {
	if len(au.entries) == 0 && also == nil {
		return
	}
	err := b.st.Update(ctx, func(tx *store.Tx) error {
		for _, e := range au.entries {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		b.log.Error("record request", "audit entries", len(au.entries), "err", err)
	}
}

// refusal is a command refused with a reason the person may read.
type refusal struct {
	reason string
	usage  string
}

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// command runs one command: parse, find the channel's binding, authorize, act, audit.
func (b *Bot) command(ctx context.Context, req CommandRequest, au *auditTrail) (Reply, error) {
	details := map[string]any{"text": truncate.Bytes(req.Text, 500)}
	if req.Thread != "" {
		details["thread"] = req.Thread
	}
	cmd, err := ParseCommand(req.Text)
	if err != nil {
		var ue *UsageError
		msg := err.Error()
		usage := ""
		if errors.As(err, &ue) {
			usage = ue.Usage
		}
		au.add(req.Actor, req.Channel, "command.invalid", "", false, msg, details)
		return Reply{Message: usageMessage(msg, usage)}, nil
	}
	action := "command." + string(cmd.Kind)
	if cmd.Kind == CmdHelp {
		au.add(req.Actor, req.Channel, action, "", true, "", details)
		return Reply{Message: Message{Header: "shipgate /deliver", Text: "```\n" + Help(cmd.Topic) + "\n```"}}, nil
	}
	target, reply, err := b.run(ctx, req, cmd)
	if err != nil {
		var rf *refusal
		if !errors.As(err, &rf) {
			b.log.Error("command", "text", req.Text, "actor", req.Actor.ID, "err", err)
			au.add(req.Actor, req.Channel, action, target, false, "internal error", details)
			return Reply{Message: Message{Text: "Something went wrong on shipgate's side; the error is in its log. Try again in a moment."}}, err
		}
		au.add(req.Actor, req.Channel, action, target, false, rf.reason, details)
		return Reply{Message: usageMessage(rf.reason, rf.usage)}, nil
	}
	au.add(req.Actor, req.Channel, action, target, true, "", details)
	return reply, nil
}

func usageMessage(problem, usage string) Message {
	m := Message{Text: "⚠️ " + problem}
	if usage != "" {
		m.Text += "\n```\n" + usage + "\n```"
	}
	return m
}

// run carries out a parsed command and returns what it was about (for the audit log).
func (b *Bot) run(ctx context.Context, req CommandRequest, cmd Command) (string, Reply, error) {
	ch := b.binding(req.Actor.Platform, req.Channel)
	if ch == nil {
		return "", Reply{}, refuse("this channel is not bound to a shipgate project; add it to channels in shipgate.yaml (platform %s, channel %s)", req.Actor.Platform, req.Channel)
	}
	needsDeployer := map[CommandKind]bool{CmdDeliver: true, CmdAbort: true, CmdPause: true, CmdResume: true, CmdRollback: true}
	var need []string
	switch {
	case needsDeployer[cmd.Kind]:
		need = []string{RoleDeployer}
	case cmd.Kind == CmdAudit:
		need = []string{RoleAuditor}
	}
	roles, err := b.rolesFor(ctx, ch, req.Actor, need...)
	if err != nil {
		return "", Reply{}, err
	}
	if needsDeployer[cmd.Kind] && !slices.Contains(roles, RoleDeployer) {
		return "", Reply{}, refuse("you need the role %s in this channel to %s", RoleDeployer, cmd.Kind)
	}
	switch cmd.Kind {
	case CmdDeliver:
		return b.deliver(ctx, req, ch, cmd)
	case CmdRollback:
		return b.rollback(ctx, req, ch, cmd)
	case CmdAbort, CmdPause, CmdResume:
		return b.control(ctx, req, ch, cmd)
	case CmdStatus:
		return b.status(ctx, ch, cmd)
	case CmdHistory:
		return b.history(ctx, ch, cmd)
	case CmdApprovals:
		return b.approvals(ctx, req, ch, roles)
	case CmdAudit:
		if !slices.Contains(roles, RoleAuditor) {
			return "", Reply{}, refuse("you need the role %s in this channel to read the audit trail", RoleAuditor)
		}
		return b.audit(ctx, ch, cmd)
	case CmdStats:
		return b.stats(ctx, ch, cmd)
	}
	return "", Reply{}, refuse("unknown command %s", cmd.Kind)
}

// projectFor picks the project a command means: the one it names, which the channel must serve, else
// the channel's only project, else the one of the channel's projects that has the service.
func (b *Bot) projectFor(ch *config.ChannelBinding, named, service string) (*config.Project, error) {
	if named != "" {
		if !slices.Contains(ch.Projects, named) {
			return nil, refuse("project %s is not served in this channel; projects here: %s", named, strings.Join(ch.Projects, ", "))
		}
		return b.projectNamed(named)
	}
	if len(ch.Projects) == 1 {
		return b.projectNamed(ch.Projects[0])
	}
	var found []*config.Project
	for _, name := range ch.Projects {
		if p := b.projects[name]; p != nil && (service == "" || p.HasService(service)) {
			found = append(found, p)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return nil, refuse("no project of this channel has a service %q; projects here: %s", service, strings.Join(ch.Projects, ", "))
	}
	return nil, refuse("several projects here have %s; name one with --project (%s)", service, strings.Join(ch.Projects, ", "))
}

func (b *Bot) projectNamed(name string) (*config.Project, error) {
	p := b.projects[name]
	if p == nil {
		return nil, refuse("project %s is not loaded", name)
	}
	return p, nil
}

// engineRefusal turns the engine's errors meant for the caller into refusals, with usage.
func engineRefusal(err error, kind CommandKind) error {
	if msg, ok := engine.Reason(err); ok {
		return &refusal{reason: msg, usage: Help(kind)}
	}
	return err
}

func (b *Bot) deliver(ctx context.Context, req CommandRequest, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	p, err := b.projectFor(ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, err
	}
	id, err := b.eng.Trigger(ctx, engine.Request{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Image: cmd.Image, Labels: cmd.Labels,
		Actor: req.Actor.ID, Source: string(req.Actor.Platform), Channel: req.Channel, IdempotencyKey: requestKey(req.Actor.Platform, req.RequestID)})
	if err != nil {
		return "service:" + p.Name + "/" + cmd.Service, Reply{}, engineRefusal(err, CmdDeliver)
	}
	stage := cmd.Stage
	if stage == "" {
		stage = p.Shipyard.Spec.Stages[0].Name
	}
	return fmt.Sprintf("delivery:%d", id), Reply{Message: Message{Text: fmt.Sprintf("🚀 Delivery #%d: %s %s starts in %s. Its card in this channel follows it.",
		id, cmd.Service, version(cmd.Image, cmd.Labels), stage)}}, nil
}

// requestKey makes a chat request id an engine idempotency key, so a trigger is never applied twice
// even if the bot's own record of the request was lost.
func requestKey(p store.Platform, id string) string {
	if id == "" {
		return ""
	}
	return string(p) + ":" + id
}

func (b *Bot) rollback(ctx context.Context, req CommandRequest, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	p, err := b.projectFor(ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, err
	}
	target := "service:" + p.Name + "/" + cmd.Service
	if err := b.eng.CheckScope(p.Name, cmd.Service, cmd.Stage); err != nil {
		return target, Reply{}, engineRefusal(err, CmdRollback)
	}
	last, err := b.st.ListDeliveries(ctx, store.DeliveryQuery{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Limit: 1})
	if err != nil {
		return target, Reply{}, err
	}
	if len(last) == 0 {
		return target, Reply{}, refuse("nothing to roll back: no delivery of %s has reached %s", cmd.Service, cmd.Stage)
	}
	cur := last[0]
	id, err := b.eng.Trigger(ctx, engine.Request{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Sequence: "rollback", Image: cur.Image, Labels: cur.Labels,
		Actor: req.Actor.ID, Source: string(req.Actor.Platform), Channel: req.Channel, IdempotencyKey: requestKey(req.Actor.Platform, req.RequestID)})
	if err != nil {
		return target, Reply{}, engineRefusal(err, CmdRollback)
	}
	return fmt.Sprintf("delivery:%d", id), Reply{Message: Message{Text: fmt.Sprintf("↩️ Rollback #%d of %s in %s started (from %s, delivery #%d).",
		id, cmd.Service, cmd.Stage, version(cur.Image, cur.Labels), cur.ID)}}, nil
}

// deliveryHere loads a delivery that belongs to one of the channel's projects.
func (b *Bot) deliveryHere(ctx context.Context, ch *config.ChannelBinding, id int64) (*store.Delivery, error) {
	d, err := b.st.GetDelivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(ch.Projects, d.Project)) {
		return nil, refuse("there is no delivery #%d in this channel's projects (%s)", id, strings.Join(ch.Projects, ", "))
	}
	return d, err
}

func (b *Bot) control(ctx context.Context, req CommandRequest, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	target := fmt.Sprintf("delivery:%d", cmd.DeliveryID)
	if _, err := b.deliveryHere(ctx, ch, cmd.DeliveryID); err != nil {
		return target, Reply{}, err
	}
	c := engine.Control{DeliveryID: cmd.DeliveryID, Stage: cmd.Stage, Actor: req.Actor.ID, Platform: string(req.Actor.Platform), Channel: req.Channel}
	var err error
	switch cmd.Kind {
	case CmdAbort:
		err = b.eng.Abort(ctx, c)
	case CmdPause:
		err = b.eng.Pause(ctx, c)
	default:
		err = b.eng.Resume(ctx, c)
	}
	if err != nil {
		return target, Reply{}, engineRefusal(err, cmd.Kind)
	}
	done := map[CommandKind]string{CmdAbort: "🛑 aborted", CmdPause: "⏸️ paused", CmdResume: "▶️ resumed"}[cmd.Kind]
	where := ""
	if cmd.Stage != "" {
		where = " in " + cmd.Stage
	}
	return target, Reply{Message: Message{Text: fmt.Sprintf("Delivery #%d %s%s.", cmd.DeliveryID, done, where)}}, nil
}

// maxListed bounds the deliveries status and history list.
const maxListed = 10

func (b *Bot) status(ctx context.Context, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	if cmd.DeliveryID != 0 {
		target := fmt.Sprintf("delivery:%d", cmd.DeliveryID)
		if _, err := b.deliveryHere(ctx, ch, cmd.DeliveryID); err != nil {
			return target, Reply{}, err
		}
		m, err := b.renderRoot(ctx, ch, cmd.DeliveryID)
		return target, Reply{Message: m}, err
	}
	var lines []string
	for _, project := range ch.Projects {
		ds, err := b.st.ListDeliveries(ctx, store.DeliveryQuery{Project: project, Limit: maxListed})
		if err != nil {
			return "", Reply{}, err
		}
		for _, d := range ds {
			line, err := b.summaryLine(ctx, d)
			if err != nil {
				return "", Reply{}, err
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return "", Reply{Message: Message{Text: "No deliveries yet in " + strings.Join(ch.Projects, ", ") + "."}}, nil
	}
	return "", Reply{Message: Message{Header: "Latest deliveries", Text: strings.Join(lines, "\n")}}, nil
}

// summaryLine is one delivery on one line: id, service, version, state and its stages.
func (b *Bot) summaryLine(ctx context.Context, d *store.Delivery) (string, error) {
	runs, err := b.st.ListSequenceRuns(ctx, store.SequenceRunQuery{DeliveryID: d.ID})
	if err != nil {
		return "", err
	}
	stages, err := b.stageStatuses(ctx, d, runs)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("#%d %s %s · %s · %s · %s", d.ID, d.Service, version(d.Image, d.Labels), deliveryState(d), StatusLine(stages), clock(d.CreatedAt)), nil
}

func (b *Bot) history(ctx context.Context, ch *config.ChannelBinding, cmd Command) (string, Reply, error) {
	p, err := b.projectFor(ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, err
	}
	target := "service:" + p.Name + "/" + cmd.Service
	if err := b.eng.CheckScope(p.Name, cmd.Service, cmd.Stage); err != nil {
		return target, Reply{}, engineRefusal(err, CmdHistory)
	}
	ds, err := b.st.ListDeliveries(ctx, store.DeliveryQuery{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Limit: maxListed})
	if err != nil {
		return target, Reply{}, err
	}
	header := "History of " + cmd.Service
	if cmd.Stage != "" {
		header += " in " + cmd.Stage
	}
	if len(ds) == 0 {
		return target, Reply{Message: Message{Header: header, Text: "No deliveries yet."}}, nil
	}
	lines := make([]string, 0, len(ds))
	linkCtx, cancel := context.WithTimeout(ctx, historyLinksTimeout)
	defer cancel()
	for _, d := range ds {
		line, err := b.summaryLine(ctx, d)
		if err != nil {
			return target, Reply{}, err
		}
		line += " · by " + who(d.Actor, d.Source, ch)
		extra, err := b.historyDetails(ctx, linkCtx, d, ch)
		if err != nil {
			return target, Reply{}, err
		}
		lines = append(lines, line+extra)
	}
	return target, Reply{Message: Message{Header: header, Text: strings.Join(lines, "\n")}}, nil
}

// approvals lists what waits for the asker: pending approvals of the channel's projects that one of
// their roles may decide.
func (b *Bot) approvals(ctx context.Context, req CommandRequest, ch *config.ChannelBinding, roles []string) (string, Reply, error) {
	pending, err := b.st.ListApprovals(ctx, store.ApprovalQuery{State: store.ApprovalPending})
	if err != nil {
		return "", Reply{}, err
	}
	var lines []string
	for _, a := range pending {
		d, err := b.st.GetDelivery(ctx, a.DeliveryID)
		if err != nil {
			return "", Reply{}, err
		}
		if !slices.Contains(ch.Projects, d.Project) || !slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(a.Roles, r) }) {
			continue
		}
		votes, err := b.st.ListVotes(ctx, a.ID)
		if err != nil {
			return "", Reply{}, err
		}
		line := fmt.Sprintf("#%d %s %s to %s · %d of %d approvals · waiting since %s", d.ID, d.Service, version(d.Image, d.Labels), a.Stage,
			countApprovals(votes), a.Required, clock(a.CreatedAt))
		if a.ExpiresAt != nil {
			line += " · expires " + clock(*a.ExpiresAt)
		}
		switch {
		case slices.ContainsFunc(votes, func(v *store.Vote) bool { return v.Voter == req.Actor.ID }):
			line += " · you voted"
		case d.Actor == req.Actor.ID && !a.AllowRequester:
			line += " · you requested it, so someone else approves"
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "", Reply{Message: Message{Text: "Nothing is waiting for your approval here."}}, nil
	}
	return "", Reply{Message: Message{Header: "Waiting for your approval", Text: strings.Join(lines, "\n")}}, nil
}

// parseApprovalValue reads the opaque id an approval button carries.
func parseApprovalValue(v string) (int64, bool) {
	n, ok := strings.CutPrefix(v, "approval-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil && id > 0
}

// click authorizes and applies a click: the approval must exist and belong to a project the channel
// serves; the engine checks the rest (still pending, role, requester, one vote each) and audits it.
func (b *Bot) click(ctx context.Context, req ClickRequest, au *auditTrail) (ClickReply, error) {
	private := func(text string) (ClickReply, error) { return ClickReply{Private: &Message{Text: text}}, nil }
	internal := func(what string, err error) (ClickReply, error) {
		b.log.Error(what, "value", req.Value, "err", err)
		return ClickReply{Private: &Message{Text: "Something went wrong on shipgate's side; try again in a moment."}}, err
	}
	decision := store.DecisionApprove
	switch req.ActionID {
	case ActionApprove:
	case ActionReject:
		decision = store.DecisionReject
	default:
		au.add(req.Actor, req.Channel, "click.unknown", "", false, "not a shipgate button", map[string]any{"action": truncate.Bytes(req.ActionID, 100)})
		return private("⚠️ That button is not one of shipgate's.")
	}
	action := "approval." + string(decision)
	id, ok := parseApprovalValue(req.Value)
	if !ok {
		au.add(req.Actor, req.Channel, action, "", false, "malformed button value", map[string]any{"value": truncate.Bytes(req.Value, 100)})
		return private("⚠️ That button is not one of shipgate's.")
	}
	target := fmt.Sprintf("approval:%d", id)
	a, err := b.st.GetApproval(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		au.add(req.Actor, req.Channel, action, target, false, "no such approval", nil)
		return private("⚠️ This approval no longer exists.")
	}
	if err != nil {
		return internal("click", err)
	}
	d, err := b.st.GetDelivery(ctx, a.DeliveryID)
	if err != nil {
		return internal("click", err)
	}
	ch := b.binding(req.Actor.Platform, req.Channel)
	if ch == nil || !slices.Contains(ch.Projects, d.Project) {
		reason := fmt.Sprintf("approvals of project %s are decided in its bound channel, not here", d.Project)
		au.add(req.Actor, req.Channel, action, target, false, reason, map[string]any{"delivery": d.ID})
		return private("⛔ " + reason + ".")
	}
	if req.Thread != "" {
		// A click from a thread counts only in the delivery's own thread, the one its root card started.
		root, err := b.st.RootMessage(ctx, d.ID, req.Actor.Platform, ch.Channel)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return internal("click", err)
		}
		if root == nil || root.ThreadID != req.Thread {
			reason := fmt.Sprintf("this is not the thread of delivery #%d; its approval is decided in that delivery's own thread", d.ID)
			au.add(req.Actor, req.Channel, action, target, false, reason, map[string]any{"delivery": d.ID, "thread": truncate.Bytes(req.Thread, 100)})
			return private("⛔ " + capitalize(reason) + ".")
		}
	}
	roles, err := b.rolesFor(ctx, ch, req.Actor, a.Roles...)
	if err != nil {
		var rf *refusal
		if !errors.As(err, &rf) {
			return internal("click", err)
		}
		// The roles cannot be told in time (a user group still loading): refused, and audited, here.
		au.add(req.Actor, req.Channel, action, target, false, rf.reason, map[string]any{"delivery": d.ID})
		return private("⏳ " + capitalize(rf.reason) + ".")
	}
	v := engine.Vote{ApprovalID: id, Actor: req.Actor.ID, Roles: roles, Decision: decision, Reason: req.Reason,
		Platform: req.Actor.Platform, Channel: req.Channel}
	if decision == store.DecisionReject && !req.ReasonGiven {
		out, err := b.eng.CheckVote(ctx, v)
		if err != nil {
			return internal("check vote", err)
		}
		if out.Reason != "" {
			return private("⛔ " + capitalize(out.Reason) + ".")
		}
		return ClickReply{AskReason: &ReasonRequest{Value: req.Value, Title: "Reject " + d.Service,
			Summary: fmt.Sprintf("Reject %s %s in %s (delivery #%d)?", d.Service, version(d.Image, d.Labels), a.Stage, d.ID)}}, nil
	}
	out, err := b.eng.Decide(ctx, v)
	if err != nil {
		return internal("decide", err)
	}
	if !out.Counted {
		return private("⛔ " + capitalize(out.Reason) + ".")
	}
	if decision == store.DecisionReject {
		return private(fmt.Sprintf("❌ You rejected delivery #%d in %s.", d.ID, a.Stage))
	}
	return private(fmt.Sprintf("✅ Your approval counted: %d of %d for delivery #%d in %s.", len(out.Approval.Approvals), out.Approval.Required, d.ID, a.Stage))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
