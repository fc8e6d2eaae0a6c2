package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// ListDeliveriesOf is ListDeliveries limited to deliveries of the given projects, for callers that may
// see only some of them (an API token). dq.Project still narrows within them; no projects lists nothing.
func (q queries) ListDeliveriesOf(ctx context.Context, projects []string, dq DeliveryQuery) ([]*Delivery, error) {
	if len(projects) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(projects)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	var f filter
	// json_each keeps the statement text the same however many projects there are, so it is prepared once.
	f.where("project IN (SELECT value FROM json_each(?))", string(list))
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
