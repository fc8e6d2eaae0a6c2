package store

import "time"

// Position is where a row stands in a list ordered by a time and then by id: what a page of a list hands
// to the next one, so that the next page continues with a keyset condition, (created_at, id) < (?, ?),
// which an index answers by seeking to it. An OFFSET would read and drop every row before the page, and
// would skip or repeat rows when others are inserted between two pages.
type Position struct {
	At time.Time // millisecond precision, as stored
	ID int64
}

// Position is where d stands in ListDeliveries' order.
func (d *Delivery) Position() Position { return Position{At: d.CreatedAt, ID: d.ID} }

// Position is where a stands in ListAudit's order.
func (a *AuditEntry) Position() Position { return Position{At: a.At, ID: a.ID} }

// after adds the keyset condition of a list ordered by (column, id): only the rows that come after p,
// older ones when the list is newest first, newer ones when it is oldest first. Nothing when p is nil.
// The row value compares column first and id only between equal times, which the index on column (that
// ends with the rowid, id) answers as one range.
func (f *filter) after(column string, p *Position, oldestFirst bool) {
	if p == nil {
		return
	}
	op := "<"
	if oldestFirst {
		op = ">"
	}
	f.where("("+column+", id) "+op+" (?, ?)", millis(p.At), p.ID)
}
