package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// BenchmarkAnswer times the answer to a signed request, from the handler being called to its answer
// being written: /deliver (the delivery recorded and triggered), an Approve click (the vote recorded
// and the approval decided), and, as the floor, a handler that only verifies the signature. It reports
// p50 and p99. Each request meets an idle server: what the previous one set off (the delivery's tasks,
// its messages to the Slack fake) is finished, with the timer stopped, before the next is sent.
func BenchmarkAnswer(b *testing.B) {
	b.Run("verify-only", func(b *testing.B) {
		f := newFixture(b)
		h := f.handler
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := h.verified(w, r, "bench"); ok {
				w.WriteHeader(http.StatusOK)
			}
		})
		form := f.fake.CommandForm(channel, dev, "helloservice ghcr.io/podtato-head/podtatoserver:v1", "T")
		measure(b, bare, func(int) *http.Request {
			return slackfake.SignedRequest(b, "http://shipgate.test/slack/commands", secret, time.Now(), form)
		}, nil)
	})
	b.Run("deliver", func(b *testing.B) {
		f := newFixture(b)
		events := f.events()
		measure(b, f.mux, func(i int) *http.Request {
			form := f.fake.CommandForm(channel, dev, fmt.Sprintf("helloservice ghcr.io/podtato-head/podtatoserver:v%d", i), f.trigger())
			return slackfake.SignedRequest(b, "http://shipgate.test/slack/commands", secret, time.Now(), form)
		}, func() {
			// Let the delivery reach its approval, approve it and let it finish.
			id := waitEvent(events, engine.EventApprovalWaiting).Approval.ID
			if _, err := f.eng.Decide(context.Background(), engine.Vote{ApprovalID: id, Actor: ops, Roles: []string{bot.RoleApprover}, Decision: store.DecisionApprove}); err != nil {
				b.Fatal(err)
			}
			waitEvent(events, engine.EventDeliveryFinished)
			f.quiet()
		})
	})
	b.Run("click", func(b *testing.B) {
		f := newFixture(b)
		events := f.events()
		measure(b, f.mux, func(i int) *http.Request {
			f.command(dev, fmt.Sprintf("helloservice ghcr.io/podtato-head/podtatoserver:c%d", i))
			id := waitEvent(events, engine.EventApprovalWaiting).Approval.ID
			f.quiet()
			payload := f.fake.BlockActionPayload(channel, ops, "1700000000.000001", "", bot.ActionApprove, "approval", fmt.Sprintf("approval-%d", id), f.trigger())
			return slackfake.SignedRequest(b, "http://shipgate.test/slack/interactions", secret, time.Now(), slackfake.InteractionForm(payload))
		}, func() {
			waitEvent(events, engine.EventDeliveryFinished)
			f.quiet()
		})
	})
}

// events subscribes to the engine.
func (f *fixture) events() chan engine.Event {
	ch := make(chan engine.Event, 1024)
	f.eng.Subscribe(func(ev engine.Event) { ch <- ev })
	return ch
}

func waitEvent(ch chan engine.Event, typ string) engine.Event {
	for ev := range ch {
		if ev.Type == typ {
			return ev
		}
	}
	panic("engine stopped")
}

// quiet waits until the bot has been sending nothing to Slack for longer than its edit interval.
func (f *fixture) quiet() {
	for {
		n := len(f.fake.Calls())
		time.Sleep(50 * time.Millisecond) // a benchmark's settling pause, never inside the timed part
		if len(f.fake.Calls()) == n {
			return
		}
	}
}

// measure serves one request per iteration, timing only the handler, and reports the percentiles.
// after runs after each request with the timer stopped.
func measure(b *testing.B, h http.Handler, next func(i int) *http.Request, after func()) {
	b.Helper()
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		req := next(i)
		rec := httptest.NewRecorder()
		b.StartTimer()
		start := time.Now()
		h.ServeHTTP(rec, req)
		times = append(times, time.Since(start))
		b.StopTimer()
		if rec.Code != http.StatusOK {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body)
		}
		if after != nil {
			after()
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
