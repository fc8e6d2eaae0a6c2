package prometheus

import (
	"testing"
	"time"
)

// window returns a Start and End that are d apart.
func window(d time.Duration) (time.Time, time.Time) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return end.Add(-d), end
}

func baseRequest() Request {
	start, end := window(5 * time.Minute)
	return Request{Project: "sockshop", Stage: "dev", Service: "carts", Start: start, End: end}
}

func TestReplacePlaceholders(t *testing.T) {
	tests := []struct {
		name  string
		query string
		edit  func(*Request)
		want  string
	}{
		{"event fields", "up{job='$SERVICE-$PROJECT-$STAGE'}", nil, "up{job='carts-sockshop-dev'}"},
		{"duration", "rate(x[$DURATION_SECONDS])", nil, "rate(x[300s])"},
		{"deployment defaults to primary", "x{d='$DEPLOYMENT'}", nil, "x{d='primary'}"},
		{"deployment from the request", "x{d='$DEPLOYMENT'}", func(r *Request) { r.Deployment = "canary" }, "x{d='canary'}"},
		{"deployment label wins", "x{d='$DEPLOYMENT'}", func(r *Request) {
			r.Deployment = "canary"
			r.Labels = map[string]string{"deployment": "blue"}
		}, "x{d='blue'}"},
		{"labels", "x{v='$LABEL.version',b='$LABEL.buildId'}", func(r *Request) {
			r.Labels = map[string]string{"version": "1.2.3", "buildId": "42"}
		}, "x{v='1.2.3',b='42'}"},
		{"unknown label stays", "x{v='$LABEL.missing'}", nil, "x{v='$LABEL.missing'}"},
		{"filter as written and upper case", "x{h='$handler',H='$HANDLER'}", func(r *Request) {
			r.Filters = map[string]string{"handler": "ItemsController"}
		}, "x{h='ItemsController',H='ItemsController'}"},
		{"filter quotes removed", "x{h='$handler'}", func(r *Request) {
			r.Filters = map[string]string{"handler": `"'Items'"`}
		}, "x{h='Items'}"},
		{"filter wins over a built-in name", "x{s='$SERVICE'}", func(r *Request) {
			r.Filters = map[string]string{"service": "override"}
		}, "x{s='override'}"},
		{"longest filter wins", "x{a='$id',b='$id2'}", func(r *Request) {
			r.Filters = map[string]string{"id": "one", "id2": "two"}
		}, "x{a='one',b='two'}"},
		{"short filter does not eat DURATION_SECONDS", "rate(x{a='$d'}[$DURATION_SECONDS])", func(r *Request) {
			r.Filters = map[string]string{"d": "v"}
		}, "rate(x{a='v'}[300s])"},
		{"longest label wins", "x{a='$LABEL.v',b='$LABEL.version'}", func(r *Request) {
			r.Labels = map[string]string{"v": "short", "version": "long"}
		}, "x{a='short',b='long'}"},
		{"unknown placeholder stays", "x[$DURATION]", nil, "x[$DURATION]"},
		{"empty filter key ignored", "x{a='$'} + $nope", func(r *Request) {
			r.Filters = map[string]string{"": "v"}
		}, "x{a='$'} + $nope"},
		{"replaced values are not scanned again", "x{a='$id'}", func(r *Request) {
			r.Filters = map[string]string{"id": "$SERVICE"}
		}, "x{a='$SERVICE'}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRequest()
			if tt.edit != nil {
				tt.edit(&r)
			}
			if got := ReplacePlaceholders(tt.query, r); got != tt.want {
				t.Errorf("ReplacePlaceholders(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestDurationSecondsRoundsUp(t *testing.T) {
	tests := []struct {
		window time.Duration
		want   string
	}{
		{5 * time.Minute, "300s"},
		{299 * time.Second, "299s"},
		{299*time.Second + time.Millisecond, "300s"},
		{299*time.Second + 200*time.Millisecond, "300s"},
		{time.Nanosecond, "1s"},
		{500 * time.Millisecond, "1s"},
		{time.Second, "1s"},
		{time.Second + time.Nanosecond, "2s"},
		{24 * time.Hour, "86400s"},
	}
	for _, tt := range tests {
		r := baseRequest()
		r.Start, r.End = window(tt.window)
		if got := r.durationSeconds(); got != tt.want {
			t.Errorf("window %v: $DURATION_SECONDS = %q, want %q", tt.window, got, tt.want)
		}
	}
}

func TestBuiltinQueries(t *testing.T) {
	const job = "job='carts-sockshop-dev-canary'"
	tests := []struct {
		name      string
		indicator string
		filters   map[string]string
		want      string
	}{
		{"throughput", "throughput", nil, "sum(rate(http_requests_total{" + job + "}[300s]))"},
		{"error rate", "error_rate", nil,
			"sum(rate(http_requests_total{" + job + ",status!~'2..'}[300s]))/sum(rate(http_requests_total{" + job + "}[300s]))"},
		{"p50", "response_time_p50", nil, "histogram_quantile(0.50,sum(rate(http_response_time_milliseconds_bucket{" + job + "}[300s]))by(le))"},
		{"p90", "response_time_p90", nil, "histogram_quantile(0.90,sum(rate(http_response_time_milliseconds_bucket{" + job + "}[300s]))by(le))"},
		{"p95", "response_time_p95", nil, "histogram_quantile(0.95,sum(rate(http_response_time_milliseconds_bucket{" + job + "}[300s]))by(le))"},
		{"filter replaces the default job", "throughput", map[string]string{"job": "carts-primary"},
			"sum(rate(http_requests_total{job='carts-primary'}[300s]))"},
		{"filters after the job, in key order, quotes removed", "throughput", map[string]string{"zone": "eu", "handler": `"Items"`},
			"sum(rate(http_requests_total{" + job + ",handler='Items',zone='eu'}[300s]))"},
		{"operators used as written", "throughput", map[string]string{
			"a": "!=Health", "b": `=~.+Items|.+Version`, "c": `!~"x.*"`, "d": "=exact",
		}, "sum(rate(http_requests_total{" + job + `,a!=Health,b=~.+Items|.+Version,c!~'x.*',d=exact}[300s]))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRequest()
			r.Filters = tt.filters
			got, ok := queryFor(tt.indicator, r)
			if !ok || got != tt.want {
				t.Errorf("query for %s = %q, %v\nwant %q", tt.indicator, got, ok, tt.want)
			}
		})
	}
}

func TestQueryForPrefersSLIFile(t *testing.T) {
	r := baseRequest()
	r.Queries = map[string]string{
		"throughput": "sum(rate(requests{svc='$SERVICE'}[$DURATION_SECONDS]))",
		"error_rate": "  ", // blank counts as absent, as in Keptn
	}
	if got, _ := queryFor("throughput", r); got != "sum(rate(requests{svc='carts'}[300s]))" {
		t.Errorf("sli.yaml query not used: %q", got)
	}
	if got, _ := queryFor("error_rate", r); got != "sum(rate(http_requests_total{job='carts-sockshop-dev-canary',status!~'2..'}[300s]))/sum(rate(http_requests_total{job='carts-sockshop-dev-canary'}[300s]))" {
		t.Errorf("blank query did not fall back to the built-in: %q", got)
	}
	if got, ok := queryFor("memory", r); ok {
		t.Errorf("an unknown SLI without a query got %q", got)
	}
}
