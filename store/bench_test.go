package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// openBench opens a store in a fresh directory on the real clock, as shipgate runs.
func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "shipgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSingleRowCommit measures the cost of the smallest write: one transaction, one audit row.
func BenchmarkSingleRowCommit(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(ctx, func(tx *Tx) error {
			return tx.AppendAudit(ctx, &AuditEntry{Actor: "U024BE7LH", Platform: "slack", Action: "delivery.status", Target: "delivery:1", Allowed: true})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkStateTransition measures what the engine does when an executor reports: finish the task run,
// record the .finished event and audit it, in one transaction.
func BenchmarkStateTransition(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	d, _, tr := seedTask(b, s)
	data := json.RawMessage(`{"project":"fulltour","stage":"qa","service":"helloservice","result":"pass","status":"succeeded","deployment":{"deploymentNames":["helloservice"]}}`)
	b.ReportAllocs()
	for b.Loop() {
		// Only a started task may finish: put it back, outside the measurement.
		b.StopTimer()
		if _, err := s.writer.ExecContext(ctx, `UPDATE task_runs SET state = ? WHERE id = ?`, TaskStarted, tr.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err := s.Update(ctx, func(tx *Tx) error {
			if _, err := tx.UpdateTaskRun(ctx, tr.ID, TaskRunUpdate{
				State: new(TaskFinished), Result: new(ResultPass), Status: new(StatusSucceeded), Data: data,
			}); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, &Event{
				DeliveryID: d.ID, KeptnContext: d.KeptnContext, TriggeredID: tr.TriggeredEventID,
				Type: "sh.keptn.event.deployment.finished", Source: "helm-service", Data: data,
			}); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, &AuditEntry{Actor: "shipgate", Action: "task.finish", Target: "delivery:1", Allowed: true})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// seedBenchDeliveries records n deliveries in three projects, a thousand per transaction, a millisecond
// apart.
func seedBenchDeliveries(b *testing.B, s *Store, c *clock, n int) {
	b.Helper()
	ctx := b.Context()
	for done := 0; done < n; {
		err := s.Update(ctx, func(tx *Tx) error {
			for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
				d := &Delivery{Project: []string{"fulltour", "shop", "billing"}[done%3], Service: "helloservice", Stage: "qa", State: StateFinished,
					Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1", Labels: map[string]string{"version": "v0.1.1"}}
				if err := tx.CreateDelivery(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		c.Advance(time.Millisecond)
	}
}

// BenchmarkListDeliveries reads the newest page of 20 deliveries, the API's first page, after 500, 5,000
// and 20,000 deliveries: with the read indexes its cost should not change with the history. The
// "unindexed" runs drop migration 0003's deliveries indexes first, as the store was before it.
func BenchmarkListDeliveries(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		for _, n := range []int{500, 5000, 20000} {
			name := fmt.Sprintf("history=%d", n)
			if !indexed {
				name = "unindexed/" + name
			}
			b.Run(name, func(b *testing.B) {
				c := newClock()
				s, err := Open(b.Context(), filepath.Join(b.TempDir(), "shipgate.db"), WithClock(c.Now))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				seedBenchDeliveries(b, s, c, n)
				if !indexed {
					for _, idx := range []string{"deliveries_by_time", "deliveries_by_project", "deliveries_by_state"} {
						if _, err := s.writer.ExecContext(b.Context(), "DROP INDEX "+idx); err != nil {
							b.Fatal(err)
						}
					}
				}
				for _, q := range []struct {
					name string
					dq   DeliveryQuery
				}{
					{"every-project", DeliveryQuery{Limit: 21}},
					{"one-project", DeliveryQuery{Project: "shop", Limit: 21}},
				} {
					b.Run(q.name, func(b *testing.B) {
						b.ReportAllocs()
						for b.Loop() {
							ds, err := s.ListDeliveries(b.Context(), q.dq)
							if err != nil || len(ds) != 21 {
								b.Fatalf("%d deliveries, %v", len(ds), err)
							}
						}
					})
				}
			})
		}
	}
}

// BenchmarkNextQueued asks for the next run of a queue that is held (a run is started) while 10 or 10,000
// wait behind it, as each engine step does during a burst: the cost must not grow with the queue.
func BenchmarkNextQueued(b *testing.B) {
	for _, waiting := range []int{10, 10000} {
		b.Run(fmt.Sprintf("waiting=%d", waiting), func(b *testing.B) {
			s, _ := newStore(b)
			scope := QueueScope{Project: "fulltour", Stage: "qa", Service: "helloservice"}
			update(b, s, func(tx *Tx) error {
				for i := range waiting + 1 {
					d := &Delivery{Project: scope.Project, Service: scope.Service, Stage: scope.Stage}
					if err := tx.CreateDelivery(b.Context(), d); err != nil {
						return err
					}
					state := StateTriggered
					if i == 0 {
						state = StateStarted
					}
					if err := tx.CreateSequenceRun(b.Context(), &SequenceRun{DeliveryID: d.ID, Stage: scope.Stage, Sequence: "delivery", State: state}); err != nil {
						return err
					}
				}
				return nil
			})
			for b.Loop() {
				r, err := s.NextQueued(b.Context(), scope)
				if err != nil || r != nil {
					b.Fatalf("NextQueued = %v, %v; want none, the queue is held", r, err)
				}
			}
		})
	}
}

// BenchmarkTaskTransactionFloor measures, side by side with single-row commits, the least any engine design
// could write for one task transaction and stay durable: the task's finish (one UPDATE), its three Keptn
// events in one multi-row INSERT, and the next task inserted already started, with no read at all: what an
// engine holding every live delivery in memory would still have to do. Its ratio to raw commits is the
// ceiling of BenchmarkEngineTaskTransitions' ratio on this driver and disk. Iterations alternate between the
// two kinds, so that both see the same machine.
func BenchmarkTaskTransactionFloor(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	d, r, tr := seedTask(b, s)
	data := `{"project":"fulltour","stage":"qa","service":"helloservice","result":"pass","status":"succeeded","deployment":{"deploymentNames":["helloservice"]}}`
	var rawTime, floorTime time.Duration
	var pos int
	for b.Loop() {
		start := time.Now()
		err := s.Update(ctx, func(tx *Tx) error {
			return tx.AppendAudit(ctx, &AuditEntry{Actor: "bench", Action: "bench.commit", Allowed: true})
		})
		if err != nil {
			b.Fatal(err)
		}
		rawTime += time.Since(start)

		start = time.Now()
		pos++
		err = s.Update(ctx, func(tx *Tx) error {
			now := millis(tx.now)
			if _, err := tx.q.ExecContext(ctx, `UPDATE task_runs SET state = ?, result = ?, status = ?, data = ?, finished_at = ? WHERE id = ?`,
				TaskFinished, ResultPass, StatusSucceeded, data, now, tr.ID); err != nil {
				return err
			}
			if _, err := tx.q.ExecContext(ctx, `
				INSERT INTO events (id, delivery_id, keptn_context, triggered_id, type, source, time, data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?)`,
				newUUID(), d.ID, d.KeptnContext, tr.TriggeredEventID, "sh.keptn.event.deployment.finished", "shipgate", now, data,
				newUUID(), d.ID, d.KeptnContext, "", "sh.keptn.event.test.triggered", "shipgate", now, data,
				newUUID(), d.ID, d.KeptnContext, tr.TriggeredEventID, "sh.keptn.event.test.started", "shipgate", now, data); err != nil {
				return err
			}
			_, err := tx.q.ExecContext(ctx, `
				INSERT INTO task_runs (sequence_run_id, delivery_id, position, name, executor, state, data, triggered_event_id, attempt, triggered_at, started_at)
				VALUES (?, ?, ?, 'test', 'exec', ?, '{}', ?, 1, ?, ?)`,
				r.ID, d.ID, pos, TaskStarted, newUUID(), now, now)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		floorTime += time.Since(start)
	}
	raw := float64(b.N) / rawTime.Seconds()
	floor := float64(b.N) / floorTime.Seconds()
	b.ReportMetric(raw, "raw-commits/s")
	b.ReportMetric(floor, "floor-tasks/s")
	b.ReportMetric(floor/raw, "ratio")
}
