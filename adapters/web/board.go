package web

import (
	"encoding/json"
	"sync"
	"sync/atomic"
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

// placeholderText stands in for a root card the console never held (it was posted by a shipgate that did
// not keep the console's messages, or its save failed) until the bot edits it again.
const placeholderText = "This card was posted before the console restarted; it shows again at its next update."

// board is one channel's messages, root cards in the order they were posted, each with its thread, and
// the pages following the channel. Changes are published under the lock, so that every page sees them
// in the order they were made.
type board struct {
	mu    sync.Mutex
	roots []*entry
	byID  map[string]*entry
	// order is the console's order of posting, shared by its channels and continued from the database.
	order *atomic.Int64
	subs  map[*subscriber]struct{}
	// unsaved are the messages whose last save failed, by the version that failed: the channel's next
	// save writes them again.
	unsaved map[string]int64
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

func newBoard(order *atomic.Int64) *board {
	return &board{byID: map[string]*entry{}, order: order, subs: map[*subscriber]struct{}{}, unsaved: map[string]int64{}}
}

// holds reports whether the channel holds a message.
func (b *board) holds(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byID[id] != nil
}

// post adds a message: a root card or top-level message when thread is "", else a reply in thread. A
// reply in a thread the channel does not hold, whose root card is kept (rootKept: it is older than what
// the channel holds), is kept with it and not shown. It returns the message and every message the post
// changed, for the database.
func (b *board) post(m wireMessage, thread string, at time.Time, rootKept bool) (wireMessage, []wireMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var changed []wireMessage
	var root *entry
	if thread != "" {
		if root = b.byID[thread]; root == nil && !rootKept {
			root = b.placeholder(thread, at)
			changed = append(changed, root.msg)
		}
	}
	m.Seq, m.Version, m.At = b.order.Add(1), 1, at
	e := &entry{msg: m}
	switch {
	case thread == "":
		b.addRoot(e)
	case root == nil:
		return e.msg, append(changed, e.msg)
	default:
		b.addReply(root, e)
	}
	b.publish(e.msg)
	return e.msg, append(changed, e.msg)
}

// update replaces what a message shows and returns it with every message the update changed, for the
// database. A message the channel does not hold but the database keeps (kept: it is older than what
// the channel holds) is updated where it is kept, and not shown; so is one in a thread whose root card
// is kept (rootKept). Any other message the channel does not hold (posted by a shipgate that did not
// keep the console's messages) is added again where the bot says it is.
func (b *board) update(id, thread string, m wireMessage, at time.Time, kept *wireMessage, rootKept bool) (wireMessage, []wireMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var changed []wireMessage
	e := b.byID[id]
	switch {
	case e != nil:
		old := e.msg
		m.ID, m.Thread, m.Root, m.Broadcast, m.Seq, m.Version, m.At = old.ID, old.Thread, old.Root, old.Broadcast, old.Seq, old.Version, old.At
		e.msg = m
	case kept != nil:
		m.ID, m.Thread, m.Root, m.Broadcast, m.Seq, m.Version, m.At = kept.ID, kept.Thread, kept.Root, kept.Broadcast, kept.Seq, kept.Version, kept.At
		e = &entry{msg: m}
	default:
		m.ID, m.At = id, at
		m.Root = thread == "" || thread == id
		m.Thread = thread
		var root *entry
		if !m.Root {
			if root = b.byID[thread]; root == nil && !rootKept {
				root = b.placeholder(thread, at)
				changed = append(changed, root.msg)
			}
		}
		m.Seq = b.order.Add(1)
		e = &entry{msg: m}
		switch {
		case m.Root:
			b.addRoot(e)
		case root != nil:
			b.addReply(root, e)
		}
	}
	e.msg.Version++
	edited := at
	e.msg.Edited = &edited
	if b.byID[id] == e {
		b.publish(e.msg)
	}
	return e.msg, append(changed, e.msg)
}

// placeholder adds a root card for a thread the channel does not hold. Call with b.mu held.
func (b *board) placeholder(thread string, at time.Time) *entry {
	e := &entry{msg: wireMessage{ID: thread, Thread: thread, Root: true, Seq: b.order.Add(1), At: at, Text: placeholderText}.normalized()}
	b.addRoot(e)
	b.publish(e.msg)
	return e
}

// restore adds a root card and its replies as the database kept them, oldest first.
func (b *board) restore(root wireMessage, replies []wireMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := &entry{msg: root}
	b.addRoot(e)
	for _, r := range replies {
		b.addReply(e, &entry{msg: r})
	}
}

func (b *board) addRoot(e *entry) {
	b.roots = append(b.roots, e)
	b.byID[e.msg.ID] = e
	if len(b.roots) > maxRoots {
		old := b.roots[0]
		b.roots[0] = nil
		b.roots = b.roots[1:]
		b.forget(old)
		for _, r := range old.replies {
			b.forget(r)
		}
	}
}

func (b *board) addReply(root, e *entry) {
	root.replies = append(root.replies, e)
	b.byID[e.msg.ID] = e
	if len(root.replies) > maxReplies {
		b.forget(root.replies[0])
		root.replies[0] = nil
		root.replies = root.replies[1:]
	}
}

// forget drops a message the channel no longer holds. Call with b.mu held.
func (b *board) forget(e *entry) {
	delete(b.byID, e.msg.ID)
	delete(b.unsaved, e.msg.ID)
}

// maxResaved bounds how many messages whose save failed one save writes again, so that a save after a
// long outage of the database stays small; the rest follow with the next ones.
const maxResaved = 50

// unsavedMessages are the messages whose last save failed, as the channel holds them now.
func (b *board) unsavedMessages() []wireMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []wireMessage
	for id := range b.unsaved {
		if len(out) == maxResaved {
			break
		}
		if e := b.byID[id]; e != nil { // forget drops the messages the channel no longer holds; this is its guard
			out = append(out, e.msg)
		} else {
			delete(b.unsaved, id)
		}
	}
	return out
}

// saved notes how the save of ms ended: a failed one is written again with the next save, as long as the
// channel holds the message.
func (b *board) saved(ms []wireMessage, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range ms {
		v, unsaved := b.unsaved[m.ID]
		switch {
		case err != nil && b.byID[m.ID] != nil:
			b.unsaved[m.ID] = max(v, m.Version)
		case err == nil && unsaved && v <= m.Version:
			delete(b.unsaved, m.ID)
		}
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
