package bot

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/store"
)

// A lane remembers what it wrote for forgetAfter, not for ever: with thousands of deliveries shown in a
// channel, what it keeps is what was written lately, and messages waiting for an edit.
func TestOutboxForgetsMessagesWrittenLongAgo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutbox(&Bot{}, time.Second)
		defer o.cancel()
		l := &lane{edits: map[msgKey]time.Time{}, written: map[msgKey]time.Time{}, sent: map[msgKey][32]byte{}, forgetAt: forgetBatch}
		root := func(d int) msgKey { return msgKey{delivery: int64(d), kind: store.MessageRoot} }
		const old = 5000
		for d := range old {
			o.wroteLocked(l, root(d), fingerprint(Message{Text: "card"}))
		}
		if len(l.written) != old || len(l.sent) != old {
			t.Fatalf("remembers %d writes and %d fingerprints of %d recent messages, want all", len(l.written), len(l.sent), old)
		}
		time.Sleep(forgetAfter + time.Second)
		l.edits[root(7)] = time.Now() // waiting for its edit: kept
		for d := old; d < old+forgetBatch; d++ {
			o.wroteLocked(l, root(d), fingerprint(Message{Text: "card"}))
		}
		o.forgetLocked(l) // as the lane does when it has nothing left to send
		if _, ok := l.sent[root(7)]; !ok {
			t.Error("forgot a message waiting for its edit")
		}
		if _, ok := l.written[root(old)]; !ok {
			t.Error("forgot a message written a moment ago")
		}
		if n := len(l.written); n != forgetBatch+1 || len(l.sent) != n {
			t.Errorf("remembers %d writes and %d fingerprints, want the %d recent messages and the one waiting", n, len(l.sent), forgetBatch+1)
		}

		// Under load, without a pause, writes alone make the lane forget: it holds at most about twice
		// what was written within forgetAfter.
		for round := range 3 {
			time.Sleep(forgetAfter + time.Second)
			for d := range forgetBatch {
				o.wroteLocked(l, root(100000+round*forgetBatch+d), fingerprint(Message{Text: "card"}))
			}
		}
		if n := len(l.written); n > 2*forgetBatch+1 {
			t.Errorf("remembers %d writes under load, want at most %d", n, 2*forgetBatch+1)
		}
	})
}
