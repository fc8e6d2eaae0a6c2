package engine

import (
	"errors"
	"fmt"
)

// Error is an error meant for the person who asked: Kind is ErrInvalid, ErrNotFound or ErrRefused, and
// Reason says what is wrong in words safe to show them. Callers branch on Kind with errors.Is and show
// Reason; nobody strips a prefix off a message.
type Error struct {
	Kind   error
	Reason string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) (or the error's other kind) true.
func (e *Error) Unwrap() error { return e.Kind }

func invalidf(format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Reason: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Reason: fmt.Sprintf(format, args...)}
}

func refusedf(format string, args ...any) error {
	return &Error{Kind: ErrRefused, Reason: fmt.Sprintf(format, args...)}
}

// Reason returns the reason of the engine Error in err's chain, for the person who asked, and whether
// there is one; an error without one is shipgate's own failure, for the log.
func Reason(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, true
	}
	return "", false
}
