package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// notifier turns engine events into messages in every channel bound to the delivery's project. It runs
// in the engine's publishing goroutine, which hands it events in commit order and never holds up a
// transition for it; it only reads the store and queues messages, so it does not hold up the other
// subscribers either.
type notifier struct {
	b           *Bot
	mu          sync.Mutex
	unsubscribe func()
}

func newNotifier(b *Bot) *notifier { return &notifier{b: b} }

func (n *notifier) start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.unsubscribe = n.b.eng.Subscribe(n.handle)
}

// stop takes no more events. Close the engine first to have the events of its last transitions handled.
func (n *notifier) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unsubscribe != nil {
		n.unsubscribe()
		n.unsubscribe = nil
	}
}

// handle queues the messages an event calls for: the root card's edit always, and a thread reply for
// what the history should show at each binding's thread_detail.
func (n *notifier) handle(ev engine.Event) {
	ctx := n.b.outbox.ctx
	root := msgKey{delivery: ev.DeliveryID, kind: store.MessageRoot}
	for _, ch := range n.b.bindingsOf(ev.Project) {
		if n.b.posters[engine.Platform(ch.Platform)] == nil {
			continue
		}
		ob := n.b.outbox
		switch kind := eventKind(ev); {
		case ev.Type == engine.EventDeliveryTriggered:
			ob.post(ch, postOp{key: root})
		case ev.Type == engine.EventApprovalWaiting && ev.Approval != nil:
			ob.post(ch, postOp{key: msgKey{delivery: ev.DeliveryID, kind: store.MessageApproval, approval: ev.Approval.ID}, broadcast: true})
		case ev.Type == engine.EventApprovalChanges && ev.Approval != nil && ev.Changes != nil:
			// Only a diffed deployment adds to what the card shows already (the image, what runs now).
			if s := ev.Changes.Summary; s.Diffed || s.Error != "" {
				ob.touch(ch, msgKey{delivery: ev.DeliveryID, kind: store.MessageApproval, approval: ev.Approval.ID})
			}
			if ev.Changes.Diff != "" {
				ob.post(ch, postOp{key: thread(ev), msg: renderChanges(ev)})
			}
		case ev.Type == engine.EventApprovalVoted && ev.Approval != nil:
			ob.touch(ch, msgKey{delivery: ev.DeliveryID, kind: store.MessageApproval, approval: ev.Approval.ID})
		case (ev.Type == engine.EventApprovalReminded || ev.Type == engine.EventApprovalEscalated) && ev.Approval != nil:
			// Asked in the thread, where the request is; the request's card shows the ladder so far.
			ob.post(ch, postOp{key: thread(ev), msg: n.b.renderLadderStep(ch, ev)})
			ob.touch(ch, msgKey{delivery: ev.DeliveryID, kind: store.MessageApproval, approval: ev.Approval.ID})
		case ev.Type == engine.EventSequencePaused || ev.Type == engine.EventSequenceResumed:
			mark := StagePaused.Emoji()
			if ev.Type == engine.EventSequenceResumed {
				mark = "▶️"
			}
			ob.post(ch, postOp{key: thread(ev), msg: renderNote(fmt.Sprintf("%s · %s %s", ev.Stage, mark, ev.Message))})
		case ev.Type == engine.EventSequenceFrozen || ev.Type == engine.EventSequenceThawed || ev.Type == engine.EventSequenceUnfrozen:
			ob.post(ch, postOp{key: thread(ev), msg: renderFreezeNote(ev)})
		case ev.Task != "" && kind == "started":
			if ch.EffectiveThreadDetail() == config.ThreadTasks {
				ob.post(ch, postOp{key: thread(ev), msg: renderTaskStarted(ev)})
			}
		case ev.Task != "" && kind == "finished":
			if ch.EffectiveThreadDetail() != config.ThreadStages || !cleanPass(ev) {
				ob.post(ch, postOp{key: thread(ev), msg: n.taskReply(ctx, ev)})
			}
		case ev.Task == "" && kind == "finished" && ev.Sequence != "" && ev.Type != engine.EventDeliveryFinished:
			text := fmt.Sprintf("%s · %s `%s` finished", ev.Stage, sequenceMark(ev).Emoji(), ev.Sequence)
			if ev.Status == store.StatusAborted || ev.Result != store.ResultPass {
				text += ": " + truncate.Bytes(ev.Message, maxResultText)
			}
			ob.post(ch, postOp{key: thread(ev), msg: renderNote(strings.TrimSuffix(text, ": "))})
			// An abort or a newer delivery closes a pending approval without a vote: show how it ended.
			n.touchApprovals(ctx, ch, ev.DeliveryID)
		}
		if ev.Task == "approval" && eventKind(ev) == "finished" {
			n.touchApprovals(ctx, ch, ev.DeliveryID)
		}
		ob.touch(ch, root)
	}
}

// cleanPass reports whether a finished task passed without a warning or an error, which is all a thread
// at thread_detail stages leaves out: the stage's end says it. A warning stays, since it is what a release
// manager reads the thread for; a timed-out task ends with fail and errored.
func cleanPass(ev engine.Event) bool {
	return ev.Result == store.ResultPass && ev.Status == store.StatusSucceeded
}

func thread(ev engine.Event) msgKey {
	return msgKey{delivery: ev.DeliveryID, kind: store.MessageThread}
}

// eventKind is the last word of an event type: triggered, started, finished.
func eventKind(ev engine.Event) string {
	return ev.Type[strings.LastIndex(ev.Type, ".")+1:]
}

func sequenceMark(ev engine.Event) StageState {
	if ev.Status == store.StatusAborted {
		return StageAborted
	}
	return resultState(ev.Result)
}

// taskReply is a finished task's thread reply: the score table for a scored evaluation, a line for the
// rest.
func (n *notifier) taskReply(ctx context.Context, ev engine.Event) Message {
	tr, err := n.b.st.GetTaskRun(ctx, ev.TaskRunID)
	if err != nil {
		n.b.log.Warn("task reply without duration", "task_run", ev.TaskRunID, "err", err)
		tr = nil
	}
	// A task that evaluated nothing (no SLO, no provider) gets a plain reply instead of a table.
	if ev.Evaluation != nil && len(ev.Evaluation.Objectives) > 0 {
		return renderScoreTable(ev, *ev.Evaluation, tr)
	}
	return renderTaskFinished(ev, tr)
}

func (n *notifier) touchApprovals(ctx context.Context, ch *config.ChannelBinding, delivery int64) {
	msgs, err := n.b.st.ListChatMessages(ctx, delivery)
	if err != nil {
		n.b.log.Warn("list approval messages", "delivery", delivery, "err", err)
		return
	}
	for _, m := range msgs {
		if m.Kind == store.MessageApproval && string(m.Platform) == ch.Platform && m.Channel == ch.Channel {
			n.b.outbox.touch(ch, msgKey{delivery: delivery, kind: store.MessageApproval, approval: m.ApprovalID})
		}
	}
}

// catchUp brings the root cards and approval requests of live deliveries up to date after a start: a
// previous process may have stopped between committing a transition and sending its message.
func (n *notifier) catchUp(ctx context.Context) error {
	for _, state := range store.LiveSequenceStates() {
		ds, err := n.b.st.ListDeliveries(ctx, store.DeliveryQuery{State: state})
		if err != nil {
			return fmt.Errorf("bot: catch up: %w", err)
		}
		for _, d := range ds {
			pending, err := n.b.st.ListApprovals(ctx, store.ApprovalQuery{DeliveryID: d.ID, State: store.ApprovalPending})
			if err != nil {
				return fmt.Errorf("bot: catch up: %w", err)
			}
			for _, ch := range n.b.bindingsOf(d.Project) {
				if n.b.posters[engine.Platform(ch.Platform)] == nil {
					continue
				}
				n.b.outbox.touch(ch, msgKey{delivery: d.ID, kind: store.MessageRoot})
				for _, a := range pending {
					// Posting an approval request that exists already edits it instead.
					n.b.outbox.post(ch, postOp{key: msgKey{delivery: d.ID, kind: store.MessageApproval, approval: a.ID}, broadcast: true})
				}
			}
		}
	}
	return nil
}
