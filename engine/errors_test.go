package engine

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsCarryTheirReasonApartFromTheirKind(t *testing.T) {
	for _, tt := range []struct {
		err  error
		kind error
	}{
		{invalidf("project %s has no stage %q", "shop", "qa"), ErrInvalid},
		{notFoundf("approval %d", 7), ErrNotFound},
		{refusedf("delivery %d has nothing to abort", 3), ErrRefused},
	} {
		wrapped := fmt.Errorf("trigger delivery: %w", tt.err)
		if !errors.Is(wrapped, tt.kind) {
			t.Errorf("%v: not %v", wrapped, tt.kind)
		}
		reason, ok := Reason(wrapped)
		if !ok || reason != tt.err.(*Error).Reason || reason == tt.err.Error() {
			t.Errorf("Reason(%v) = %q, %v; want the reason alone", wrapped, reason, ok)
		}
	}
	if reason, ok := Reason(errors.New("disk I/O error")); ok {
		t.Errorf("Reason of shipgate's own failure = %q, want none", reason)
	}
}
