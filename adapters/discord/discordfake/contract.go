package discordfake

import (
	"bytes"
	"encoding/json"

	"github.com/shipgate/shipgate/adapters/chatfake/contract"
)

// contractTypes are discord-api-types' types of the bodies of the routes ContractPayloads checks.
// commands.overwrite is decided per call, by whether it is a guild's.
var contractTypes = map[string]string{
	RouteMessageCreate:       "RESTPostAPIChannelMessageJSONBody",
	RouteMessageEdit:         "RESTPatchAPIChannelMessageJSONBody",
	RouteThreadCreate:        "RESTPostAPIChannelMessagesThreadsJSONBody",
	RouteInteractionCallback: "APIInteractionResponse",
	RouteInteractionInline:   "APIInteractionResponse",
	RouteWebhookEditOriginal: "RESTPatchAPIInteractionOriginalResponseJSONBody",
	RouteWebhookEdit:         "RESTPatchAPIInteractionFollowupJSONBody",
	RouteWebhookFollowup:     "RESTPostAPIInteractionFollowupJSONBody",
}

// ContractPayloads returns the bodies of the calls the fake answered with a 2xx status, of the routes
// that send a message, a thread, an interaction response or application commands, for
// contract.Check. A JSON body is taken as it was sent; of a multipart one (a message with files), the
// payload_json part.
func (s *Server) ContractPayloads() []contract.Payload {
	var out []contract.Payload
	for _, c := range s.Calls() {
		if !c.OK() {
			continue
		}
		typ, ok := contractTypes[c.Route]
		if c.Route == RouteCommandsOverwrite {
			typ, ok = "RESTPutAPIApplicationCommandsJSONBody", true
			if c.GuildID != "" {
				typ = "RESTPutAPIApplicationGuildCommandsJSONBody"
			}
		}
		if !ok {
			continue
		}
		out = append(out, contract.Payload{Type: typ, What: c.Route, JSON: callJSON(c)})
	}
	return out
}

// callJSON is the JSON body of c: Raw when it is JSON, else (multipart) the decoded payload_json
// part, marshalled again.
func callJSON(c Call) []byte {
	if raw := bytes.TrimSpace(c.Raw); len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') && json.Valid(raw) {
		return raw
	}
	var v any = c.Body
	switch {
	case c.Array != nil:
		v = c.Array
	case c.Body == nil:
		v = map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}") // cannot happen: the values were decoded from JSON
	}
	return b
}
