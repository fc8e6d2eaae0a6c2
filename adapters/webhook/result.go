package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// snippetLen is how much of an unexpected answer's body a chat message quotes: enough for an error
// message, not a page of HTML.
const snippetLen = 200

// report turns what the calls did into the task's Result: a line for chat and the data later tasks see.
// Everything in it is redacted.
type report struct {
	task string
	s    *settings
	red  *redactor
	res  engine.Result  // Result, Status and Message
	data map[string]any // Result.Data[task]
}

// newReport reports the first call.
func newReport(task string, s *settings, red *redactor, req request, o outcome) *report {
	head := req.method + " " + red.string(displayURL(req.url))
	rep := &report{task: task, s: s, red: red, data: map[string]any{
		"attempts": o.attempts,
		"url":      red.string(req.url.Redacted()),
	}}
	if o.resp != nil {
		rep.data["statusCode"] = o.resp.code
		if obj, ok := decodeJSON(o.resp).(map[string]any); ok && s.resultData {
			rep.data["response"] = red.value(obj)
		}
	}
	switch {
	case o.stopped != nil:
		rep.res = errored(head + ": " + rep.stopped(o))
	case o.resp == nil:
		rep.res = errored(fmt.Sprintf("%s: no answer after %s: %s", head, plural(o.attempts, "attempt"), describeError(red, o.err)))
	case !s.expected(o.resp.code):
		rep.res = engine.Result{Result: store.ResultFail, Status: store.StatusSucceeded, Message: rep.answered(head, o, true)}
	default:
		rep.res = engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded, Message: rep.answered(head, o, false)}
	}
	return rep
}

// withPoll reports polling, after a first call that passed.
func (rep *report) withPoll(preq request, p pollOutcome) *report {
	line := rep.res.Message + ", "
	pd := map[string]any{"polls": p.polls, "url": rep.red.string(preq.url.Redacted())}
	if p.code != 0 {
		pd["statusCode"] = p.code
	}
	if p.found {
		pd["status"] = rep.red.string(p.status)
	}
	if obj, ok := p.last.(map[string]any); ok && rep.s.resultData {
		pd["response"] = rep.red.value(obj)
	}
	rep.data["poll"] = pd

	status := fmt.Sprintf("status %q", rep.red.string(p.status))
	switch {
	case p.stopped != nil:
		msg := fmt.Sprintf("polling stopped: %s after %s", stopReason(p.stopped), plural(p.polls, "poll"))
		switch {
		case p.found:
			msg += " (last " + status + ")"
		case p.polls > 0:
			msg += fmt.Sprintf(" (the answers have no %s)", rep.s.poll.statusField)
		}
		rep.res = errored(line + msg)
	case p.failed != nil:
		head := "poll " + preq.method + " " + rep.red.string(displayURL(preq.url))
		switch {
		case p.failed.resp == nil:
			rep.res = errored(fmt.Sprintf("%s%s: no answer after %s: %s", line, head, plural(p.failed.attempts, "attempt"), describeError(rep.red, p.failed.err)))
		case p.why != "":
			rep.res = errored(fmt.Sprintf("%s%s → %s: %s", line, head, p.failed.resp.status(), p.why))
		default:
			rep.res = errored(line + rep.answered(head, *p.failed, true))
		}
	default:
		verb := map[store.Result]string{store.ResultPass: "passed", store.ResultFail: "failed", store.ResultWarning: "passed with a warning"}[p.result]
		msg := fmt.Sprintf("job %s after %s", verb, plural(p.polls, "poll"))
		if p.result != store.ResultPass {
			msg += " (" + status + ")"
		}
		rep.res = engine.Result{Result: p.result, Status: store.StatusSucceeded, Message: line + msg}
	}
	return rep
}

// pollNotRendered reports a poll request that could not be rendered from the first answer, typically a
// field the answer did not have.
func (rep *report) pollNotRendered(err error) *report {
	rep.res = errored(rep.res.Message + ", but the poll request did not render: " + err.Error())
	return rep
}

// result is the task's Result.
func (rep *report) result() engine.Result {
	res := rep.res
	res.Data = map[string]any{rep.task: rep.data}
	return res
}

// answered is the line for a call that got an answer: the status and attempts, and with quote (an
// unexpected answer) the start of its body, which usually says what was wrong.
func (rep *report) answered(head string, o outcome, quote bool) string {
	msg := fmt.Sprintf("%s → %s (%s)", head, o.resp.status(), plural(o.attempts, "attempt"))
	if !quote {
		return msg
	}
	if s := snippet(rep.bodyText(o.resp)); s != "" {
		msg += ": " + s
	}
	return msg
}

// bodyText is an answer's body for a message, redacted. A JSON body is redacted value by value and
// encoded again, so that a secret escaped inside a string (an echoed request body) is found too.
func (rep *report) bodyText(resp *response) string {
	if v := decodeJSON(resp); v != nil {
		if text, err := toJSON(rep.red.value(v)); err == nil {
			return rep.red.string(text)
		}
	}
	return rep.red.string(string(resp.body))
}

// stopped says why a call ended unfinished and what it had got by then.
func (rep *report) stopped(o outcome) string {
	msg := fmt.Sprintf("stopped after %s: %s", plural(o.attempts, "attempt"), stopReason(o.stopped))
	switch {
	case o.resp != nil:
		msg += " (last answer " + o.resp.status() + ")"
	case o.err != nil && !errors.Is(o.err, context.Canceled) && !errors.Is(o.err, context.DeadlineExceeded):
		msg += " (last error: " + describeError(rep.red, o.err) + ")"
	}
	return msg
}

// stopReason says why the task's ctx ended.
func stopReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "task deadline reached"
	}
	return "task cancelled"
}

func errored(msg string) engine.Result {
	return engine.Result{Result: store.ResultFail, Status: store.StatusErrored, Message: msg}
}

// describeError is a failure to get an answer, for chat and logs: without the URL, which the client puts
// in its errors with the query string, and redacted.
func describeError(red *redactor, err error) string {
	return red.string(unwrapURLError(err).Error())
}

// snippet is the start of a body on one line.
func snippet(body string) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(body, "�")), " ")
	if utf8.RuneCountInString(s) <= snippetLen {
		return s
	}
	n := 0
	for i := range s {
		if n == snippetLen {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
