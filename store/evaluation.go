package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Evaluation is one SLO evaluation of a service in a stage: the overall verdict, the per-objective
// breakdown, and the SLI values that later evaluations compare against.
type Evaluation struct {
	ID          int64
	DeliveryID  int64 // 0 when evaluated outside a delivery
	TaskRunID   int64 // 0 when evaluated outside a task
	Project     string
	Stage       string
	Service     string
	Result      Result
	Status      Status
	Score       float64 // 0 to 100
	Message     string
	TimeStart   time.Time // the evaluated time window
	TimeEnd     time.Time
	Objectives  json.RawMessage // per-objective results, as the scorer produced them
	ComparedIDs []int64         // ids of the evaluations used as baseline, nil when none
	Invalidated bool            // an invalidated evaluation is never a baseline again
	CreatedAt   time.Time
	SLIs        map[string]SLIValue // by SLI name; nil when none
}

// SLIValue is one SLI measured for an evaluation.
type SLIValue struct {
	Value   *float64 // nil when the provider returned no value; NaN is stored as no value
	Success bool     // whether the provider got the value; only successful values serve as baseline
	Message string
}

const evaluationColumns = `id, delivery_id, task_run_id, project, stage, service, result, status, score,
	message, time_start, time_end, objectives, compared_ids, invalidated, created_at`

func scanEvaluation(row scanner) (*Evaluation, error) {
	var e Evaluation
	err := row.Scan(&e.ID, nullIDColumn{&e.DeliveryID}, nullIDColumn{&e.TaskRunID}, &e.Project, &e.Stage,
		&e.Service, &e.Result, &e.Status, &e.Score, &e.Message, timeColumn{&e.TimeStart},
		timeColumn{&e.TimeEnd}, rawColumn{&e.Objectives}, jsonColumn{&e.ComparedIDs}, &e.Invalidated,
		timeColumn{&e.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// CreateEvaluation inserts e with its SLI values and fills in its ID and CreatedAt.
func (tx *Tx) CreateEvaluation(ctx context.Context, e *Evaluation) error {
	e.TimeStart, e.TimeEnd = normalizeTime(e.TimeStart), normalizeTime(e.TimeEnd)
	e.CreatedAt = tx.now
	compared, err := jsonList(e.ComparedIDs)
	if err != nil {
		return fmt.Errorf("create evaluation: compared ids: %w", err)
	}
	err = tx.q.QueryRowContext(ctx, `
		INSERT INTO evaluations (delivery_id, task_run_id, project, stage, service, result, status, score,
			message, time_start, time_end, objectives, compared_ids, invalidated, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		nullID(e.DeliveryID), nullID(e.TaskRunID), e.Project, e.Stage, e.Service, e.Result, e.Status, e.Score,
		e.Message, millis(e.TimeStart), millis(e.TimeEnd), rawJSON(e.Objectives), compared, e.Invalidated,
		millis(e.CreatedAt),
	).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("create evaluation: %w", classify(err))
	}
	for name, v := range e.SLIs {
		_, err := tx.q.ExecContext(ctx, `
			INSERT INTO evaluation_slis (evaluation_id, sli, value, success, message) VALUES (?, ?, ?, ?, ?)`,
			e.ID, name, v.Value, v.Success, v.Message)
		if err != nil {
			return fmt.Errorf("create evaluation: sli %s: %w", name, classify(err))
		}
	}
	return nil
}

// InvalidateEvaluation marks evaluation id invalidated, so it is no longer a baseline (Keptn's
// evaluation.invalidated event). It returns ErrNotFound when there is no such evaluation.
func (tx *Tx) InvalidateEvaluation(ctx context.Context, id int64) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE evaluations SET invalidated = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("invalidate evaluation %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("invalidate evaluation %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("invalidate evaluation %d: %w", id, ErrNotFound)
	}
	return nil
}

// GetEvaluation returns evaluation id with its SLI values, or ErrNotFound.
func (q queries) GetEvaluation(ctx context.Context, id int64) (*Evaluation, error) {
	e, err := scanEvaluation(q.q.QueryRowContext(ctx, `SELECT `+evaluationColumns+` FROM evaluations WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get evaluation %d: %w", id, classify(err))
	}
	if err := q.attachSLIs(ctx, []*Evaluation{e}); err != nil {
		return nil, fmt.Errorf("get evaluation %d: %w", id, err)
	}
	return e, nil
}

// ListEvaluations returns the evaluations of a delivery with their SLI values, oldest first.
func (q queries) ListEvaluations(ctx context.Context, deliveryID int64) ([]*Evaluation, error) {
	es, err := q.listEvaluations(ctx, `SELECT `+evaluationColumns+` FROM evaluations
		WHERE delivery_id = ? ORDER BY created_at, id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list evaluations of delivery %d: %w", deliveryID, err)
	}
	return es, nil
}

// PreviousQuery selects the earlier evaluations an evaluation compares against.
type PreviousQuery struct {
	Project   string
	Stage     string
	Service   string
	Results   []Result  // overall results to accept; empty accepts any
	Limit     int       // 0 means no limit
	Before    time.Time // only evaluations created before this time; zero means any time
	ExcludeID int64     // leave out this evaluation, usually the one being compared
}

// PreviousEvaluations returns the evaluations of the same project, stage and service that pq accepts,
// newest first, with their SLI values, never an invalidated one. This is Keptn lighthouse's
// getPreviousEvaluations: the filter applies to the overall result, not to each SLI.
func (q queries) PreviousEvaluations(ctx context.Context, pq PreviousQuery) ([]*Evaluation, error) {
	var f filter
	f.where("project = ? AND stage = ? AND service = ? AND invalidated = 0", pq.Project, pq.Stage, pq.Service)
	in(&f, "result", pq.Results)
	if !pq.Before.IsZero() {
		f.where("created_at < ?", millis(pq.Before))
	}
	if pq.ExcludeID != 0 {
		f.where("id <> ?", pq.ExcludeID)
	}
	es, err := q.listEvaluations(ctx, `SELECT `+evaluationColumns+` FROM evaluations`+f.String()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(f.args, limit(pq.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("previous evaluations of %s/%s/%s: %w", pq.Project, pq.Stage, pq.Service, err)
	}
	return es, nil
}

func (q queries) listEvaluations(ctx context.Context, query string, args ...any) ([]*Evaluation, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	es, err := collect(rows, scanEvaluation)
	if err != nil {
		return nil, err
	}
	if err := q.attachSLIs(ctx, es); err != nil {
		return nil, err
	}
	return es, nil
}

// attachSLIs loads the SLI values of all es in one query.
func (q queries) attachSLIs(ctx context.Context, es []*Evaluation) error {
	if len(es) == 0 {
		return nil
	}
	byID := make(map[int64]*Evaluation, len(es))
	ids := make([]int64, 0, len(es))
	for _, e := range es {
		byID[e.ID] = e
		ids = append(ids, e.ID)
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	// json_each keeps the statement text fixed however many evaluations there are.
	rows, err := q.q.QueryContext(ctx, `
		SELECT evaluation_id, sli, value, success, message FROM evaluation_slis
		WHERE evaluation_id IN (SELECT value FROM json_each(?))`, string(idList))
	if err != nil {
		return fmt.Errorf("load slis: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			name string
			v    SLIValue
		)
		if err := rows.Scan(&id, &name, &v.Value, &v.Success, &v.Message); err != nil {
			return fmt.Errorf("load slis: %w", err)
		}
		e := byID[id]
		if e.SLIs == nil {
			e.SLIs = make(map[string]SLIValue)
		}
		e.SLIs[name] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load slis: %w", err)
	}
	return nil
}
