package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

func TestTaskRunRoundTrip(t *testing.T) {
	s, c := newStore(t)
	d, r, _ := seedTask(t, s)
	after := time.Date(2025, 3, 14, 9, 36, 53, 589_999_999, time.UTC) // triggeredAfter: 10m
	tr := TaskRun{
		SequenceRunID:    r.ID,
		Position:         1,
		Name:             "test",
		Executor:         "exec",
		State:            TaskScheduled,
		Message:          "waiting 10m",
		Data:             json.RawMessage(`{"test":{"suite":"smoke"}}`),
		TriggeredEventID: "2b9c6f1e-3f3e-4b7e-9a53-0d5b71d5e0a7",
		ScheduledFor:     &after,
	}
	// What CreateTaskRun must fill in: the ID, the delivery from the sequence run, the first attempt, the
	// trigger time, and the schedule cut to the millisecond precision it is stored with.
	want := tr
	update(t, s, func(tx *Tx) error { return tx.CreateTaskRun(t.Context(), &tr) })
	wantAfter := time.Date(2025, 3, 14, 9, 36, 53, 589_000_000, time.UTC)
	want.ID, want.DeliveryID, want.Attempt = tr.ID, d.ID, 1
	want.ScheduledFor, want.TriggeredAt = &wantAfter, c.Stored()
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("after CreateTaskRun:\n got %+v\nwant %+v", tr, want)
	}
	got, err := s.GetTaskRun(t.Context(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetTaskRun:\n got %+v\nwant %+v", *got, want)
	}
}

func TestCreateTaskRunRefuses(t *testing.T) {
	s, _ := newStore(t)
	_, r, first := seedTask(t, s)
	tests := []struct {
		name    string
		tr      TaskRun
		wantErr error
	}{
		{"a missing sequence run", TaskRun{SequenceRunID: 99, Name: "deployment"}, ErrNotFound},
		{"a second task at the same position", TaskRun{SequenceRunID: r.ID, Position: first.Position, Name: "deployment"}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateTaskRun(t.Context(), &tt.tr) })
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("CreateTaskRun: got %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := s.GetTaskRun(t.Context(), 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetTaskRun(99) = %v, want ErrNotFound", err)
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	// Below the typed API, the schema itself refuses a task run whose sequence run does not exist.
	s, _ := newStore(t)
	d, _, _ := seedTask(t, s)
	err := s.Update(t.Context(), func(tx *Tx) error {
		_, err := tx.tx.ExecContext(t.Context(), `
			INSERT INTO task_runs (sequence_run_id, delivery_id, position, name, state, attempt, triggered_at)
			VALUES (999, ?, 0, 'deployment', 'triggered', 1, 0)`, d.ID)
		return err
	})
	if sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		t.Errorf("insert with a missing sequence run: got %v, want SQLITE_CONSTRAINT_FOREIGNKEY", err)
	}
}

func TestUpdateTaskRunLifecycle(t *testing.T) {
	s, c := newStore(t)
	_, _, tr := seedTask(t, s)

	// A deployment that starts, errors, is retried, and then succeeds. Each step applies to the task as
	// the step before left it.
	type times struct{ triggered, started, finished time.Time }
	steps := []struct {
		name  string
		u     TaskRunUpdate
		check func(t *testing.T, got *TaskRun, now time.Time, prev times) times
	}{
		{"started", TaskRunUpdate{State: new(TaskStarted), Executor: new("helm")}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.State != TaskStarted || got.Executor != "helm" || when(got.StartedAt) != now || got.FinishedAt != nil {
				t.Errorf("got %+v", got)
			}
			return times{prev.triggered, now, time.Time{}}
		}},
		{"errored", TaskRunUpdate{State: new(TaskFinished), Result: new(ResultFail), Status: new(StatusErrored), Message: new("timeout waiting for pods"), Data: json.RawMessage(`{"revision":3}`)}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.State != TaskFinished || got.Result != ResultFail || got.Status != StatusErrored ||
				got.Message != "timeout waiting for pods" || string(got.Data) != `{"revision":3}` ||
				when(got.StartedAt) != prev.started || when(got.FinishedAt) != now {
				t.Errorf("got %+v", got)
			}
			return times{prev.triggered, prev.started, now}
		}},
		{"retried", TaskRunUpdate{State: new(TaskTriggered), Attempt: new(2), TriggeredEventID: new("c0ffee00-0000-4000-8000-000000000002"), Result: new(ResultNone), Status: new(StatusNone)}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.State != TaskTriggered || got.Attempt != 2 || got.TriggeredEventID != "c0ffee00-0000-4000-8000-000000000002" ||
				got.Result != ResultNone || got.Status != StatusNone || got.TriggeredAt != now ||
				got.StartedAt != nil || got.FinishedAt != nil || got.ID != tr.ID {
				t.Errorf("got %+v", got)
			}
			if string(got.Data) != `{"revision":3}` {
				t.Errorf("Data = %s, want it kept: a nil Data changes nothing", got.Data)
			}
			return times{now, time.Time{}, time.Time{}}
		}},
		{"started again", TaskRunUpdate{State: new(TaskStarted)}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if when(got.StartedAt) != now || got.TriggeredAt != prev.triggered {
				t.Errorf("got %+v", got)
			}
			return times{prev.triggered, now, time.Time{}}
		}},
		{"a change that keeps the state keeps the start", TaskRunUpdate{Message: new("rolling out")}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.State != TaskStarted || when(got.StartedAt) != prev.started || got.Message != "rolling out" {
				t.Errorf("got %+v, want StartedAt %v", got, prev.started)
			}
			return prev
		}},
		{"passed", TaskRunUpdate{State: new(TaskFinished), Result: new(ResultPass), Status: new(StatusSucceeded)}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.Result != ResultPass || got.Status != StatusSucceeded || when(got.FinishedAt) != now || when(got.StartedAt) != prev.started {
				t.Errorf("got %+v", got)
			}
			return times{prev.triggered, prev.started, now}
		}},
		{"scheduled for later", TaskRunUpdate{State: new(TaskScheduled), ScheduledFor: new(time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC))}, func(t *testing.T, got *TaskRun, now time.Time, prev times) times {
			if got.State != TaskScheduled || when(got.ScheduledFor) != time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC) {
				t.Errorf("got %+v", got)
			}
			return times{now, time.Time{}, time.Time{}}
		}},
	}
	prev := times{triggered: tr.TriggeredAt}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			now := c.Advance(time.Minute)
			var got *TaskRun
			update(t, s, func(tx *Tx) (err error) {
				got, err = tx.UpdateTaskRun(t.Context(), tr.ID, st.u)
				return err
			})
			prev = st.check(t, got, now, prev)
			stored, err := s.GetTaskRun(t.Context(), tr.ID)
			if err != nil || !reflect.DeepEqual(stored, got) {
				t.Errorf("GetTaskRun = %+v, %v; want what UpdateTaskRun returned, %+v", stored, err, got)
			}
		})
	}
}

func TestUpdateTaskRunNotFound(t *testing.T) {
	s, _ := newStore(t)
	err := s.Update(t.Context(), func(tx *Tx) error {
		_, err := tx.UpdateTaskRun(t.Context(), 5, TaskRunUpdate{State: new(TaskStarted)})
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateTaskRun(5) = %v, want ErrNotFound", err)
	}
}

func TestListTaskRuns(t *testing.T) {
	s, _ := newStore(t)
	d1, r1, t1 := seedTask(t, s) // task 1: deployment, triggered
	_, r2, t2 := seedTask(t, s)  // task 2: deployment of another delivery
	var t3, t4 TaskRun
	update(t, s, func(tx *Tx) error {
		t3 = TaskRun{SequenceRunID: r1.ID, Position: 2, Name: "evaluation", State: TaskScheduled}
		if err := tx.CreateTaskRun(t.Context(), &t3); err != nil {
			return err
		}
		t4 = TaskRun{SequenceRunID: r1.ID, Position: 1, Name: "test", State: TaskFinished}
		if err := tx.CreateTaskRun(t.Context(), &t4); err != nil {
			return err
		}
		_, err := tx.UpdateTaskRun(t.Context(), t2.ID, TaskRunUpdate{State: new(TaskStarted)})
		return err
	})

	tests := []struct {
		name string
		q    TaskRunQuery
		want []int64
	}{
		{"of a sequence run, by position", TaskRunQuery{SequenceRunID: r1.ID}, []int64{t1.ID, t4.ID, t3.ID}},
		{"of a delivery", TaskRunQuery{DeliveryID: d1.ID}, []int64{t1.ID, t4.ID, t3.ID}},
		{"open ones, for recovery", TaskRunQuery{States: []TaskState{TaskTriggered, TaskScheduled, TaskStarted}}, []int64{t1.ID, t3.ID, t2.ID}},
		{"started in one sequence run", TaskRunQuery{SequenceRunID: r2.ID, States: []TaskState{TaskStarted}}, []int64{t2.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := s.ListTaskRuns(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(ts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListTaskRuns(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// A started attempt records its process group; the group goes when the attempt ends or is retried, and a
// late report for an attempt that is over records nothing.
func TestTaskProcessGroup(t *testing.T) {
	s, _ := newStore(t)
	_, _, tr := seedTask(t, s)
	set := func(t *testing.T, attempt, pgid int) bool {
		t.Helper()
		var ok bool
		update(t, s, func(tx *Tx) error {
			var err error
			ok, err = tx.SetTaskProcessGroup(t.Context(), tr.ID, attempt, pgid)
			return err
		})
		return ok
	}
	change := func(t *testing.T, u TaskRunUpdate) {
		t.Helper()
		update(t, s, func(tx *Tx) error { _, err := tx.UpdateTaskRun(t.Context(), tr.ID, u); return err })
	}
	group := func(t *testing.T) int {
		t.Helper()
		got, err := s.GetTaskRun(t.Context(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		listed, err := s.ListTaskRuns(t.Context(), TaskRunQuery{SequenceRunID: tr.SequenceRunID})
		if err != nil || len(listed) != 1 || listed[0].ProcessGroup != got.ProcessGroup {
			t.Fatalf("ListTaskRuns = %v, %v; want the group GetTaskRun reads, %d", listed, err, got.ProcessGroup)
		}
		return got.ProcessGroup
	}

	steps := []struct {
		name   string
		do     func(t *testing.T) bool // whether a group was recorded
		record bool
		wantPG int
	}{
		{"before the task started", func(t *testing.T) bool { return set(t, 1, 4242) }, false, 0},
		{"once started", func(t *testing.T) bool { change(t, TaskRunUpdate{State: new(TaskStarted)}); return set(t, 1, 4242) }, true, 4242},
		{"for another attempt", func(t *testing.T) bool { return set(t, 2, 5151) }, false, 4242},
		{"an update that does not end the task", func(t *testing.T) bool { change(t, TaskRunUpdate{Message: new("still going")}); return false }, false, 4242},
		{"retried after a restart", func(t *testing.T) bool {
			change(t, TaskRunUpdate{State: new(TaskTriggered), Attempt: new(2)})
			return false
		}, false, 0},
		{"the second attempt started", func(t *testing.T) bool { change(t, TaskRunUpdate{State: new(TaskStarted)}); return set(t, 2, 5151) }, true, 5151},
		{"finished", func(t *testing.T) bool {
			change(t, TaskRunUpdate{State: new(TaskFinished), Result: new(ResultPass)})
			return false
		}, false, 0},
		{"a late report of the finished attempt", func(t *testing.T) bool { return set(t, 2, 5151) }, false, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := st.do(t); got != st.record {
				t.Errorf("recorded = %v, want %v", got, st.record)
			}
			if got := group(t); got != st.wantPG {
				t.Errorf("ProcessGroup = %d, want %d", got, st.wantPG)
			}
		})
	}
}

func TestSetTaskProcessGroupRefuses(t *testing.T) {
	s, _ := newStore(t)
	_, _, tr := seedTask(t, s)
	tests := []struct {
		name    string
		id      int64
		pgid    int
		wantErr error // nil: any error
	}{
		{"a missing task run", 99, 4242, ErrNotFound},
		{"no process group", tr.ID, 0, nil},
		{"a negative process group", tr.ID, -4242, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx *Tx) error {
				_, err := tx.SetTaskProcessGroup(t.Context(), tt.id, 1, tt.pgid)
				return err
			})
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("SetTaskProcessGroup = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
