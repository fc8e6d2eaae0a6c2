package web

import (
	"encoding/json"
	"sync"
	"time"
)

// Bounds of what one channel keeps in memory.
const (
	// maxRoots is how many root cards (and other top-level messages) a channel keeps; the oldest go first.
	maxRoots = 500
	// maxReplies is how many replies a thread keeps; the oldest go first.
	maxReplies = 300
	// subscriberBuffer is how many events may wait for one page; a page further behind is dropped and
	// catches up from /web/state when its browser reconnects.
	subscriberBuffer = 64
)

// placeholderText stands in for a root card this process never saw (it was posted before a restart)
// until the bot edits it again.
const placeholderText = "This card was posted before the console restarted; it shows again at its next update."

// board is one channel's messages, root cards in the order they were posted, each with its thread, and
// the pages following the channel. Changes are published under the lock, so that every page sees them
// in the order they were made.
type board struct {
	mu    sync.Mutex
	roots []*entry
	byID  map[string]*entry
	seq   int64
	subs  map[*subscriber]struct{}
}

type entry struct {
	msg     wireMessage
	replies []*entry // of a root card
}

// subscriber is one open page: its events, and who it is for private messages ("" for nobody).
type subscriber struct {
	user   string
	events chan []byte
	lost   chan struct{} // closed when the page fell too far behind and was dropped
}

// event is what a page receives.
type event struct {
	Type    string      `json:"type"` // "message"
	Message wireMessage `json:"message"`
}

func newBoard() *board {
	return &board{byID: map[string]*entry{}, subs: map[*subscriber]struct{}{}}
}

// post adds a message: a root card or top-level message when thread is "", else a reply in thread.
func (b *board) post(m wireMessage, thread string, at time.Time) wireMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	m.Seq, m.Version, m.At = b.seq, 1, at
	e := &entry{msg: m}
	if thread == "" {
		b.addRoot(e)
	} else {
		b.addReply(b.rootFor(thread, at), e)
	}
	b.publish(e.msg)
	return e.msg
}

// update replaces what a message shows. A message this process does not know (posted before a
// restart, or dropped as too old) is added again where the bot says it is.
func (b *board) update(id, thread string, m wireMessage, at time.Time) wireMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.byID[id]
	if e == nil {
		b.seq++
		m.ID, m.Seq, m.At = id, b.seq, at
		m.Root = thread == "" || thread == id
		m.Thread = thread
		e = &entry{msg: m}
		if m.Root {
			b.addRoot(e)
		} else {
			b.addReply(b.rootFor(thread, at), e)
		}
	} else {
		old := e.msg
		m.ID, m.Thread, m.Root, m.Broadcast, m.Seq, m.Version, m.At = old.ID, old.Thread, old.Root, old.Broadcast, old.Seq, old.Version, old.At
		e.msg = m
	}
	e.msg.Version++
	edited := at
	e.msg.Edited = &edited
	b.publish(e.msg)
	return e.msg
}

// rootFor finds the root card of a thread, adding a placeholder for one posted before a restart.
func (b *board) rootFor(thread string, at time.Time) *entry {
	if e := b.byID[thread]; e != nil {
		return e
	}
	b.seq++
	e := &entry{msg: wireMessage{ID: thread, Thread: thread, Root: true, Seq: b.seq, At: at, Text: placeholderText}.normalized()}
	b.addRoot(e)
	b.publish(e.msg)
	return e
}

func (b *board) addRoot(e *entry) {
	b.roots = append(b.roots, e)
	b.byID[e.msg.ID] = e
	if len(b.roots) > maxRoots {
		old := b.roots[0]
		b.roots[0] = nil
		b.roots = b.roots[1:]
		delete(b.byID, old.msg.ID)
		for _, r := range old.replies {
			delete(b.byID, r.msg.ID)
		}
	}
}

func (b *board) addReply(root, e *entry) {
	root.replies = append(root.replies, e)
	b.byID[e.msg.ID] = e
	if len(root.replies) > maxReplies {
		delete(b.byID, root.replies[0].msg.ID)
		root.replies[0] = nil
		root.replies = root.replies[1:]
	}
}

// messages is everything the channel shows, in the order it was posted: each root card followed by
// its replies.
func (b *board) messages() []wireMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]wireMessage, 0, len(b.byID))
	for _, root := range b.roots {
		out = append(out, root.msg)
		for _, r := range root.replies {
			out = append(out, r.msg)
		}
	}
	return out
}

// find returns a message by id, or fallback when the channel does not hold it.
func (b *board) find(id string, fallback wireMessage) wireMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byID[id]; e != nil {
		return e.msg
	}
	return fallback
}

// subscribe starts following the channel, as user ("" for a page that receives no private messages).
func (b *board) subscribe(user string) *subscriber {
	s := &subscriber{user: user, events: make(chan []byte, subscriberBuffer), lost: make(chan struct{})}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *board) unsubscribe(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// publish sends a change to every page. Called with b.mu held.
func (b *board) publish(m wireMessage) {
	raw, _ := json.Marshal(event{Type: "message", Message: m}) // plain data: it always encodes
	for s := range b.subs {
		b.send(s, raw)
	}
}

// publishPrivate sends a message to the pages of one user only.
func (b *board) publishPrivate(user string, m wireMessage) int {
	raw, _ := json.Marshal(event{Type: "message", Message: m})
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for s := range b.subs {
		if s.user == user {
			b.send(s, raw)
			n++
		}
	}
	return n
}

// send queues an event for a page without waiting: a page too far behind is dropped rather than
// holding up the bot. Called with b.mu held.
func (b *board) send(s *subscriber, raw []byte) {
	select {
	case s.events <- raw:
	default:
		delete(b.subs, s)
		close(s.lost)
	}
}
