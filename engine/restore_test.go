package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// A backup restored in place of the database (shipgate stopped, the file replaced and its -wal and -shm
// files removed, shipgate started) is the state at the moment of the backup, recovered as after a crash:
// a delivery waiting for approval still waits with the votes it had, a task that was running is handled
// as a restart handles it, and what happened after the backup is gone.
func TestRestoreFromBackup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f := newFixture(t, approvalShipyard("{pass: manual, required: 2}"), "")
		g := newGate()
		f.fake.on("orders/test", g.run)

		waiting := f.trigger("carts", image) // qa passes, production waits for 2 approvals
		running := f.trigger("orders", image, "n=1")
		synctest.Wait()
		<-g.started // orders' qa test is running
		a := f.pendingApproval(waiting)
		if out := f.vote(a.ID, "U-ann", store.DecisionApprove); !out.Counted {
			t.Fatalf("first vote: %s", out.Reason())
		}
		root := &store.ChatMessage{DeliveryID: waiting, Platform: "slack", Channel: "C1", MessageID: "1700000000.000100", Kind: store.MessageRoot}
		if err := f.st.Update(ctx, func(tx *store.Tx) error { return tx.SaveChatMessage(ctx, root) }); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()

		backup := filepath.Join(t.TempDir(), "backup.db")
		if _, err := f.st.Backup(ctx, backup); err != nil {
			t.Fatal(err)
		}

		// After the backup: the second approval lets carts finish, and orders' test passes.
		if out := f.vote(a.ID, "U-bob", store.DecisionApprove); !out.Counted {
			t.Fatalf("second vote: %s", out.Reason())
		}
		close(g.release)
		synctest.Wait()
		if d := f.delivery(waiting); d.State != store.StateFinished {
			t.Fatalf("carts before the restore: %s", d.State)
		}
		equal(t, "orders before the restore", f.tasks(running), []string{"qa.test=finished/pass", "production.approval=started/"})

		// Restore, as the README says: stop, replace the file and drop its -wal and -shm, start.
		f.stop()
		data, err := os.ReadFile(backup)
		if err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(f.dbPath + suffix); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(f.dbPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f.start()
		synctest.Wait()

		// carts waits again, with U-ann's vote and without U-bob's, which came after the backup.
		equal(t, "carts after the restore", f.sequences(waiting), []string{"qa.delivery=finished/pass/succeeded", "production.delivery=waitingForApproval//"})
		votes, err := f.st.ListVotes(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(votes) != 1 || votes[0].Voter != "U-ann" {
			t.Errorf("votes after the restore: %+v", votes)
		}
		audit, err := f.st.ListAudit(ctx, store.AuditQuery{Actor: "U-ann"})
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Action != "approval.approve" || !audit[0].Allowed {
			t.Errorf("U-ann's audit entries after the restore: %+v", audit)
		}
		if msgs, err := f.st.ListChatMessages(ctx, waiting); err != nil || len(msgs) != 1 || msgs[0].MessageID != root.MessageID {
			t.Errorf("chat messages after the restore: %+v, %v", msgs, err)
		}

		// orders' test was running at the backup: like any interrupted task that is not idempotent, it
		// fails, and the fail-selected rollback sequence runs.
		equal(t, "orders after the restore", f.tasks(running), []string{"qa.test=finished/fail", "qa.approval=finished/fail"})
		trs, err := f.st.ListTaskRuns(ctx, store.TaskRunQuery{DeliveryID: running})
		if err != nil {
			t.Fatal(err)
		}
		if trs[0].Message != interruptedMessage || trs[0].Status != store.StatusErrored {
			t.Errorf("interrupted task: %s %q", trs[0].Status, trs[0].Message)
		}

		// The restored database takes decisions again: U-bob approves once more and carts is released.
		if out := f.vote(a.ID, "U-bob", store.DecisionApprove); !out.Counted || out.Approval.State != store.ApprovalApproved {
			t.Fatalf("second vote after the restore: %+v", out)
		}
		synctest.Wait()
		equal(t, "carts in the end", f.sequences(waiting)[1:], []string{"production.delivery=finished/pass/succeeded"})
	})
}
