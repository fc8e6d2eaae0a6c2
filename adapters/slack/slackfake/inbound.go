package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sign sets the headers Slack signs a request with: X-Slack-Request-Timestamp, and X-Slack-Signature,
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
func Sign(h http.Header, secret string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// SignedRequest is a form POST to url as Slack sends it, signed at time at.
func SignedRequest(t testing.TB, url, secret string, at time.Time, form url.Values) *http.Request {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	Sign(req.Header, secret, at, []byte(body))
	return req
}

// CommandForm is the form Slack posts for /deliver TEXT typed by user in channel.
func (s *Server) CommandForm(channel, user, text, triggerID string) url.Values {
	return url.Values{
		"token": {"deprecated-verification-token"}, "team_id": {"T0001"}, "team_domain": {"fake"},
		"channel_id": {channel}, "channel_name": {"releases"}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {"/deliver"}, "text": {text}, "api_app_id": {"A0001"}, "response_url": {s.ResponseURL(triggerID)},
		"trigger_id": {triggerID},
	}
}

// InteractionForm is the form Slack posts for interactivity: the payload as JSON in "payload".
func InteractionForm(payload any) url.Values {
	raw, _ := json.Marshal(payload)
	return url.Values{"payload": {string(raw)}}
}

// BlockActionPayload is a block_actions payload for a button click, as Slack sends it.
func (s *Server) BlockActionPayload(channel, user, messageTS, threadTS, actionID, blockID, value, triggerID string) map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": "T0001"},
		"api_app_id":   "A0001",
		"token":        "deprecated-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": messageTS, "thread_ts": threadTS, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   triggerID,
		"team":         map[string]any{"id": "T0001", "domain": "fake"},
		"channel":      map[string]any{"id": channel, "name": "releases"},
		"message":      map[string]any{"type": "message", "ts": messageTS, "thread_ts": threadTS, "text": ""},
		"response_url": s.ResponseURL(triggerID),
		"actions": []any{map[string]any{"action_id": actionID, "block_id": blockID, "value": value, "type": "button",
			"action_ts": "1700000001.000001"}},
	}
}

// ViewSubmissionPayload is a view_submission payload: a modal submitted with values by block and
// action id.
func ViewSubmissionPayload(user, callbackID, privateMetadata, triggerID string, values map[string]map[string]string) map[string]any {
	state := map[string]any{}
	for block, actions := range values {
		m := map[string]any{}
		for action, v := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": v}
		}
		state[block] = m
	}
	return map[string]any{
		"type":       "view_submission",
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": "T0001"},
		"team":       map[string]any{"id": "T0001", "domain": "fake"},
		"api_app_id": "A0001",
		"trigger_id": triggerID,
		"view": map[string]any{"id": "V0001", "type": "modal", "callback_id": callbackID, "private_metadata": privateMetadata,
			"state": map[string]any{"values": state}},
	}
}
