package store

import (
	"context"
	"fmt"
	"strings"
)

// QueueDepth is how many sequence runs of one project, stage and service are in one state.
type QueueDepth struct {
	Project string
	Stage   string
	Service string
	Runs    int
}

// QueueDepths counts the sequence runs waiting to start (WaitingToStartStates: queued behind the one
// ahead of them, or held by a freeze window), by project, stage and service, in that order; queues with
// none are left out. It reads the partial index sequence_runs_queued, which holds those runs only, so its
// cost is the queues' size, not the history's.
func (q queries) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := q.q.QueryContext(ctx, queueDepthsQuery)
	if err != nil {
		return nil, fmt.Errorf("count queued sequence runs: %w", err)
	}
	ds, err := collect(rows, func(row scanner) (*QueueDepth, error) {
		var d QueueDepth
		err := row.Scan(&d.Project, &d.Stage, &d.Service, &d.Runs)
		return &d, err
	})
	if err != nil {
		return nil, fmt.Errorf("count queued sequence runs: %w", err)
	}
	out := make([]QueueDepth, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	return out, nil
}

// queueDepthsQuery names the states as literals: SQLite uses a partial index only when the query's own
// text implies the index's condition, which a bound parameter does not.
var queueDepthsQuery = `
	SELECT project, stage, service, COUNT(*) FROM sequence_runs WHERE state IN (` + quoted(WaitingToStartStates()) + `)
	GROUP BY project, stage, service ORDER BY project, stage, service`

// quoted lists states as SQL string literals: 'a', 'b'.
func quoted(states []SequenceState) string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = "'" + string(s) + "'"
	}
	return strings.Join(out, ", ")
}
