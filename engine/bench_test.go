package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store"
)

// benchEngine starts an engine on a real SQLite file for a project with the given shipyard and services,
// every task mapped to exec, outside any synctest bubble: benchmarks measure real time.
func benchEngine(b testing.TB, shipyard string, tasks []string, services []string, exec Executor) (*Engine, *store.Store) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "shop")
	var ex strings.Builder
	ex.WriteString("tasks:\n")
	for _, t := range tasks {
		fmt.Fprintf(&ex, "  %s: {type: bench}\n", t)
	}
	files := map[string]string{"shipyard.yaml": shipyard, "executors.yaml": ex.String()}
	for _, s := range services {
		files[s+"/README.md"] = s
	}
	p := configtest.WriteProject(b, dir, files)
	st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "shipgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Store: st, Projects: []*config.Project{p}, Executors: map[string]Executor{"bench": exec}, KeepWaitingApprovals: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		e.Close()
		st.Close()
	})
	return e, st
}

// finished returns a channel that receives the id of every delivery that ends.
func finished(e *Engine) <-chan int64 {
	ch := make(chan int64, 1024)
	e.Subscribe(func(ev Event) {
		if ev.Type == EventDeliveryFinished {
			ch <- ev.DeliveryID
		}
	})
	return ch
}

const tenTasks = 10

// tenTaskEngine is benchEngine for a shipyard of one sequence of tenTasks no-op tasks.
func tenTaskEngine(tb testing.TB) (*Engine, *store.Store) {
	var sb strings.Builder
	sb.WriteString("apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nspec:\n  stages:\n    - name: qa\n      sequences:\n        - name: delivery\n          tasks:\n")
	var tasks []string
	for i := range tenTasks {
		tasks = append(tasks, fmt.Sprintf("step%d", i))
		fmt.Fprintf(&sb, "            - name: step%d\n", i)
	}
	return benchEngine(tb, sb.String(), tasks, []string{"carts"}, Noop{})
}

// BenchmarkEngineTaskTransitions runs deliveries of one sequence of ten no-op tasks, one after another,
// and reports tasks completed per second. A task takes one transaction, which records its finish and
// the next task's trigger and start (three transitions and three Keptn events); raw-commits/s is the
// store's single-row commit rate measured in the same run, on the same kind of file, for comparison.
func BenchmarkEngineTaskTransitions(b *testing.B) {
	e, st := tenTaskEngine(b)
	done := finished(e)
	raw := rawCommitRate(b, st)
	written0 := walWritten(b, st)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Trigger(b.Context(), Request{Project: "shop", Service: "carts", Image: image}); err != nil {
			b.Fatal(err)
		}
		<-done
	}
	b.StopTimer()
	tasksPerSec := float64(b.N*tenTasks) / b.Elapsed().Seconds()
	b.ReportMetric(tasksPerSec, "tasks/s")
	b.ReportMetric(3*tasksPerSec, "transitions/s")
	b.ReportMetric(raw, "raw-commits/s")
	b.ReportMetric(float64(walWritten(b, st)-written0)/float64(b.N*tenTasks), "WAL-B/task")
}

// rawCommitRate measures single-row commits per second on st, as store's BenchmarkSingleRowCommit does.
func rawCommitRate(b *testing.B, st *store.Store) float64 {
	const n = 2000
	start := time.Now()
	for range n {
		err := st.Update(b.Context(), func(tx *store.Tx) error {
			return tx.AppendAudit(b.Context(), &store.AuditEntry{Actor: "bench", Action: "bench.commit", Allowed: true})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return n / time.Since(start).Seconds()
}

// signalExec reports the time each call arrives.
type signalExec struct{ calls chan time.Time }

func (s signalExec) Execute(context.Context, Task) (Result, error) {
	s.calls <- time.Now()
	return Result{Result: store.ResultPass}, nil
}

// BenchmarkApprovalVoteToExecutor measures the latency from an approval vote to the next task's executor
// being called, reporting the median and 99th percentile.
func BenchmarkApprovalVoteToExecutor(b *testing.B) {
	shipyard := `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: production
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties: {pass: manual}
            - name: deployment
`
	exec := signalExec{calls: make(chan time.Time, 1)}
	e, _ := benchEngine(b, shipyard, []string{"deployment"}, []string{"carts"}, exec)
	waiting := make(chan int64, 1)
	e.Subscribe(func(ev Event) {
		if ev.Approval != nil && ev.Type == EventApprovalWaiting {
			waiting <- ev.Approval.ID
		}
	})
	done := finished(e)
	var lat []time.Duration
	for b.Loop() {
		if _, err := e.Trigger(b.Context(), Request{Project: "shop", Service: "carts", Image: image, Actor: "U-dev"}); err != nil {
			b.Fatal(err)
		}
		id := <-waiting
		start := time.Now()
		out, err := e.Decide(b.Context(), Vote{ApprovalID: id, Actor: "U-ann", Roles: []string{DefaultApproverRole}, Decision: store.DecisionApprove})
		if err != nil || !out.Counted {
			b.Fatalf("vote: %v %s", err, out.Reason())
		}
		lat = append(lat, (<-exec.calls).Sub(start))
		<-done
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkWaitingApprovalsMemory holds 1,000 deliveries (of 1,000 services) waiting for approval and
// reports the heap in use, after a garbage collection, with all of them waiting.
func BenchmarkWaitingApprovalsMemory(b *testing.B) {
	const n = 1000
	shipyard := `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: production
      sequences:
        - name: delivery
          tasks:
            - name: approval
              properties: {pass: manual, timeout: 24h}
            - name: deployment
`
	services := make([]string, n)
	for i := range services {
		services[i] = fmt.Sprintf("svc%04d", i)
	}
	var heap uint64
	for b.Loop() {
		e, st := benchEngine(b, shipyard, []string{"deployment"}, services, Noop{})
		var wg sync.WaitGroup
		wg.Add(n)
		unsubscribe := e.Subscribe(func(ev Event) {
			if ev.Type == EventApprovalWaiting {
				wg.Done()
			}
		})
		for _, s := range services {
			if _, err := e.Trigger(b.Context(), Request{Project: "shop", Service: s, Image: image}); err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
		unsubscribe()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		waitingCount, err := st.ListApprovals(b.Context(), store.ApprovalQuery{State: store.ApprovalPending})
		if err != nil || len(waitingCount) != n {
			b.Fatalf("%d approvals pending, %v", len(waitingCount), err)
		}
		e.Close()
		st.Close()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
}

// walWritten is how many bytes st has written to its WAL so far.
func walWritten(b *testing.B, st *store.Store) int64 {
	n, err := st.WALWritten(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkQueueBurst triggers deliveries of one service, which run one at a time, either all at once (a
// CI backlog after an outage: thousands queued) or in waves of 100, and reports deliveries finished per
// second. Starting the next queued sequence must cost the same however many wait, so the two rates should
// match.
func BenchmarkQueueBurst(b *testing.B) {
	const deliveries = 10000
	shipyard := "apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nspec:\n  stages:\n    - name: qa\n      sequences:\n        - name: delivery\n          tasks:\n            - name: deployment\n            - name: test\n"
	for _, wave := range []int{deliveries, 100} {
		name := fmt.Sprintf("burst-%d", deliveries)
		if wave < deliveries {
			name = fmt.Sprintf("waves-of-%d", wave)
		}
		b.Run(name, func(b *testing.B) {
			e, _ := benchEngine(b, shipyard, []string{"deployment", "test"}, []string{"carts"}, Noop{})
			done := finished(e)
			for b.Loop() {
				for sent := 0; sent < deliveries; sent += wave {
					for range wave {
						if _, err := e.Trigger(b.Context(), Request{Project: "shop", Service: "carts", Image: image}); err != nil {
							b.Fatal(err)
						}
					}
					for range wave {
						<-done
					}
				}
			}
			b.ReportMetric(float64(b.N*deliveries)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
