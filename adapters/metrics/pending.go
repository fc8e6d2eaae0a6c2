package metrics

// pending holds values by task run id, such as start times waiting for their .finished event, and
// keeps at most limit of them: putting one more forgets the oldest.
type pending[V any] struct {
	limit   int
	entries map[int64]entry[V]
	order   []ref // put order; may hold stale refs to entries taken or put again since
	next    uint64
}

type entry[V any] struct {
	v   V
	seq uint64
}

type ref struct {
	id  int64
	seq uint64
}

func newPending[V any](limit int) *pending[V] {
	return &pending[V]{limit: limit, entries: map[int64]entry[V]{}}
}

// put sets id's value, making it the newest, and forgets the oldest values beyond the limit.
func (p *pending[V]) put(id int64, v V) {
	p.next++
	p.entries[id] = entry[V]{v: v, seq: p.next}
	p.order = append(p.order, ref{id: id, seq: p.next})
	for len(p.entries) > p.limit {
		oldest := p.order[0]
		p.order = p.order[1:]
		if e, ok := p.entries[oldest.id]; ok && e.seq == oldest.seq {
			delete(p.entries, oldest.id)
		}
	}
	if len(p.order) > 2*p.limit {
		p.compact()
	}
}

// compact drops stale refs, so that order stays within twice the limit however many values come and go.
func (p *pending[V]) compact() {
	live := make([]ref, 0, len(p.entries))
	for _, r := range p.order {
		if e, ok := p.entries[r.id]; ok && e.seq == r.seq {
			live = append(live, r)
		}
	}
	p.order = live
}

// take removes and returns id's value.
func (p *pending[V]) take(id int64) (V, bool) {
	e, ok := p.entries[id]
	if ok {
		delete(p.entries, id)
	}
	return e.v, ok
}

// takeWhere removes and returns the values match accepts, oldest first.
func (p *pending[V]) takeWhere(match func(V) bool) []V {
	var out []V
	for _, r := range p.order {
		if e, ok := p.entries[r.id]; ok && e.seq == r.seq && match(e.v) {
			out = append(out, e.v)
			delete(p.entries, r.id)
		}
	}
	return out
}

func (p *pending[V]) len() int { return len(p.entries) }
