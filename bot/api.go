package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// DecideFromAPI casts a vote that came through the HTTP API: a token that names a person (its actor)
// approves or rejects as that person. The vote counts by the rules of a click: the actor must hold one
// of the approval's roles in a channel bound to the delivery's project (any of them, as the API has no
// channel), may not approve a delivery they triggered unless the stage allows it, and votes once. A
// token that triggered the delivery itself may not approve it either, since the person behind it did.
//
// A refused vote is not an error: the outcome's Reason says why, in words for the caller. Every vote,
// counted or refused, is audited with platform api and the channel "token:NAME", so the trail shows
// which token acted. An unknown approval is an error wrapping engine.ErrNotFound.
func (b *Bot) DecideFromAPI(ctx context.Context, approvalID int64, actor string, decision store.Decision, reason, tokenName string) (engine.VoteOutcome, error) {
	au := &auditTrail{}
	defer b.write(ctx, au, nil)
	who := Actor{Platform: store.PlatformAPI, ID: actor}
	channel := apiChannel(tokenName)
	action := "approval." + string(decision)
	target := fmt.Sprintf("approval:%d", approvalID)

	a, err := b.st.GetApproval(ctx, approvalID)
	if errors.Is(err, store.ErrNotFound) {
		au.add(who, channel, action, target, false, "no such approval", map[string]any{"token": tokenName})
		return engine.VoteOutcome{}, fmt.Errorf("%w: approval %d", engine.ErrNotFound, approvalID)
	}
	if err != nil {
		return engine.VoteOutcome{}, fmt.Errorf("decide from api: %w", err)
	}
	d, err := b.st.GetDelivery(ctx, a.DeliveryID)
	if err != nil {
		return engine.VoteOutcome{}, fmt.Errorf("decide from api: %w", err)
	}
	v := engine.Vote{ApprovalID: approvalID, Actor: actor, Roles: b.apiRoles(ctx, d.Project, actor), Decision: decision, Reason: reason,
		Platform: store.PlatformAPI, Channel: channel}

	// The engine knows the requester as the token's name, not as the person behind it; the token is
	// refused here so that one person cannot trigger with it and then approve with it.
	if decision == store.DecisionApprove && !a.AllowRequester && d.Source == string(store.PlatformAPI) && d.Actor == tokenName {
		out, err := b.eng.CheckVote(ctx, v)
		if err != nil {
			return engine.VoteOutcome{}, fmt.Errorf("decide from api: %w", err)
		}
		if out.Reason == "" {
			out.Reason = fmt.Sprintf("token %s triggered this delivery, so someone else has to approve it", tokenName)
		}
		out.Counted = false
		out.Reason = apiReason(out.Reason, d.Project)
		// CheckVote records nothing, so the refusal, whichever rule made it, is audited here.
		au.add(who, channel, action, target, false, out.Reason, map[string]any{"delivery": d.ID, "stage": a.Stage, "roles": v.Roles, "token": tokenName})
		return out, nil
	}
	out, err := b.eng.Decide(ctx, v)
	if err != nil {
		return engine.VoteOutcome{}, fmt.Errorf("decide from api: %w", err)
	}
	out.Reason = apiReason(out.Reason, d.Project)
	return out, nil
}

// apiRoles is the union of the roles a person holds in the channels bound to a project: a vote from the
// API comes from no channel, and may count wherever the person could have clicked.
func (b *Bot) apiRoles(ctx context.Context, project, user string) []string {
	var roles []string
	for _, ch := range b.bindingsOf(project) {
		roles = append(roles, b.rolesOf(ctx, ch, Actor{Platform: store.Platform(ch.Platform), ID: user})...)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// apiChannel is where an API vote came from, for the audit trail: the token, never its value.
func apiChannel(tokenName string) string { return "token:" + tokenName }

// apiReason rewords the engine's refusals, written for a click in a channel, for a caller of the API.
func apiReason(reason, project string) string {
	return strings.ReplaceAll(reason, "in this channel", "in a channel bound to project "+project)
}
