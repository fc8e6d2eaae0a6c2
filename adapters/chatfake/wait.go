// Package chatfake holds what the chat platform fakes (slackfake, discordfake) share: waiting for the
// calls a test expects without sleeping.
package chatfake

import (
	"testing"
	"time"
)

// WaitFor blocks until cond, given every call so far, returns true, and returns those calls. snapshot
// returns the calls so far and a channel closed at the next change, read under the fake's lock; cond
// runs without it, so it may call the fake's other methods. If timeout passes first it fails the test
// with t.Fatalf, naming the fake and what was awaited and dumping the calls; like t.Fatalf it must then
// be called from the test's goroutine.
func WaitFor[C any](t testing.TB, timeout time.Duration, fake, what string, snapshot func() ([]C, <-chan struct{}),
	cond func([]C) bool, dump func([]C) string) []C {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		calls, changed := snapshot()
		if cond(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-timer.C:
			calls, _ = snapshot()
			if cond(calls) {
				return calls
			}
			t.Fatalf("%s: timed out after %v waiting for %s; %d calls so far:\n%s", fake, timeout, what, len(calls), dump(calls))
			return nil
		}
	}
}
