package bot

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// verdictExecutors is testExecutors with the test task run by verdict, so that --label fail=test fails it.
const verdictExecutors = `tasks:
  deployment: {type: noop}
  test: {type: verdict}
  release: {type: noop}
  rollback: {type: noop}
`

// threadLine is a reply a delivery's thread may get, and the least detailed thread_detail that still
// posts it: tasks (only there), results (there and at tasks) or stages (at every level).
type threadLine struct {
	text string
	from config.ThreadDetail
}

// shownAt reports whether a thread at level posts the line.
func (l threadLine) shownAt(level config.ThreadDetail) bool {
	rank := map[config.ThreadDetail]int{config.ThreadTasks: 0, config.ThreadResults: 1, config.ThreadStages: 2}
	return rank[level] <= rank[l.from]
}

// threadDelivery is one delivery of the tutorial project: what happens to it, what its thread gets, and
// how its root card and approval request (if any) end, which is the same at every level.
type threadDelivery struct {
	name     string
	run      func(f *fixture) int64
	thread   []threadLine
	status   string
	decision string // how the approval request's text begins once decided; "" when there is none
}

// The tutorial project's deliveries at each thread_detail: the replies posted in each thread are exactly
// those of its level, in order, while the root card ends the same at every level.
func TestThreadDetail(t *testing.T) {
	const (
		tasks   = config.ThreadTasks
		results = config.ThreadResults
		stages  = config.ThreadStages
	)
	// A thread's first lines when qa passes.
	qaPasses := []threadLine{
		{"qa · `deployment` started", tasks},
		{"qa · `deployment` ✅ pass in 0s", results},
		{"qa · `test` started", tasks},
		{"qa · `test` ✅ pass in 0s", results},
		{"qa · `evaluation` started", tasks},
		{"qa · `evaluation` ✅ pass in 0s: score 100.00, pass [score table]", results},
		{"qa · ✅ `delivery` finished", stages},
	}
	deliveries := []threadDelivery{
		{
			name: "passes qa and is approved into production",
			run: func(f *fixture) int64 {
				id := f.deliver("v0.1.1", 500)
				settle()
				a := f.pendingApproval(id)
				f.click(ops, ActionApprove, a.ID)
				f.click(qaLead, ActionApprove, a.ID)
				settle()
				return id
			},
			thread: slices.Concat(qaPasses, []threadLine{
				{"production · `approval` started: Approval strategy for result 'pass': manual", tasks},
				{"[approval request] Approval: helloservice v0.1.1 to production", stages},
				{"production · `approval` ✅ pass in 2s: approved by UOPS1, UQA1", results},
				{"production · `deployment` started", tasks},
				{"production · `deployment` ✅ pass in 0s", results},
				{"production · `release` started", tasks},
				{"production · `release` ✅ pass in 0s", results},
				{"production · ✅ `delivery` finished", stages},
			}),
			status:   "qa ✅ · production ✅",
			decision: "✅ Approved by <@UOPS1>, <@UQA1>",
		},
		{
			name: "fails the qa evaluation",
			run: func(f *fixture) int64 {
				id := f.deliver("v0.1.2", 900)
				settle()
				return id
			},
			thread: []threadLine{
				{"qa · `deployment` started", tasks},
				{"qa · `deployment` ✅ pass in 0s", results},
				{"qa · `test` started", tasks},
				{"qa · `test` ✅ pass in 0s", results},
				{"qa · `evaluation` started", tasks},
				{"qa · `evaluation` ❌ fail in 0s: score 66.67, fail: Evaluation failed since the calculated score of 66.67 is below the warning value of 75 [score table]", stages},
				{"qa · ❌ `delivery` finished: score 66.67, fail: Evaluation failed since the calculated score of 66.67 is below the warning value of 75", stages},
				{"qa · `rollback` started", tasks},
				{"qa · `rollback` ✅ pass in 0s", results},
				{"qa · ✅ `rollback` finished", stages},
			},
			status: "qa ❌ rollback ✅ · production ·",
		},
		{
			name: "fails the qa test",
			run: func(f *fixture) int64 {
				id := f.deliver("v0.1.3", 500, "fail=test")
				settle()
				return id
			},
			thread: []threadLine{
				{"qa · `deployment` started", tasks},
				{"qa · `deployment` ✅ pass in 0s", results},
				{"qa · `test` started", tasks},
				{"qa · `test` ❌ fail in 0s: 2 of 40 checks failed", stages},
				{"qa · ❌ `delivery` finished: 2 of 40 checks failed", stages},
				{"qa · `rollback` started", tasks},
				{"qa · `rollback` ✅ pass in 0s", results},
				{"qa · ✅ `rollback` finished", stages},
			},
			status: "qa ❌ rollback ✅ · production ·",
		},
		{
			name: "passes qa with a warning, is paused and resumed, and is rejected",
			run: func(f *fixture) int64 {
				id := f.deliver("v0.1.4", 700)
				settle()
				f.command(developer, fmt.Sprintf("pause %d", id))
				settle()
				f.command(developer, fmt.Sprintf("resume %d", id))
				settle()
				f.click(ops, ActionReject, f.pendingApproval(id).ID, "p95 is too close to the limit")
				settle()
				return id
			},
			thread: []threadLine{
				{"qa · `deployment` started", tasks},
				{"qa · `deployment` ✅ pass in 0s", results},
				{"qa · `test` started", tasks},
				{"qa · `test` ✅ pass in 0s", results},
				{"qa · `evaluation` started", tasks},
				{"qa · `evaluation` ⚠️ warning in 0s: score 83.33, warning: Evaluation returned a warning: the calculated score of 83.33 is close to the warning target value of 75 [score table]", stages},
				{"qa · ⚠️ `delivery` finished: score 83.33, warning: Evaluation returned a warning: the calculated score of 83.33 is close to the warning target value of 75", stages},
				{"production · `approval` started: Approval strategy for result 'warning': manual", tasks},
				{"[approval request] Approval: helloservice v0.1.4 to production", stages},
				{"production · ⏸️ paused by UDEV1", stages},
				{"production · ▶️ resumed by UDEV1", stages},
				{"production · `approval` ❌ fail in 6s: rejected by UOPS1: p95 is too close to the limit", stages},
				{"production · ❌ `delivery` finished: rejected by UOPS1: p95 is too close to the limit", stages},
			},
			status:   "qa ⚠️ · production ❌",
			decision: "❌ Rejected by <@UOPS1>",
		},
		{
			name: "is aborted while it waits for approval",
			run: func(f *fixture) int64 {
				id := f.deliver("v0.1.5", 500)
				settle()
				f.command(developer, fmt.Sprintf("abort %d", id))
				settle()
				return id
			},
			thread: slices.Concat(qaPasses, []threadLine{
				{"production · `approval` started: Approval strategy for result 'pass': manual", tasks},
				{"[approval request] Approval: helloservice v0.1.5 to production", stages},
				{"production · 🛑 `delivery` finished: aborted by UDEV1", stages},
			}),
			status:   "qa ✅ · production 🛑",
			decision: "🛑 Closed at 2000-01-01 00:00 UTC: aborted by UDEV1",
		},
	}
	for _, level := range []config.ThreadDetail{tasks, results, stages} {
		t.Run(string(level), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixtureWith(t, func(cfg *config.Config, files map[string]string) {
					cfg.Channels[0].ThreadDetail = level
					files["executors.yaml"] = verdictExecutors
				})
				for _, d := range deliveries {
					id := d.run(f)
					root := f.messageOf(id, store.MessageRoot)
					var want []string
					for _, l := range d.thread {
						if l.shownAt(level) {
							want = append(want, l.text)
						}
					}
					if got := threadLines(f.poster.all(), channel, root.MessageID); !slices.Equal(got, want) {
						t.Errorf("delivery #%d %s: thread\n  %s\nwant\n  %s", id, d.name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
					}
					if got := StatusLine(f.poster.latest(root.MessageID).Stages); got != d.status {
						t.Errorf("delivery #%d %s: root card %q, want %q", id, d.name, got, d.status)
					}
					if d.decision != "" {
						got := f.poster.latest(f.messageOf(id, store.MessageApproval).MessageID)
						if !strings.HasPrefix(got.Text, d.decision) || len(got.Buttons) != 0 {
							t.Errorf("delivery #%d %s: approval request %q with %d buttons, want it to begin %q without buttons",
								id, d.name, got.Text, len(got.Buttons), d.decision)
						}
					}
				}
			})
		})
	}
}

// threadLines lists the replies posted in the thread of the root card rootID in ch, in order: the first
// line of each reply's text, marked when it carries a score table; an approval request by its header.
func threadLines(calls []sent, ch, rootID string) []string {
	var lines []string
	for _, c := range calls {
		if c.Op != "post" || c.Channel != ch || c.Thread != rootID {
			continue
		}
		m := c.Message
		if strings.HasPrefix(m.Header, "Approval:") {
			lines = append(lines, "[approval request] "+m.Header)
			continue
		}
		line, _, _ := strings.Cut(m.Text, "\n")
		if m.Table != nil {
			line += " [score table]"
		}
		lines = append(lines, line)
	}
	return lines
}

// Each channel bound to a project gets the thread of its own thread_detail: the filter is per binding.
// This also measures the posts (chat.postMessage calls on Slack) of one tutorial delivery through
// approval into production at each level: its root card, the approval request and the other replies.
func TestThreadDetailIsPerChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// An empty thread_detail, as in a binding built in code, is the default: results.
		channels := []struct {
			id                       string
			level                    config.ThreadDetail
			posts, started, finished int
		}{
			{channel, config.ThreadTasks, 16, 6, 6},
			{"CREL2", "", 10, 0, 6},
			{"CREL3", config.ThreadStages, 4, 0, 0},
		}
		f := newFixtureWith(t, func(cfg *config.Config, _ map[string]string) {
			cfg.Channels[0].ThreadDetail = channels[0].level
			for _, ch := range channels[1:] {
				cfg.Channels = append(cfg.Channels, config.ChannelBinding{Platform: "slack", Channel: ch.id, Projects: []string{"fulltour"},
					ThreadDetail: ch.level})
			}
		})
		id := f.deliver("v0.1.1", 500)
		settle()
		a := f.pendingApproval(id)
		f.click(ops, ActionApprove, a.ID)
		f.click(qaLead, ActionApprove, a.ID)
		settle()
		if d := f.delivery(id); d.State != store.StateFinished || d.Result != store.ResultPass {
			t.Fatalf("delivery %s/%s", d.State, d.Result)
		}

		for _, ch := range channels {
			var roots, posts, started, finished int
			for _, c := range f.poster.all() {
				if c.Channel != ch.id {
					continue
				}
				switch {
				case c.Op != "post":
				case c.Opts.StartThread:
					roots++
					posts++
				default:
					posts++
					line, _, _ := strings.Cut(c.Message.Text, "\n")
					if strings.HasSuffix(line, " started") || strings.Contains(line, " started: ") {
						started++
					}
					if strings.Contains(line, "` ✅ pass in ") {
						finished++
					}
				}
			}
			if roots != 1 || posts != ch.posts || started != ch.started || finished != ch.finished {
				t.Errorf("%s (thread_detail %q): %d root cards, %d posts, %d task starts, %d task finishes; want 1, %d, %d, %d",
					ch.id, ch.level, roots, posts, started, finished, ch.posts, ch.started, ch.finished)
			}
			t.Logf("thread_detail %-7s: %2d posts (root card, approval request, %2d other replies)",
				(&config.ChannelBinding{ThreadDetail: ch.level}).EffectiveThreadDetail(), posts, posts-2)
		}
	})
}
