package store

import (
	"reflect"
	"testing"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name      string
		build     func(f *filter)
		wantWhere string
		wantArgs  []any
	}{
		{"nothing set", func(f *filter) {}, "", nil},
		{"terms joined with AND", func(f *filter) {
			f.where("project = ?", "fulltour")
			f.where("created_at < ?", int64(5))
		}, " WHERE project = ? AND created_at < ?", []any{"fulltour", int64(5)}},
		{"in list", func(f *filter) {
			in(f, "state", []SequenceState{StateTriggered, StateStarted})
		}, " WHERE state IN (?, ?)", []any{StateTriggered, StateStarted}},
		{"empty in list filters nothing", func(f *filter) {
			in(f, "state", []SequenceState{})
		}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f filter
			tt.build(&f)
			if got := f.String(); got != tt.wantWhere {
				t.Errorf("where = %q, want %q", got, tt.wantWhere)
			}
			if !reflect.DeepEqual(f.args, tt.wantArgs) {
				t.Errorf("args = %v, want %v", f.args, tt.wantArgs)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for n, want := range map[int]int{-3: -1, 0: -1, 1: 1, 50: 50} {
		if got := limit(n); got != want {
			t.Errorf("limit(%d) = %d, want %d", n, got, want)
		}
	}
}
