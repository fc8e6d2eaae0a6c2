package store

import "testing"

func TestSequenceStateTerminal(t *testing.T) {
	tests := map[SequenceState]bool{
		StateTriggered:          false,
		StateWaiting:            false,
		StateStarted:            false,
		StateWaitingForApproval: false,
		StatePaused:             false,
		StateFinished:           true,
		StateAborted:            true,
		StateTimedOut:           true,
	}
	for state, want := range tests {
		if got := state.Terminal(); got != want {
			t.Errorf("%s.Terminal() = %v, want %v", state, got, want)
		}
	}
}

func TestTaskStateTerminal(t *testing.T) {
	tests := map[TaskState]bool{
		TaskTriggered: false,
		TaskScheduled: false,
		TaskStarted:   false,
		TaskFinished:  true,
		TaskTimedOut:  true,
		TaskAborted:   true,
	}
	for state, want := range tests {
		if got := state.Terminal(); got != want {
			t.Errorf("%s.Terminal() = %v, want %v", state, got, want)
		}
	}
}
