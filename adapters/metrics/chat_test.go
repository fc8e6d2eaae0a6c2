package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestChatCalls(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewChatCalls(reg)
	for _, call := range []struct{ platform, method, outcome string }{
		{"slack", "chat.postMessage", OutcomeOK},
		{"slack", "chat.postMessage", OutcomeOK},
		{"slack", "chat.update", OutcomeRateLimited},
		{"discord", "edit_message", OutcomeError},
		{"discord", "edit_message", "timeout"}, // not an outcome: counted as error
	} {
		c.Observe(call.platform, call.method, call.outcome)
	}
	equal(t, "chat API calls", series(families(t, reg), "shipgate_chat_api_calls_total"), []string{
		"method=chat.postMessage,outcome=ok,platform=slack 2",
		"method=chat.update,outcome=rate_limited,platform=slack 1",
		"method=edit_message,outcome=error,platform=discord 2",
	})

	var unset *ChatCalls
	unset.Observe("slack", "chat.postMessage", OutcomeOK) // counts nothing, and does not panic
}
