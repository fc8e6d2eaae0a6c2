package store

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkSustainedTriggers drives deliveries through the store as fast as it takes them, with readers
// throughout, as TestWALStaysBoundedUnderSustainedLoad does, and reports the commit latency the
// checkpointer's pauses add to and the largest the WAL grew.
func BenchmarkSustainedTriggers(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range loadReaders {
		readers.Go(func() {
			if err := readContinuously(ctx, s, stop); err != nil {
				b.Error(err)
			}
		})
	}
	var latencies []time.Duration
	var peak int64
	i := 0
	for b.Loop() {
		for _, step := range triggerSteps(ctx, i) {
			began := time.Now()
			if err := s.Update(ctx, step); err != nil {
				b.Fatal(err)
			}
			latencies = append(latencies, time.Since(began))
			n, err := s.WALBytes()
			if err != nil {
				b.Fatal(err)
			}
			peak = max(peak, n)
		}
		i++
	}
	close(stop)
	readers.Wait()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "triggers/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-commit-µs")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds()), "max-commit-µs")
	b.ReportMetric(float64(peak)/(1<<20), "peak-WAL-MB")
}

// BenchmarkCommitAfterIdle times the commit that comes after the store went idle and its WAL was
// truncated, as a click after a quiet spell does, beside a commit after the same pause without a
// truncation. SQLite writes and syncs the header of a WAL that starts over in the next commit; the
// checkpointer makes that commit itself, so both should cost the same.
func BenchmarkCommitAfterIdle(b *testing.B) {
	const pause = 30 * time.Millisecond
	for _, truncated := range []bool{true, false} {
		name := "after-truncate"
		if !truncated {
			name = "after-pause"
		}
		b.Run(name, func(b *testing.B) {
			s := openBench(b)
			ckpts := newCheckpointLog()
			cfg := defaultCheckpointConfig()
			cfg.idleAfter = pause
			if !truncated {
				cfg.idleAfter = time.Hour
			}
			cfg.observe = ckpts.observe
			useCheckpointer(b, s, cfg)
			var latencies []time.Duration
			for b.Loop() {
				b.StopTimer()
				audit(b, s, 100)
				if truncated {
					<-ckpts.truncated
				} else {
					time.Sleep(pause) // a benchmark's pause, outside the timed part
				}
				b.StartTimer()
				began := time.Now()
				audit(b, s, 100)
				latencies = append(latencies, time.Since(began))
			}
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
		})
	}
}
