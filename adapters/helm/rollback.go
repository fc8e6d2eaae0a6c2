package helm

import (
	"context"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// rollback rolls the release back to what ran before the task's delivery changed it. It finds the
// delivery's revisions in Helm's history by their description (marker), so it needs nothing but the
// cluster:
//   - the delivery made revisions: back to the last good revision before its first one; nothing to roll
//     back to when its first was the release's first;
//   - it made none and was itself triggered as a rollback (`/deliver rollback SERVICE STAGE`): the current
//     revision back to the last good one before it;
//   - it made none otherwise (its deployment failed before Helm changed anything, or it never deployed in
//     this stage): nothing to undo, and the task passes saying so.
//
// A release that moved on since the delivery's last revision is not rolled back over someone else's change.
func (r *run) rollback(ctx context.Context) engine.Result {
	history, err := r.history()
	if err != nil {
		return errored("helm: reading the history of release %s in %s: %v", r.release, r.namespace, err)
	}
	if len(history) == 0 {
		if r.t.DeliverySequence == r.t.Sequence {
			return failed("nothing to roll back: release %s is not installed in %s", r.release, r.namespace)
		}
		return passed(nil, "nothing to roll back: release %s is not installed in %s", r.release, r.namespace)
	}
	latest := history[len(history)-1]
	mark := marker(r.t)
	var mine []*release.Release
	for _, rel := range history {
		if rel.Info != nil && strings.HasPrefix(rel.Info.Description, mark) {
			mine = append(mine, rel)
		}
	}
	var target *release.Release
	switch {
	case len(mine) > 0:
		first, last := mine[0], mine[len(mine)-1]
		target = lastGood(history, first.Version)
		if target == nil {
			return failed("nothing to roll back to: this delivery's revision %d is the first good revision of release %s in %s; `helm uninstall %s -n %s` removes it",
				first.Version, r.release, r.namespace, r.release, r.namespace)
		}
		if latest.Version != last.Version {
			if latest.Info != nil && latest.Info.Description == fmt.Sprintf("Rollback to %d", target.Version) {
				return passed(r.rollbackData(latest, target), "%s is already rolled back to revision %d as revision %d", r.release, target.Version, latest.Version)
			}
			return failed("not rolling back: release %s in %s moved on to revision %d since this delivery's revision %d", r.release, r.namespace, latest.Version, last.Version)
		}
	case r.t.DeliverySequence == r.t.Sequence:
		target = lastGood(history, current(history).Version)
		if target == nil {
			return failed("nothing to roll back to: release %s in %s has no good revision before revision %d", r.release, r.namespace, current(history).Version)
		}
	default:
		return passed(nil, "nothing to roll back: this delivery did not change release %s in %s", r.release, r.namespace)
	}
	rb := action.NewRollback(r.cfg)
	rb.Version = target.Version
	rb.Wait, rb.Timeout = r.s.Wait || r.s.Atomic, r.helmTimeout()
	rb.MaxHistory = *r.s.MaxHistory
	if err := rb.Run(r.release); err != nil {
		return failed("helm rollback of %s in %s to revision %d failed: %v", r.release, r.namespace, target.Version, err)
	}
	after, err := r.history()
	if err != nil || len(after) == 0 {
		return errored("helm: reading release %s after the rollback: %v", r.release, err)
	}
	now := after[len(after)-1]
	msg := fmt.Sprintf("rolled %s in %s back to revision %d", r.release, r.namespace, target.Version)
	if img := r.imageAt(target.Config); img != "" {
		msg += " (" + img + ")"
	}
	msg += fmt.Sprintf(" as revision %d", now.Version)
	return passed(r.rollbackData(now, target), "%s", msg)
}

// lastGood is the newest revision before revision `before` that was deployed successfully.
func lastGood(history []*release.Release, before int) *release.Release {
	for i := len(history) - 1; i >= 0; i-- {
		rel := history[i]
		if rel.Version >= before || rel.Info == nil {
			continue
		}
		if rel.Info.Status == release.StatusSuperseded || rel.Info.Status == release.StatusDeployed {
			return rel
		}
	}
	return nil
}

// rollbackData is the result data of a rollback, under the task's name.
func (r *run) rollbackData(now, target *release.Release) map[string]any {
	return map[string]any{r.t.Name: map[string]any{"helm": map[string]any{
		"release": r.release, "namespace": r.namespace, "stage": r.t.Stage,
		"revision": now.Version, "rolledBackTo": target.Version, "image": r.imageAt(target.Config),
	}}}
}

func passed(data map[string]any, format string, args ...any) engine.Result {
	return engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded, Message: fmt.Sprintf(format, args...), Data: data}
}
