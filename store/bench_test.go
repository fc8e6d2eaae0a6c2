package store

import (
	"encoding/json"
	"path/filepath"
	"testing"
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
