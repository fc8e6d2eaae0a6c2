package config

import (
	"path/filepath"
	"testing"
	"time"
)

// issueFreezes is the example of the freezes section in the README and issue 19.
const issueFreezes = `freezes:
  - name: weekend
    projects: [fulltour]
    stages: [production]
    start: "0 18 * * 5"
    end: "0 8 * * 1"
    time_zone: Europe/Berlin
    message: "No production deliveries over the weekend."
  - name: year-end
    stages: [production]
    from: 2026-12-20T00:00:00Z
    to: 2027-01-04T00:00:00Z
`

func parseFreezes(t *testing.T, doc string) Freezes {
	t.Helper()
	cfg, diags := Parse("shipgate.yaml", []byte(doc), env(nil))
	checkDiags(t, diags)
	return cfg.Freezes
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestFreezeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"bad cron", "freezes:\n  - name: a\n    start: \"0 25 * * *\"\n    end: \"0 8 * * 1\"\n", []want{
			errAt(3, `freezes[0]: start "0 25 * * *" is not a cron expression: end of range (25) above maximum (23): 25`),
		}},
		{"six fields", "freezes:\n  - name: a\n    start: \"0 0 18 * * 5\"\n    end: \"0 8 * * 1\"\n", []want{
			errAt(3, `freezes[0]: start "0 0 18 * * 5" is not a cron expression: expected exactly 5 fields, found 6`),
		}},
		{"interval", "freezes:\n  - name: a\n    start: \"@every 1h\"\n    end: \"0 8 * * 1\"\n", []want{
			errAt(3, `freezes[0]: start "@every 1h" is not a cron expression: @every is an interval`),
		}},
		{"zone in the expression", "freezes:\n  - name: a\n    start: \"CRON_TZ=UTC 0 18 * * 5\"\n    end: \"0 8 * * 1\"\n", []want{
			errAt(3, `freezes[0]: start "CRON_TZ=UTC 0 18 * * 5" is not a cron expression: set the zone with time_zone`),
		}},
		{"never fires", "freezes:\n  - name: a\n    start: \"0 0 30 2 *\"\n    end: \"0 8 * * 1\"\n", []want{
			errAt(3, `freezes[0]: start "0 0 30 2 *" never fires`),
		}},
		{"unknown zone", "freezes:\n  - name: a\n    start: \"0 18 * * 5\"\n    end: \"0 8 * * 1\"\n    time_zone: Europe/Atlantis\n", []want{
			errAt(5, `freezes[0]: time_zone "Europe/Atlantis" is not a known time zone`),
		}},
		{"local zone", "freezes:\n  - name: a\n    start: \"0 18 * * 5\"\n    end: \"0 8 * * 1\"\n    time_zone: Local\n", []want{
			errAt(5, `freezes[0]: time_zone "Local" is not a known time zone`),
		}},
		{"end equal to start", "freezes:\n  - name: a\n    start: \"0 18 * * 5\"\n    end: \"0 18 * * FRI\"\n", []want{
			errAt(4, `freezes[0]: end "0 18 * * FRI" fires when start "0 18 * * 5" does, so the window would never be open`),
		}},
		{"start without end", "freezes:\n  - name: a\n    start: \"0 18 * * 5\"\n", []want{
			errAt(2, `freezes[0]: end is required with start`),
		}},
		{"from after to", "freezes:\n  - name: a\n    from: 2027-01-04T00:00:00Z\n    to: 2026-12-20T00:00:00Z\n", []want{
			errAt(4, `freezes[0]: to (2026-12-20T00:00:00Z) must be after from (2027-01-04T00:00:00Z)`),
		}},
		{"from equal to", "freezes:\n  - name: a\n    from: 2027-01-04T00:00:00Z\n    to: 2027-01-04T01:00:00+01:00\n", []want{
			errAt(4, `freezes[0]: to (2027-01-04T01:00:00+01:00) must be after from (2027-01-04T00:00:00Z)`),
		}},
		{"time without offset", "freezes:\n  - name: a\n    from: 2026-12-20\n    to: 2027-01-04T00:00:00Z\n", []want{
			errAt(3, `freezes[0].from: expected a time with its offset such as 2026-12-20T00:00:00Z, got "2026-12-20"`),
		}},
		{"both kinds", "freezes:\n  - name: a\n    start: \"0 18 * * 5\"\n    end: \"0 8 * * 1\"\n    from: 2026-12-20T00:00:00Z\n    to: 2027-01-04T00:00:00Z\n", []want{
			errAt(2, `freezes[0]: set either start and end (recurring) or from and to (one-off), not both`),
		}},
		{"neither kind", "freezes:\n  - name: a\n", []want{
			errAt(2, `freezes[0]: set start and end`),
		}},
		{"names", "freezes:\n  - {from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z}\n  - {name: b, from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z}\n  - {name: b, from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z}\n", []want{
			errAt(2, `freezes[0]: name is required`),
			errAt(4, `freezes[2]: freeze name "b" is already used at line 3`),
		}},
		{"zone with a one-off", "freezes:\n  - {name: a, from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z, time_zone: UTC}\n", []want{
			warnAt(2, `freezes[0]: time_zone applies to start and end only`),
		}},
		{"unknown key", "freezes:\n  - {name: a, from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z, until: x}\n", []want{
			errAt(2, `unknown key "until" in freezes[0]; expected one of: name, projects, stages, start, end, time_zone, from, to, message`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("shipgate.yaml", []byte(tt.doc), env(nil))
			checkDiags(t, diags, tt.want...)
		})
	}
}

func TestFreezeScopes(t *testing.T) {
	root := writeTree(t, "etc", map[string]string{"projects/shop/shipyard.yaml": twoStages})
	doc := `projects_dir: projects
freezes:
  - name: a
    projects: [shop, gone]
    stages: [production, prod]
    from: 2026-12-20T00:00:00Z
    to: 2027-01-04T00:00:00Z
  - name: b
    stages: [staging]
    from: 2026-12-20T00:00:00Z
    to: 2027-01-04T00:00:00Z
  - name: c
    projects: [gone]
    stages: [qa]
    from: 2026-12-20T00:00:00Z
    to: 2027-01-04T00:00:00Z
`
	cfg, diags := Parse(filepath.Join(root, "shipgate.yaml"), []byte(doc), env(nil))
	checkDiags(t, diags)
	_, diags = cfg.LoadProjects()
	checkDiags(t, diags,
		errAt(4, `freezes[0]: project "gone" is not in`),
		errAt(5, `freezes[0]: stage "prod" is in no shipyard of its projects; stages: production, qa`),
		errAt(9, `freezes[1]: stage "staging" is in no shipyard of its projects; stages: production, qa`),
		errAt(13, `freezes[2]: project "gone" is not in`),
	)
}

func TestFreezesAt(t *testing.T) {
	fs := parseFreezes(t, issueFreezes)
	weekend := func(start, end string) *Window {
		return &Window{Name: "weekend", Message: "No production deliveries over the weekend.", Start: utc(start), End: utc(end)}
	}
	yearEnd := &Window{Name: "year-end", Start: utc("2026-12-20T00:00:00Z"), End: utc("2027-01-04T00:00:00Z")}
	tests := []struct {
		name           string
		at             string
		project, stage string
		active, next   *Window
	}{
		{"a Thursday", "2026-06-04T12:00:00Z", "fulltour", "production", nil,
			weekend("2026-06-05T16:00:00Z", "2026-06-08T06:00:00Z")},
		{"Friday 18:00 in Berlin (CEST) starts it", "2026-06-05T16:00:00Z", "fulltour", "production",
			weekend("2026-06-05T16:00:00Z", "2026-06-08T06:00:00Z"), weekend("2026-06-12T16:00:00Z", "2026-06-15T06:00:00Z")},
		{"a minute before", "2026-06-05T15:59:00Z", "fulltour", "production", nil,
			weekend("2026-06-05T16:00:00Z", "2026-06-08T06:00:00Z")},
		{"Sunday", "2026-06-07T10:00:00Z", "fulltour", "production",
			weekend("2026-06-05T16:00:00Z", "2026-06-08T06:00:00Z"), weekend("2026-06-12T16:00:00Z", "2026-06-15T06:00:00Z")},
		{"Monday 08:00 in Berlin ends it", "2026-06-08T06:00:00Z", "fulltour", "production", nil,
			weekend("2026-06-12T16:00:00Z", "2026-06-15T06:00:00Z")},
		{"other stage", "2026-06-07T10:00:00Z", "fulltour", "qa", nil, nil},
		{"other project", "2026-06-07T10:00:00Z", "shop", "production", nil, yearEnd},
		// Summer time ends on 25 October 2026: the window opens at 18:00 CEST (16:00 UTC) and closes at
		// 08:00 CET (07:00 UTC).
		{"weekend over the end of summer time", "2026-10-25T12:00:00Z", "fulltour", "production",
			weekend("2026-10-23T16:00:00Z", "2026-10-26T07:00:00Z"), weekend("2026-10-30T17:00:00Z", "2026-11-02T07:00:00Z")},
		{"an hour later than in summer", "2026-10-26T06:30:00Z", "fulltour", "production",
			weekend("2026-10-23T16:00:00Z", "2026-10-26T07:00:00Z"), weekend("2026-10-30T17:00:00Z", "2026-11-02T07:00:00Z")},
		// Summer time begins on 29 March 2026: opens at 18:00 CET (17:00 UTC), closes at 08:00 CEST (06:00 UTC).
		{"weekend over the start of summer time", "2026-03-30T05:59:00Z", "fulltour", "production",
			weekend("2026-03-27T17:00:00Z", "2026-03-30T06:00:00Z"), weekend("2026-04-03T16:00:00Z", "2026-04-06T06:00:00Z")},
		{"both windows: the one that ends last", "2026-12-26T12:00:00Z", "fulltour", "production", yearEnd,
			weekend("2027-01-01T17:00:00Z", "2027-01-04T07:00:00Z")},
		{"one-off alone", "2026-12-22T12:00:00Z", "shop", "production", yearEnd, nil},
		{"one-off ends", "2027-01-04T00:00:00Z", "shop", "production", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			active, next := fs.At(utc(tt.at), tt.project, tt.stage)
			checkWindow(t, "active", active, tt.active)
			checkWindow(t, "next", next, tt.next)
		})
	}
}

func checkWindow(t *testing.T, what string, got, want *Window) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, got, want)
	case got.Name != want.Name || got.Message != want.Message || !got.Start.Equal(want.Start) || !got.End.Equal(want.End):
		t.Errorf("%s = %s %s–%s, want %s %s–%s", what, got.Name, got.Start.UTC().Format(time.RFC3339), got.End.UTC().Format(time.RFC3339),
			want.Name, want.Start.UTC().Format(time.RFC3339), want.End.UTC().Format(time.RFC3339))
	}
}

// TestLastFire checks the backward search on schedules dense and sparse.
func TestLastFire(t *testing.T) {
	tests := []struct {
		expr, at, want string
	}{
		{"* * * * *", "2026-06-05T16:00:30Z", "2026-06-05T16:00:00Z"},
		{"0 18 * * 5", "2026-06-05T18:00:00Z", "2026-06-05T18:00:00Z"}, // a fire at t counts
		{"0 18 * * 5", "2026-06-05T17:59:59Z", "2026-05-29T18:00:00Z"},
		{"0 0 1 1 *", "2026-06-05T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"0 0 29 2 *", "2027-06-05T00:00:00Z", "2024-02-29T00:00:00Z"},
	}
	for _, tt := range tests {
		s, err := parseCron(tt.expr, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := lastFire(s, utc(tt.at))
		if !ok || !got.Equal(utc(tt.want)) {
			t.Errorf("lastFire(%q, %s) = %s, %v; want %s", tt.expr, tt.at, got, ok, tt.want)
		}
	}
}
