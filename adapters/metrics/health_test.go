package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeHealth struct {
	writeErrors uint64
	walBytes    int64
	walWritten  int64
	unrecorded  int
}

func (f *fakeHealth) WriteErrors() uint64      { return f.writeErrors }
func (f *fakeHealth) WALBytes() (int64, error) { return f.walBytes, nil }
func (f *fakeHealth) Unrecorded() int          { return f.unrecorded }
func (f *fakeHealth) WALWrittenSoFar() int64   { return f.walWritten }

func TestHealthMetricsAreReadAtScrapeTime(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h := &fakeHealth{}
	RegisterHealth(reg, h, h)
	h.writeErrors, h.walBytes, h.walWritten, h.unrecorded = 3, 4096, 1<<20, 20
	want := `# HELP shipgate_engine_unrecorded_transitions Task results and fired timers the database refused, held in memory and retried until recorded.
# TYPE shipgate_engine_unrecorded_transitions gauge
shipgate_engine_unrecorded_transitions 20
# HELP shipgate_store_wal_bytes Size of the database's write-ahead log (the -wal file): bounded under load, one page once idle for a few seconds.
# TYPE shipgate_store_wal_bytes gauge
shipgate_store_wal_bytes 4096
# HELP shipgate_store_wal_written_bytes_total Bytes written to the write-ahead log since the start, counted at each checkpoint (every 100 commits, and when idle): with the tasks run, the store's write amplification.
# TYPE shipgate_store_wal_written_bytes_total counter
shipgate_store_wal_written_bytes_total 1.048576e+06
# HELP shipgate_store_write_errors_total Write transactions that failed because the database did not take them: disk full, I/O error, or the write lock held by another process past the busy timeout.
# TYPE shipgate_store_write_errors_total counter
shipgate_store_write_errors_total 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
