package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is a Keptn CloudEvent as recorded: what was sent or received, in order. Events are never changed
// or deleted; the database refuses it.
type Event struct {
	Seq          int64  // position in the log
	ID           string // CloudEvent id, a UUID
	DeliveryID   int64  // 0 when the event belongs to no delivery
	KeptnContext string // shkeptncontext
	TriggeredID  string // triggeredid: the .triggered event this .started or .finished answers
	Type         string // for example sh.keptn.event.qa.delivery.triggered
	Source       string
	Time         time.Time
	Data         json.RawMessage
}

const eventColumns = `seq, id, delivery_id, keptn_context, triggered_id, type, source, time, data`

func scanEvent(row scanner) (*Event, error) {
	var e Event
	err := row.Scan(&e.Seq, &e.ID, nullIDColumn{&e.DeliveryID}, &e.KeptnContext, &e.TriggeredID, &e.Type,
		&e.Source, timeColumn{&e.Time}, rawColumn{&e.Data})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// AppendEvent records e and fills in its Seq. An empty ID gets a new UUID (newUUID) and a zero Time the transaction
// time. It returns ErrConflict when an event with the same ID is already recorded, which is how a
// redelivered event is recognised.
func (tx *Tx) AppendEvent(ctx context.Context, e *Event) error {
	if e.ID == "" {
		e.ID = newUUID()
	}
	if e.Time.IsZero() {
		e.Time = tx.now
	}
	e.Time = normalizeTime(e.Time)
	err := tx.q.QueryRowContext(ctx, `
		INSERT INTO events (id, delivery_id, keptn_context, triggered_id, type, source, time, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING seq`,
		e.ID, nullID(e.DeliveryID), e.KeptnContext, e.TriggeredID, e.Type, e.Source, millis(e.Time),
		rawJSON(e.Data),
	).Scan(&e.Seq)
	if err != nil {
		return fmt.Errorf("append event %s %s: %w", e.Type, e.ID, classify(err))
	}
	return nil
}

// GetEvent returns the event with CloudEvent id, or ErrNotFound.
func (q queries) GetEvent(ctx context.Context, id string) (*Event, error) {
	e, err := scanEvent(q.q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", id, classify(err))
	}
	return e, nil
}

// ListEvents returns the events of a delivery in the order they were recorded.
func (q queries) ListEvents(ctx context.Context, deliveryID int64) ([]*Event, error) {
	rows, err := q.q.QueryContext(ctx,
		`SELECT `+eventColumns+` FROM events WHERE delivery_id = ? ORDER BY seq`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list events of delivery %d: %w", deliveryID, err)
	}
	es, err := collect(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events of delivery %d: %w", deliveryID, err)
	}
	return es, nil
}

// newUUID returns a new time-ordered UUID (version 7, RFC 9562), for event ids and Keptn contexts. Both
// are keys of indexes that every task transaction inserts into: random (version 4) UUIDs land on a
// different leaf page of each index every time, each page one more frame in the WAL, where
// time-ordered ones are appended to the same last page. Keptn treats both as opaque UUID strings.
func newUUID() string {
	return uuid.Must(uuid.NewV7()).String()
}
