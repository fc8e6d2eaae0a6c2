package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultSequence is the sequence a delivery runs when the trigger names none.
const DefaultSequence = "delivery"

// Delivery is one trigger of a build through a project's stages.
type Delivery struct {
	ID            int64  // short number people type in chat
	KeptnContext  string // Keptn's shkeptncontext, a UUID shared by every event of the delivery
	Project       string
	Service       string
	Image         string            // the container image being delivered
	Labels        map[string]string // nil when there are none
	Values        json.RawMessage   // extra configurationChange values, nil when there are none
	Stage         string            // the stage the delivery was triggered in, its first stage
	Sequence      string            // the sequence triggered in Stage
	Actor         string            // who triggered it
	Source        string            // where it was triggered from: slack, discord, api, cli, web
	SourceChannel string            // the chat channel it was triggered in, if any
	State         SequenceState
	Result        Result // the result of the last finished sequence, as Keptn reports it
	WorstResult   Result // the worst task result seen, which Keptn's Result can hide
	Message       string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time // set when State becomes terminal
}

const deliveryColumns = `id, keptn_context, project, service, image, labels, extra_values, stage, sequence,
	actor, source, source_channel, state, result, worst_result, message, created_at, updated_at, finished_at`

func scanDelivery(row scanner) (*Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.KeptnContext, &d.Project, &d.Service, &d.Image, jsonColumn{&d.Labels},
		rawColumn{&d.Values}, &d.Stage, &d.Sequence, &d.Actor, &d.Source, &d.SourceChannel, &d.State,
		&d.Result, &d.WorstResult, &d.Message, timeColumn{&d.CreatedAt}, timeColumn{&d.UpdatedAt},
		nullTimeColumn{&d.FinishedAt})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDelivery inserts d and fills in its ID and timestamps. An empty KeptnContext gets a new UUID, an
// empty Sequence DefaultSequence, an empty State StateTriggered. FinishedAt starts empty.
func (tx *Tx) CreateDelivery(ctx context.Context, d *Delivery) error {
	if d.KeptnContext == "" {
		d.KeptnContext = newUUID()
	}
	if d.Sequence == "" {
		d.Sequence = DefaultSequence
	}
	if d.State == "" {
		d.State = StateTriggered
	}
	d.CreatedAt, d.UpdatedAt, d.FinishedAt = tx.now, tx.now, nil
	labels, err := jsonMap(d.Labels)
	if err != nil {
		return fmt.Errorf("create delivery: labels: %w", err)
	}
	err = tx.q.QueryRowContext(ctx, `
		INSERT INTO deliveries (keptn_context, project, service, image, labels, extra_values, stage, sequence,
			actor, source, source_channel, state, result, worst_result, message, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		d.KeptnContext, d.Project, d.Service, d.Image, labels, rawJSON(d.Values), d.Stage, d.Sequence,
		d.Actor, d.Source, d.SourceChannel, d.State, d.Result, d.WorstResult, d.Message,
		millis(d.CreatedAt), millis(d.UpdatedAt),
	).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("create delivery: %w", classify(err))
	}
	return nil
}

// DeliveryUpdate lists the fields of a delivery to change; nil fields stay as they are.
type DeliveryUpdate struct {
	State       *SequenceState
	Result      *Result
	WorstResult *Result
	Message     *string
}

// UpdateDelivery applies u to delivery id and returns the updated delivery. UpdatedAt becomes the
// transaction time, and so does FinishedAt the first time the state becomes terminal.
func (tx *Tx) UpdateDelivery(ctx context.Context, id int64, u DeliveryUpdate) (*Delivery, error) {
	// Only the columns u sets are in the statement: SQLite rewrites a row's entry in every index holding a
	// column an UPDATE sets, even to the value it had, and deliveries_by_state would otherwise be written
	// at each update of a delivery, not only when its state changes.
	set := []string{"updated_at = ?"}
	args := []any{millis(tx.now)}
	if u.State != nil {
		set = append(set, "state = ?")
		args = append(args, *u.State)
		if u.State.Terminal() {
			set = append(set, "finished_at = COALESCE(finished_at, ?)")
			args = append(args, millis(tx.now))
		}
	}
	if u.Result != nil {
		set, args = append(set, "result = ?"), append(args, *u.Result)
	}
	if u.WorstResult != nil {
		set, args = append(set, "worst_result = ?"), append(args, *u.WorstResult)
	}
	if u.Message != nil {
		set, args = append(set, "message = ?"), append(args, *u.Message)
	}
	d, err := scanDelivery(tx.q.QueryRowContext(ctx, `UPDATE deliveries SET `+strings.Join(set, ", ")+` WHERE id = ?
		RETURNING `+deliveryColumns, append(args, id)...))
	if err != nil {
		return nil, fmt.Errorf("update delivery %d: %w", id, classify(err))
	}
	return d, nil
}

// GetDelivery returns delivery id, or ErrNotFound.
func (q queries) GetDelivery(ctx context.Context, id int64) (*Delivery, error) {
	d, err := scanDelivery(q.q.QueryRowContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get delivery %d: %w", id, classify(err))
	}
	return d, nil
}

// GetDeliveryByContext returns the delivery with the given Keptn context, or ErrNotFound. Events from
// executors carry only the context.
func (q queries) GetDeliveryByContext(ctx context.Context, keptnContext string) (*Delivery, error) {
	d, err := scanDelivery(q.q.QueryRowContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE keptn_context = ?`, keptnContext))
	if err != nil {
		return nil, fmt.Errorf("get delivery with context %s: %w", keptnContext, classify(err))
	}
	return d, nil
}

// DeliveryQuery selects deliveries; empty fields do not filter.
type DeliveryQuery struct {
	// Projects, when not nil, limits the list to these projects, for callers that may see only some
	// (an API token); an empty list matches nothing. Project narrows further.
	Projects []string
	Project  string
	Service  string
	Stage    string // deliveries with a sequence run in this stage
	State    SequenceState
	Limit    int // 0 means no limit
	// After continues a list where an earlier page of it ended: only the deliveries listed after that
	// one, which are the older ones. nil starts with the newest.
	After *Position
}

// ListDeliveries returns the deliveries matching dq, newest first: by creation time, then by id.
//
// The query reads an index in this order and stops after Limit rows (store/queryplan_test.go checks the
// plans): one that holds the filter where there is one (project; project and service; state), else the
// creation time alone, read until Limit rows match. A caller limited to several projects therefore gets
// one query per project, each reading at most Limit rows, merged here: one "project IN (...)" query would
// read every delivery of those projects to sort them. On the read pool those queries are separate reads,
// not one snapshot: a delivery created while they run may be listed or not.
func (q queries) ListDeliveries(ctx context.Context, dq DeliveryQuery) ([]*Delivery, error) {
	if dq.Projects == nil {
		return q.listDeliveries(ctx, dq)
	}
	projects := slices.Clone(dq.Projects)
	if dq.Project != "" {
		if !slices.Contains(projects, dq.Project) {
			return nil, nil
		}
		projects = []string{dq.Project}
	}
	slices.Sort(projects)
	projects = slices.Compact(projects)
	var out []*Delivery
	for _, p := range projects {
		one := dq
		one.Projects, one.Project = nil, p
		ds, err := q.listDeliveries(ctx, one)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	if len(projects) > 1 {
		slices.SortFunc(out, func(a, b *Delivery) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
		})
	}
	if dq.Limit > 0 && len(out) > dq.Limit {
		out = out[:dq.Limit]
	}
	return out, nil
}

// listDeliveries is ListDeliveries of one project or of all: one query.
func (q queries) listDeliveries(ctx context.Context, dq DeliveryQuery) ([]*Delivery, error) {
	var f filter
	if dq.Project != "" {
		f.where("project = ?", dq.Project)
	}
	if dq.Service != "" {
		f.where("service = ?", dq.Service)
	}
	if dq.Stage != "" {
		f.where("EXISTS (SELECT 1 FROM sequence_runs s WHERE s.delivery_id = deliveries.id AND s.stage = ?)", dq.Stage)
	}
	if dq.State != "" {
		f.where("state = ?", dq.State)
	}
	f.after("created_at", dq.After, false)
	rows, err := q.q.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries`+f.String()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(f.args, limit(dq.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	ds, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}
