package prometheus

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Request asks for SLI values of one evaluation.
type Request struct {
	Project, Stage, Service string
	// Labels are the delivery's labels, for $LABEL.<key>.
	Labels map[string]string
	// Deployment is $DEPLOYMENT: the label "deployment" wins if present, else this, else "primary".
	Deployment string
	// Start and End are the evaluation window. Queries run as instant queries at End; the window reaches
	// them only through $DURATION_SECONDS, the window's length rounded up to whole seconds.
	Start, End time.Time
	// Indicators are the SLI names the SLO needs, in order.
	Indicators []string
	// Queries are the merged sli.yaml indicators. They may lack some or all of Indicators; Keptn's
	// built-in queries answer throughput, error_rate and response_time_p50/p90/p95 then.
	Queries map[string]string
	// Filters are the SLO's `filter:` entries: $key and $KEY placeholders in queries, and label matchers
	// in the built-in queries.
	Filters map[string]string
}

// defaultDeployment is what Keptn's prometheus-service put in $DEPLOYMENT when nothing named one.
const defaultDeployment = "primary"

// deployment resolves $DEPLOYMENT as prometheus-service did.
func (r Request) deployment() string {
	if d, ok := r.Labels["deployment"]; ok {
		return d
	}
	if r.Deployment != "" {
		return r.Deployment
	}
	return defaultDeployment
}

// durationSeconds is $DURATION_SECONDS: the window rounded up to whole seconds, with an "s" suffix, so a
// window of 299.2 s reads "300s" and the range never misses the start of the window.
func (r Request) durationSeconds() string {
	d := r.End.Sub(r.Start)
	secs := d / time.Second
	if d%time.Second > 0 {
		secs++
	}
	return strconv.FormatInt(int64(secs), 10) + "s"
}

// stripQuotes removes every quote from a filter value, as prometheus-service did before using it, so
// `filter: {handler: "'ItemsController'"}` means the same as `handler: ItemsController`.
func stripQuotes(v string) string {
	return strings.NewReplacer("'", "", `"`, "").Replace(v)
}

// ReplacePlaceholders fills in the placeholders of an sli.yaml query the way Keptn's prometheus-service
// did: $<filterKey> and $<FILTERKEY> from r.Filters (quotes removed), $PROJECT, $STAGE, $SERVICE,
// $DEPLOYMENT, $LABEL.<key>, and $DURATION_SECONDS. Unknown placeholders stay as written, so Prometheus
// reports them.
//
// prometheus-service replaced one placeholder after another, in an order that followed Go's random map
// iteration for filters and labels, so a filter named "d" could eat the "$D" of "$DURATION_SECONDS" and
// "$id" could eat the start of "$id2". Here every placeholder is replaced in a single pass that prefers the
// longest match; where two sources give the same placeholder, filters win over the built-in names, as
// they did in prometheus-service, which replaced filters first.
func ReplacePlaceholders(query string, r Request) string {
	values := map[string]string{}
	set := func(placeholder, value string) {
		if _, taken := values[placeholder]; !taken {
			values[placeholder] = value
		}
	}
	for _, key := range slices.Sorted(maps.Keys(r.Filters)) {
		if key == "" {
			continue // "$" alone would replace every dollar sign left in the query
		}
		v := stripQuotes(r.Filters[key])
		set("$"+key, v)
		set("$"+strings.ToUpper(key), v)
	}
	set("$PROJECT", r.Project)
	set("$STAGE", r.Stage)
	set("$SERVICE", r.Service)
	set("$DEPLOYMENT", r.deployment())
	for key, v := range r.Labels {
		set("$LABEL."+key, v)
	}
	set("$DURATION_SECONDS", r.durationSeconds())

	// strings.Replacer tries its pairs in argument order at each position, so sorting the longest first
	// makes it take the longest placeholder that matches.
	placeholders := slices.SortedFunc(maps.Keys(values), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(placeholders))
	for _, p := range placeholders {
		pairs = append(pairs, p, values[p])
	}
	return strings.NewReplacer(pairs...).Replace(query)
}

// builtinQuery returns Keptn's default query for the built-in SLIs (throughput, error_rate,
// response_time_p50/p90/p95), written exactly as prometheus-service wrote it, or false for any other name.
func builtinQuery(indicator string, r Request) (string, bool) {
	sel := builtinSelector(r)
	d := r.durationSeconds()
	switch indicator {
	case "throughput":
		return "sum(rate(http_requests_total{" + sel + "}[" + d + "]))", true
	case "error_rate":
		// A fraction, not a percentage: the tutorial's sli.yaml multiplies by 100, the built-in never did.
		return "sum(rate(http_requests_total{" + sel + ",status!~'2..'}[" + d + "]))/sum(rate(http_requests_total{" + sel + "}[" + d + "]))", true
	case "response_time_p50", "response_time_p90", "response_time_p95":
		q := strings.TrimPrefix(indicator, "response_time_p")
		return "histogram_quantile(0." + q + ",sum(rate(http_response_time_milliseconds_bucket{" + sel + "}[" + d + "]))by(le))", true
	}
	return "", false
}

// builtinSelector is the label matcher list of the built-in queries: every SLO filter as a matcher, led
// by job='<service>-<project>-<stage>-canary' unless a filter sets job. A value that starts with an
// operator (=, !=, =~, !~) is used as written, with double quotes turned into single ones; any other value
// is matched exactly. Filters are taken in key order so that the same SLO always gives the same query
// (prometheus-service followed the SLO's order, which Go's maps did not keep).
func builtinSelector(r Request) string {
	var matchers []string
	if _, ok := r.Filters["job"]; !ok {
		matchers = append(matchers, "job='"+r.Service+"-"+r.Project+"-"+r.Stage+"-canary'")
	}
	for _, key := range slices.Sorted(maps.Keys(r.Filters)) {
		v := r.Filters[key]
		if strings.HasPrefix(v, "=") || strings.HasPrefix(v, "!=") || strings.HasPrefix(v, "!~") {
			// "=~" starts with "=", so the three prefixes cover all four operators.
			matchers = append(matchers, key+strings.ReplaceAll(v, `"`, "'"))
			continue
		}
		matchers = append(matchers, key+"='"+stripQuotes(v)+"'")
	}
	return strings.Join(matchers, ",")
}

// queryFor is the final PromQL for one indicator: its sli.yaml query with placeholders replaced, else
// Keptn's built-in query, else false. A blank sli.yaml query counts as none, as it did in Keptn.
func queryFor(indicator string, r Request) (string, bool) {
	if q := r.Queries[indicator]; strings.TrimSpace(q) != "" {
		return ReplacePlaceholders(q, r), true
	}
	return builtinQuery(indicator, r)
}
