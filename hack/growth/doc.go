// Package growth is the growth benchmark: what a user of `shipgate serve` sees at 1,000, 10,000 and
// 100,000 finished deliveries of history, figures that should stay flat as history grows.
//
// [Generate] writes a history of finished deliveries of the Keptn tutorial's shape (qa: deployment,
// test, evaluation; production: approval, deployment, release; rollbacks of failed builds) through the
// store's exported API only, at a constant number of deliveries a day, so that a larger history is a
// longer one, not a busier one: the last day and the last 30 days hold about the same deliveries at every
// size, and whatever grows with the size grows with history.
//
// BenchmarkGrowth (growth_bench_test.go) builds shipgate, starts `shipgate serve` on a copy of each
// generated database with no-op executors, and measures it over HTTP on loopback only: a burst of 1,000
// deliveries of one service, the delivery API's list and get, `/deliver history` through the web
// console, `shipgate audit export` of one day, `/metrics` (the first scrape computes the DORA
// figures), the write-ahead log's bytes per commit (read from the -wal file, see [WALCounter]) and the
// process's resident memory (see [ReadMemory]). Run it with `make bench-growth`; `make bench` runs it
// too. The generated databases are cached in .cache/growth for a day.
package growth
