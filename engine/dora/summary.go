package dora

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Summary is the figures in one short line for chat (`/deliver stats SERVICE`), for example
//
//	last 30 days in production: 12 deployments (0.4/day) · lead time median 2h10m (p90 5h) · change failure rate 17% (2 of 12) · time to restore median 45m
//
// Figures without data are left out rather than shown as zero: lead time without deployments, time to
// restore without failures.
func (f Figures) Summary() string {
	var b strings.Builder
	b.WriteString(windowName(f.Window.To.Sub(f.Window.From)))
	if f.Stage != "" {
		b.WriteString(" in " + f.Stage)
	}
	b.WriteString(": ")
	if f.Empty {
		b.WriteString("no deployments")
		return b.String()
	}
	parts := []string{fmt.Sprintf("%s (%s/day)", plural(f.Deployments, "deployment"), rate(f.DeploymentsPerDay))}
	switch f.Deployments {
	case 0:
	case 1:
		parts = append(parts, "lead time "+duration(f.LeadTime.Median))
	default:
		parts = append(parts, fmt.Sprintf("lead time median %s (p90 %s)", duration(f.LeadTime.Median), duration(f.LeadTime.P90)))
	}
	parts = append(parts, fmt.Sprintf("change failure rate %d%% (%d of %d)", int(math.Round(f.ChangeFailureRate*100)), f.Failures, f.Changes))
	switch {
	case f.Failures == 0:
	case f.Restored == 0:
		parts = append(parts, fmt.Sprintf("time to restore: %s not restored yet", plural(f.Unrestored, "failure")))
	default:
		ttr := "time to restore median " + duration(f.TimeToRestore.Median)
		if f.Unrestored > 0 {
			ttr += fmt.Sprintf(" (%d not restored yet)", f.Unrestored)
		}
		parts = append(parts, ttr)
	}
	b.WriteString(strings.Join(parts, " · "))
	return b.String()
}

// windowName names a window's length: "last 30 days", "last day", "last 36 hours", "last hour".
func windowName(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "last day"
	case d.Round(time.Hour) == time.Hour:
		return "last hour"
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("last %d days", d/(24*time.Hour))
	default:
		return "last " + plural(int(d.Round(time.Hour)/time.Hour), "hour")
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// rate shows a per-day rate with one decimal, or two below 0.1 so that one deployment a month is not 0.
func rate(r float64) string {
	digits := 1.0
	if r < 0.1 {
		digits = 2
	}
	scale := math.Pow(10, digits)
	return strconv.FormatFloat(math.Round(r*scale)/scale, 'f', -1, 64)
}

// duration shows a duration as people read it in chat, to the minute under a day and to the hour
// above: "40s", "45m", "2h10m", "5h", "3d4h".
func duration(d time.Duration) string {
	if s := d.Round(time.Second); s < time.Minute {
		return fmt.Sprintf("%ds", int(s/time.Second))
	}
	if d < 24*time.Hour {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Hour)
	}
	days, hours, minutes := d/(24*time.Hour), d%(24*time.Hour)/time.Hour, d%time.Hour/time.Minute
	var b strings.Builder
	for _, c := range []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {hours, "h"}, {minutes, "m"}} {
		if c.n > 0 {
			fmt.Fprintf(&b, "%d%s", c.n, c.unit)
		}
	}
	return b.String()
}
