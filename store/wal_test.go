package store

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// walLimit is the bound issue 15 sets on the WAL under sustained load.
const walLimit = 64 << 20

// loadTriggers is the number of deliveries the load test drives: 50 triggers a second for a minute, four
// commits each. Under the race detector it drives a quarter of them, still 3,000 commits.
func loadTriggers() int {
	if raceEnabled {
		return 750
	}
	return 3000
}

// loadReaders is how many goroutines read throughout the load test.
const loadReaders = 2

// walFileSize is the size of the -wal file of the database at path, 0 when there is none.
func walFileSize(t testing.TB, path string) int64 {
	t.Helper()
	n, err := walFileBytes(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// triggerSteps are the transactions the engine commits for one delivery through a single-task stage: the
// trigger, the task's start, its finish, and the sequence's end. Each must run after the one before.
func triggerSteps(ctx context.Context, i int) []func(tx *Tx) error {
	data := json.RawMessage(fmt.Sprintf(`{"project":"fulltour","stage":"qa","service":"svc%d",`+
		`"image":"ghcr.io/podtato-head/podtatoserver:v0.1.%d","labels":{"buildId":"%d","owner":"release-managers"},`+
		`"deployment":{"deploymentNames":["helloservice-primary","helloservice-canary"],"deploymentURIsLocal":`+
		`["http://helloservice.fulltour-qa:80"],"deploymentstrategy":"blue_green_service"}}`, i%20, i, i))
	d := &Delivery{Project: "fulltour", Service: fmt.Sprintf("svc%d", i%20), Stage: "qa",
		Image: fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", i), Actor: "U024BE7LH", Source: "slack",
		Labels: map[string]string{"buildId": fmt.Sprint(i)}}
	r := &SequenceRun{Stage: "qa", Sequence: "delivery"}
	tr := &TaskRun{Name: "deployment", Executor: "helm"}
	audit := func(tx *Tx, action string) error {
		return tx.AppendAudit(ctx, &AuditEntry{Actor: "shipgate", Platform: "slack", Action: action,
			Target: fmt.Sprintf("delivery:%d", d.ID), Allowed: true})
	}
	event := func(tx *Tx, typ string) error {
		return tx.AppendEvent(ctx, &Event{DeliveryID: d.ID, KeptnContext: d.KeptnContext,
			TriggeredID: tr.TriggeredEventID, Type: typ, Source: "shipgate", Data: data})
	}
	return []func(tx *Tx) error{
		func(tx *Tx) error {
			if err := tx.CreateDelivery(ctx, d); err != nil {
				return err
			}
			r.DeliveryID = d.ID
			if err := tx.CreateSequenceRun(ctx, r); err != nil {
				return err
			}
			tr.SequenceRunID = r.ID
			if err := tx.CreateTaskRun(ctx, tr); err != nil {
				return err
			}
			if err := event(tx, "sh.keptn.event.qa.delivery.triggered"); err != nil {
				return err
			}
			return audit(tx, "delivery.trigger")
		},
		func(tx *Tx) error {
			if _, err := tx.UpdateSequenceRun(ctx, r.ID, SequenceRunUpdate{State: new(StateStarted)}); err != nil {
				return err
			}
			if _, err := tx.UpdateTaskRun(ctx, tr.ID, TaskRunUpdate{State: new(TaskStarted)}); err != nil {
				return err
			}
			return event(tx, "sh.keptn.event.deployment.started")
		},
		func(tx *Tx) error {
			if _, err := tx.UpdateTaskRun(ctx, tr.ID, TaskRunUpdate{State: new(TaskFinished),
				Result: new(ResultPass), Status: new(StatusSucceeded), Data: data}); err != nil {
				return err
			}
			if err := event(tx, "sh.keptn.event.deployment.finished"); err != nil {
				return err
			}
			return audit(tx, "task.finish")
		},
		func(tx *Tx) error {
			if _, err := tx.UpdateSequenceRun(ctx, r.ID, SequenceRunUpdate{State: new(StateFinished),
				Result: new(ResultPass), Status: new(StatusSucceeded)}); err != nil {
				return err
			}
			if _, err := tx.UpdateDelivery(ctx, d.ID, DeliveryUpdate{State: new(StateFinished),
				Result: new(ResultPass), WorstResult: new(ResultPass)}); err != nil {
				return err
			}
			return event(tx, "sh.keptn.event.qa.delivery.finished")
		},
	}
}

// readContinuously reads as the API, the bot and the engine do while deliveries run, until stop is
// closed: the newest delivery of a service, with its events and sequence runs.
func readContinuously(ctx context.Context, s *Store, stop <-chan struct{}) error {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		ds, err := s.ListDeliveries(ctx, DeliveryQuery{Project: "fulltour", Service: fmt.Sprintf("svc%d", i%20), Limit: 1})
		if err != nil {
			return err
		}
		if len(ds) > 0 {
			d := ds[0]
			if _, err := s.ListEvents(ctx, d.ID); err != nil {
				return err
			}
			if _, err := s.ListSequenceRuns(ctx, SequenceRunQuery{DeliveryID: d.ID}); err != nil {
				return err
			}
		}
		// Reading never waits on anything, so without this the readers would take most of the CPU from
		// the writer. They still have a read transaction open nearly all the time.
		runtime.Gosched()
	}
}

// useCheckpointer replaces the store's checkpointer with one configured by cfg.
func useCheckpointer(t testing.TB, s *Store, cfg checkpointConfig) {
	t.Helper()
	if err := s.checkpoints.close(); err != nil {
		t.Fatal(err)
	}
	c, err := newCheckpointer(t.Context(), s.checkpoints.path, s.writer, cfg, func(err error) { t.Errorf("checkpoint: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	s.checkpoints = c
}

// checkpointLog collects what the checkpointer did, through checkpointConfig.observe.
type checkpointLog struct {
	mu        sync.Mutex
	runs      map[string]int // by mode, "busy" added when it could not finish
	longest   time.Duration  // the longest pause of the writer
	truncated chan struct{}  // receives after each TRUNCATE that went through
}

func newCheckpointLog() *checkpointLog {
	return &checkpointLog{runs: map[string]int{}, truncated: make(chan struct{}, 1)}
}

func (l *checkpointLog) observe(run checkpointRun) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := run.mode
	if run.busy {
		key += " busy"
	}
	l.runs[key]++
	l.longest = max(l.longest, run.took)
	if run.mode == "TRUNCATE" && !run.busy && run.err == nil {
		select {
		case l.truncated <- struct{}{}:
		default:
		}
	}
}

// count is how many checkpoints ran with key, a mode with " busy" added for those that could not finish.
func (l *checkpointLog) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runs[key]
}

func (l *checkpointLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%v, longest pause of the writer %v", l.runs, l.longest.Round(time.Millisecond))
}

// The WAL must stay within walLimit while deliveries are written as fast as the writer takes them and
// readers read throughout, as they do in shipgate, and be truncated once the store is idle.
func TestWALStaysBoundedUnderSustainedLoad(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shipgate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ckpts := newCheckpointLog()
	cfg := defaultCheckpointConfig()
	cfg.idleAfter = 200 * time.Millisecond // TestIdleStoreTruncatesTheWAL tests the real delay
	cfg.observe = ckpts.observe
	useCheckpointer(t, s, cfg)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	readErrs := make(chan error, loadReaders)
	for range loadReaders {
		readers.Go(func() {
			if err := readContinuously(ctx, s, stop); err != nil {
				readErrs <- err
			}
		})
	}

	start := time.Now()
	var peak int64
	var commits, peakAt int
	var slowest time.Duration
	for i := range loadTriggers() {
		for _, step := range triggerSteps(ctx, i) {
			began := time.Now()
			if err := s.Update(ctx, step); err != nil {
				t.Fatalf("trigger %d: %v", i, err)
			}
			slowest = max(slowest, time.Since(began))
			commits++
			// The WAL only grows in a commit, so sampling after each one sees its peak.
			if size := walFileSize(t, path); size > peak {
				peak, peakAt = size, commits
			}
		}
	}
	loaded := time.Since(start)
	close(stop)
	readers.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Errorf("read: %v", err)
	}
	atStop := walFileSize(t, path)

	// A truncation signalled from now on started after the last commit, which it waited for.
	select {
	case <-ckpts.truncated:
	default:
	}
	if walFileSize(t, path) > s.checkpoints.idleBytes() {
		select {
		case <-ckpts.truncated:
		case <-time.After(10 * time.Second):
			t.Error("the WAL was not truncated within 10s of the store going idle")
		}
	}
	idle := walFileSize(t, path)
	t.Logf("%d triggers, %d commits in %v (%.0f triggers/s), slowest commit %v; WAL peak %.1f MB after commit %d, "+
		"%.1f MB when the load stopped, %d bytes once idle; checkpoints %v",
		loadTriggers(), commits, loaded.Round(time.Millisecond), float64(loadTriggers())/loaded.Seconds(),
		slowest.Round(time.Millisecond), float64(peak)/(1<<20), peakAt, float64(atStop)/(1<<20), idle, ckpts)
	if peak > walLimit {
		t.Errorf("WAL peaked at %d bytes, want at most %d", peak, walLimit)
	}
	if idle != s.checkpoints.idleBytes() {
		t.Errorf("WAL is %d bytes once idle, want it truncated and primed (%d bytes)", idle, s.checkpoints.idleBytes())
	}
}
