package dora

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// Query selects the history to measure.
type Query struct {
	Project string
	Service string // empty: every service of the project
	Stage   string // the stage to measure; ProductionStage gives the usual one
	Window  Window
}

// ProductionStage is the stage DORA figures are usually about: the shipyard's last.
func ProductionStage(p *config.Project) string {
	stages := p.Shipyard.Spec.Stages
	if len(stages) == 0 {
		return ""
	}
	return stages[len(stages)-1].Name
}

// Load reads the Records Compute needs for q: every delivery of the project (and service) with a run in
// the stage that overlapped the window, with all its runs in the stage and their tasks. Runs before the
// window of other deliveries are not read; they cannot change the window's figures (see the package
// documentation: a rollback belongs to a change that ended before it, and restores follow failures).
func Load(ctx context.Context, st *store.Store, q Query) ([]Record, error) {
	if q.Project == "" || q.Stage == "" {
		return nil, errors.New("dora: a query needs a project and a stage")
	}
	runs, err := st.ListStageRuns(ctx, store.StageHistoryQuery{Project: q.Project, Stage: q.Stage, Service: q.Service,
		Since: q.Window.From, Until: q.Window.To})
	if err != nil {
		return nil, fmt.Errorf("dora: load %s/%s: %w", q.Project, q.Stage, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	runIDs := make([]int64, len(runs))
	var deliveryIDs []int64
	seen := map[int64]bool{}
	for i, r := range runs {
		runIDs[i] = r.ID
		if !seen[r.DeliveryID] {
			seen[r.DeliveryID] = true
			deliveryIDs = append(deliveryIDs, r.DeliveryID)
		}
	}
	deliveries, err := st.ListDeliveriesByID(ctx, deliveryIDs)
	if err != nil {
		return nil, fmt.Errorf("dora: load %s/%s: %w", q.Project, q.Stage, err)
	}
	tasks, err := st.ListTaskRunsOf(ctx, runIDs)
	if err != nil {
		return nil, fmt.Errorf("dora: load %s/%s: %w", q.Project, q.Stage, err)
	}
	return records(deliveries, runs, tasks), nil
}

// records assembles Records, in delivery id order, from rows read separately. A run whose delivery is
// missing (it cannot be, with foreign keys) is left out.
func records(deliveries []*store.Delivery, runs []*store.SequenceRun, tasks []*store.TaskRun) []Record {
	byRun := map[int64][]Task{}
	for _, t := range tasks {
		byRun[t.SequenceRunID] = append(byRun[t.SequenceRunID], Task{Name: t.Name, Result: t.Result,
			StartedAt: orZero(t.StartedAt), FinishedAt: orZero(t.FinishedAt)})
	}
	index := map[int64]int{}
	out := make([]Record, len(deliveries))
	for i, d := range deliveries {
		index[d.ID] = i
		out[i] = Record{DeliveryID: d.ID, Project: d.Project, Service: d.Service, CreatedAt: d.CreatedAt}
	}
	for _, r := range runs {
		i, ok := index[r.DeliveryID]
		if !ok {
			continue
		}
		out[i].Runs = append(out[i].Runs, Run{Sequence: r.Sequence, State: r.State, Result: r.Result,
			TriggeredAt: r.TriggeredAt, StartedAt: orZero(r.StartedAt), FinishedAt: orZero(r.FinishedAt), Tasks: byRun[r.ID]})
	}
	return out
}

func orZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// Measure loads q's history and computes its figures, with Stage set.
func Measure(ctx context.Context, st *store.Store, q Query) (Figures, error) {
	recs, err := Load(ctx, st, q)
	if err != nil {
		return Figures{}, err
	}
	f := Compute(recs, q.Window)
	f.Stage = q.Stage
	return f, nil
}

// ByService splits records by service, for figures per service of a project loaded at once.
func ByService(records []Record) map[string][]Record {
	out := map[string][]Record{}
	for _, r := range records {
		out[r.Service] = append(out[r.Service], r)
	}
	return out
}
