package bot

import (
	"context"
	"fmt"
	"slices"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// DecideFromAPI casts a vote that came through the HTTP API: a token that names a person (its actor)
// approves or rejects as that person. The vote counts by the rules of a click (engine.authorizeVote):
// the actor must hold one of the approval's roles in a channel bound to the delivery's project (any of
// them, as the API has no channel), may not approve a delivery they triggered unless the stage allows it,
// and votes once. A token that triggered the delivery itself may not approve it either, since the person
// behind it did. project is the project the caller was let act on; an approval of another one is refused.
//
// A refused vote is not an error: the outcome's Refusal says why, for the API to word. Every vote,
// counted or refused, is audited with platform api and the channel "token:NAME", so the trail shows
// which token acted.
func (b *Bot) DecideFromAPI(ctx context.Context, approvalID int64, project, actor string, decision store.Decision, reason, tokenName string) (engine.VoteOutcome, error) {
	roles := b.apiRoles(ctx, project, actor)
	v := engine.Vote{ApprovalID: approvalID, Actor: actor, Roles: roles.held, Decision: decision, Reason: reason,
		Platform: engine.PlatformAPI, Channel: apiChannel(tokenName),
		Where: &engine.Where{Projects: []string{project}, Unsure: roles.unsureRoles(), Token: tokenName}}
	out, err := b.eng.Decide(ctx, v)
	if err != nil {
		return engine.VoteOutcome{}, fmt.Errorf("decide from api: %w", err)
	}
	return out, nil
}

// apiRoles is the union of the roles a person holds in the channels bound to a project: a vote from the
// API comes from no channel, and may count wherever the person could have clicked.
func (b *Bot) apiRoles(ctx context.Context, project, user string) heldRoles {
	var all heldRoles
	for _, ch := range b.bindingsOf(project) {
		h := b.rolesHeld(ctx, ch, Actor{Platform: engine.Platform(ch.Platform), ID: user})
		all.held = append(all.held, h.held...)
		for r, ge := range h.unsure {
			if all.unsure == nil {
				all.unsure = map[string]*groupUnknownError{}
			}
			all.unsure[r] = ge
		}
	}
	slices.Sort(all.held)
	all.held = slices.Compact(all.held)
	for _, r := range all.held {
		delete(all.unsure, r)
	}
	return all
}

// apiChannel is where an API vote came from, for the audit trail: the token, never its value.
func apiChannel(tokenName string) string { return "token:" + tokenName }

// UnfreezeFromAPI starts a delivery's frozen sequences now for a token that names a person: the roles
// the person holds in the channels bound to project decide (freeze-exempt), as for a vote from the API.
func (b *Bot) UnfreezeFromAPI(ctx context.Context, deliveryID int64, project, actor, reason, tokenName string) error {
	roles := b.apiRoles(ctx, project, actor)
	return b.eng.Unfreeze(ctx, engine.Control{DeliveryID: deliveryID, Actor: actor, Platform: string(engine.PlatformAPI), Channel: apiChannel(tokenName),
		Roles: roles.held, Reason: reason, Where: &engine.Where{Projects: []string{project}, Unsure: roles.unsureRoles(), Token: tokenName}})
}
