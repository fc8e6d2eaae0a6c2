package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
	// Freeze windows name IANA time zones; the embedded database makes them work on machines and
	// containers that have no zoneinfo installed, where time.LoadLocation would fail.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// Freeze is a window in which deliveries do not start in the stages it covers (GitLab's deploy freezes,
// Devtron's blackout windows): either recurring, from each `start` to the following `end` (five-field
// cron expressions read in time_zone), or one-off, from `from` to `to`. A sequence that would start in a
// frozen stage waits and starts by itself when the window ends; a deployer holding FreezeExemptRole
// may start it earlier.
type Freeze struct {
	Pos  `yaml:"-"`
	Name string `yaml:"name"`
	// Projects and Stages are the places frozen; empty means every project, every stage.
	Projects []string `yaml:"projects,omitempty"`
	Stages   []string `yaml:"stages,omitempty"`
	Start    string   `yaml:"start,omitempty"`
	End      string   `yaml:"end,omitempty"`
	// TimeZone is the IANA zone (Europe/Berlin) start and end are read in; empty means UTC.
	TimeZone string     `yaml:"time_zone,omitempty"`
	From     *time.Time `yaml:"from,omitempty"`
	To       *time.Time `yaml:"to,omitempty"`
	// Message is shown on the cards of the deliveries the window holds.
	Message string `yaml:"message,omitempty"`

	// The parsed start and end, set by validate; nil for a one-off window or one that did not validate.
	start, end *cron.SpecSchedule
}

// FreezeExemptRole may start a delivery a freeze window holds before the window ends (break-glass).
const FreezeExemptRole = "freeze-exempt"

// Window is one occurrence of a freeze: deliveries do not start from Start until End.
type Window struct {
	Name    string
	Message string
	Start   time.Time
	End     time.Time
}

// Freezes are the freeze windows of shipgate.yaml, in the order written.
type Freezes []Freeze

// cronParser reads the five fields cron and GitLab use (minute hour day-of-month month day-of-week),
// and descriptors such as @weekly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Covers reports whether the window applies to a project's stage.
func (f *Freeze) Covers(project, stage string) bool {
	return (len(f.Projects) == 0 || slices.Contains(f.Projects, project)) &&
		(len(f.Stages) == 0 || slices.Contains(f.Stages, stage))
}

// ActiveAt returns the occurrence of the window that holds t: Start <= t < End.
func (f *Freeze) ActiveAt(t time.Time) (Window, bool) {
	w := Window{Name: f.Name, Message: f.Message}
	switch {
	case f.From != nil && f.To != nil:
		w.Start, w.End = *f.From, *f.To
	case f.start != nil && f.end != nil:
		s, ok := lastFire(f.start, t)
		if !ok {
			return Window{}, false
		}
		w.Start, w.End = s, f.end.Next(s)
	default:
		return Window{}, false
	}
	if t.Before(w.Start) || !t.Before(w.End) || w.End.IsZero() {
		return Window{}, false
	}
	return w, true
}

// NextAfter returns the first occurrence of the window that starts after t.
func (f *Freeze) NextAfter(t time.Time) (Window, bool) {
	w := Window{Name: f.Name, Message: f.Message}
	switch {
	case f.From != nil && f.To != nil:
		w.Start, w.End = *f.From, *f.To
	case f.start != nil && f.end != nil:
		w.Start = f.start.Next(t)
		if w.Start.IsZero() {
			return Window{}, false
		}
		w.End = f.end.Next(w.Start)
	default:
		return Window{}, false
	}
	if !w.Start.After(t) || w.End.IsZero() {
		return Window{}, false
	}
	return w, true
}

// At answers, for a project's stage at time t, the window that holds it now (when several do, the one
// that ends last, so that a delivery waits once rather than thaws into the next), and the next window to
// start after t. Either is nil when there is none.
func (fs Freezes) At(t time.Time, project, stage string) (active, next *Window) {
	for i := range fs {
		f := &fs[i]
		if !f.Covers(project, stage) {
			continue
		}
		if w, ok := f.ActiveAt(t); ok && (active == nil || w.End.After(active.End)) {
			active = &w
		}
		if w, ok := f.NextAfter(t); ok && (next == nil || w.Start.Before(next.Start)) {
			next = &w
		}
	}
	return active, next
}

// lookbacks are how far lastFire looks back for a fire, from near to far: a step finds one only when
// the nearer steps did not, so that the walk forward from it is short for dense and sparse schedules
// alike. The last covers a 29 February schedule; robfig/cron looks five years ahead at most.
var lookbacks = []time.Duration{
	2 * time.Minute, 2 * time.Hour, 2 * 24 * time.Hour, 9 * 24 * time.Hour, 32 * 24 * time.Hour,
	367 * 24 * time.Hour, (4*366 + 1) * 24 * time.Hour,
}

// lastFire returns the last time at or before t at which s fires. robfig/cron only looks forward, so it
// looks forward from ever earlier times.
func lastFire(s cron.Schedule, t time.Time) (time.Time, bool) {
	for _, back := range lookbacks {
		x := s.Next(t.Add(-back))
		if x.IsZero() || x.After(t) {
			continue
		}
		for {
			n := s.Next(x)
			if n.IsZero() || n.After(t) {
				return x, true
			}
			x = n
		}
	}
	return time.Time{}, false
}

// parseCron reads a five-field cron expression or a descriptor in loc. An interval (@every 1h) has no
// place in a calendar and a TZ= prefix would overrule time_zone, so both are refused.
func parseCron(expr string, loc *time.Location) (*cron.SpecSchedule, error) {
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("set the zone with time_zone, not in the expression")
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("@every is an interval, not a time of day; use five fields such as \"0 18 * * 5\"")
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("not a calendar schedule")
	}
	spec.Location = loc
	return spec, nil
}

// sameFires reports whether two schedules fire at the same times, judged by their next fires from a
// fixed instant: "0 18 * * 5" and "0 18 * * FRI" describe one window that would end as it starts.
func sameFires(a, b *cron.SpecSchedule) bool {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := t
	for range 16 {
		t, u = a.Next(t), b.Next(u)
		if !t.Equal(u) {
			return false
		}
		if t.IsZero() {
			return true
		}
	}
	return true
}

// validateFreezes checks each window on its own; LoadProjects checks the projects and stages they name.
func (c *Config) validateFreezes(d diagnoser) {
	seen := map[string]int{}
	for i := range c.Freezes {
		f := &c.Freezes[i]
		where := fmt.Sprintf("freezes[%d]", i)
		if f.Name == "" {
			d.errorf(f.Line, "%s: name is required; it is shown on the cards of the deliveries it holds", where)
		} else if prev, dup := seen[f.Name]; dup {
			d.errorf(f.LineOf("name"), "%s: freeze name %q is already used at line %d", where, f.Name, prev)
		} else {
			seen[f.Name] = f.LineOf("name")
		}
		recurring := f.Start != "" || f.End != ""
		oneOff := f.From != nil || f.To != nil
		switch {
		case recurring && oneOff:
			d.errorf(f.Line, "%s: set either start and end (recurring) or from and to (one-off), not both", where)
		case recurring:
			f.validateRecurring(d, where)
		case oneOff:
			switch {
			case f.From == nil:
				d.errorf(f.Line, "%s: from is required with to", where)
			case f.To == nil:
				d.errorf(f.Line, "%s: to is required with from", where)
			case !f.From.Before(*f.To):
				d.errorf(f.LineOf("to"), "%s: to (%s) must be after from (%s)", where, f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
			}
			if f.TimeZone != "" {
				d.warnf(f.LineOf("time_zone"), "%s: time_zone applies to start and end only; from and to carry their own offset", where)
			}
		default:
			d.errorf(f.Line, "%s: set start and end (cron expressions, such as \"0 18 * * 5\" and \"0 8 * * 1\") or from and to (times such as 2026-12-20T00:00:00Z)", where)
		}
	}
}

func (f *Freeze) validateRecurring(d diagnoser, where string) {
	loc, zoneOK := time.UTC, true
	if f.TimeZone != "" {
		// "Local" would make the window depend on the machine shipgate runs on.
		l, err := time.LoadLocation(f.TimeZone)
		if err != nil || f.TimeZone == "Local" {
			d.errorf(f.LineOf("time_zone"), "%s: time_zone %q is not a known time zone; expected an IANA name such as Europe/Berlin or UTC", where, f.TimeZone)
			zoneOK = false
		} else {
			loc = l
		}
	}
	var start, end *cron.SpecSchedule
	for _, k := range []struct {
		key  string
		expr string
		out  **cron.SpecSchedule
	}{{"start", f.Start, &start}, {"end", f.End, &end}} {
		if k.expr == "" {
			d.errorf(f.Line, "%s: %s is required with %s", where, k.key, map[string]string{"start": "end", "end": "start"}[k.key])
			continue
		}
		s, err := parseCron(k.expr, loc)
		if err != nil {
			d.errorf(f.LineOf(k.key), "%s: %s %q is not a cron expression: %v", where, k.key, k.expr, err)
			continue
		}
		if s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
			d.errorf(f.LineOf(k.key), "%s: %s %q never fires", where, k.key, k.expr)
			continue
		}
		*k.out = s
	}
	if start == nil || end == nil || !zoneOK {
		return
	}
	if sameFires(start, end) {
		d.errorf(f.LineOf("end"), "%s: end %q fires when start %q does, so the window would never be open", where, f.End, f.Start)
		return
	}
	f.start, f.end = start, end
}

// checkFreezeScopes reports the projects and stages of freezes that no loaded project has.
func (c *Config) checkFreezeScopes(d diagnoser, projects []*Project) {
	byName := map[string]*Project{}
	for _, p := range projects {
		byName[p.Name] = p
	}
	for i, f := range c.Freezes {
		where := fmt.Sprintf("freezes[%d]", i)
		scope := projects
		if len(f.Projects) > 0 {
			scope = nil
		}
		for j, name := range f.Projects {
			p, ok := byName[name]
			if !ok {
				d.errorf(f.LineOf(fmt.Sprintf("projects[%d]", j)), "%s: project %q is not in %s", where, name, c.ProjectsDir)
				continue
			}
			scope = append(scope, p)
		}
		if len(f.Projects) > 0 && len(scope) == 0 {
			continue // its projects are unknown, which says enough
		}
		var known []string
		for _, p := range scope {
			if p.Shipyard != nil {
				known = append(known, p.Shipyard.StageNames()...)
			}
		}
		slices.Sort(known)
		known = slices.Compact(known)
		for j, st := range f.Stages {
			if !slices.Contains(known, st) {
				d.errorf(f.LineOf(fmt.Sprintf("stages[%d]", j)), "%s: stage %q is in no shipyard of its projects; stages: %s", where, st, strings.Join(known, ", "))
			}
		}
	}
}
