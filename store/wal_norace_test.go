//go:build !race

package store

// raceEnabled reports whether the race detector is on; it makes the store about ten times slower, and
// the load test sizes its load to stay quick.
const raceEnabled = false
