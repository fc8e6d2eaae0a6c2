package slackfake

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/shipgate/shipgate/adapters/chatfake/contract"
)

// contractTypes are the published types (or the contract prelude's) of the bodies of the calls
// ContractPayloads checks.
var contractTypes = map[string]string{
	"chat.postMessage":   "ChatPostMessageArguments",
	"chat.update":        "ChatUpdateArguments",
	"chat.postEphemeral": "ChatPostEphemeralArguments",
	"views.open":         "ViewsOpenArguments",
	// files.uploadV2's two Web API calls (the bytes in between go to an upload URL, not the Web API).
	"files.getUploadURLExternal":   "FilesGetUploadURLExternalArguments",
	"files.completeUploadExternal": "FilesCompleteUploadExternalArguments",
	"response_url":                 "SlackResponseURLMessage",
}

// Form arguments Slack reads as JSON text, as booleans, and as numbers.
var (
	jsonArgs   = []string{"blocks", "attachments", "metadata", "view", "files"}
	boolArgs   = []string{"reply_broadcast", "unfurl_links", "unfurl_media", "mrkdwn", "as_user", "link_names"}
	numberArgs = []string{"length"}
)

// ContractPayloads returns the bodies of the calls the fake answered successfully, of the methods
// whose arguments Slack publishes a type for (chat.postMessage, chat.update, chat.postEphemeral,
// views.open) and of response_url calls, for contract.Check. A form-encoded call (slack-go sends the
// chat methods as forms) becomes the JSON object Slack's server reads from it: blocks, attachments,
// metadata and view parsed as JSON, the boolean arguments as booleans, the rest as strings, without
// the token. A JSON body (views.open, response_url) is taken as it is.
func (s *Server) ContractPayloads() []contract.Payload {
	var out []contract.Payload
	for _, c := range s.Calls() {
		typ, ok := contractTypes[c.Method]
		if !ok || c.Status != http.StatusOK || c.Error != "" {
			continue
		}
		body := c.Body
		if c.Form != nil {
			b, err := json.Marshal(formArguments(c.Form))
			if err != nil {
				continue // cannot happen: the values are strings, booleans and valid JSON
			}
			body = b
		}
		out = append(out, contract.Payload{Type: typ, What: c.Method, JSON: body})
	}
	return out
}

// formArguments is the JSON object Slack reads from a form-encoded Web API call: blocks,
// attachments, metadata and view as the JSON they hold (as a string when they do not hold JSON, so
// that a type check fails on it); reply_broadcast, unfurl_links, unfurl_media, mrkdwn, as_user and
// link_names as booleans when they are "true" or "false"; every other argument as its string, the
// first when it was sent more than once. The token is left out: it authenticates the call and is not
// one of its arguments.
func formArguments(form map[string][]string) map[string]any {
	args := make(map[string]any, len(form))
	for _, k := range slices.Sorted(maps.Keys(form)) {
		if k == "token" || len(form[k]) == 0 {
			continue
		}
		v := form[k][0]
		switch {
		case slices.Contains(jsonArgs, k) && json.Valid([]byte(v)):
			args[k] = json.RawMessage(v)
		case slices.Contains(boolArgs, k) && (v == "true" || v == "false"):
			args[k] = v == "true"
		case slices.Contains(numberArgs, k) && isNumber(v):
			args[k] = json.Number(v)
		default:
			args[k] = v
		}
	}
	return args
}

// isNumber says v is a JSON number, as a form's numeric argument must be to be read as one.
func isNumber(v string) bool {
	var n json.Number
	return json.Unmarshal([]byte(v), &n) == nil
}

// SlashCommandResponse is the body of the HTTP answer a handler gave to a slash command, for
// contract.Check.
func SlashCommandResponse(body []byte) contract.Payload {
	return contract.Payload{Type: "SlackSlashCommandResponse", What: "slash_command.response", JSON: body}
}
