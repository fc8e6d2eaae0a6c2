package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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

// requestKey is a chat request's key in the engine's idempotency layer: each platform's request ids in a
// scope of their own.
func requestKey(p engine.Platform, id string) engine.Key {
	return engine.Key{Scope: string(p) + ".request", ID: id}
}

// HandleCommand answers a /deliver command. Everything it is asked, allowed or refused, is audited.
// It records what the command asks for (a delivery, an abort) before it returns, and the engine does
// the work after, so adapters can answer within the platform's deadline.
func (b *Bot) HandleCommand(ctx context.Context, req CommandRequest) Reply {
	failed := Reply{Message: Message{Text: "Something went wrong on shipgate's side; the error is in its log. Try again in a moment."}}
	r, dup := handle(b, ctx, requestKey(req.Actor.Platform, req.RequestID), failed, func(au *auditTrail) (Reply, act[Reply], error) {
		return b.command(ctx, req, au)
	})
	if dup && r.Message.Text == "" && r.Message.Header == "" {
		// The first request left no answer to repeat (it is older than answers are kept).
		r = Reply{Message: Message{Text: "This request was handled already."}}
	}
	r.Duplicate = dup
	return r
}

// HandleClick applies a click on an approval's buttons. Every click, allowed or refused, is audited.
func (b *Bot) HandleClick(ctx context.Context, req ClickRequest) ClickReply {
	failed := ClickReply{Private: &Message{Text: "Something went wrong on shipgate's side; try again in a moment."}}
	r, dup := handle(b, ctx, requestKey(req.Actor.Platform, req.RequestID), failed, func(au *auditTrail) (ClickReply, act[ClickReply], error) {
		return b.click(ctx, req, au)
	})
	r.Duplicate = dup
	return r
}

// act is what a request does inside its transaction, once everything that reads or waits is done: it
// acts through the engine and adds what it audits to au.
type act[R any] func(op *engine.Op, au *auditTrail) (R, error)

// handle answers a request once per key, in one write transaction: prepare runs first, outside it, and
// does everything that reads or waits (finding the binding, the roles, rendering a status); it returns
// the answer, or what is left to do inside the transaction. Then the request's claim, what it does, its
// audit entries and its answer commit together (engine.Handle). A request seen before (a platform's
// retry, a replayed request) is answered as the first one was and does nothing again; dup says so.
// Retries are rare, so a request is not looked up before it is prepared: the transaction finds it.
//
// When shipgate fails inside (the database, a bug), nothing is committed, so that a retry can act, and
// the answer is failed, whatever the request had made of it; what the request audited is still written,
// on its own and marked as not done, to keep the failure in the trail.
func handle[R any](b *Bot, ctx context.Context, key engine.Key, failed R, prepare func(au *auditTrail) (R, act[R], error)) (r R, dup bool) {
	au := &auditTrail{}
	r, then, err := prepare(au)
	if err != nil {
		b.write(ctx, au)
		return r, false
	}
	h, err := b.eng.Handle(ctx, key, func(op *engine.Op) ([]byte, error) {
		if then != nil {
			var err error
			if r, err = then(op, au); err != nil {
				return nil, err
			}
		}
		if err := op.Audit(au.entries...); err != nil {
			return nil, err
		}
		return json.Marshal(r)
	})
	switch {
	case err != nil:
		b.log.Error("record request", "scope", key.Scope, "request", key.ID, "err", err)
		for _, e := range au.entries {
			if e.Allowed {
				e.Allowed, e.Reason = false, "internal error: not recorded"
			}
		}
		b.write(ctx, au)
		return failed, false
	case h.Replayed:
		var first R
		_ = json.Unmarshal(h.Answer, &first)
		return first, true
	}
	return r, false
}

// auditTrail collects the audit entries of one request, written with its answer.
type auditTrail struct{ entries []*store.AuditEntry }

// add records a command or click that the engine did not audit itself.
func (au *auditTrail) add(a Actor, channel, action, target string, allowed bool, reason string, details map[string]any) {
	raw, _ := json.Marshal(details)
	au.entries = append(au.entries, &store.AuditEntry{Actor: a.ID, Platform: string(a.Platform), Channel: channel, Action: action,
		Target: target, Allowed: allowed, Reason: reason, Details: raw})
}

// write appends the audit entries of a request that could not be recorded with its answer.
func (b *Bot) write(ctx context.Context, au *auditTrail) {
	if len(au.entries) == 0 {
		return
	}
	err := b.st.Update(ctx, func(tx *store.Tx) error {
		for _, e := range au.entries {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
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

// command prepares one command: parse, find the channel's binding and the person's roles, and either
// answer (help, a refusal, a status) or return what the command does inside its transaction. Every
// command, allowed or refused, is audited.
func (b *Bot) command(ctx context.Context, req CommandRequest, au *auditTrail) (Reply, act[Reply], error) {
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
		return Reply{Message: usageMessage(msg, usage)}, nil, nil
	}
	action := "command." + string(cmd.Kind)
	if cmd.Kind == CmdHelp {
		au.add(req.Actor, req.Channel, action, "", true, "", details)
		return Reply{Message: Message{Header: "shipgate /deliver", Text: "```\n" + Help(cmd.Topic) + "\n```"}}, nil, nil
	}
	// done audits the command's outcome and words it.
	done := func(au *auditTrail, target string, reply Reply, err error) (Reply, error) {
		if err == nil {
			au.add(req.Actor, req.Channel, action, target, true, "", details)
			return reply, nil
		}
		var rf *refusal
		if !errors.As(err, &rf) {
			b.log.Error("command", "text", req.Text, "actor", req.Actor.ID, "err", err)
			au.add(req.Actor, req.Channel, action, target, false, "internal error", details)
			return Reply{Message: Message{Text: "Something went wrong on shipgate's side; the error is in its log. Try again in a moment."}}, err
		}
		au.add(req.Actor, req.Channel, action, target, false, rf.reason, details)
		return Reply{Message: usageMessage(rf.reason, rf.usage)}, nil
	}
	target, reply, step, err := b.run(ctx, req, cmd)
	if err != nil || step == nil {
		reply, err := done(au, target, reply, err)
		return reply, nil, err
	}
	return Reply{}, func(op *engine.Op, au *auditTrail) (Reply, error) {
		target, reply, err := step(op)
		return done(au, target, reply, err)
	}, nil
}

// step is what a command does inside its transaction; it returns what it was about, for the audit
// trail, and its answer.
type step func(op *engine.Op) (target string, reply Reply, err error)

func usageMessage(problem, usage string) Message {
	m := Message{Text: "⚠️ " + problem}
	if usage != "" {
		m.Text += "\n```\n" + usage + "\n```"
	}
	return m
}

// run carries out a parsed command, or for a command that changes something returns the step that
// does it; target is what it was about (for the audit log).
func (b *Bot) run(ctx context.Context, req CommandRequest, cmd Command) (target string, reply Reply, then step, err error) {
	ch := b.binding(req.Actor.Platform, req.Channel)
	if ch == nil {
		return "", Reply{}, nil, refuse("this channel is not bound to a shipgate project; add it to channels in shipgate.yaml (platform %s, channel %s)", req.Actor.Platform, req.Channel)
	}
	roles := b.rolesHeld(ctx, ch, req.Actor)
	here := &where{ch: ch, roles: roles, kind: cmd.Kind}
	readOnly := func(target string, reply Reply, err error) (string, Reply, step, error) {
		return target, reply, nil, err
	}
	switch cmd.Kind {
	case CmdDeliver:
		return b.deliver(req, here, cmd)
	case CmdRollback:
		return b.rollback(ctx, req, here, cmd)
	case CmdAbort, CmdPause, CmdResume, CmdUnfreeze:
		return b.control(req, here, cmd)
	case CmdFreezes:
		return readOnly(b.freezes(ch))
	case CmdStatus:
		return readOnly(b.status(ctx, ch, cmd))
	case CmdHistory:
		return readOnly(b.history(ctx, ch, cmd))
	case CmdApprovals:
		return readOnly(b.approvals(ctx, req, ch, roles.held))
	case CmdAudit:
		if !slices.Contains(roles.held, RoleAuditor) {
			if reason := roles.waitReason([]string{RoleAuditor}); reason != "" {
				return "", Reply{}, nil, refuse("%s", reason)
			}
			return "", Reply{}, nil, refuse("you need the role %s in this channel to read the audit trail", RoleAuditor)
		}
		return readOnly(b.audit(ctx, ch, cmd))
	case CmdStats:
		return readOnly(b.stats(ctx, ch, cmd))
	}
	return "", Reply{}, nil, refuse("unknown command %s", cmd.Kind)
}

// where is the channel a command came from, with the person's roles there: what the engine is told,
// for its authorization, and what the bot words its refusals with.
type where struct {
	ch    *config.ChannelBinding
	roles heldRoles
	kind  CommandKind
}

func (w *where) engine() *engine.Where {
	return &engine.Where{Projects: w.ch.Projects, Unsure: w.roles.unsureRoles()}
}

// refusal words the engine's refusals, and its other errors meant for the person, for this channel.
func (w *where) refusal(err error) error {
	var r *engine.Refusal
	if errors.As(err, &r) {
		switch r.Code {
		case engine.RefusedNoRole:
			return refuse("you need the role %s in this channel to %s", strings.Join(r.Roles, " or "), w.kind)
		case engine.RefusedNotHere:
			if r.DeliveryID != 0 {
				return noDeliveryHere(w.ch, r.DeliveryID)
			}
			return refuse("project %s is not served in this channel; projects here: %s", r.Project, strings.Join(w.ch.Projects, ", "))
		}
		return refuse("%s", r.Reason)
	}
	return engineRefusal(err, w.kind)
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

func (b *Bot) deliver(req CommandRequest, w *where, cmd Command) (string, Reply, step, error) {
	p, err := b.projectFor(w.ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, nil, err
	}
	return "", Reply{}, func(op *engine.Op) (string, Reply, error) {
		id, err := op.Trigger(engine.Request{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Image: cmd.Image, Labels: cmd.Labels,
			Actor: req.Actor.ID, Source: string(req.Actor.Platform), Channel: req.Channel, Roles: w.roles.held, Where: w.engine()})
		if err != nil {
			return "service:" + p.Name + "/" + cmd.Service, Reply{}, w.refusal(err)
		}
		stage := cmd.Stage
		if stage == "" {
			stage = p.Shipyard.Spec.Stages[0].Name
		}
		return fmt.Sprintf("delivery:%d", id), Reply{Message: Message{Text: fmt.Sprintf("🚀 Delivery #%d: %s %s starts in %s. Its card in this channel follows it.",
			id, cmd.Service, version(cmd.Image, cmd.Labels), stage)}}, nil
	}, nil
}

func (b *Bot) rollback(ctx context.Context, req CommandRequest, w *where, cmd Command) (string, Reply, step, error) {
	p, err := b.projectFor(w.ch, cmd.Project, cmd.Service)
	if err != nil {
		return "", Reply{}, nil, err
	}
	target := "service:" + p.Name + "/" + cmd.Service
	if err := b.eng.CheckScope(p.Name, cmd.Service, cmd.Stage); err != nil {
		return target, Reply{}, nil, engineRefusal(err, CmdRollback)
	}
	last, err := b.st.ListDeliveries(ctx, store.DeliveryQuery{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Limit: 1})
	if err != nil {
		return target, Reply{}, nil, err
	}
	if len(last) == 0 {
		return target, Reply{}, nil, refuse("nothing to roll back: no delivery of %s has reached %s", cmd.Service, cmd.Stage)
	}
	cur := last[0]
	return target, Reply{}, func(op *engine.Op) (string, Reply, error) {
		id, err := op.Trigger(engine.Request{Project: p.Name, Service: cmd.Service, Stage: cmd.Stage, Sequence: "rollback", Image: cur.Image, Labels: cur.Labels,
			Actor: req.Actor.ID, Source: string(req.Actor.Platform), Channel: req.Channel, Roles: w.roles.held, Where: w.engine()})
		if err != nil {
			return target, Reply{}, w.refusal(err)
		}
		return fmt.Sprintf("delivery:%d", id), Reply{Message: Message{Text: fmt.Sprintf("↩️ Rollback #%d of %s in %s started (from %s, delivery #%d).",
			id, cmd.Service, cmd.Stage, version(cur.Image, cur.Labels), cur.ID)}}, nil
	}, nil
}

// noDeliveryHere refuses a delivery that does not exist or belongs to none of the channel's projects,
// without telling which.
func noDeliveryHere(ch *config.ChannelBinding, id int64) error {
	return refuse("there is no delivery #%d in this channel's projects (%s)", id, strings.Join(ch.Projects, ", "))
}

// deliveryHere loads a delivery that belongs to one of the channel's projects.
func (b *Bot) deliveryHere(ctx context.Context, ch *config.ChannelBinding, id int64) (*store.Delivery, error) {
	d, err := b.st.GetDelivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(ch.Projects, d.Project)) {
		return nil, noDeliveryHere(ch, id)
	}
	return d, err
}

func (b *Bot) control(req CommandRequest, w *where, cmd Command) (string, Reply, step, error) {
	target := fmt.Sprintf("delivery:%d", cmd.DeliveryID)
	return target, Reply{}, func(op *engine.Op) (string, Reply, error) {
		c := engine.Control{DeliveryID: cmd.DeliveryID, Stage: cmd.Stage, Actor: req.Actor.ID, Platform: string(req.Actor.Platform), Channel: req.Channel,
			Roles: w.roles.held, Where: w.engine(), Reason: cmd.Reason}
		var err error
		switch cmd.Kind {
		case CmdAbort:
			err = op.Abort(c)
		case CmdPause:
			err = op.Pause(c)
		case CmdUnfreeze:
			err = op.Unfreeze(c)
		default:
			err = op.Resume(c)
		}
		if errors.Is(err, engine.ErrNotFound) {
			return target, Reply{}, noDeliveryHere(w.ch, cmd.DeliveryID)
		}
		if err != nil {
			return target, Reply{}, w.refusal(err)
		}
		done := map[CommandKind]string{CmdAbort: "🛑 aborted", CmdPause: "⏸️ paused", CmdResume: "▶️ resumed", CmdUnfreeze: "▶️ unfrozen and started"}[cmd.Kind]
		where := ""
		if cmd.Stage != "" {
			where = " in " + cmd.Stage
		}
		return target, Reply{Message: Message{Text: fmt.Sprintf("Delivery #%d %s%s.", cmd.DeliveryID, done, where)}}, nil
	}, nil
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

// approvals lists what waits for the asker, oldest first: pending approvals of the channel's projects
// that the asker may vote on as authorizeVote judges a click (one of their roles decides it, they did not
// request it unless the stage allows that, and they have not voted), with how long each has waited. The
// pending approvals they hold a role for but may not vote on are counted below the list, so that nobody
// wonders where they went.
func (b *Bot) approvals(ctx context.Context, req CommandRequest, ch *config.ChannelBinding, roles []string) (string, Reply, error) {
	pending, err := b.st.ListApprovals(ctx, store.ApprovalQuery{State: store.ApprovalPending})
	if err != nil {
		return "", Reply{}, err
	}
	now := b.now()
	var lines []string
	voted, requested := 0, 0
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
		switch {
		case slices.ContainsFunc(votes, func(v *store.Vote) bool { return v.Voter == req.Actor.ID }):
			voted++
			continue
		case d.Actor == req.Actor.ID && !a.AllowRequester:
			requested++
			continue
		}
		line := fmt.Sprintf("#%d %s %s to %s · %d of %d approvals · waiting %s (since %s)", d.ID, d.Service, version(d.Image, d.Labels), a.Stage,
			countApprovals(votes), a.Required, duration(max(now.Sub(a.CreatedAt), 0).Round(time.Minute)), clock(a.CreatedAt))
		if a.ExpiresAt != nil {
			line += " · expires " + clock(*a.ExpiresAt)
		}
		if a.Reminders > 0 {
			line += fmt.Sprintf(" · reminded %d×", a.Reminders)
		}
		if a.EscalatedAt != nil {
			line += " · escalated to " + roleMentions(a.EscalateTo)
		}
		lines = append(lines, line)
	}
	var others []string
	if requested > 0 {
		others = append(others, fmt.Sprintf("%d you requested, which someone else approves", requested))
	}
	if voted > 0 {
		others = append(others, fmt.Sprintf("%d you have voted on", voted))
	}
	m := Message{Header: "Waiting for your approval", Text: strings.Join(lines, "\n")}
	if len(lines) == 0 {
		m = Message{Text: "Nothing is waiting for your approval here."}
	}
	if len(others) > 0 {
		m.Context = []string{"Not listed: " + strings.Join(others, "; ") + "."}
	}
	return "", Reply{Message: m}, nil
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

// click prepares a click: what it asks (approve or reject which approval), from where and with which
// roles. The engine decides inside the transaction whether it counts (authorizeVote: the channel serves
// the approval's project, the thread is the delivery's own, still pending, role, requester, one vote each)
// and audits it either way.
func (b *Bot) click(ctx context.Context, req ClickRequest, au *auditTrail) (ClickReply, act[ClickReply], error) {
	private := func(text string) ClickReply { return ClickReply{Private: &Message{Text: text}} }
	decision := store.DecisionApprove
	switch req.ActionID {
	case ActionApprove:
	case ActionReject:
		decision = store.DecisionReject
	default:
		au.add(req.Actor, req.Channel, "click.unknown", "", false, "not a shipgate button", map[string]any{"action": truncate.Bytes(req.ActionID, 100)})
		return private("⚠️ That button is not one of shipgate's."), nil, nil
	}
	id, ok := parseApprovalValue(req.Value)
	if !ok {
		au.add(req.Actor, req.Channel, "approval."+string(decision), "", false, "malformed button value", map[string]any{"value": truncate.Bytes(req.Value, 100)})
		return private("⚠️ That button is not one of shipgate's."), nil, nil
	}
	here := &engine.Where{Thread: req.Thread}
	var roles heldRoles
	if ch := b.binding(req.Actor.Platform, req.Channel); ch != nil {
		roles = b.rolesHeld(ctx, ch, req.Actor)
		here.Projects, here.Unsure = ch.Projects, roles.unsureRoles()
	}
	v := engine.Vote{ApprovalID: id, Actor: req.Actor.ID, Roles: roles.held, Decision: decision, Reason: req.Reason,
		Platform: req.Actor.Platform, Channel: req.Channel, Where: here}
	return ClickReply{}, func(op *engine.Op, _ *auditTrail) (ClickReply, error) {
		if decision == store.DecisionReject && !req.ReasonGiven {
			out, err := op.CheckVote(v)
			if err != nil {
				return b.clickFailed(req, err)
			}
			if out.Refusal != nil {
				return private(clickRefusal(out.Refusal)), nil
			}
			d := out.Delivery
			return ClickReply{AskReason: &ReasonRequest{Value: req.Value, Title: "Reject " + d.Service,
				Summary: fmt.Sprintf("Reject %s %s in %s (delivery #%d)?", d.Service, version(d.Image, d.Labels), out.Stage, d.ID)}}, nil
		}
		out, err := op.Decide(v)
		if err != nil {
			return b.clickFailed(req, err)
		}
		if out.Refusal != nil {
			return private(clickRefusal(out.Refusal)), nil
		}
		if decision == store.DecisionReject {
			return private(fmt.Sprintf("❌ You rejected delivery #%d in %s.", out.DeliveryID, out.Stage)), nil
		}
		return private(fmt.Sprintf("✅ Your approval counted: %d of %d for delivery #%d in %s.", len(out.Approval.Approvals), out.Approval.Required, out.DeliveryID, out.Stage)), nil
	}, nil
}

// clickFailed answers a click that failed inside shipgate.
func (b *Bot) clickFailed(req ClickRequest, err error) (ClickReply, error) {
	b.log.Error("click", "value", req.Value, "err", err)
	return ClickReply{Private: &Message{Text: "Something went wrong on shipgate's side; try again in a moment."}}, err
}

// clickRefusal words the engine's refusal of a click for the person who clicked.
func clickRefusal(r *engine.Refusal) string {
	switch r.Code {
	case engine.RefusedNotFound:
		return "⚠️ This approval no longer exists."
	case engine.RefusedNotHere:
		return fmt.Sprintf("⛔ approvals of project %s are decided in its bound channel, not here.", r.Project)
	case engine.RefusedRolesUnknown:
		return "⏳ " + capitalize(r.Reason) + "."
	case engine.RefusedNoRole:
		return fmt.Sprintf("⛔ You need the role %s in this channel to decide this approval.", strings.Join(r.Roles, " or "))
	}
	return "⛔ " + capitalize(r.Reason) + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
