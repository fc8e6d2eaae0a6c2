package discordfake

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// kind is the JSON type Discord expects of a body field.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kArray
	kObject
	kSnowflake // a string of digits, or an integer
	kIntOrString
	kNumber
)

// field is one body field as Discord's reference types it: its kind, and whether null is allowed.
type field struct {
	kind     kind
	nullable bool
}

// A body's fields, as each route's documentation lists them. A field of the wrong type, null where the
// documentation gives no "?" nullable mark (null for an array among them), or a field the route does
// not document is refused with Discord's 400 code 50035 "Invalid Form Body" (opcodes-and-status-codes:
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json). Discord itself ignores
// fields it does not know; the fake refuses them, being stricter than the platform, so that a key no
// published type has (discordgo's untagged ID and Channel, a thread's "invitable") fails a test.
var (
	// https://discord.com/developers/docs/resources/message#create-message-jsonform-params
	messageCreateFields = map[string]field{
		"content": {kind: kString}, "nonce": {kind: kIntOrString}, "tts": {kind: kBool}, "embeds": {kind: kArray},
		"allowed_mentions": {kind: kObject}, "message_reference": {kind: kObject}, "components": {kind: kArray},
		"sticker_ids": {kind: kArray}, "attachments": {kind: kArray}, "flags": {kind: kInt},
		"enforce_nonce": {kind: kBool}, "poll": {kind: kObject},
	}
	// https://discord.com/developers/docs/resources/message#edit-message-jsonform-params: every field is
	// nullable there.
	messageEditFields = map[string]field{
		"content": {kString, true}, "embeds": {kArray, true}, "flags": {kInt, true}, "allowed_mentions": {kObject, true},
		"components": {kArray, true}, "attachments": {kArray, true},
	}
	// https://discord.com/developers/docs/resources/channel#start-thread-from-message-json-params
	threadFromMessageFields = map[string]field{
		"name": {kind: kString}, "auto_archive_duration": {kind: kInt}, "rate_limit_per_user": {kInt, true},
	}
	// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object
	callbackFields = map[string]field{"type": {kind: kInt}, "data": {kind: kObject}}
	// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-messages
	callbackMessageFields = map[string]field{
		"tts": {kind: kBool}, "content": {kind: kString}, "embeds": {kind: kArray}, "allowed_mentions": {kind: kObject},
		"flags": {kind: kInt}, "components": {kind: kArray}, "attachments": {kind: kArray}, "poll": {kind: kObject},
	}
	// The data of a deferred message response (type 5): only the ephemeral flag may be set.
	callbackDeferredFields = map[string]field{"flags": {kind: kInt}}
	// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete
	callbackAutocompleteFields = map[string]field{"choices": {kind: kArray}}
	// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal
	callbackModalFields = map[string]field{"custom_id": {kind: kString}, "title": {kind: kString}, "components": {kind: kArray}}
	// https://discord.com/developers/docs/resources/webhook#edit-webhook-message-jsonform-params
	webhookEditFields = map[string]field{
		"content": {kString, true}, "embeds": {kArray, true}, "allowed_mentions": {kObject, true},
		"components": {kArray, true}, "attachments": {kArray, true}, "poll": {kObject, true}, "flags": {kInt, true},
	}
	// https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message
	// (the execute-webhook params, less those an interaction cannot use)
	followupFields = map[string]field{
		"content": {kind: kString}, "tts": {kind: kBool}, "embeds": {kind: kArray}, "allowed_mentions": {kind: kObject},
		"components": {kind: kArray}, "attachments": {kind: kArray}, "flags": {kind: kInt}, "poll": {kind: kObject},
	}
	// https://discord.com/developers/docs/resources/message#allowed-mentions-object
	allowedMentionsFields = map[string]field{
		"parse": {kind: kArray}, "roles": {kind: kArray}, "users": {kind: kArray}, "replied_user": {kind: kBool},
	}
)

var (
	// https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
	// takes application command objects:
	// https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-structure
	commandFields = map[string]field{
		"id": {kind: kSnowflake}, "name": {kind: kString}, "name_localizations": {kObject, true}, "description": {kind: kString},
		"description_localizations": {kObject, true}, "options": {kind: kArray}, "default_member_permissions": {kString, true},
		"dm_permission": {kBool, true}, "default_permission": {kBool, true}, "integration_types": {kind: kArray},
		"contexts": {kArray, true}, "type": {kind: kInt}, "nsfw": {kind: kBool}, "handler": {kind: kInt},
	}
	// https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-structure
	optionFields = map[string]field{
		"type": {kind: kInt}, "name": {kind: kString}, "name_localizations": {kObject, true}, "description": {kind: kString},
		"description_localizations": {kObject, true}, "required": {kind: kBool}, "choices": {kind: kArray},
		"options": {kind: kArray}, "channel_types": {kind: kArray}, "min_value": {kind: kNumber}, "max_value": {kind: kNumber},
		"min_length": {kind: kInt}, "max_length": {kind: kInt}, "autocomplete": {kind: kBool},
	}
	// https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-choice-structure
	choiceFields = map[string]field{"name": {kind: kString}, "name_localizations": {kObject, true}, "value": {kind: kIntOrString}}
)

// maxAllowedMentions is how many roles, and how many users, allowed_mentions may name.
const maxAllowedMentions = 100

// checkDocumented is checkFields, and checkAllowedMentions on the body's allowed_mentions.
func checkDocumented(fe *formErrors, prefix string, body map[string]any, fields map[string]field) {
	checkFields(fe, prefix, body, fields)
	if am, ok := body["allowed_mentions"]; ok {
		checkAllowedMentions(fe, join(prefix, "allowed_mentions"), am)
	}
}

// checkFields refuses the fields of body that are not in fields, or not of their documented type.
func checkFields(fe *formErrors, prefix string, body map[string]any, fields map[string]field) {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := join(prefix, k)
		f, ok := fields[k]
		if !ok {
			fe.add(at, "UNKNOWN_FIELD", "This field is not documented for this route (the fake is stricter than Discord, which ignores it)")
			continue
		}
		checkKind(fe, at, body[k], f)
	}
}

func checkKind(fe *formErrors, at string, v any, f field) {
	if v == nil {
		if !f.nullable {
			fe.add(at, nullCode(f.kind), "This field cannot be null")
		}
		return
	}
	switch f.kind {
	case kString:
		if _, ok := v.(string); !ok {
			fe.add(at, "BASE_TYPE_STRING", "Must be a string.")
		}
	case kInt:
		if n, ok := v.(float64); !ok || n != math.Trunc(n) {
			fe.add(at, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value \"%v\" is not int.", v))
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			fe.add(at, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
		}
	case kArray:
		if _, ok := v.([]any); !ok {
			fe.add(at, "BASE_TYPE_ARRAY", "Must be an array.")
		}
	case kObject:
		if _, ok := v.(map[string]any); !ok {
			fe.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
		}
	case kNumber:
		if _, ok := v.(float64); !ok {
			fe.add(at, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value \"%v\" is not a number.", v))
		}
	case kSnowflake:
		if !isSnowflake(v) {
			fe.add(at, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value \"%v\" is not snowflake.", v))
		}
	case kIntOrString:
		switch v.(type) {
		case string, float64:
		default:
			fe.add(at, "BASE_TYPE_STRING", "Must be a string or an integer.")
		}
	}
}

// nullCode is the code Discord gives a null where a value of kind k is required.
func nullCode(k kind) string {
	switch k {
	case kArray:
		return "BASE_TYPE_ARRAY"
	case kObject:
		return "DICT_TYPE_CONVERT"
	case kString:
		return "BASE_TYPE_STRING"
	case kBool:
		return "BASE_TYPE_BOOLEAN"
	}
	return "NUMBER_TYPE_COERCE"
}

func isSnowflake(v any) bool {
	switch s := v.(type) {
	case string:
		if s == "" || len(s) > 20 {
			return false
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	case float64:
		return s >= 0 && s == math.Trunc(s)
	}
	return false
}

// checkAllowedMentions checks an allowed_mentions object: its fields, the parse types, and the ids
// (https://discord.com/developers/docs/resources/message#allowed-mentions-object): at most 100 roles and
// 100 users, and "users" (or "roles") not both listed and in parse, which Discord refuses as mutually
// exclusive.
func checkAllowedMentions(fe *formErrors, at string, v any) {
	am, ok := v.(map[string]any)
	if !ok {
		return // a wrong type or null is refused by checkFields already
	}
	checkFields(fe, at, am, allowedMentionsFields)
	parse := arr(am, "parse")
	for i, p := range parse {
		if s, _ := p.(string); !slices.Contains([]string{"roles", "users", "everyone"}, s) {
			fe.add(join(join(at, "parse"), i), "BASE_TYPE_CHOICES", `Value must be one of ('roles', 'users', 'everyone').`)
		}
	}
	for _, list := range []string{"users", "roles"} {
		ids := arr(am, list)
		if !fe.maxItems(join(at, list), ids, maxAllowedMentions) {
			continue
		}
		for i, id := range ids {
			checkKind(fe, join(join(at, list), i), id, field{kind: kSnowflake})
		}
		if len(ids) > 0 && slices.Contains(parse, any(list)) {
			fe.add(join(at, "parse"), "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
				fmt.Sprintf("parse:[%q] and %s: [ids...] are mutually exclusive.", list, list))
		}
	}
}
