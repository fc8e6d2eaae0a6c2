package job

import (
	"testing"

	"github.com/shipgate/shipgate/store"
)

func TestEngineResult(t *testing.T) {
	for _, tc := range []struct {
		name    string
		res     Result
		result  store.Result
		status  store.Status
		message string
	}{
		{"succeeded", Result{Job: "j", Outcome: Succeeded, ExitCode: new(int32(0))}, store.ResultPass, store.StatusSucceeded, "job j succeeded"},
		{"failed before its container ran", Result{Job: "j", Outcome: Failed, Reason: "DeadlineExceeded"}, store.ResultFail, store.StatusSucceeded, "job j failed (DeadlineExceeded)"},
		{"failed", Result{Job: "j", Outcome: Failed, ExitCode: new(int32(137)), Logs: "a\nkilled\n"}, store.ResultFail, store.StatusSucceeded, "job j failed with exit code 137; last lines:\na\nkilled"},
		{"timed out", Result{Job: "j", Outcome: TimedOut, Message: "job did not finish within maxPollDuration 5m0s; deleted"}, store.ResultFail, store.StatusErrored, "job j: job did not finish within maxPollDuration 5m0s; deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.res.Engine()
			if got.Result != tc.result || got.Status != tc.status || got.Message != tc.message {
				t.Errorf("Engine() = %s/%s %q, want %s/%s %q", got.Result, got.Status, got.Message, tc.result, tc.status, tc.message)
			}
			_, hasCode := got.Data["job"].(map[string]any)["exitCode"]
			if hasCode != (tc.res.ExitCode != nil) {
				t.Errorf("data exitCode present %v, want %v", hasCode, tc.res.ExitCode != nil)
			}
		})
	}
}
