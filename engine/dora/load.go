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
	runs, tasks, err := st.ListStageFacts(ctx, store.StageHistoryQuery{Project: q.Project, Stage: q.Stage, Service: q.Service,
		Since: q.Window.From, Until: q.Window.To})
	if err != nil {
		return nil, fmt.Errorf("dora: load %s/%s: %w", q.Project, q.Stage, err)
	}
	return records(q.Project, runs, tasks), nil
}

// records builds one Record per delivery from its runs in the stage, in the order the deliveries' first
// runs were triggered.
func records(project string, runs []store.StageRunFact, tasks []store.StageTaskFact) []Record {
	byRun := map[int64][]Task{}
	for _, t := range tasks {
		byRun[t.SequenceRunID] = append(byRun[t.SequenceRunID], Task{Name: t.Name, Result: t.Result,
			StartedAt: orZero(t.StartedAt), FinishedAt: orZero(t.FinishedAt)})
	}
	index := map[int64]int{}
	var out []Record
	for _, r := range runs {
		i, ok := index[r.DeliveryID]
		if !ok {
			i = len(out)
			index[r.DeliveryID] = i
			out = append(out, Record{DeliveryID: r.DeliveryID, Project: project, Service: r.Service, CreatedAt: r.DeliveryCreatedAt})
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
