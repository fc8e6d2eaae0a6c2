package metrics

import "github.com/prometheus/client_golang/prometheus"

// storeHealth is what the store tells of its writes: how many failed, how large its WAL is, and how much
// was written to it.
type storeHealth interface {
	WriteErrors() uint64
	WALBytes() (int64, error)
	WALWrittenSoFar() int64
}

// unrecordedCounter is what the engine tells of transitions it holds until the database takes them.
type unrecordedCounter interface {
	Unrecorded() int
}

// RegisterHealth registers what an operator alerts on when the database stops taking writes:
// shipgate_store_write_errors_total (writes that failed because of the database: a full disk, an I/O
// error, the write lock held elsewhere) and shipgate_engine_unrecorded_transitions (task results and
// fired timers held in memory meanwhile, retried until recorded), and shipgate_store_wal_bytes (the
// write-ahead log's size, which stays under 64 MB and drops to one page when idle unless a reader pins it). All
// are read at scrape time.
func RegisterHealth(reg prometheus.Registerer, st storeHealth, eng unrecordedCounter) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_store_wal_bytes",
			Help: "Size of the database's write-ahead log (the -wal file): bounded under load, one page once idle for a few seconds."},
			func() float64 {
				n, _ := st.WALBytes() // no file yet reads as 0
				return float64(n)
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shipgate_store_wal_written_bytes_total",
			Help: "Bytes written to the write-ahead log since the start, counted at each checkpoint (every 100 commits, and when idle): with the tasks run, the store's write amplification."},
			func() float64 { return float64(st.WALWrittenSoFar()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shipgate_store_write_errors_total",
			Help: "Write transactions that failed because the database did not take them: disk full, I/O error, or the write lock held by another process past the busy timeout."},
			func() float64 { return float64(st.WriteErrors()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_engine_unrecorded_transitions",
			Help: "Task results and fired timers the database refused, held in memory and retried until recorded."},
			func() float64 { return float64(eng.Unrecorded()) }),
	)
}
