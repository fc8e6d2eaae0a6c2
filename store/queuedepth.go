package store

import (
	"context"
	"fmt"
)

// QueueDepth is how many sequence runs of one project, stage and service are in one state.
type QueueDepth struct {
	Project string
	Stage   string
	Service string
	Runs    int
}

// CountSequenceRuns counts the sequence runs in state by project, stage and service, in that order;
// places with none are left out. With StateTriggered it is the depth of every queue: the runs waiting
// for the one ahead of them to finish.
func (q queries) CountSequenceRuns(ctx context.Context, state SequenceState) ([]QueueDepth, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT project, stage, service, COUNT(*) FROM sequence_runs WHERE state = ?
		GROUP BY project, stage, service ORDER BY project, stage, service`, state)
	if err != nil {
		return nil, fmt.Errorf("count %s sequence runs: %w", state, err)
	}
	ds, err := collect(rows, func(row scanner) (*QueueDepth, error) {
		var d QueueDepth
		err := row.Scan(&d.Project, &d.Stage, &d.Service, &d.Runs)
		return &d, err
	})
	if err != nil {
		return nil, fmt.Errorf("count %s sequence runs: %w", state, err)
	}
	out := make([]QueueDepth, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	return out, nil
}
