package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VerificationToken is the deprecated verification token the built payloads carry. Slack still
// sends one; receivers should ignore it and check the signature instead.
const VerificationToken = "deprecated-verification-token"

// ChannelName is the channel name the built payloads give every channel.
const ChannelName = "releases"

// Sign sets the headers Slack signs a request with: X-Slack-Request-Timestamp, the Unix time
// at in seconds, and X-Slack-Signature, "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp +
// ":" + body)).
func Sign(h http.Header, secret string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// SignedRequest builds a POST of form to url, Content-Type application/x-www-form-urlencoded,
// signed with secret at time at, as Slack posts slash commands and interactions. It can be sent
// with an http.Client or served to a handler directly.
func SignedRequest(t testing.TB, url, secret string, at time.Time, form url.Values) *http.Request {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("slackfake: signed request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	Sign(req.Header, secret, at, []byte(body))
	return req
}

// CommandForm is the form Slack posts when user types "/deliver text" in channel. Its
// response_url is s.ResponseURL(triggerID), issued now, so the answers posted there are recorded.
func (s *Server) CommandForm(channel, user, text, triggerID string) url.Values {
	return url.Values{
		"token":        {VerificationToken},
		"team_id":      {TeamID},
		"team_domain":  {TeamDomain},
		"channel_id":   {channel},
		"channel_name": {ChannelName},
		"user_id":      {user},
		"user_name":    {strings.ToLower(user)},
		"command":      {"/deliver"},
		"text":         {text},
		"api_app_id":   {AppID},
		"response_url": {s.ResponseURL(triggerID)},
		"trigger_id":   {triggerID},
	}
}

// InteractionForm is the form Slack posts for interactivity: payload=<the payload as JSON>.
// payload is marshalled unless it already is JSON ([]byte, json.RawMessage or string). It
// panics if payload cannot be marshalled, which only a test's own mistake can cause.
func InteractionForm(payload any) url.Values {
	var raw []byte
	switch p := payload.(type) {
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	case string:
		raw = []byte(p)
	default:
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			panic(fmt.Sprintf("slackfake: interaction payload: %v", err))
		}
	}
	return url.Values{"payload": {string(raw)}}
}

func userJSON(user string) map[string]any {
	return map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": TeamID}
}

func teamJSON() map[string]any { return map[string]any{"id": TeamID, "domain": TeamDomain} }

// BlockActionPayload builds the block_actions payload Slack sends when user clicks the button
// actionID (in block blockID, with value) of the message messageTS in channel; threadTS is the
// thread the message is in, "" for a top-level message. When the fake holds that message, the
// payload's message carries its current text and blocks, as Slack's does. response_url is
// s.ResponseURL(triggerID), issued now.
func (s *Server) BlockActionPayload(channel, user, messageTS, threadTS, actionID, blockID, value, triggerID string) map[string]any {
	msg := map[string]any{"type": "message", "ts": messageTS, "text": "", "user": BotUserID, "bot_id": BotID, "team": TeamID}
	s.mu.Lock()
	s.actionSeq++
	actionTS := fmt.Sprintf("%d.%06d", 1700000001+s.actionSeq/1000000, s.actionSeq%1000000)
	if m, ok := s.byTS[msgKey{channel, messageTS}]; ok {
		msg = messageJSON(m)
	}
	s.mu.Unlock()
	container := map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": false}
	if threadTS != "" {
		msg["thread_ts"] = threadTS
		container["thread_ts"] = threadTS
	}
	return map[string]any{
		"type":         "block_actions",
		"user":         userJSON(user),
		"api_app_id":   AppID,
		"token":        VerificationToken,
		"container":    container,
		"trigger_id":   triggerID,
		"team":         teamJSON(),
		"enterprise":   nil,
		"channel":      map[string]any{"id": channel, "name": ChannelName},
		"message":      msg,
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": s.ResponseURL(triggerID),
		"actions": []any{map[string]any{
			"action_id": actionID, "block_id": blockID, "value": value, "type": "button", "action_ts": actionTS,
		}},
	}
}

// ViewSubmissionPayload builds the view_submission payload Slack sends when user submits the
// modal callbackID with privateMetadata. values holds the plain_text_input values by block id
// and action id.
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
		"user":       userJSON(user),
		"team":       teamJSON(),
		"api_app_id": AppID,
		"token":      VerificationToken,
		"trigger_id": triggerID,
		"view": map[string]any{
			"id": "V0001", "team_id": TeamID, "type": "modal", "callback_id": callbackID,
			"private_metadata": privateMetadata, "state": map[string]any{"values": state},
			"hash": "1700000000.hash0001", "app_id": AppID, "bot_id": BotID, "blocks": []any{},
		},
		"response_urls": []any{},
	}
}
