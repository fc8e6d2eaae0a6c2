package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Slack's limits on a response_url: it works "up to 5 times within 30 minutes"
// (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses).
const (
	maxResponseUses     = 5
	responseURLLifetime = 30 * time.Minute
)

// issuedURL is a response_url the fake handed out: when, and how often it has been used since.
type issuedURL struct {
	at   time.Time
	uses int
}

// ResponseURL issues the response_url for id, as Slack issues one with each slash command and
// interaction, and returns it. Only issued URLs work; the first issue of an id starts its 30 minutes
// (by the fake's clock, see WithClock), and issuing it again changes nothing. A POST of JSON there is
// recorded as a Call with Method "response_url" and ResponseID id.
func (s *Server) ResponseURL(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.responses[id]; !ok {
		s.responses[id] = &issuedURL{at: s.now()}
	}
	return s.URL + "/response/" + id
}

// Responses returns the recorded calls to the response_url of id, in arrival order.
func (s *Server) Responses(id string) []Call {
	return slices.DeleteFunc(s.CallsTo("response_url"), func(c Call) bool { return c.ResponseID != id })
}

func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	c := Call{Method: "response_url", ResponseID: id, Body: body}
	var msg map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	p := params{js: msg}
	if err == nil {
		c.Text, c.ThreadTS, c.Blocks = p.str("text"), p.str("thread_ts"), p.raw("blocks")
		c.Broadcast = truthy(p.str("reply_broadcast"))
		c.ResponseType = p.str("response_type")
		c.ReplaceOriginal, c.DeleteOriginal = truthy(p.str("replace_original")), truthy(p.str("delete_original"))
	}

	s.mu.Lock()
	var rep reply
	if r.Method != http.MethodPost {
		rep = errReply("method_not_allowed", "response_url takes POST")
		rep.status = http.StatusMethodNotAllowed
	} else if refused, ok := s.useResponseURL(id); !ok {
		rep = refused
	} else if f, failing := s.takeFailure("response_url"); failing {
		rep = failureReply(f)
	} else if err != nil {
		rep = errReply("invalid_payload", err.Error())
		rep.status = http.StatusBadRequest
	} else {
		rep = s.checkResponse(p)
	}
	c.Status, c.Error, c.Detail = rep.status, rep.code(), rep.detail()
	s.record(c)
	s.mu.Unlock()
	rep.write(w)
}

// useResponseURL counts one use of the response_url of id, or answers why Slack refuses it. Every
// POST to a live URL is a use, whatever its answer: stricter than Slack may be, so a client that fits
// the fake fits Slack. The caller holds s.mu.
func (s *Server) useResponseURL(id string) (reply, bool) {
	u, ok := s.responses[id]
	if !ok {
		// A URL Slack never issued is a webhook that does not exist: 404 no_service ("the webhook is
		// either disabled, removed, or invalid"), as https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
		// lists under "Handling errors".
		return urlRefused("no_service", "this response_url was never issued"), false
	}
	// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses: "up to 5
	// times within 30 minutes". The page gives the limits but not the answer past them; the fake
	// answers 404, as for any webhook no longer valid, with expired_url, or used_url for a sixth use.
	if s.now().Sub(u.at) > responseURLLifetime {
		return urlRefused("expired_url", "a response_url works for 30 minutes"), false
	}
	if u.uses >= maxResponseUses {
		return urlRefused("used_url", "a response_url works 5 times"), false
	}
	u.uses++
	return reply{}, true
}

func urlRefused(code, detail string) reply {
	rep := errReply(code, detail)
	rep.status = http.StatusNotFound
	return rep
}

// checkResponse validates a response_url message. Slack refuses a bad one with a 4xx status
// rather than ok:false, which is also the only thing slack.PostWebhook looks at.
func (s *Server) checkResponse(p params) reply {
	if truthy(p.str("delete_original")) {
		return okReply(nil)
	}
	rep, ok := s.checkContent(p, maxPostText, false)
	if !ok {
		rep.status = http.StatusBadRequest
		return rep
	}
	return okReply(nil)
}
