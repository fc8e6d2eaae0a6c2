package bot

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/store/storetest"
)

// Every chat request costs one write transaction: its request id's claim, what it does through the
// engine, its audit entries and its stored answer commit together; a replay of it costs none. The store
// counts the commits made under each request's context, whatever the engine and the outbox commit
// meanwhile.
func TestOneCommitPerChatRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)

		commits := func(name, wantIn string, do func(ctx context.Context) string) {
			t.Helper()
			ctx, n := store.CountCommits(context.Background())
			answer := do(ctx)
			if !strings.Contains(answer, wantIn) {
				t.Errorf("%s answered %q, want %q in it", name, answer, wantIn)
			}
			if n.Load() != 1 {
				t.Errorf("%s: %d write transactions, want 1", name, n.Load())
			}
		}
		command := func(user, text, id string) func(ctx context.Context) string {
			return func(ctx context.Context) string {
				r := f.bot.HandleCommand(ctx, CommandRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: user}, Channel: channel, Text: text, RequestID: id})
				return r.Message.Text
			}
		}
		click := func(user, action string, approval int64, reasonGiven bool, id string) func(ctx context.Context) string {
			return func(ctx context.Context) string {
				r := f.bot.HandleClick(ctx, ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: user}, Channel: channel, ActionID: action,
					Value: approvalValue(approval), Reason: "no", ReasonGiven: reasonGiven, RequestID: id})
				switch {
				case r.Private != nil:
					return r.Private.Text
				case r.AskReason != nil:
					return r.AskReason.Summary
				}
				return ""
			}
		}
		commits("approve refused", "You triggered this delivery", click(developer, ActionApprove, a.ID, false, "c-self"))
		commits("reject asks why", "Reject helloservice", click(ops, ActionReject, a.ID, false, "c-ask"))
		commits("approve", "Your approval counted", click(ops, ActionApprove, a.ID, false, "c-approve"))
		commits("/deliver", "🚀 Delivery #2", command(developer, "helloservice ghcr.io/podtato-head/podtatoserver:v2", "r-deliver"))
		commits("/deliver refused", "no service", command(developer, "nosuch ghcr.io/podtato-head/podtatoserver:v2", "r-bad"))
		commits("/deliver by someone without the role", "you need the role deployer", command(outsider, "helloservice ghcr.io/podtato-head/podtatoserver:v2", "r-outsider"))
		commits("/deliver pause", "paused", command(ops, "pause 2", "r-pause"))
		commits("/deliver status", "#2 helloservice v2", command(ops, "status", "r-status"))
		// A platform's retry of any of them is answered from the first answer without a write.
		ctx, n := store.CountCommits(context.Background())
		r := f.bot.HandleClick(ctx, ClickRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: ops}, Channel: channel, ActionID: ActionApprove,
			Value: approvalValue(a.ID), RequestID: "c-approve"})
		if !r.Duplicate || r.Private == nil || !strings.Contains(r.Private.Text, "Your approval counted") || n.Load() != 0 {
			t.Errorf("retried click: %+v (%d commits), want the first answer again and no write", r, n.Load())
		}
		ctx, n = store.CountCommits(context.Background())
		if r := f.bot.HandleCommand(ctx, CommandRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: developer}, Channel: channel,
			Text: "helloservice ghcr.io/podtato-head/podtatoserver:v2", RequestID: "r-deliver"}); !r.Duplicate || !strings.Contains(r.Message.Text, "🚀 Delivery #") || n.Load() != 0 {
			t.Errorf("retried /deliver: %+v (%d commits)", r, n.Load())
		}
		settle()
	})
}

// A request whose transaction the database refuses (here another process holds the write lock past the
// busy timeout) is answered with a failure, not with what it would have done, and leaves nothing: the
// platform's retry of the same request acts.
func TestRequestTheDatabaseRefusesIsNotDone(t *testing.T) {
	f := newFixture(t, store.WithBusyTimeout(20*time.Millisecond))
	req := CommandRequest{Actor: Actor{Platform: engine.PlatformSlack, ID: developer}, Channel: channel,
		Text: "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1", RequestID: "T-locked"}
	release := storetest.HoldWriteLock(t, f.db)
	r := f.bot.HandleCommand(context.Background(), req)
	release()
	if r.Duplicate || !strings.Contains(r.Message.Text, "Something went wrong on shipgate's side") {
		t.Errorf("answer while the database refuses writes: %+v", r)
	}
	if ds, err := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); err != nil || len(ds) != 0 {
		t.Fatalf("%d deliveries (%v) after a refused request", len(ds), err)
	}
	r = f.bot.HandleCommand(context.Background(), req)
	if r.Duplicate || !strings.Contains(r.Message.Text, "🚀 Delivery #1") {
		t.Errorf("the retry once the database takes writes: %+v", r)
	}
}
