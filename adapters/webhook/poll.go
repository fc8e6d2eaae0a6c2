package webhook

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/store"
)

// pollOutcome is how polling a long-running job ended. Exactly one of result, failed and stopped is set.
type pollOutcome struct {
	result  store.Result // pass, fail or warning: the job finished
	failed  *outcome     // a poll that got no usable answer, after its retries
	why     string       // why failed's answer is unusable when its status is fine ("response is not JSON")
	stopped error        // the task's ctx ended first

	polls  int    // polls that were answered
	status string // the last status value read
	found  bool   // whether the last answer had the status field
	last   any    // the last answer, decoded
	code   int    // the last answer's status code
}

// poll asks req every interval until the job's status says it finished. The first poll waits an
// interval too: the job was started a moment ago. Each poll is retried like the first call; only the
// task's deadline (ctx) bounds how long the job may run.
func (c *caller) poll(ctx context.Context, ps *pollSettings, req request) pollOutcome {
	var p pollOutcome
	for {
		if !sleep(ctx, ps.interval) {
			p.stopped = ctx.Err()
			return p
		}
		o := c.call(ctx, req, is2xx)
		if o.stopped != nil {
			p.stopped = o.stopped
			return p
		}
		if o.resp == nil || !is2xx(o.resp.code) {
			p.failed = &o
			return p
		}
		p.polls++
		p.code = o.resp.code
		if err := json.Unmarshal(o.resp.body, &p.last); err != nil {
			p.failed, p.why = &o, "response is not JSON"
			if o.resp.truncated {
				p.why = "response is longer than max_response"
			}
			return p
		}
		v, ok := lookupPath(p.last, ps.statusField)
		p.found = ok
		if !ok {
			// The job record may not show a status yet; a field that never appears runs into the deadline,
			// whose message says it was missing.
			c.log.Debug("poll answer has no status field", "field", ps.statusField, "polls", p.polls)
			continue
		}
		p.status = statusString(v)
		c.log.Debug("polled", "status", c.redact.string(p.status), "polls", p.polls)
		for _, o := range []struct {
			values []string
			result store.Result
		}{{ps.pass, store.ResultPass}, {ps.fail, store.ResultFail}, {ps.warning, store.ResultWarning}} {
			if containsFold(o.values, p.status) {
				p.result = o.result
				return p
			}
		}
	}
}

func is2xx(code int) bool { return code >= 200 && code <= 299 }

// lookupPath follows a dotted path such as job.state or builds.0.status into decoded JSON; a numeric
// element indexes an array.
func lookupPath(v any, path string) (any, bool) {
	for key := range strings.SplitSeq(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// statusString is a status value as executors.yaml lists them: strings as they are, numbers and booleans
// as YAML would write them, anything else as JSON.
func statusString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(v) // decoded JSON always encodes
		return string(b)
	}
}

// containsFold reports whether list holds s, ignoring case: CI systems disagree on SUCCESS and success.
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
