package metrics

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a chat platform API call.
const (
	OutcomeOK          = "ok"
	OutcomeRateLimited = "rate_limited" // the platform answered 429 or its equivalent
	OutcomeError       = "error"
)

// ChatCalls counts the calls chat adapters make to their platform's API (chat.postMessage,
// chat.update, a Discord webhook edit, …) as shipgate_chat_api_calls_total{platform,method,outcome}, so
// that rate limiting and failures show in one place whatever the platform. A nil *ChatCalls counts
// nothing, so an adapter can hold one that was never set.
type ChatCalls struct {
	calls *prometheus.CounterVec
}

// NewChatCalls creates the counter and registers it with reg (nil registers nothing).
func NewChatCalls(reg prometheus.Registerer) *ChatCalls {
	c := &ChatCalls{calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipgate_chat_api_calls_total",
		Help: "Calls to chat platform APIs, by platform, API method and outcome (ok, rate_limited, error)."},
		[]string{"platform", "method", "outcome"})}
	if reg != nil {
		reg.MustRegister(c.calls)
	}
	return c
}

// Observe counts one call. An outcome other than OutcomeOK, OutcomeRateLimited and OutcomeError counts
// as OutcomeError, which keeps the label to three values.
func (c *ChatCalls) Observe(platform, method, outcome string) {
	if c == nil {
		return
	}
	if outcome != OutcomeOK && outcome != OutcomeRateLimited {
		outcome = OutcomeError
	}
	c.calls.WithLabelValues(platform, method, outcome).Inc()
}
