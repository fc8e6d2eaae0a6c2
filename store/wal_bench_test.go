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
