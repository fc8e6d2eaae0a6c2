package engine

import (
	"sync"
	"time"

	"github.com/shipgate/shipgate/engine/slo"
	"github.com/shipgate/shipgate/store"
)

// Event is one state change, published after it was committed. Type is the Keptn event type for
// changes Keptn had events for (sh.keptn.event.qa.delivery.triggered, sh.keptn.event.approval.started,
// …) and an sh.shipgate.* type for the rest (votes, pauses).
type Event struct {
	Type         string
	Time         time.Time
	DeliveryID   int64
	KeptnContext string
	Project      string
	Stage        string
	Service      string
	Sequence     string
	Task         string // empty for sequence and delivery events
	TaskRunID    int64
	Result       store.Result
	Status       store.Status
	Message      string
	// Data is the event's payload: for a finished evaluation, its score and indicator results, as Keptn
	// sends them.
	Data map[string]any
	// Evaluation is set on a scored evaluation's .finished event: the objectives and score, typed, for
	// the score table.
	Evaluation *slo.Evaluation
	// Approval is set on approval events: what is waiting, and how far the votes are.
	Approval *ApprovalInfo
	// Changes is set on EventApprovalChanges: what the delivery would change in the stage.
	Changes *Changes
	// Freeze is set on EventSequenceFrozen and EventSequenceUnfrozen: the window that holds (held) the
	// sequence.
	Freeze *FreezeInfo
}

// ApprovalInfo describes an approval for a message.
type ApprovalInfo struct {
	ID             int64
	State          store.ApprovalState
	Required       int
	Approvals      []string // voters who approved, in order
	Roles          []string
	AllowRequester bool
	Requester      string
	ExpiresAt      *time.Time
	DecidedBy      string
	Reason         string
	Voted          []string // everyone who voted, either way, in order
	// The timeout ladder so far: reminders sent, and the roles added by the escalation and when (nil
	// before it).
	Reminders   int
	EscalatedTo []string
	EscalatedAt *time.Time
}

// Types of the events Keptn had no event for.
const (
	// EventApprovalWaiting: an approval opened for votes; Approval says who may vote and how many must.
	EventApprovalWaiting = "sh.shipgate.approval.waiting"
	EventApprovalVoted   = "sh.shipgate.approval.voted"
	// EventApprovalReminded: a pending approval's reminder is due; the approvers who have not voted are
	// asked again. Approval.Reminders counts this one.
	EventApprovalReminded = "sh.shipgate.approval.reminded"
	// EventApprovalEscalated: a pending approval escalated; Approval.EscalatedTo are the roles added
	// to Approval.Roles, to be asked.
	EventApprovalEscalated = "sh.shipgate.approval.escalated"
	EventSequencePaused    = "sh.shipgate.sequence.paused"
	EventSequenceResumed   = "sh.shipgate.sequence.resumed"
	EventDeliveryTriggered = "sh.shipgate.delivery.triggered"
	EventDeliveryFinished  = "sh.shipgate.delivery.finished"
)

// publisher hands events to subscribers in order from one goroutine, so a slow subscriber delays
// delivery but never blocks a transition.
type publisher struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	subs   map[int]func(Event)
	next   int
	closed bool
	done   chan struct{}
}

func newPublisher() *publisher {
	p := &publisher{subs: map[int]func(Event){}, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.loop()
	return p
}

func (p *publisher) subscribe(fn func(Event)) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.next
	p.next++
	p.subs[id] = fn
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.subs, id)
	}
}

func (p *publisher) publish(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.queue = append(p.queue, ev)
	p.cond.Signal()
}

func (p *publisher) loop() {
	defer close(p.done)
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		batch := p.queue
		p.queue = nil
		subs := make([]func(Event), 0, len(p.subs))
		for i := range p.next {
			if fn, ok := p.subs[i]; ok {
				subs = append(subs, fn)
			}
		}
		p.mu.Unlock()
		for _, ev := range batch {
			for _, fn := range subs {
				fn(ev)
			}
		}
	}
}

// close delivers what is queued, then stops.
func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Signal()
	p.mu.Unlock()
	<-p.done
}
