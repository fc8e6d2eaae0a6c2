package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/messages")

// golden compares a message with testdata/messages/NAME.json. The Slack and Discord renderers read the
// same files, so every shape here is also pinned in each platform's format.
func golden(t *testing.T, name string, m Message) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	// Keptn contexts are random UUIDs.
	got := uuidPattern.ReplaceAll(buf.Bytes(), []byte("00000000-0000-0000-0000-000000000000"))
	path := filepath.Join("testdata", "messages", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run Golden -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", name, path, got)
	}
}

// TestGoldenMessages pins every message shape: the root card in each state, task replies, the score
// table, and the approval request pending, partly approved, approved and rejected.
func TestGoldenMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Every reply shape, a task's start included, which only thread_detail tasks posts.
		f := newFixtureWith(t, func(cfg *config.Config, _ map[string]string) { cfg.Channels[0].ThreadDetail = config.ThreadTasks })
		ctx := context.Background()
		ch := f.bot.binding(engine.PlatformSlack, channel)
		root := func(name string, id int64) {
			t.Helper()
			m, err := f.bot.renderRoot(ctx, ch, id)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, m)
		}
		approval := func(name string, id int64) {
			t.Helper()
			m, err := f.bot.renderApproval(ctx, ch, id)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, m)
		}
		reply := func(name string, id int64, contains string) {
			t.Helper()
			for _, c := range f.poster.all() {
				if c.Op == "post" && c.Thread == f.messageOf(id, store.MessageRoot).ThreadID && len(c.Message.Text) >= len(contains) &&
					(c.Message.Text == contains || containsPrefix([]string{c.Message.Text}, contains)) {
					golden(t, name, c.Message)
					return
				}
			}
			t.Errorf("no reply %q: %s", contains, dump(f.poster.all()))
		}

		first := f.deliver("v0.1.1", 500)
		settle()
		root("root-waiting-for-approval", first)
		reply("reply-task-started", first, "qa · `deployment` started")
		reply("reply-task-finished", first, "qa · `test` ✅ pass")
		reply("score-table-pass", first, "qa · `evaluation` ✅ pass")
		a := f.pendingApproval(first)
		approval("approval-pending", a.ID)
		f.click(ops, ActionApprove, a.ID)
		approval("approval-partly-approved", a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		approval("approval-approved", a.ID)
		root("root-finished-pass", first)

		failed := f.deliver("v0.1.2", 900)
		settle()
		root("root-failed-with-rollback", failed)
		reply("score-table-fail", failed, "qa · `evaluation` ❌ fail")

		rejected := f.deliver("v0.1.3", 520)
		settle()
		f.command(developer, "pause 3")
		settle()
		root("root-paused", rejected)
		f.command(developer, "resume 3")
		ra := f.pendingApproval(rejected)
		f.click(ops, ActionReject, ra.ID, "the <error budget> is spent & then some")
		settle()
		approval("approval-rejected", ra.ID)

		aborted := f.deliver("v0.1.4", 510)
		settle()
		f.command(developer, "abort 4")
		settle()
		root("root-aborted", aborted)
		approval("approval-aborted", f.messageOf(aborted, store.MessageApproval).ApprovalID)
	})
}

// TestGoldenChanges pins the approval request of a diffed deployment, with its changes line, and the
// thread reply with the diff.
func TestGoldenChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixtureWith(t, func(_ *config.Config, files map[string]string) {
			files["executors.yaml"] = testExecutors + "stages:\n  production:\n    tasks:\n      deployment: {type: diffing}\n"
		})
		ctx := context.Background()
		ch := f.bot.binding(engine.PlatformSlack, channel)
		id := f.deliver("v0.1.1", 500)
		synctest.Wait()
		a := f.pendingApproval(id)
		m, err := f.bot.renderApproval(ctx, ch, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "approval-with-changes", m)
		var changes *Message
		for _, c := range f.poster.all() {
			if c.Op == "post" && c.Message.Code != nil {
				changes = &c.Message
			}
		}
		if changes == nil {
			t.Fatalf("no reply with the diff: %s", dump(f.poster.all()))
		}
		golden(t, "reply-changes", *changes)
	})
}
