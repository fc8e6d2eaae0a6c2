package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// StageRunFact is a sequence run of a stage as figures over the stage's history (DORA's) need it: its
// times, state and result, and its delivery's service and trigger time, without payloads.
type StageRunFact struct {
	ID                int64
	DeliveryID        int64
	Service           string
	DeliveryCreatedAt time.Time
	Sequence          string
	State             SequenceState
	Result            Result
	TriggeredAt       time.Time
	StartedAt         *time.Time
	FinishedAt        *time.Time
}

// StageTaskFact is a task run of a StageRunFact: its name, result and times.
type StageTaskFact struct {
	SequenceRunID int64
	Name          string
	Result        Result
	StartedAt     *time.Time
	FinishedAt    *time.Time
}

// ListStageFacts returns every sequence run in the stage of every delivery that had a run there
// overlapping the window (triggered before Until, and still live or finished at or after Since), and
// their tasks. A selected delivery brings all its runs in the stage, even those outside the window, so
// that a caller sees which of them came first. It reads what DORA's figures need and nothing else: no
// labels, no values, no task data, which were most of what computing the figures used to read and hold.
// Runs are in trigger order, tasks by run, then position.
func (q queries) ListStageFacts(ctx context.Context, hq StageHistoryQuery) ([]StageRunFact, []StageTaskFact, error) {
	fail := func(err error) ([]StageRunFact, []StageTaskFact, error) {
		return nil, nil, fmt.Errorf("list facts of stage %s/%s: %w", hq.Project, hq.Stage, err)
	}
	selected, args := stageWindow(hq)
	// The unary + keeps SQLite from reading the runs by stage: by delivery, it reads only the selected ones.
	// UNION ALL: a delivery twice in the IN list is harmless, and UNION would sort to drop it.
	rows, err := q.q.QueryContext(ctx, `
		SELECT r.id, r.delivery_id, d.service, d.created_at, r.sequence, r.state, r.result, r.triggered_at,
			r.started_at, r.finished_at
		FROM sequence_runs r JOIN deliveries d ON d.id = r.delivery_id
		WHERE +r.project = ? AND +r.stage = ? AND r.delivery_id IN (`+selected+`)`, append([]any{hq.Project, hq.Stage}, args...)...)
	if err != nil {
		return fail(err)
	}
	runs, err := collect(rows, func(row scanner) (*StageRunFact, error) {
		var r StageRunFact
		err := row.Scan(&r.ID, &r.DeliveryID, &r.Service, timeColumn{&r.DeliveryCreatedAt}, &r.Sequence, &r.State,
			&r.Result, timeColumn{&r.TriggeredAt}, nullTimeColumn{&r.StartedAt}, nullTimeColumn{&r.FinishedAt})
		return &r, err
	})
	if err != nil {
		return fail(err)
	}
	if len(runs) == 0 {
		return nil, nil, nil
	}
	// In trigger order: sorted here rather than by SQLite, which would sort them in a temporary B-tree
	// just the same (they come by delivery, from the window's index).
	slices.SortFunc(runs, func(a, b *StageRunFact) int {
		return cmp.Or(a.TriggeredAt.Compare(b.TriggeredAt), cmp.Compare(a.ID, b.ID))
	})
	ids := make([]int64, len(runs))
	out := make([]StageRunFact, len(runs))
	for i, r := range runs {
		ids[i], out[i] = r.ID, *r
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return fail(err)
	}
	rows, err = q.q.QueryContext(ctx, `
		SELECT sequence_run_id, name, result, started_at, finished_at FROM task_runs
		WHERE sequence_run_id IN (SELECT value FROM json_each(?)) ORDER BY sequence_run_id, position`, string(idList))
	if err != nil {
		return fail(err)
	}
	tasks, err := collect(rows, func(row scanner) (*StageTaskFact, error) {
		var t StageTaskFact
		err := row.Scan(&t.SequenceRunID, &t.Name, &t.Result, nullTimeColumn{&t.StartedAt}, nullTimeColumn{&t.FinishedAt})
		return &t, err
	})
	if err != nil {
		return fail(err)
	}
	outTasks := make([]StageTaskFact, len(tasks))
	for i, t := range tasks {
		outTasks[i] = *t
	}
	return out, outTasks, nil
}

// stageWindow selects the deliveries with a run in hq's stage (and service) that overlaps its window:
// triggered before Until, and still live or finished at or after Since. The two cases are two ranges of
// sequence_runs_by_stage_end, so the query reads the window, not the stage's history (an OR of the two
// made SQLite read every run of the stage).
func stageWindow(hq StageHistoryQuery) (string, []any) {
	part := func(end string, endArgs ...any) (string, []any) {
		var f filter
		f.where("project = ? AND stage = ?", hq.Project, hq.Stage)
		if hq.Service != "" {
			f.where("service = ?", hq.Service)
		}
		f.where(end, endArgs...)
		if !hq.Until.IsZero() {
			f.where("triggered_at < ?", millis(hq.Until))
		}
		return "SELECT delivery_id FROM sequence_runs" + f.String(), f.args
	}
	live, liveArgs := part("finished_at IS NULL")
	ended, endedArgs := part("finished_at >= ?", millis(hq.Since))
	return live + " UNION ALL " + ended, append(liveArgs, endedArgs...)
}
