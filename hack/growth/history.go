package growth

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Project is a project of the generated history and its services.
type Project struct {
	Name     string
	Services []string
}

// Projects are the projects history is spread over, each delivered to as often as the others. Service
// names are unique across projects, so that `/deliver history SERVICE` in a channel bound to all of them
// names one service.
var Projects = []Project{
	{Name: "shop", Services: []string{"web", "cart", "checkout"}},
	{Name: "payments", Services: []string{"ledger", "billing", "fraud"}},
	{Name: "search", Services: []string{"indexer", "query", "ranking"}},
	{Name: "platform", Services: []string{"auth", "gateway", "notify"}},
}

// Who acts in the generated history: CI's API token, and people in the web console's channel.
const (
	HistoryChannel = "ops"
	ciActor        = "ci"
)

var (
	deployers = []string{"dana", "lee", "sam"}
	approvers = []string{"ann", "bob", "kim"}
)

// Shape says what history Generate writes.
type Shape struct {
	Deliveries int     // how many; every one is finished
	PerDay     float64 // deliveries a day: the history spans Deliveries/PerDay days before End
	// End is the time history stops: the newest delivery is triggered about half an hour before it, and
	// everything has finished by a minute before it.
	End  time.Time
	Seed uint64 // the same seed gives the same history, but for UUIDs
}

// Span is how long the history lasts.
func (s Shape) Span() time.Duration {
	return time.Duration(float64(s.Deliveries) / s.PerDay * float64(24*time.Hour))
}

// Stats is what Generate wrote and how long it took.
type Stats struct {
	Deliveries int
	Events     int
	Audit      int
	Chat       int
	Commits    int       // write transactions
	First      time.Time // when the oldest delivery was triggered
	Last       time.Time // when the newest one was
	Took       time.Duration
}

// Timing of the generated history.
const (
	// window is how much simulated time one write transaction covers: every row it writes carries the
	// time it starts (the store takes each transaction's time from its clock), so times are exact to
	// this, while history at tens of deliveries a day costs a few transactions per delivery instead of
	// one per step. History older than recent, which neither the DORA figures (30 days) nor a day's
	// audit export read, is written in transactions of oldWindow, which is faster.
	window    = 15 * time.Minute
	oldWindow = 4 * time.Hour
	recent    = 31 * 24 * time.Hour
	// maxSteps bounds the steps of one transaction.
	maxSteps = 400
	// newestTrigger is how long before Shape.End the newest delivery is triggered, and settled how long
	// before it everything has finished.
	newestTrigger = 30 * time.Minute
	settled       = time.Minute
)

// Generate writes a history of finished deliveries of the Keptn tutorial's shape into a new database at
// path, through the store's exported API. Each delivery is triggered by CI (most) or by someone in the
// web console, runs qa's deployment, test and evaluation (with three SLIs compared with the service's
// previous build), and then either rolls back (a failed evaluation) or waits for a person's approval
// in production and deploys and releases there; a few approvals are rejected or expire. Per delivery
// it writes 18 to 24 Keptn events, 12 to 16 chat message references, 1 to 4 audit entries and an
// idempotency key or two, in time order, the steps of all deliveries interleaved as they happened.
func Generate(ctx context.Context, path string, shape Shape) (Stats, error) {
	if shape.Deliveries <= 0 || shape.PerDay <= 0 || shape.End.IsZero() {
		return Stats{}, errors.New("generate history: Deliveries, PerDay and End are required")
	}
	began := time.Now()
	g := &generator{ctx: ctx, shape: shape, rng: rand.New(rand.NewPCG(shape.Seed, shape.Seed^0x9e3779b97f4a7c15)),
		lastEval: map[string]int64{}, builds: map[string]int{}}
	st, err := store.Open(ctx, path, store.WithClock(func() time.Time { return g.now }))
	if err != nil {
		return Stats{}, fmt.Errorf("generate history: %w", err)
	}
	g.st = st
	g.nextTrigger = g.triggerTime(0)
	err = g.run()
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	g.stats.Took = time.Since(began)
	if err != nil {
		return g.stats, fmt.Errorf("generate history: %w", err)
	}
	return g.stats, nil
}

type generator struct {
	ctx   context.Context
	st    *store.Store
	shape Shape
	rng   *rand.Rand
	now   time.Time // the clock of the transaction being written

	triggered   int       // deliveries triggered so far
	nextTrigger time.Time // when the next one is
	queue       moments
	seq         int64            // orders moments at the same time
	messages    int64            // chat message ids
	lastEval    map[string]int64 // the newest qa evaluation of each project/service
	builds      map[string]int   // builds of each project/service
	stats       Stats
}

// step is one moment of a delivery: what happens to it at a time, in the transaction tx.
type step func(g *generator, tx *store.Tx, d *delivery, at time.Time) error

type moment struct {
	at  time.Time
	seq int64
	d   *delivery
	do  step
}

type moments []moment

func (m moments) Len() int { return len(m) }
func (m moments) Less(i, j int) bool {
	if !m[i].at.Equal(m[j].at) {
		return m[i].at.Before(m[j].at)
	}
	return m[i].seq < m[j].seq
}
func (m moments) Swap(i, j int) { m[i], m[j] = m[j], m[i] }
func (m *moments) Push(x any)   { *m = append(*m, x.(moment)) }
func (m *moments) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

// triggerTime is when delivery i is triggered: evenly spread over the span, each at a random time in
// its slot, so that they come in order.
func (g *generator) triggerTime(i int) time.Time {
	span := g.shape.Span()
	first := g.shape.End.Add(-newestTrigger - span)
	slot := float64(span) / float64(g.shape.Deliveries)
	return first.Add(time.Duration((float64(i) + g.rng.Float64()) * slot))
}

// next returns the earliest moment due before limit, taking it off the queue, or false.
func (g *generator) next(limit time.Time) (moment, bool) {
	at, ok := g.earliest()
	if !ok || !at.Before(limit) {
		return moment{}, false
	}
	if g.queue.Len() > 0 && g.queue[0].at.Equal(at) {
		return heap.Pop(&g.queue).(moment), true
	}
	g.triggered++
	if g.triggered < g.shape.Deliveries {
		g.nextTrigger = g.triggerTime(g.triggered)
	}
	return moment{at: at, d: g.newDelivery(), do: (*generator).trigger}, true
}

// earliest is when the next moment is due, or false when history is done.
func (g *generator) earliest() (time.Time, bool) {
	var at time.Time
	ok := false
	if g.triggered < g.shape.Deliveries {
		at, ok = g.nextTrigger, true
	}
	if g.queue.Len() > 0 && (!ok || !at.Before(g.queue[0].at)) {
		at, ok = g.queue[0].at, true
	}
	return at, ok
}

// after schedules d's next step, at most until everything must have settled.
func (g *generator) after(d *delivery, at time.Time, wait time.Duration, do step) {
	next := at.Add(wait)
	if limit := g.shape.End.Add(-settled); next.After(limit) {
		next = limit
		if next.Before(at) {
			next = at
		}
	}
	g.seq++
	heap.Push(&g.queue, moment{at: next, seq: g.seq, d: d, do: do})
}

func (g *generator) run() error {
	for {
		start, ok := g.earliest()
		if !ok {
			return nil
		}
		g.now = start
		limit := start.Add(window)
		if start.Before(g.shape.End.Add(-recent)) {
			limit = start.Add(oldWindow)
		}
		err := g.st.Update(g.ctx, func(tx *store.Tx) error {
			for range maxSteps {
				m, ok := g.next(limit)
				if !ok {
					return nil
				}
				if err := m.do(g, tx, m.d, m.at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		g.stats.Commits++
	}
}
