package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// Where is where a request came from, as the adapter that received it knows it: the projects the place
// serves, the thread a click came from, and the roles shipgate could not tell in time. A request with no
// Where (the engine's own tests, internal callers) is judged on its roles alone.
type Where struct {
	// Projects are the projects served where the request came from: a chat channel's bound projects, or
	// for the API, the projects of the channels whose roles it was given. A request about another
	// project is refused with RefusedNotHere.
	Projects []string
	// Thread is the thread a click came from, if any: an approval is decided in its delivery's own
	// thread, the one its root card started in Channel, or at the top level of the channel.
	Thread string
	// Unsure are roles the actor may hold through a group whose members are not known in time (a Slack
	// user group still loading), each with why, in the caller's words; a request that needs one of them,
	// and holds no other, is refused with RefusedRolesUnknown and that reason rather than told it lacks
	// the role.
	Unsure map[string]string
	// Token is the API token the request came with: a delivery it triggered counts as the actor's own.
	Token string
}

// RefusalCode says why a request may not act, for callers to word it their way.
type RefusalCode string

// Why a request may not act.
const (
	RefusedNotFound     RefusalCode = "not_found"      // no such approval or delivery
	RefusedNotHere      RefusalCode = "not_here"       // the place the request came from does not serve the project
	RefusedWrongThread  RefusalCode = "wrong_thread"   // a click from a thread other than the delivery's own
	RefusedRolesUnknown RefusalCode = "roles_unknown"  // the role may come through a group not known yet: try again
	RefusedNoRole       RefusalCode = "no_role"        // the actor holds none of the roles needed
	RefusedRequester    RefusalCode = "requester"      // the requester may not approve their own delivery
	RefusedVoted        RefusalCode = "already_voted"  // one vote per person
	RefusedDecided      RefusalCode = "decided"        // the approval is not pending any more
	RefusedNotDecision  RefusalCode = "not_a_decision" // neither approve nor reject
)

// Refusal is why a request may not act. Reason says it in words that fit any caller; the other fields
// are what it is about, so that the bot, the API and the web console can say it in their own words.
type Refusal struct {
	Code   RefusalCode
	Reason string

	Project    string              // the project of the delivery acted on
	DeliveryID int64               // the delivery acted on
	Roles      []string            // for RefusedNoRole and RefusedRolesUnknown: the roles that would do
	State      store.ApprovalState // for RefusedDecided: what the approval became
	By         string              // for RefusedDecided: who decided it; for RefusedRequester: the token, if it was one
}

func (r *Refusal) Error() string { return string(r.Code) + ": " + r.Reason }

// subject is what a vote acts on, read once in the transaction that judges and casts it.
type subject struct {
	a     *store.Approval
	d     *store.Delivery
	b     *store.Ballot
	votes []*store.Vote
}

// authorizeVote is the one place that decides whether a vote may be cast: the approval exists and is
// pending, the place the vote came from serves its project (and, for a click in a thread, is the
// delivery's own thread), the decision is one, the voter holds one of the approval's roles (or may, when
// a group is not known yet), is not the requester unless the stage allows it, and has not voted. It reads
// the approval, the delivery and the votes once. A nil Refusal means the vote may be cast.
func (t *txn) authorizeVote(v Vote) (subject, *Refusal, error) {
	var s subject
	b, err := t.GetBallot(t.ctx, v.ApprovalID)
	if errors.Is(err, store.ErrNotFound) {
		return s, &Refusal{Code: RefusedNotFound, Reason: "no such approval"}, nil
	}
	if err != nil {
		return s, nil, err
	}
	a, d := b.Approval, b.Delivery
	votes, err := t.ListVotes(t.ctx, a.ID)
	if err != nil {
		return s, nil, err
	}
	s = subject{a: a, d: d, b: b, votes: votes}
	refuse := func(code RefusalCode, reason string) (subject, *Refusal, error) {
		return s, &Refusal{Code: code, Reason: reason, Project: d.Project, DeliveryID: d.ID}, nil
	}
	if w := v.Where; w != nil {
		if !slices.Contains(w.Projects, d.Project) {
			return refuse(RefusedNotHere, fmt.Sprintf("approvals of project %s are decided where it is bound, not here", d.Project))
		}
		if w.Thread != "" {
			root, err := t.RootMessage(t.ctx, d.ID, string(v.Platform), v.Channel)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return s, nil, err
			}
			if root == nil || root.ThreadID != w.Thread {
				return refuse(RefusedWrongThread, fmt.Sprintf("this is not the thread of delivery #%d; its approval is decided in that delivery's own thread", d.ID))
			}
		}
	}
	holds := slices.ContainsFunc(v.Roles, func(r string) bool { return slices.Contains(a.Roles, r) })
	wait := ""
	if !holds && v.Where != nil {
		wait = unsure(v.Where, a.Roles)
	}
	switch {
	case a.State != store.ApprovalPending:
		by := ""
		if a.DecidedBy != "" {
			by = " by " + a.DecidedBy
		}
		s, r, err := refuse(RefusedDecided, fmt.Sprintf("this approval was already %s%s", a.State, by))
		r.State, r.By = a.State, a.DecidedBy
		return s, r, err
	case v.Decision != store.DecisionApprove && v.Decision != store.DecisionReject:
		return refuse(RefusedNotDecision, fmt.Sprintf("%q is not a decision; approve or reject", v.Decision))
	case wait != "":
		s, r, err := refuse(RefusedRolesUnknown, wait)
		r.Roles = a.Roles
		return s, r, err
	case !holds:
		s, r, err := refuse(RefusedNoRole, fmt.Sprintf("you need the role %s to decide this approval", strings.Join(a.Roles, " or ")))
		r.Roles = a.Roles
		return s, r, err
	case v.Decision == store.DecisionApprove && !a.AllowRequester && v.Actor == d.Actor:
		return refuse(RefusedRequester, "you triggered this delivery, so someone else has to approve it")
	case v.Decision == store.DecisionApprove && !a.AllowRequester && v.Where != nil && v.Where.Token != "" &&
		d.Source == string(PlatformAPI) && d.Actor == v.Where.Token:
		// The engine knows the requester as the token's name, not as the person behind it: one person
		// may not trigger with a token and then approve with it.
		s, r, err := refuse(RefusedRequester, fmt.Sprintf("token %s triggered this delivery, so someone else has to approve it", v.Where.Token))
		r.By = v.Where.Token
		return s, r, err
	case slices.ContainsFunc(votes, func(x *store.Vote) bool { return x.Voter == v.Actor }):
		return refuse(RefusedVoted, alreadyVoted)
	}
	return s, nil, nil
}

// DeployerRole may trigger deliveries and rollbacks, and pause, resume and abort them, from a chat
// channel.
const DeployerRole = "deployer"

// FreezeExemptRole may unfreeze a delivery a freeze window holds (config.FreezeExemptRole).
const FreezeExemptRole = config.FreezeExemptRole

// rolesFor are the roles of which an actor needs one to act on a delivery: FreezeExemptRole to unfreeze,
// DeployerRole for everything else.
func rolesFor(action string) []string {
	if action == "unfreeze" {
		return []string{FreezeExemptRole}
	}
	return []string{DeployerRole}
}

// authorizeDelivery is the one place that decides whether someone may trigger a delivery of a project
// or, deliveryID set, pause, resume, abort or unfreeze one: the place the request came from serves the
// project and the actor holds the role the action needs there (rolesFor: DeployerRole, or
// FreezeExemptRole to unfreeze), or may, when a group is not known yet. A request with no
// Where (the API and the webhook, whose tokens are scoped to projects already) is not judged here. The
// action is what the reason says is asked ("trigger", "abort", ...).
func authorizeDelivery(w *Where, roles []string, project string, deliveryID int64, action string) *Refusal {
	if w == nil {
		return nil
	}
	what := "a delivery of project " + project
	if deliveryID != 0 {
		what = fmt.Sprintf("delivery #%d", deliveryID)
	}
	r := &Refusal{Project: project, DeliveryID: deliveryID}
	need := rolesFor(action)
	wait := unsure(w, need)
	switch {
	case !slices.Contains(w.Projects, project):
		r.Code, r.Reason = RefusedNotHere, fmt.Sprintf("project %s is not served here", project)
	case slices.ContainsFunc(roles, func(role string) bool { return slices.Contains(need, role) }):
		return nil
	case wait != "":
		r.Code, r.Roles, r.Reason = RefusedRolesUnknown, need, wait
	default:
		r.Code, r.Roles = RefusedNoRole, need
		r.Reason = fmt.Sprintf("you need the role %s to %s %s", strings.Join(need, " or "), action, what)
	}
	return r
}

// unsure is why it cannot be told in time whether the actor holds one of roles (the first of them, in
// order, that w is unsure of), or "" when it can.
func unsure(w *Where, roles []string) string {
	for _, r := range slices.Sorted(slices.Values(roles)) {
		if why := w.Unsure[r]; why != "" {
			return why
		}
	}
	return ""
}
