package store

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestEvaluationRoundTrip(t *testing.T) {
	s, c := newStore(t)
	d, _, tr := seedTask(t, s)
	end := c.Now()
	e := Evaluation{
		DeliveryID: d.ID, TaskRunID: tr.ID, Project: "fulltour", Stage: "qa", Service: "helloservice",
		Result: ResultWarning, Status: StatusSucceeded, Score: 83.33, Message: "response_time_p95 over warning",
		TimeStart: end.Add(-5 * time.Minute), TimeEnd: end,
		Objectives:  json.RawMessage(`[{"sli":"response_time_p95","status":"warning","score":0.5}]`),
		ComparedIDs: []int64{4, 2},
		SLIs: map[string]SLIValue{
			"response_time_p95": {Value: new(412.5), Success: true},
			"error_rate":        {Value: new(0.0), Success: true},
			"throughput":        {Success: false, Message: "no data points"},
			"saturation":        {Value: new(math.NaN()), Success: true}, // stored as no value
		},
	}
	update(t, s, func(tx *Tx) error { return tx.CreateEvaluation(t.Context(), &e) })

	want := e
	want.TimeStart = end.Add(-5 * time.Minute).Truncate(time.Millisecond)
	want.TimeEnd = end.Truncate(time.Millisecond)
	want.CreatedAt = c.Stored()
	want.SLIs = map[string]SLIValue{
		"response_time_p95": {Value: new(412.5), Success: true},
		"error_rate":        {Value: new(0.0), Success: true},
		"throughput":        {Success: false, Message: "no data points"},
		"saturation":        {Success: true},
	}
	got, err := s.GetEvaluation(t.Context(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetEvaluation:\n got %+v\nwant %+v", *got, want)
	}

	list, err := s.ListEvaluations(t.Context(), d.ID)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(*list[0], want) {
		t.Errorf("ListEvaluations = %+v, %v; want [%+v]", list, err, want)
	}
}

func TestEvaluationWithoutDeliveryOrSLIs(t *testing.T) {
	s, c := newStore(t)
	e := Evaluation{Project: "fulltour", Stage: "qa", Service: "helloservice", Result: ResultPass, Score: 100, TimeStart: c.Now(), TimeEnd: c.Now()}
	update(t, s, func(tx *Tx) error { return tx.CreateEvaluation(t.Context(), &e) })
	got, err := s.GetEvaluation(t.Context(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeliveryID != 0 || got.TaskRunID != 0 || got.SLIs != nil || got.ComparedIDs != nil || got.Objectives != nil {
		t.Errorf("GetEvaluation = %+v, want no delivery, task, SLIs, baseline or objectives", got)
	}
}

func TestInvalidateEvaluation(t *testing.T) {
	s, c := newStore(t)
	e := Evaluation{Project: "fulltour", Stage: "qa", Service: "helloservice", Result: ResultPass, Score: 100, TimeStart: c.Now(), TimeEnd: c.Now()}
	update(t, s, func(tx *Tx) error { return tx.CreateEvaluation(t.Context(), &e) })
	update(t, s, func(tx *Tx) error { return tx.InvalidateEvaluation(t.Context(), e.ID) })
	got, err := s.GetEvaluation(t.Context(), e.ID)
	if err != nil || !got.Invalidated {
		t.Errorf("GetEvaluation after InvalidateEvaluation = %+v, %v; want Invalidated", got, err)
	}
	err = s.Update(t.Context(), func(tx *Tx) error { return tx.InvalidateEvaluation(t.Context(), 404) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("InvalidateEvaluation(404) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetEvaluation(t.Context(), 404); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEvaluation(404) = %v, want ErrNotFound", err)
	}
}

func TestPreviousEvaluations(t *testing.T) {
	s, c := newStore(t)
	// Created one minute apart in this order; ids are 1 to 9. Each measures response_time_p95 = its id.
	seed := []struct {
		project, stage, service string
		result                  Result
		invalidated             bool
	}{
		{"fulltour", "qa", "helloservice", ResultPass, false},         // 1
		{"fulltour", "qa", "helloservice", ResultWarning, false},      // 2
		{"fulltour", "qa", "helloservice", ResultFail, false},         // 3
		{"fulltour", "qa", "helloservice", ResultPass, true},          // 4: invalidated
		{"fulltour", "production", "helloservice", ResultPass, false}, // 5: other stage
		{"fulltour", "qa", "carts", ResultPass, false},                // 6: other service
		{"sockshop", "qa", "helloservice", ResultPass, false},         // 7: other project
		{"fulltour", "qa", "helloservice", ResultPass, false},         // 8
		{"fulltour", "qa", "helloservice", ResultWarning, false},      // 9
	}
	var created []time.Time
	for i, sd := range seed {
		created = append(created, c.Advance(time.Minute))
		update(t, s, func(tx *Tx) error {
			e := &Evaluation{
				Project: sd.project, Stage: sd.stage, Service: sd.service, Result: sd.result, Score: 90,
				TimeStart: c.Now().Add(-time.Minute), TimeEnd: c.Now(),
				SLIs: map[string]SLIValue{"response_time_p95": {Value: new(float64(i + 1)), Success: true}},
			}
			if err := tx.CreateEvaluation(t.Context(), e); err != nil {
				return err
			}
			if sd.invalidated {
				return tx.InvalidateEvaluation(t.Context(), e.ID)
			}
			return nil
		})
	}

	scope := PreviousQuery{Project: "fulltour", Stage: "qa", Service: "helloservice"}
	with := func(f func(q *PreviousQuery)) PreviousQuery { q := scope; f(&q); return q }
	tests := []struct {
		name string
		q    PreviousQuery
		want []int64
	}{
		{"any result, newest first, same scope only", scope, []int64{9, 8, 3, 2, 1}},
		{"pass", with(func(q *PreviousQuery) { q.Results = []Result{ResultPass} }), []int64{8, 1}},
		{"pass or warning", with(func(q *PreviousQuery) { q.Results = []Result{ResultPass, ResultWarning} }), []int64{9, 8, 2, 1}},
		{"limit", with(func(q *PreviousQuery) { q.Limit = 3 }), []int64{9, 8, 3}},
		{"pass, limit 1", with(func(q *PreviousQuery) { q.Results = []Result{ResultPass}; q.Limit = 1 }), []int64{8}},
		{"exclude the one being compared", with(func(q *PreviousQuery) { q.ExcludeID = 9 }), []int64{8, 3, 2, 1}},
		{"before a time", with(func(q *PreviousQuery) { q.Before = created[7] }), []int64{3, 2, 1}},
		{"other stage", PreviousQuery{Project: "fulltour", Stage: "production", Service: "helloservice"}, []int64{5}},
		{"nothing earlier", PreviousQuery{Project: "fulltour", Stage: "qa", Service: "unknown"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := s.PreviousEvaluations(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range es {
				got = append(got, e.ID)
				// Each evaluation comes with its own SLI values, the baseline lighthouse compares against.
				if v := e.SLIs["response_time_p95"].Value; v == nil || *v != float64(e.ID) {
					t.Errorf("evaluation %d: response_time_p95 = %v, want %d", e.ID, v, e.ID)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PreviousEvaluations(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
