package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/store/storetest"
)

// keptConsole is a console that keeps its messages in the database file db, on a fixed clock, and the
// store it keeps them in; both close when the test ends, or earlier with the returned stop.
func keptConsole(t *testing.T, db string, storeOpts ...store.Option) (*Console, *store.Store, func()) {
	t.Helper()
	st, err := store.Open(context.Background(), db, storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	c, err := Open(context.Background(), st, Options{Channels: []string{channel, "other"}, Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			c.Close()
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return c, st, stop
}

// scoreTable is a reply shaped as the bot's score table.
var scoreTable = bot.Message{Text: "qa · `evaluation` ✅ pass", Table: &bot.Table{
	Columns: []string{"Objective", "Status", "Score", "Value", "Pass", "Warning"},
	Rows:    [][]string{{"Response time P95", "pass", "1/1", "420", "<600", "<=800"}, {"Error rate", "pass", "2/2", "0.5", "<=1", ""}},
	Summary: "Score 100 of 100: PASS"}}

func ids(ms []wireMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// noDuplicates fails the test when two messages have the same id.
func noDuplicates(t *testing.T, ms []wireMessage) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.ID] {
			t.Errorf("message %s is there twice: %v", m.ID, ids(ms))
		}
		seen[m.ID] = true
	}
}

// Everything a channel showed is there again after a restart on the same database, as it was last
// shown: root cards and top-level messages, each thread's replies in order (the score table with
// them), broadcast replies and every edit; not private notes. What is posted afterwards comes after it,
// with ids of its own.
func TestMessagesComeBackAfterARestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shipgate.db")
	c, _, stop := keptConsole(t, db)
	ctx := context.Background()
	post := func(m bot.Message, opts bot.PostOptions) bot.Posted {
		t.Helper()
		p, err := c.Post(ctx, channel, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := post(bot.Message{Header: "Delivery #1: helloservice v0.1.1"}, bot.PostOptions{StartThread: true})
	post(bot.Message{Text: "qa · `deployment` ✅ pass in 0.1s"}, bot.PostOptions{Thread: root.Thread})
	post(scoreTable, bot.PostOptions{Thread: root.Thread})
	approval := post(bot.Message{Header: "Approval: helloservice v0.1.1 to production"}, bot.PostOptions{Thread: root.Thread, Broadcast: true})
	second := post(bot.Message{Header: "Delivery #2: helloservice v0.1.2"}, bot.PostOptions{StartThread: true})
	post(bot.Message{Text: "qa · `deployment` ✅ pass in 0.1s"}, bot.PostOptions{Thread: second.Thread})
	post(bot.Message{Text: "Deliveries of helloservice"}, bot.PostOptions{}) // a public command reply
	if _, err := c.Post(ctx, "other", bot.Message{Text: "another channel"}, bot.PostOptions{}); err != nil {
		t.Fatal(err)
	}
	// The card is edited many times, as the bot does while a delivery runs: it stays one message.
	for i := range 20 {
		if err := c.Update(ctx, channel, root.Thread, root.MessageID, bot.Message{Header: "Delivery #1: helloservice v0.1.1",
			Text: fmt.Sprintf("edit %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Update(ctx, channel, root.Thread, approval.MessageID, bot.Message{Header: "Approval: helloservice v0.1.1 to production",
		Text: "✅ Approved by <@ann>"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PostPrivate(ctx, channel, dev, bot.Message{Text: "Only you can see this"}); err != nil {
		t.Fatal(err)
	}
	before := c.board(channel).messages()
	if len(before) != 7 {
		t.Fatalf("%d messages before the restart: %v", len(before), ids(before))
	}
	stop()

	c, st, _ := keptConsole(t, db)
	after := c.board(channel).messages()
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("after the restart the channel shows\n%+v\nwant\n%+v", after, before)
	}
	if other := c.board("other").messages(); len(other) != 1 || other[0].Text != "another channel" {
		t.Errorf("the other channel shows %+v", other)
	}
	if after[0].Version != 21 || after[0].Text != "edit 19" || after[2].Table == nil || after[2].Table.Summary != "Score 100 of 100: PASS" ||
		!after[3].Broadcast || after[3].Text != "✅ Approved by <@ann>" {
		t.Errorf("restored messages %+v", after)
	}
	if kept, err := st.ListWebRoots(ctx, channel, 10); err != nil || len(kept) != 3 {
		t.Errorf("%d root rows kept, %v; want 3, one for each root whatever its edits", len(kept), err)
	}

	// The bot goes on where it was: a reply in the old thread, an edit of the old card, a new card.
	reply, err := c.Post(ctx, channel, bot.Message{Text: "production · `deployment` ✅ pass"}, bot.PostOptions{Thread: root.Thread})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, channel, root.Thread, root.MessageID, bot.Message{Header: "Delivery #1: helloservice v0.1.1", Text: "done"}); err != nil {
		t.Fatal(err)
	}
	third, err := c.Post(ctx, channel, bot.Message{Header: "Delivery #3"}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	now := c.board(channel).messages()
	noDuplicates(t, now)
	want := append(ids(before[:4]), reply.MessageID)
	want = append(append(want, ids(before[4:])...), third.MessageID)
	if got := ids(now); !reflect.DeepEqual(got, want) {
		t.Errorf("after posting again the channel shows %v, want %v", got, want)
	}
	last := before[len(before)-1].Seq
	for _, m := range now {
		if (m.ID == reply.MessageID || m.ID == third.MessageID) && m.Seq <= last {
			t.Errorf("message %s posted after the restart has seq %d, not after the kept ones' %d", m.ID, m.Seq, last)
		}
	}
	if now[0].Version != 22 || now[0].Text != "done" {
		t.Errorf("the card after its edit: version %d %q, want version 22", now[0].Version, now[0].Text)
	}
}

// The page's state after a restart is what the console kept, through /web/state.
func TestStateAfterARestart(t *testing.T) {
	f := newFixture(t, Options{Demo: true})
	s := f.open(guest)
	f.deliver("v0.1.1")
	s.waitAll(map[string]func(wireMessage) bool{
		"table":    func(m wireMessage) bool { return m.Table != nil },
		"approval": func(m wireMessage) bool { return strings.HasPrefix(m.Header, "Approval:") && len(m.Buttons) == 2 },
		"card":     func(m wireMessage) bool { return m.Root && strings.Contains(m.StatusLine, "0 of 2 approvals") },
	})
	before := f.state(t)

	f = f.restart()
	after := f.state(t)
	noDuplicates(t, after.Messages)
	if after.Boot == before.Boot {
		t.Errorf("boot %s is the same after the restart: the page would not start afresh", after.Boot)
	}
	if got, want := ids(after.Messages), ids(before.Messages); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restart the channel shows %v, want %v", got, want)
	}
	for i, m := range after.Messages {
		was := before.Messages[i]
		// The bot's catch-up may edit the card and the approval request once more; replies stay as posted.
		if m.Version < was.Version || m.Seq != was.Seq || m.Thread != was.Thread || (!m.Root && !m.Broadcast && !reflect.DeepEqual(m, was)) {
			t.Errorf("message %d after the restart\n%+v\nwas\n%+v", i, m, was)
		}
	}
	var table *wireMessage
	for i, m := range after.Messages {
		if m.Table != nil {
			table = &after.Messages[i]
		}
	}
	if table == nil || table.Root || len(table.Table.Rows) != 2 || !strings.Contains(table.Table.Summary, "PASS") {
		t.Fatalf("no score table in the thread after the restart: %+v", after.Messages)
	}

	// The approval request from before the restart still takes its clicks, and is edited where it is.
	s = f.open(ops)
	approval := after.Messages[len(after.Messages)-1]
	if !approval.Broadcast || len(approval.Buttons) != 2 {
		t.Fatalf("the last message is not the approval request: %+v", approval)
	}
	var out clickReply
	f.click(ops, clickRequest{MessageID: approval.ID, ActionID: bot.ActionApprove, Value: approval.Buttons[0].Value}).json(t, &out)
	if out.Private == nil || !strings.Contains(out.Private.Text, "1 of 2") {
		t.Fatalf("a click on the request after the restart answered %+v", out)
	}
	s.waitFor("the request with its vote", func(m wireMessage) bool {
		return m.ID == approval.ID && strings.HasPrefix(field(m, "Approvals"), "1 of 2")
	})
	noDuplicates(t, f.state(t).Messages)
}

func (f *fixture) state(t *testing.T) stateReply {
	t.Helper()
	res := f.do(nil, http.MethodGet, "/web/state?channel="+channel, nil)
	if res.status != http.StatusOK {
		t.Fatalf("/web/state = %d %s", res.status, res.body)
	}
	var out stateReply
	res.json(t, &out)
	return out
}

// A save the database refuses (a full disk, the write lock held by another process) is logged, and the
// message is shown all the same; the channel's next save writes it, so that it is there after a restart.
func TestAFailedSaveIsLoggedAndWrittenLater(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shipgate.db")
	st, err := store.Open(context.Background(), db, store.WithBusyTimeout(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	c, err := Open(context.Background(), st, Options{Channels: []string{channel}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	root, err := c.Post(ctx, channel, bot.Message{Header: "Delivery #1"}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}

	release := storetest.HoldWriteLock(t, db)
	refused, err := c.Post(ctx, channel, scoreTable, bot.PostOptions{Thread: root.Thread})
	if err != nil {
		t.Fatalf("a post the database refused: %v; the console shows it all the same", err)
	}
	if err := c.Update(ctx, channel, root.Thread, root.MessageID, bot.Message{Header: "Delivery #1", Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	if !c.board(channel).holds(refused.MessageID) {
		t.Error("the reply the database refused is not shown")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "not kept") || !strings.Contains(logs.String(), refused.MessageID) {
		t.Errorf("the refused save is not logged:\n%s", logs.String())
	}
	release()

	next, err := c.Post(ctx, channel, bot.Message{Text: "qa · `release` ✅ pass"}, bot.PostOptions{Thread: root.Thread})
	if err != nil {
		t.Fatal(err)
	}
	before := c.board(channel).messages()
	c.Close()
	c, err = Open(context.Background(), st, Options{Channels: []string{channel}})
	if err != nil {
		t.Fatal(err)
	}
	after := c.board(channel).messages()
	if got, want := ids(after), []string{root.MessageID, refused.MessageID, next.MessageID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restart: %v, want %v", got, want)
	}
	if !reflect.DeepEqual(after, before) || after[0].Text != "edited" {
		t.Errorf("after the restart\n%+v\nwant\n%+v", after, before)
	}
}

// A long history costs the start what the channel holds, not what the database keeps: the newest root
// cards, the newest replies of each. A message older than that is still edited and replied to where it
// is kept, without coming back into the channel.
func TestStartReadsWhatTheChannelHolds(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shipgate.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const roots, replies = maxRoots + 20, maxReplies + 20
	var seq int64
	row := func(id, thread string, root bool) *store.WebMessage {
		seq++
		return &store.WebMessage{Seq: seq, Channel: channel, MessageID: id, ThreadID: thread, Root: root, Version: 1,
			Body: fmt.Appendf(nil, `{"text":%q}`, id)}
	}
	err = st.Update(ctx, func(tx *store.Tx) error {
		var rows []*store.WebMessage
		for i := range roots {
			id := fmt.Sprintf("old-%d", i)
			rows = append(rows, row(id, id, true), row(id+"-reply", id, false))
		}
		for i := range replies {
			rows = append(rows, row(fmt.Sprintf("old-%d-r%d", roots-1, i), fmt.Sprintf("old-%d", roots-1), false))
		}
		for _, r := range rows {
			if err := tx.SaveWebMessage(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	c, st, _ := keptConsole(t, db)
	b := c.board(channel)
	if len(b.roots) != maxRoots || b.roots[0].msg.ID != "old-20" || b.roots[maxRoots-1].msg.ID != fmt.Sprintf("old-%d", roots-1) {
		t.Fatalf("%d roots held; want the newest %d, old-20 to old-%d", len(b.roots), maxRoots, roots-1)
	}
	last := b.roots[maxRoots-1]
	if len(last.replies) != maxReplies || last.replies[maxReplies-1].msg.ID != fmt.Sprintf("old-%d-r%d", roots-1, replies-1) {
		t.Errorf("the last thread holds %d replies, want its newest %d", len(last.replies), maxReplies)
	}
	if n := len(b.messages()); n != maxRoots+maxRoots+maxReplies-1 {
		t.Errorf("the channel holds %d messages", n)
	}

	if err := c.Update(ctx, channel, "old-3", "old-3", bot.Message{Text: "edited long after"}); err != nil {
		t.Fatal(err)
	}
	late, err := c.Post(ctx, channel, bot.Message{Text: "a late reply"}, bot.PostOptions{Thread: "old-3"})
	if err != nil {
		t.Fatal(err)
	}
	if b.holds("old-3") || b.holds(late.MessageID) || len(b.roots) != maxRoots || b.roots[0].msg.ID != "old-20" {
		t.Error("an edit or a reply of a card older than the channel holds brought it back")
	}
	kept, err := st.GetWebMessage(ctx, channel, "old-3")
	if err != nil || kept.Version != 2 || !strings.Contains(string(kept.Body), "edited long after") || kept.Seq != 7 {
		t.Errorf("the old card as kept: %+v, %v; want version 2 in its place", kept, err)
	}
	if rs, err := st.ListWebReplies(ctx, channel, "old-3", 10); err != nil || len(rs) != 2 || rs[1].MessageID != late.MessageID {
		t.Errorf("the old thread keeps %d replies, %v; want its reply and the late one", len(rs), err)
	}
}

// A process draws the prefix of its message ids again while a kept message has it.
func TestBootPrefixesOfKeptMessagesAreNotReused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shipgate.db")
	c, _, _ := keptConsole(t, db)
	posted, err := c.Post(context.Background(), channel, bot.Message{}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	if taken, err := c.bootTaken(context.Background()); err != nil || !taken {
		t.Errorf("prefix %s of the kept %s taken = %t, %v", c.boot, posted.MessageID, taken, err)
	}
	c.boot = "00000000"
	if taken, err := c.bootTaken(context.Background()); err != nil || taken {
		t.Errorf("an unused prefix taken = %t, %v", taken, err)
	}
}

// A message is kept when it is posted, not when shipgate stops: a process killed in the middle of its
// work (kill -9, a crash) leaves the next one everything it posted and edited.
func TestMessagesAreKeptAsTheyArePosted(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shipgate.db")
	c, _, _ := keptConsole(t, db)
	ctx := context.Background()
	root, err := c.Post(ctx, channel, bot.Message{Header: "Delivery #1"}, bot.PostOptions{StartThread: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, channel, scoreTable, bot.PostOptions{Thread: root.Thread}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, channel, root.Thread, root.MessageID, bot.Message{Header: "Delivery #1", Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	// The first process is neither closed nor stopped: the next opens the file beside it.
	next, _, _ := keptConsole(t, db)
	if got, want := next.board(channel).messages(), c.board(channel).messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("the next process shows\n%+v\nwant\n%+v", got, want)
	}
	if next.boot == c.boot {
		t.Errorf("both processes number their messages %s-N", c.boot)
	}
}
