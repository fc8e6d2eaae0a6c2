package dora

import (
	"math"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// t0 is the start of the test window of 30 days.
var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

var month = Window{From: t0, To: t0.AddDate(0, 0, 30)}

// at is a time on a day of the window ("15:04"); negative days are before it.
func at(day int, clock string) time.Time {
	c, err := time.Parse("15:04", clock)
	if err != nil {
		panic(err)
	}
	return t0.AddDate(0, 0, day).Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute)
}

const (
	pass = store.ResultPass
	fail = store.ResultFail
)

func task(name string, result store.Result, start, end time.Time) Task {
	return Task{Name: name, Result: result, StartedAt: start, FinishedAt: end}
}

// run is a sequence run triggered and started at start, ended at end (zero: still live).
func run(sequence string, state store.SequenceState, result store.Result, start, end time.Time, tasks ...Task) Run {
	return Run{Sequence: sequence, State: state, Result: result, TriggeredAt: start, StartedAt: start, FinishedAt: end, Tasks: tasks}
}

// deployment is a delivery sequence that deployed from start and finished with result at end.
func deployment(result store.Result, start, end time.Time) Run {
	return run("delivery", store.StateFinished, result, start, end, task("deployment", result, start, end))
}

// rollback is a rollback sequence from start to end that finished with result.
func rollback(result store.Result, start, end time.Time) Run {
	return run(RollbackSequence, store.StateFinished, result, start, end, task("rollback", result, start, end))
}

func delivery(id int64, service string, created time.Time, runs ...Run) Record {
	return Record{DeliveryID: id, Project: "shop", Service: service, CreatedAt: created, Runs: runs}
}

// history is a month of two services with one of each kind of event; its figures are worked out by hand
// in TestCompute.
func history() []Record {
	return []Record{
		// Before the window: not counted.
		delivery(1, "carts", at(-2, "10:00"), deployment(pass, at(-1, "09:00"), at(-1, "10:00"))),
		// Lead time 4h.
		delivery(2, "carts", at(0, "10:00"), run("delivery", store.StateFinished, pass, at(0, "12:00"), at(0, "14:00"),
			task("approval", pass, at(0, "12:00"), at(0, "13:00")), task("deployment", pass, at(0, "13:00"), at(0, "14:00")))),
		// Fails at 11:00; the shipyard's rollback restores it at 11:30.
		delivery(3, "carts", at(1, "09:00"), deployment(fail, at(1, "10:00"), at(1, "11:00")), rollback(pass, at(1, "11:00"), at(1, "11:30"))),
		// Lead time 2h; rolled back the next day by a delivery of its own, which restores it in 20m.
		delivery(4, "carts", at(2, "08:00"), deployment(pass, at(2, "09:00"), at(2, "10:00"))),
		delivery(5, "carts", at(3, "09:00"), rollback(pass, at(3, "09:00"), at(3, "09:20"))),
		// Refused at its approval: no change.
		delivery(6, "carts", at(5, "10:00"), run("delivery", store.StateFinished, fail, at(5, "10:00"), at(5, "12:00"),
			task("approval", fail, at(5, "10:00"), at(5, "12:00")))),
		// Its post-deploy evaluation fails at 15:00; delivery 8 restores it 12h later, with lead time 3h.
		delivery(7, "carts", at(6, "10:00"), run("delivery", store.StateFinished, fail, at(6, "13:00"), at(6, "15:05"),
			task("deployment", pass, at(6, "13:00"), at(6, "14:00")), task("evaluation", fail, at(6, "14:00"), at(6, "15:00")))),
		delivery(8, "carts", at(7, "00:00"), deployment(pass, at(7, "02:00"), at(7, "03:00"))),
		// Aborted: neither a deployment nor a failure.
		delivery(9, "carts", at(8, "10:00"), run("delivery", store.StateAborted, pass, at(8, "10:00"), at(8, "11:00"),
			task("deployment", pass, at(8, "10:00"), at(8, "11:00")))),
		// Times out at 01:00 and is still broken when the window ends.
		delivery(10, "carts", at(9, "00:00"), run("delivery", store.StateTimedOut, fail, at(9, "00:00"), at(9, "01:00"),
			task("deployment", fail, at(9, "00:00"), at(9, "01:00")))),
		// An evaluation-only sequence: no change.
		delivery(11, "carts", at(10, "00:00"), run("evaluation", store.StateFinished, pass, at(10, "00:00"), at(10, "00:05"),
			task("evaluation", pass, at(10, "00:00"), at(10, "00:05")))),
		// Still running when the window ends.
		delivery(12, "carts", at(28, "00:00"), run("delivery", store.StateStarted, "", at(28, "00:00"), time.Time{},
			task("deployment", "", at(28, "00:00"), time.Time{}))),
		// After the window: would have restored delivery 10.
		delivery(13, "carts", at(30, "00:00"), deployment(pass, at(30, "01:00"), at(30, "02:00"))),
		// Another service: lead times 1h and 6h. Delivery 5's rollback is not about delivery 14, although
		// 14 ended after 4 and before the rollback.
		delivery(14, "orders", at(3, "00:00"), deployment(pass, at(3, "00:30"), at(3, "01:00"))),
		delivery(15, "orders", at(20, "00:00"), deployment(pass, at(20, "05:00"), at(20, "06:00"))),
	}
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name    string
		records []Record
		window  Window
		want    Figures
	}{
		{
			// Changes 2,3,4,7,8,10 (carts) and 14,15 (orders). Deployments 2,4,8,14,15: lead times 1h 2h
			// 3h 4h 6h, p90 at rank 3.6: 4h + 0.6×2h. Failures 3 (failed), 4 (rolled back), 7 (evaluation)
			// and 10 (timed out, never restored). Restores 30m, 20m, 12h: p90 at rank 1.8: 30m + 0.8×11h30m.
			name: "a month of two services", records: history(), window: month,
			want: Figures{
				Deployments: 5, DeploymentsPerDay: 5.0 / 30,
				LeadTime: Quantiles{Median: 3 * time.Hour, P90: 5*time.Hour + 12*time.Minute},
				Changes:  8, Failures: 4, ChangeFailureRate: 0.5,
				Restored: 3, Unrestored: 1,
				TimeToRestore: Quantiles{Median: 30 * time.Minute, P90: 9*time.Hour + 42*time.Minute},
			},
		},
		{
			name: "no deliveries", window: month,
			want: Figures{Empty: true},
		},
		{
			name:    "only refused and aborted runs",
			records: []Record{history()[5], history()[8], history()[10], history()[11]},
			window:  month,
			want:    Figures{Empty: true},
		},
		{
			// The rollback is triggered after 21 and before 22: it undoes 21, even though 22 came later.
			name: "a rollback counts against the change before it",
			records: []Record{
				delivery(21, "carts", at(1, "00:00"), deployment(pass, at(1, "00:00"), at(1, "01:00"))),
				delivery(22, "carts", at(3, "00:00"), deployment(pass, at(3, "00:00"), at(3, "01:00"))),
				delivery(23, "carts", at(2, "00:00"), rollback(fail, at(2, "00:00"), at(2, "00:10"))),
			},
			window: month,
			// The rollback itself failed, so 22 is the restore: 2d1h after the rollback was triggered.
			want: Figures{Deployments: 2, DeploymentsPerDay: 2.0 / 30, LeadTime: Quantiles{Median: time.Hour, P90: time.Hour},
				Changes: 2, Failures: 1, ChangeFailureRate: 0.5, Restored: 1, TimeToRestore: Quantiles{Median: 25 * time.Hour, P90: 25 * time.Hour}},
		},
		{
			// 31 and 32 both fail before 33 fixes them: each is measured from its own failure (2d, 1d).
			name: "two failures before one fix",
			records: []Record{
				delivery(31, "carts", at(1, "00:00"), deployment(fail, at(1, "00:00"), at(1, "01:00"))),
				delivery(32, "carts", at(2, "00:00"), deployment(fail, at(2, "00:00"), at(2, "01:00"))),
				delivery(33, "carts", at(3, "00:00"), deployment(pass, at(3, "00:00"), at(3, "01:00"))),
			},
			window: month,
			want: Figures{Deployments: 1, DeploymentsPerDay: 1.0 / 30, LeadTime: Quantiles{Median: time.Hour, P90: time.Hour},
				Changes: 3, Failures: 2, ChangeFailureRate: 2.0 / 3, Restored: 2,
				TimeToRestore: Quantiles{Median: 36 * time.Hour, P90: 45*time.Hour + 36*time.Minute}},
		},
		{
			// The window is days 1 to 3: 41 ended before it, so its rollback on day 1 counts for nothing;
			// 42 is rolled back after the window ends, and 43's failure is restored only after it.
			name: "the window's edges",
			records: []Record{
				delivery(41, "carts", at(0, "00:00"), deployment(pass, at(0, "00:00"), at(0, "01:00"))),
				delivery(44, "carts", at(1, "00:00"), rollback(pass, at(1, "00:00"), at(1, "00:10"))),
				delivery(42, "carts", at(1, "10:00"), deployment(pass, at(1, "11:00"), at(1, "12:00")), rollback(pass, at(3, "00:00"), at(3, "00:10"))),
				delivery(43, "orders", at(2, "10:00"), deployment(fail, at(2, "11:00"), at(2, "12:00"))),
				delivery(45, "orders", at(3, "10:00"), deployment(pass, at(3, "11:00"), at(3, "12:00"))),
			},
			window: Window{From: at(1, "00:00"), To: at(3, "00:00")},
			want: Figures{Deployments: 1, DeploymentsPerDay: 0.5, LeadTime: Quantiles{Median: 2 * time.Hour, P90: 2 * time.Hour},
				Changes: 2, Failures: 1, ChangeFailureRate: 0.5, Unrestored: 1},
		},
		{
			// A rollback waiting in the queue has not run yet; one that started but was aborted has.
			name: "only rollbacks that started count",
			records: []Record{
				delivery(51, "carts", at(1, "00:00"), deployment(pass, at(1, "00:00"), at(1, "01:00")),
					Run{Sequence: RollbackSequence, State: store.StateTriggered, TriggeredAt: at(1, "02:00")}),
				delivery(52, "orders", at(1, "00:00"), deployment(pass, at(1, "00:00"), at(1, "01:00")),
					run(RollbackSequence, store.StateAborted, pass, at(1, "02:00"), at(1, "02:05"))),
			},
			window: month,
			want: Figures{Deployments: 2, DeploymentsPerDay: 2.0 / 30, LeadTime: Quantiles{Median: time.Hour, P90: time.Hour},
				Changes: 2, Failures: 1, ChangeFailureRate: 0.5, Unrestored: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.records, tt.window)
			want := tt.want
			want.Window = tt.window
			if !figuresEqual(got, want) {
				t.Errorf("Compute:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// figuresEqual compares figures, the ratios to within rounding.
func figuresEqual(a, b Figures) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	if !close(a.DeploymentsPerDay, b.DeploymentsPerDay) || !close(a.ChangeFailureRate, b.ChangeFailureRate) {
		return false
	}
	a.DeploymentsPerDay, b.DeploymentsPerDay, a.ChangeFailureRate, b.ChangeFailureRate = 0, 0, 0, 0
	return a == b
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0.5, 7},
		{[]time.Duration{7}, 0.9, 7},
		{[]time.Duration{1, 3}, 0.5, 2},
		{[]time.Duration{1, 2, 3}, 0.5, 2},
		{[]time.Duration{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.9, 91},
		{[]time.Duration{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.5, 55},
		{[]time.Duration{10, 20}, 1, 20},
		{[]time.Duration{10, 20}, 0, 10},
	}
	for _, tt := range tests {
		if got := quantile(tt.values, tt.p); got != tt.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
}

func TestWindow(t *testing.T) {
	w := Last(30*24*time.Hour, t0)
	if w.From != t0.AddDate(0, 0, -30) || w.To != t0 || w.Days() != 30 {
		t.Errorf("Last(30 days) = %+v, %v days", w, w.Days())
	}
	if got := Compute(nil, Window{From: t0, To: t0}); got.DeploymentsPerDay != 0 || !got.Empty {
		t.Errorf("an empty window gives %+v", got)
	}
}
