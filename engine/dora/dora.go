package dora

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/shipgate/shipgate/store"
)

// RollbackSequence is the name of the sequences that roll a stage back, as in Keptn's shipyards.
const RollbackSequence = "rollback"

// Tasks that never change what runs in the stage, so a run that started only these is not a change.
var nonChanging = []string{"approval", "evaluation"}

// Window is the time range figures are computed over: from From, up to but not including To.
type Window struct {
	From, To time.Time
}

// Last is the window of length d that ends at now.
func Last(d time.Duration, now time.Time) Window {
	return Window{From: now.Add(-d), To: now}
}

// Days is the window's length in days of 24 hours.
func (w Window) Days() float64 {
	return w.To.Sub(w.From).Hours() / 24
}

func (w Window) contains(t time.Time) bool {
	return !t.Before(w.From) && t.Before(w.To)
}

// Record is one delivery as the figures see it: when it was triggered, and its sequence runs in the
// stage being measured.
type Record struct {
	DeliveryID int64
	Project    string
	Service    string
	CreatedAt  time.Time // when the delivery was triggered
	Runs       []Run     // its sequence runs in the stage, in trigger order
}

// Run is one sequence run in the stage.
type Run struct {
	Sequence    string
	State       store.SequenceState
	Result      store.Result
	TriggeredAt time.Time
	StartedAt   time.Time // zero until it started
	FinishedAt  time.Time // zero while live
	Tasks       []Task    // in order
}

// Task is one task run of a Run.
type Task struct {
	Name       string
	Result     store.Result
	StartedAt  time.Time // zero until it started
	FinishedAt time.Time // zero until it ended
}

// Quantiles summarise durations.
type Quantiles struct {
	Median time.Duration
	P90    time.Duration
}

// Figures are the DORA figures of one window; the package documentation defines each.
type Figures struct {
	Window Window
	Stage  string // the stage measured; Measure sets it, Compute leaves it to the caller
	// Empty: no change ended in the stage in the window, and every figure is zero for lack of data.
	Empty             bool
	Deployments       int
	DeploymentsPerDay float64
	LeadTime          Quantiles
	Changes           int
	Failures          int
	ChangeFailureRate float64
	Restored          int // failures restored before the window's end
	Unrestored        int // failures still ongoing at the window's end
	TimeToRestore     Quantiles
}

// change is a deployment run that changed the stage, known by the window's end.
type change struct {
	delivery int64
	created  time.Time
	end      time.Time
	ok       bool
	failedAt time.Time // zero when no failure followed it by the window's end
}

// Compute works out the figures of records over w. Records of several services may be mixed: rollbacks
// and restores are matched within each project and service, and the figures add them all up.
func Compute(records []Record, w Window) Figures {
	f := Figures{Window: w}
	var leads, restores []time.Duration
	for _, recs := range byScope(records) {
		changes := changesOf(recs, w.To)
		attributeRollbacks(recs, changes, w.To)
		fixes := restoresOf(recs, changes, w.To)
		for _, c := range changes {
			if !w.contains(c.end) {
				continue
			}
			f.Changes++
			if c.ok {
				f.Deployments++
				leads = append(leads, c.end.Sub(c.created))
			}
			if c.failedAt.IsZero() {
				continue
			}
			f.Failures++
			if at, ok := firstRestore(c, fixes); ok {
				f.Restored++
				restores = append(restores, at.Sub(c.failedAt))
			} else {
				f.Unrestored++
			}
		}
	}
	f.Empty = f.Changes == 0
	if days := w.Days(); days > 0 {
		f.DeploymentsPerDay = float64(f.Deployments) / days
	}
	if f.Changes > 0 {
		f.ChangeFailureRate = float64(f.Failures) / float64(f.Changes)
	}
	f.LeadTime = quantiles(leads)
	f.TimeToRestore = quantiles(restores)
	return f
}

// byScope groups records by project and service.
func byScope(records []Record) map[[2]string][]*Record {
	out := map[[2]string][]*Record{}
	for i := range records {
		r := &records[i]
		k := [2]string{r.Project, r.Service}
		out[k] = append(out[k], r)
	}
	return out
}

// deploymentRun is the record's first run that is not a rollback, or nil.
func deploymentRun(r *Record) *Run {
	for i := range r.Runs {
		if r.Runs[i].Sequence != RollbackSequence {
			return &r.Runs[i]
		}
	}
	return nil
}

// changed reports whether a task that can change the stage started in run.
func changed(run *Run) bool {
	return slices.ContainsFunc(run.Tasks, func(t Task) bool {
		return !t.StartedAt.IsZero() && !slices.Contains(nonChanging, t.Name)
	})
}

func succeeded(r store.Result) bool {
	return r == store.ResultPass || r == store.ResultWarning
}

// changesOf finds the changes of one service that ended before to, by delivery, each with the failure its
// own run shows (it failed, or an evaluation in it failed).
func changesOf(recs []*Record, to time.Time) map[int64]*change {
	out := map[int64]*change{}
	for _, r := range recs {
		run := deploymentRun(r)
		if run == nil || (run.State != store.StateFinished && run.State != store.StateTimedOut) ||
			run.FinishedAt.IsZero() || !run.FinishedAt.Before(to) || !changed(run) {
			continue
		}
		c := &change{delivery: r.DeliveryID, created: r.CreatedAt, end: run.FinishedAt,
			ok: run.State == store.StateFinished && succeeded(run.Result)}
		if !c.ok {
			c.failedAt = c.end
		}
		for _, t := range run.Tasks {
			if t.Name == "evaluation" && t.Result == store.ResultFail && !t.FinishedAt.IsZero() && t.FinishedAt.Before(to) {
				c.failedAt = earliest(c.failedAt, t.FinishedAt)
			}
		}
		out[r.DeliveryID] = c
	}
	return out
}

// attributeRollbacks marks the change each rollback run that started before to belongs to as failed when
// the rollback was triggered: its own delivery's change, else the service's latest change ended by then.
func attributeRollbacks(recs []*Record, changes map[int64]*change, to time.Time) {
	ordered := make([]*change, 0, len(changes))
	for _, c := range changes {
		ordered = append(ordered, c)
	}
	slices.SortFunc(ordered, func(a, b *change) int {
		return cmp.Or(a.end.Compare(b.end), cmp.Compare(a.delivery, b.delivery))
	})
	for _, r := range recs {
		for _, run := range r.Runs {
			if run.Sequence != RollbackSequence || run.StartedAt.IsZero() || !run.StartedAt.Before(to) {
				continue
			}
			at := run.TriggeredAt
			target := changes[r.DeliveryID]
			if target == nil || target.end.After(at) {
				target = nil
				for _, c := range ordered {
					if c.end.After(at) {
						break
					}
					target = c
				}
			}
			if target != nil {
				target.failedAt = earliest(target.failedAt, at)
			}
		}
	}
}

// fix is a restore: a successful change or rollback, ended at a time.
type fix struct {
	delivery int64 // the delivery of a successful change; 0 for a rollback
	at       time.Time
}

// restoresOf lists the service's restores that happened before to, by time.
func restoresOf(recs []*Record, changes map[int64]*change, to time.Time) []fix {
	var out []fix
	for _, c := range changes {
		if c.ok {
			out = append(out, fix{delivery: c.delivery, at: c.end})
		}
	}
	for _, r := range recs {
		for _, run := range r.Runs {
			if run.Sequence == RollbackSequence && run.State == store.StateFinished && succeeded(run.Result) &&
				!run.FinishedAt.IsZero() && run.FinishedAt.Before(to) {
				out = append(out, fix{at: run.FinishedAt})
			}
		}
	}
	slices.SortFunc(out, func(a, b fix) int { return a.at.Compare(b.at) })
	return out
}

// firstRestore is the first restore at or after c's failure, other than c itself.
func firstRestore(c *change, fixes []fix) (time.Time, bool) {
	for _, f := range fixes {
		if !f.at.Before(c.failedAt) && (f.delivery == 0 || f.delivery != c.delivery) {
			return f.at, true
		}
	}
	return time.Time{}, false
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func quantiles(ds []time.Duration) Quantiles {
	slices.Sort(ds)
	return Quantiles{Median: quantile(ds, 0.5), P90: quantile(ds, 0.9)}
}

// quantile is the p-quantile of sorted durations, interpolated linearly between the two nearest ranks
// (Hyndman and Fan's method 7); 0 for none.
func quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	h := p * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := h - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[lo+1]-sorted[lo])))
}
