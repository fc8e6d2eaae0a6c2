package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// StageHistoryQuery selects what happened in one stage of a project around a time window, for figures
// such as DORA's that look at a stage's history rather than at one delivery.
type StageHistoryQuery struct {
	Project string
	Stage   string
	Service string    // empty: every service
	Since   time.Time // runs still live, or finished at or after Since
	Until   time.Time // runs triggered before Until; zero means no bound
}

// ListStageRuns returns every sequence run in the stage of every delivery that had a run there overlapping
// the window: triggered before Until, and still live or finished at or after Since. A selected delivery
// brings all its runs in the stage, even those outside the window, so that a caller sees which of them
// came first. Runs are in trigger order.
func (q queries) ListStageRuns(ctx context.Context, hq StageHistoryQuery) ([]*SequenceRun, error) {
	scope := func() *filter {
		var f filter
		f.where("project = ? AND stage = ?", hq.Project, hq.Stage)
		if hq.Service != "" {
			f.where("service = ?", hq.Service)
		}
		return &f
	}
	inWindow := scope()
	inWindow.where("(finished_at IS NULL OR finished_at >= ?)", millis(hq.Since))
	if !hq.Until.IsZero() {
		inWindow.where("triggered_at < ?", millis(hq.Until))
	}
	f := scope()
	f.where("delivery_id IN (SELECT delivery_id FROM sequence_runs"+inWindow.String()+")", inWindow.args...)
	rows, err := q.q.QueryContext(ctx, `SELECT `+sequenceRunColumns+` FROM sequence_runs`+f.String()+
		` ORDER BY triggered_at, id`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("list runs of stage %s/%s: %w", hq.Project, hq.Stage, err)
	}
	rs, err := collect(rows, scanSequenceRun)
	if err != nil {
		return nil, fmt.Errorf("list runs of stage %s/%s: %w", hq.Project, hq.Stage, err)
	}
	return rs, nil
}

// ListTaskRunsOf returns the task runs of the given sequence runs, by sequence run, then position.
func (q queries) ListTaskRunsOf(ctx context.Context, sequenceRunIDs []int64) ([]*TaskRun, error) {
	if len(sequenceRunIDs) == 0 {
		return nil, nil
	}
	idList, err := json.Marshal(sequenceRunIDs)
	if err != nil {
		return nil, fmt.Errorf("list task runs of %d sequence runs: %w", len(sequenceRunIDs), err)
	}
	// json_each keeps the statement text fixed however many runs there are.
	rows, err := q.q.QueryContext(ctx, `SELECT `+taskRunColumns+` FROM task_runs
		WHERE sequence_run_id IN (SELECT value FROM json_each(?)) ORDER BY sequence_run_id, position`, string(idList))
	if err != nil {
		return nil, fmt.Errorf("list task runs of %d sequence runs: %w", len(sequenceRunIDs), err)
	}
	ts, err := collect(rows, scanTaskRun)
	if err != nil {
		return nil, fmt.Errorf("list task runs of %d sequence runs: %w", len(sequenceRunIDs), err)
	}
	return ts, nil
}

// ListDeliveriesByID returns the deliveries with the given ids in id order; ids that do not exist are
// left out.
func (q queries) ListDeliveriesByID(ctx context.Context, ids []int64) ([]*Delivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("list %d deliveries: %w", len(ids), err)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`, string(idList))
	if err != nil {
		return nil, fmt.Errorf("list %d deliveries: %w", len(ids), err)
	}
	ds, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list %d deliveries: %w", len(ids), err)
	}
	return ds, nil
}
