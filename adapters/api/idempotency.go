package api

import "fmt"

// IdempotencyHeader names a trigger so that retrying it (after a timeout, a lost answer, a crash)
// returns the delivery the first attempt created instead of starting a second. ReplayedHeader marks such
// an answer. The key, scoped by caller, is the engine's: claimed in the transaction that creates the
// delivery (engine.TriggerOnce), which serialises concurrent repeats too, so the API keeps no record of
// its own.
const (
	IdempotencyHeader = "Idempotency-Key"
	ReplayedHeader    = "Idempotent-Replayed"
)

// maxKeyLength bounds an Idempotency-Key; a UUID or a CI run id with its attempt fits many times over.
const maxKeyLength = 255

// checkKey validates a client's Idempotency-Key, returning a message for the caller or "".
func checkKey(key string) string {
	if len(key) > maxKeyLength {
		return fmt.Sprintf("%s is longer than %d characters", IdempotencyHeader, maxKeyLength)
	}
	for _, r := range key {
		if r < 0x20 || r > 0x7e {
			return IdempotencyHeader + " must be printable ASCII"
		}
	}
	return ""
}
