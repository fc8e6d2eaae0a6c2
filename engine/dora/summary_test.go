package dora

import (
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	day := Window{From: t0, To: t0.Add(24 * time.Hour)}
	withStage := func(f Figures, stage string) Figures { f.Stage = stage; return f }
	tests := []struct {
		name string
		f    Figures
		want string
	}{
		{
			name: "every figure",
			f: Figures{Window: month, Stage: "production", Deployments: 12, DeploymentsPerDay: 0.4,
				LeadTime: Quantiles{Median: 2*time.Hour + 10*time.Minute, P90: 5 * time.Hour},
				Changes:  12, Failures: 2, ChangeFailureRate: 2.0 / 12, Restored: 2, TimeToRestore: Quantiles{Median: 45 * time.Minute}},
			want: "last 30 days in production: 12 deployments (0.4/day) · lead time median 2h10m (p90 5h) · change failure rate 17% (2 of 12) · time to restore median 45m",
		},
		{
			name: "no deployments",
			f:    Figures{Window: month, Stage: "production", Empty: true},
			want: "last 30 days in production: no deployments",
		},
		{
			name: "only failed changes",
			f:    Figures{Window: month, Stage: "production", Changes: 2, Failures: 2, ChangeFailureRate: 1, Unrestored: 2},
			want: "last 30 days in production: 0 deployments (0/day) · change failure rate 100% (2 of 2) · time to restore: 2 failures not restored yet",
		},
		{
			name: "one deployment in a day, no stage",
			f:    Figures{Window: day, Deployments: 1, DeploymentsPerDay: 1, LeadTime: Quantiles{Median: 40 * time.Second, P90: 40 * time.Second}, Changes: 1},
			want: "last day: 1 deployment (1/day) · lead time 40s · change failure rate 0% (0 of 1)",
		},
		{
			name: "a slow month with a failure still open",
			f: Figures{Window: month, Stage: "prod", Deployments: 1, DeploymentsPerDay: 1.0 / 30, LeadTime: Quantiles{Median: 26*time.Hour + 29*time.Minute},
				Changes: 3, Failures: 2, ChangeFailureRate: 2.0 / 3, Restored: 1, Unrestored: 1, TimeToRestore: Quantiles{Median: 76 * time.Hour}},
			want: "last 30 days in prod: 1 deployment (0.03/day) · lead time 1d2h · change failure rate 67% (2 of 3) · time to restore median 3d4h (1 not restored yet)",
		},
		{
			name: "the seeded month",
			f:    withStage(Compute(history(), month), "production"),
			want: "last 30 days in production: 5 deployments (0.2/day) · lead time median 3h (p90 5h12m) · change failure rate 50% (4 of 8) · time to restore median 30m (1 not restored yet)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Summary(); got != tt.want {
				t.Errorf("Summary:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{40 * time.Second, "40s"},
		{59*time.Second + 600*time.Millisecond, "1m"},
		{45 * time.Minute, "45m"},
		{2*time.Hour + 10*time.Minute + 20*time.Second, "2h10m"},
		{5 * time.Hour, "5h"},
		{26*time.Hour + 29*time.Minute, "1d2h"},
		{76 * time.Hour, "3d4h"},
		{48 * time.Hour, "2d"},
	}
	for _, tt := range tests {
		if got := duration(tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestWindowName(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * 24 * time.Hour, "last 30 days"},
		{24 * time.Hour, "last day"},
		{36 * time.Hour, "last 36 hours"},
		{time.Hour, "last hour"},
	}
	for _, tt := range tests {
		if got := windowName(tt.d); got != tt.want {
			t.Errorf("windowName(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
