package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// authorizeVote is the one judge of a vote: where it came from, the roles, the requester, the token, the
// state. Each refusal has its code, the project it is about, and is audited; nothing is cast.
func TestAuthorizeVote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual, approvers: [release-managers]}"), "")
		id := f.trigger("carts", image) // by U-dev, source api
		synctest.Wait()
		a := f.pendingApproval(id)
		root := &store.ChatMessage{DeliveryID: id, Platform: "slack", Channel: "C1", MessageID: "1.1", ThreadID: "1.1", Kind: store.MessageRoot}
		if err := f.st.Update(context.Background(), func(tx *store.Tx) error { return tx.SaveChatMessage(context.Background(), root) }); err != nil {
			t.Fatal(err)
		}
		here := func(w Where) *Where { return &w }
		rm := []string{"release-managers"}
		for _, tt := range []struct {
			name  string
			vote  Vote
			code  RefusalCode
			roles []string
		}{
			{"no such approval", Vote{ApprovalID: 999, Actor: "U-ann", Roles: rm}, RefusedNotFound, nil},
			{"another project's channel", Vote{Actor: "U-ann", Roles: rm, Where: here(Where{Projects: []string{"other"}})}, RefusedNotHere, nil},
			{"channel bound to nothing", Vote{Actor: "U-ann", Roles: rm, Where: here(Where{})}, RefusedNotHere, nil},
			{"another thread", Vote{Actor: "U-ann", Roles: rm, Where: here(Where{Projects: []string{"shop"}, Thread: "9.9"})}, RefusedWrongThread, nil},
			{"not a decision", Vote{Actor: "U-ann", Roles: rm, Decision: "maybe"}, RefusedNotDecision, nil},
			{"no role", Vote{Actor: "U-ann", Roles: []string{"approver"}}, RefusedNoRole, rm},
			{"role not known yet", Vote{Actor: "U-ann", Where: here(Where{Projects: []string{"shop"}, Unsure: map[string]string{"release-managers": "group SREL still loading"}})},
				RefusedRolesUnknown, rm},
			{"requester", Vote{Actor: "U-dev", Roles: rm}, RefusedRequester, nil},
			{"token that triggered it", Vote{Actor: "U-ann", Roles: rm, Where: here(Where{Projects: []string{"shop"}, Token: "U-dev"})}, RefusedRequester, nil},
		} {
			v := tt.vote
			if v.ApprovalID == 0 {
				v.ApprovalID = a.ID
			}
			if v.Decision == "" {
				v.Decision = store.DecisionApprove
			}
			v.Platform, v.Channel = PlatformSlack, "C1"
			out, err := f.e.Decide(context.Background(), v)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			r := out.Refusal
			if out.Counted || r == nil || r.Code != tt.code || fmt.Sprint(r.Roles) != fmt.Sprint(tt.roles) || r.Reason == "" || out.Reason() != r.Reason {
				t.Errorf("%s: counted %v, refusal %+v; want refused with %s", tt.name, out.Counted, r, tt.code)
				continue
			}
			if tt.code != RefusedNotFound && (r.Project != "shop" || r.DeliveryID != id) {
				t.Errorf("%s: refusal is about %s/%d, want shop/%d", tt.name, r.Project, r.DeliveryID, id)
			}
		}
		if tt := "role not known yet"; true {
			out, _ := f.e.CheckVote(context.Background(), Vote{ApprovalID: a.ID, Actor: "U-ann", Decision: store.DecisionApprove,
				Where: &Where{Projects: []string{"shop"}, Unsure: map[string]string{"release-managers": "group SREL still loading"}}})
			if out.Refusal == nil || out.Refusal.Reason != "group SREL still loading" {
				t.Errorf("%s: the caller's reason is not passed on: %+v", tt, out.Refusal)
			}
		}
		audit, err := f.st.ListAudit(context.Background(), store.AuditQuery{Target: fmt.Sprintf("approval:%d", a.ID)})
		if err != nil || len(audit) != 9 {
			t.Errorf("%d audit entries of the approval (%v), want the 8 refusals and the check's", len(audit), err)
		}
		for _, e := range audit {
			if e.Allowed {
				t.Errorf("allowed audit entry %+v", e)
			}
		}
		// From its own thread, by someone with the role, it counts.
		out, err := f.e.Decide(context.Background(), Vote{ApprovalID: a.ID, Actor: "U-ann", Roles: rm, Decision: store.DecisionApprove,
			Platform: PlatformSlack, Channel: "C1", Where: &Where{Projects: []string{"shop"}, Thread: "1.1"}})
		if err != nil || !out.Counted || out.DeliveryID != id || out.Stage != "production" {
			t.Fatalf("vote from the delivery's thread: %+v %v", out, err)
		}
		synctest.Wait()
		equal(t, "approved", f.sequences(id)[1:], []string{"production.delivery=finished/pass/succeeded"})
	})
}

// Handle commits a request's claim, what it did and its answer together; a second run with the same key
// does nothing and returns the first answer. A request whose part fails leaves nothing of that part.
func TestHandleRunsARequestOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		key := Key{Scope: "slack.request", ID: "T1"}
		runs := 0
		h, err := f.e.Handle(context.Background(), key, func(op *Op) ([]byte, error) {
			runs++
			id, err := op.Trigger(Request{Project: "shop", Service: "carts", Image: image, Actor: "U-dev"})
			return fmt.Appendf(nil, `{"delivery":%d}`, id), err
		})
		if err != nil || h.Replayed || h.DeliveryID == 0 || string(h.Answer) != fmt.Sprintf(`{"delivery":%d}`, h.DeliveryID) {
			t.Fatalf("first run: %+v %v", h, err)
		}
		again, err := f.e.Handle(context.Background(), key, func(op *Op) ([]byte, error) {
			runs++
			return nil, errors.New("must not run")
		})
		if err != nil || !again.Replayed || again.DeliveryID != h.DeliveryID || string(again.Answer) != string(h.Answer) || runs != 1 {
			t.Errorf("second run: %+v %v (fn ran %d times)", again, err, runs)
		}
		if rec, err := f.st.GetIdempotencyKey(context.Background(), key.Scope, key.ID); err != nil || string(rec.Response) != string(h.Answer) || rec.DeliveryID != h.DeliveryID {
			t.Errorf("recorded key: %+v %v", rec, err)
		}

		// A refused part (pausing what cannot be paused) leaves nothing behind; the answer still commits.
		synctest.Wait()
		before := f.eventTypes(h.DeliveryID)
		refused, err := f.e.Handle(context.Background(), Key{Scope: "slack.request", ID: "T2"}, func(op *Op) ([]byte, error) {
			err := op.Resume(Control{DeliveryID: h.DeliveryID, Actor: "U-ops"})
			if !errors.Is(err, ErrRefused) {
				return nil, fmt.Errorf("resume of a running delivery: %v", err)
			}
			return []byte(`"refused"`), op.Audit(&store.AuditEntry{Actor: "U-ops", Action: "command.resume", Reason: "nothing to resume"})
		})
		if err != nil || string(refused.Answer) != `"refused"` {
			t.Fatalf("refused part: %+v %v", refused, err)
		}
		equal(t, "events after a refused part", f.eventTypes(h.DeliveryID), before)

		// A failing request commits nothing: no claim, so a retry acts.
		_, err = f.e.Handle(context.Background(), Key{Scope: "slack.request", ID: "T3"}, func(op *Op) ([]byte, error) {
			if _, err := op.Trigger(Request{Project: "shop", Service: "orders", Image: image, Actor: "U-dev"}); err != nil {
				return nil, err
			}
			return nil, errors.New("the database went away")
		})
		if err == nil {
			t.Fatal("a failing request succeeded")
		}
		if _, err := f.st.GetIdempotencyKey(context.Background(), "slack.request", "T3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed request's key was kept: %v", err)
		}
		if ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{Service: "orders"}); len(ds) != 0 {
			t.Errorf("a failed request left %d deliveries", len(ds))
		}
		synctest.Wait()
	})
}

// A vote's transaction decides the approval; its task ends in the transition after. If the process
// stops in between, the next start ends the task from the decided approval, and the delivery goes on.
func TestRestartBetweenDecisionAndTaskEnd(t *testing.T) {
	for _, tt := range []struct {
		state store.ApprovalState
		want  string
	}{
		{store.ApprovalApproved, "production.delivery=finished/pass/succeeded"},
		{store.ApprovalRejected, "production.delivery=finished/fail/succeeded"},
	} {
		t.Run(string(tt.state), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, approvalShipyard("{pass: manual}"), "")
				id := f.trigger("carts", image)
				synctest.Wait()
				a := f.pendingApproval(id)
				f.stop()
				// What the vote's transaction leaves when the process dies before the next one.
				st, err := store.Open(context.Background(), f.dbPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Update(context.Background(), func(tx *store.Tx) error {
					_, err := tx.DecideApproval(context.Background(), a.ID, tt.state, "U-ann", string(tt.state)+" by U-ann")
					return err
				}); err != nil {
					t.Fatal(err)
				}
				st.Close()
				f.start()
				synctest.Wait()
				equal(t, "after restart", f.sequences(id)[1:2], []string{tt.want})
			})
		})
	}
}

// The same request delivered several times at once (a platform's retries racing the first) runs once;
// every copy gets the first answer.
func TestConcurrentCopiesOfARequestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			runs    int
			answers []string
		)
		for range 8 {
			wg.Go(func() {
				h, err := f.e.Handle(context.Background(), Key{Scope: "slack.request", ID: "click-42"}, func(op *Op) ([]byte, error) {
					mu.Lock()
					runs++
					mu.Unlock()
					id, err := op.Trigger(Request{Project: "shop", Service: "carts", Image: image, Actor: "U-dev"})
					return fmt.Appendf(nil, "%d", id), err
				})
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				mu.Lock()
				answers = append(answers, string(h.Answer))
				mu.Unlock()
			})
		}
		wg.Wait()
		synctest.Wait()
		slices.Sort(answers)
		if runs != 1 || len(answers) != 8 || answers[0] != "1" || len(slices.Compact(slices.Clone(answers))) != 1 {
			t.Errorf("fn ran %d times; answers %v", runs, answers)
		}
		if ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); len(ds) != 1 {
			t.Errorf("%d deliveries, want 1", len(ds))
		}
	})
}
