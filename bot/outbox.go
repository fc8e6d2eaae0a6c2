package bot

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// maxSendAttempts bounds how often one message is tried when the platform keeps asking to wait.
const maxSendAttempts = 5

// outbox sends messages channel by channel, in order, one at a time per channel: Slack allows about one
// post a second per channel, and a thread reply must not overtake the root card it replies to. Edits of
// one message are coalesced: at most one per interval, rendered from the database when they are sent,
// so the last one always shows the final state.
type outbox struct {
	b        *Bot
	interval time.Duration

	ctx    context.Context // cancelled when close gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	lanes  map[laneKey]*lane
	closed bool
}

type laneKey struct {
	platform engine.Platform
	channel  string
}

// msgKey names a message of a delivery in a channel: its root card, or the request of one approval.
type msgKey struct {
	delivery int64
	kind     store.MessageKind
	approval int64
}

type lane struct {
	key     laneKey
	ch      *config.ChannelBinding
	posts   []postOp
	edits   map[msgKey]time.Time         // pending edits and when each may go
	written map[msgKey]time.Time         // when each message was last posted or edited
	sent    map[msgKey][sha256.Size]byte // what each message last showed, to skip edits that change nothing
	// forgetAt is the size of written at which messages written long ago are forgotten (forget).
	forgetAt int
	wake     chan struct{}
	running  bool
}

// postOp is a message to post: a root card or approval request (rendered when sent), or a thread reply
// (rendered when its event happened).
type postOp struct {
	key       msgKey
	msg       Message
	broadcast bool
}

func newOutbox(b *Bot, interval time.Duration) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &outbox{b: b, interval: interval, ctx: ctx, cancel: cancel, lanes: map[laneKey]*lane{}}
}

// lane returns the channel's lane, starting its sender if idle. Call with o.mu held.
func (o *outbox) laneLocked(ch *config.ChannelBinding) *lane {
	k := laneKey{engine.Platform(ch.Platform), ch.Channel}
	l, ok := o.lanes[k]
	if !ok {
		l = &lane{key: k, ch: ch, edits: map[msgKey]time.Time{}, written: map[msgKey]time.Time{}, sent: map[msgKey][sha256.Size]byte{},
			forgetAt: forgetBatch, wake: make(chan struct{}, 1)}
		o.lanes[k] = l
	}
	if !l.running {
		l.running = true
		o.wg.Add(1)
		go o.run(l)
	}
	return l
}

// post queues a message for a channel.
func (o *outbox) post(ch *config.ChannelBinding, op postOp) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	l := o.laneLocked(ch)
	l.posts = append(l.posts, op)
	signal(l.wake)
}

// touch asks for a message to be re-rendered and edited: at once if it was not written in the last
// interval, else when the interval has passed. A message already waiting for its edit is left waiting.
func (o *outbox) touch(ch *config.ChannelBinding, key msgKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	l := o.laneLocked(ch)
	if _, pending := l.edits[key]; pending {
		return
	}
	l.edits[key] = time.Now() // run holds it back until an interval after the message was last written
	signal(l.wake)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run sends a lane's messages: posts first, in order, then the edits whose time has come. It ends when
// the lane has nothing left to send.
func (o *outbox) run(l *lane) {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		if len(l.posts) > 0 {
			op := l.posts[0]
			l.posts = l.posts[1:]
			o.mu.Unlock()
			o.send(l, op)
			continue
		}
		var (
			next  msgKey
			due   time.Time
			found bool
		)
		for k, at := range l.edits {
			// The message may have been written since the edit was asked for (its post was still queued).
			if last, ok := l.written[k]; ok && last.Add(o.interval).After(at) {
				at = last.Add(o.interval)
			}
			if !found || at.Before(due) {
				next, due, found = k, at, true
			}
		}
		if !found {
			l.running = false
			o.forgetLocked(l)
			o.mu.Unlock()
			return
		}
		if wait := time.Until(due); wait > 0 {
			o.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-l.wake:
			case <-o.ctx.Done():
			}
			t.Stop()
			if o.ctx.Err() != nil {
				o.drop(l)
				return
			}
			continue
		}
		delete(l.edits, next)
		o.mu.Unlock()
		o.edit(l, next)
	}
}

// drop forgets what a lane still had to send, when close ran out of time.
func (o *outbox) drop(l *lane) {
	o.mu.Lock()
	defer o.mu.Unlock()
	l.posts, l.edits, l.running = nil, map[msgKey]time.Time{}, false
}

// close stops taking messages and waits for the queued ones to be sent, or for ctx to end.
func (o *outbox) close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	done := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		o.cancel()
		return nil
	case <-ctx.Done():
		o.cancel()
		<-done
		return errors.New("bot: messages still queued at shutdown were not sent")
	}
}

func (o *outbox) poster(l *lane) Poster { return o.b.posters[l.key.platform] }

// send posts one queued message.
func (o *outbox) send(l *lane, op postOp) {
	ctx := o.ctx
	p := o.poster(l)
	if p == nil {
		return
	}
	switch op.key.kind {
	case store.MessageRoot:
		if _, err := o.ensureRoot(ctx, l, op.key.delivery); err != nil {
			o.fail(l, op.key, "post root card", err)
		}
		return
	case store.MessageApproval:
		if ref, err := o.ref(ctx, l, op.key); err == nil && ref != nil {
			// Already posted (a restart caught up on it): bring it up to date instead.
			o.edit(l, op.key)
			return
		}
		m, err := o.b.renderApproval(ctx, l.ch, op.key.approval)
		if err != nil {
			o.fail(l, op.key, "render approval request", err)
			return
		}
		op.msg = m
	}
	root, err := o.ensureRoot(ctx, l, op.key.delivery)
	if err != nil {
		o.fail(l, op.key, "post root card", err)
		return
	}
	var posted Posted
	err = o.retry(ctx, func() error {
		var err error
		posted, err = p.Post(ctx, l.key.channel, op.msg, PostOptions{Thread: root.ThreadID, Broadcast: op.broadcast})
		return err
	})
	if err != nil {
		o.fail(l, op.key, "post thread reply", err)
		return
	}
	o.record(ctx, l, op.key, &store.ChatMessage{DeliveryID: op.key.delivery, Platform: string(l.key.platform), Channel: l.key.channel,
		MessageID: posted.MessageID, ThreadID: root.ThreadID, Kind: op.key.kind, ApprovalID: op.key.approval}, op.msg)
}

// ensureRoot returns the delivery's root card in the lane's channel, posting it first if it is not
// there yet.
func (o *outbox) ensureRoot(ctx context.Context, l *lane, delivery int64) (*store.ChatMessage, error) {
	key := msgKey{delivery: delivery, kind: store.MessageRoot}
	ref, err := o.b.st.RootMessage(ctx, delivery, string(l.key.platform), l.key.channel)
	if err == nil {
		return ref, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	m, err := o.b.renderRoot(ctx, l.ch, delivery)
	if err != nil {
		return nil, err
	}
	var posted Posted
	err = o.retry(ctx, func() error {
		var err error
		posted, err = o.poster(l).Post(ctx, l.key.channel, m, PostOptions{StartThread: true, ThreadName: m.Header})
		return err
	})
	if err != nil {
		return nil, err
	}
	ref = &store.ChatMessage{DeliveryID: delivery, Platform: string(l.key.platform), Channel: l.key.channel, MessageID: posted.MessageID,
		ThreadID: posted.Thread, Kind: store.MessageRoot}
	if !o.record(ctx, l, key, ref, m) {
		return nil, errors.New("root card posted but not recorded")
	}
	return ref, nil
}

// record stores a posted message's reference (so that edits and threads survive a restart) and what
// it showed.
func (o *outbox) record(ctx context.Context, l *lane, key msgKey, ref *store.ChatMessage, m Message) bool {
	err := o.b.st.Update(ctx, func(tx *store.Tx) error { return tx.SaveChatMessage(ctx, ref) })
	if err != nil {
		o.fail(l, key, "record posted message", err)
		return false
	}
	if key.kind != store.MessageThread {
		o.mu.Lock()
		o.wroteLocked(l, key, fingerprint(m))
		o.mu.Unlock()
	}
	return true
}

// ref finds the posted message a key names in the lane's channel, or nil.
func (o *outbox) ref(ctx context.Context, l *lane, key msgKey) (*store.ChatMessage, error) {
	if key.kind == store.MessageRoot {
		ref, err := o.b.st.RootMessage(ctx, key.delivery, string(l.key.platform), l.key.channel)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return ref, err
	}
	msgs, err := o.b.st.ListChatMessages(ctx, key.delivery)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Kind == key.kind && m.ApprovalID == key.approval && m.Platform == string(l.key.platform) && m.Channel == l.key.channel {
			return m, nil
		}
	}
	return nil, nil
}

// edit re-renders a root card or approval request and updates it, unless it would show the same.
func (o *outbox) edit(l *lane, key msgKey) {
	ctx := o.ctx
	p := o.poster(l)
	if p == nil {
		return
	}
	ref, err := o.ref(ctx, l, key)
	if err != nil {
		o.fail(l, key, "find message", err)
		return
	}
	if ref == nil {
		if key.kind == store.MessageRoot {
			if _, err := o.ensureRoot(ctx, l, key.delivery); err != nil {
				o.fail(l, key, "post root card", err)
			}
		}
		return
	}
	var m Message
	if key.kind == store.MessageRoot {
		m, err = o.b.renderRoot(ctx, l.ch, key.delivery)
	} else {
		m, err = o.b.renderApproval(ctx, l.ch, key.approval)
	}
	if err != nil {
		o.fail(l, key, "render message", err)
		return
	}
	fp := fingerprint(m)
	o.mu.Lock()
	same := l.sent[key] == fp
	o.mu.Unlock()
	if same {
		return
	}
	if err := o.retry(ctx, func() error { return p.Update(ctx, l.key.channel, ref.ThreadID, ref.MessageID, m) }); err != nil {
		o.fail(l, key, "update message", err)
		return
	}
	o.mu.Lock()
	o.wroteLocked(l, key, fp)
	o.mu.Unlock()
}

// wroteLocked remembers that key was just written showing fp. Call with o.mu held.
func (o *outbox) wroteLocked(l *lane, key msgKey, fp [sha256.Size]byte) {
	l.written[key], l.sent[key] = time.Now(), fp
	if len(l.written) >= l.forgetAt {
		o.forgetLocked(l)
	}
}

// forgetAfter is how long the outbox remembers when a message was written and what it showed, and
// forgetBatch how many messages a lane remembers before it looks for ones to forget. A message is edited
// while its delivery runs; one finished long ago is edited again rarely (a late approval update), and
// then without the memory it costs at most one edit that changes nothing. Without forgetting, a channel
// kept an entry per message of every delivery it ever showed: memory that grew with history.
const (
	forgetAfter = 10 * time.Minute
	forgetBatch = 256
)

// forgetLocked drops what the lane remembers of messages last written before forgetAfter and not waiting
// for an edit, and sets the size at which it looks again to twice what is left, so that the cost of
// looking is spread over the writes in between. Call with o.mu held.
func (o *outbox) forgetLocked(l *lane) {
	horizon := time.Now().Add(-max(forgetAfter, o.interval))
	for k, at := range l.written {
		if _, pending := l.edits[k]; !pending && at.Before(horizon) {
			delete(l.written, k)
			delete(l.sent, k)
		}
	}
	l.forgetAt = max(forgetBatch, 2*len(l.written))
}

// retry calls fn until it succeeds, fails for good, or has asked to be retried maxSendAttempts times,
// waiting as long as the platform asked each time.
func (o *outbox) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		var rl *RetryLater
		if err == nil || !errors.As(err, &rl) || attempt == maxSendAttempts {
			return err
		}
		t := time.NewTimer(max(rl.After, 100*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

func (o *outbox) fail(l *lane, key msgKey, what string, err error) {
	o.b.log.Error("chat message", "what", what, "platform", l.key.platform, "channel", l.key.channel, "delivery", key.delivery, "err", err)
}

// fingerprint identifies what a message shows: a hash, since a lane keeps one per recent message.
func fingerprint(m Message) [sha256.Size]byte {
	b, _ := json.Marshal(m) // a Message is plain data and always encodes
	return sha256.Sum256(b)
}
