package slackfake

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Slack's limits, from the Block Kit and chat method references. The fake enforces them so
// that tests prove a client stays within them instead of finding out in production.
const (
	maxPostText      = 40000 // chat.postMessage and chat.postEphemeral text
	maxUpdateText    = 4000  // chat.update text
	maxMessageBlocks = 50
	maxModalBlocks   = 100
	maxSectionText   = 3000
	maxSectionFields = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxActionsItems  = 25
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxActionID      = 255
	maxBlockID       = 255
	maxViewTitle     = 24 // title, submit and close of a modal
	maxCallbackID    = 255
	maxPrivateMeta   = 3000
)

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// textOf returns the "text" of a text object, "" if v is not one.
func textOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	return s
}

// checkBlocks checks a blocks array as Slack does and returns why it refuses it, in the style
// of Slack's response_metadata messages, or "" when the blocks are fine.
func checkBlocks(raw json.RawMessage, maxBlocks int, rejectTables bool) string {
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Sprintf("blocks are not a JSON array: %v", err)
	}
	if len(blocks) > maxBlocks {
		return fmt.Sprintf("no more than %d items allowed [json-pointer:/blocks]", maxBlocks)
	}
	seen := map[string]bool{}
	for i, v := range blocks {
		at := fmt.Sprintf("/blocks/%d", i)
		b, ok := v.(map[string]any)
		if !ok {
			return "a block must be an object [json-pointer:" + at + "]"
		}
		typ, _ := b["type"].(string)
		if typ == "" {
			return "missing required field: type [json-pointer:" + at + "]"
		}
		if id, ok := b["block_id"].(string); ok {
			if runeLen(id) > maxBlockID {
				return fmt.Sprintf("must be less than %d characters [json-pointer:%s/block_id]", maxBlockID+1, at)
			}
			if seen[id] {
				return "duplicate block_id " + id + " [json-pointer:" + at + "/block_id]"
			}
			seen[id] = true
		}
		if detail := checkBlock(typ, b, at, rejectTables); detail != "" {
			return detail
		}
		if detail := checkElements(b, at); detail != "" {
			return detail
		}
	}
	return ""
}

// checkBlock applies the limits of one block type.
func checkBlock(typ string, b map[string]any, at string, rejectTables bool) string {
	switch typ {
	case "table":
		if rejectTables {
			return "unsupported type: table [json-pointer:" + at + "]"
		}
	case "header":
		if n := runeLen(textOf(b["text"])); n > maxHeaderText {
			return fmt.Sprintf("must be less than %d characters [json-pointer:%s/text/text]", maxHeaderText+1, at)
		}
	case "section":
		if n := runeLen(textOf(b["text"])); n > maxSectionText {
			return fmt.Sprintf("must be less than %d characters [json-pointer:%s/text/text]", maxSectionText+1, at)
		}
		fields, _ := b["fields"].([]any)
		if len(fields) > maxSectionFields {
			return fmt.Sprintf("no more than %d items allowed [json-pointer:%s/fields]", maxSectionFields, at)
		}
		for j, f := range fields {
			if runeLen(textOf(f)) > maxFieldText {
				return fmt.Sprintf("must be less than %d characters [json-pointer:%s/fields/%d/text]", maxFieldText+1, at, j)
			}
		}
	case "actions":
		if els, _ := b["elements"].([]any); len(els) > maxActionsItems {
			return fmt.Sprintf("no more than %d items allowed [json-pointer:%s/elements]", maxActionsItems, at)
		}
	}
	return ""
}

// checkElements walks everything inside a block, because interactive elements sit in actions
// blocks, section accessories and input blocks alike, and applies the element limits.
func checkElements(v any, at string) string {
	switch v := v.(type) {
	case map[string]any:
		if id, ok := v["action_id"].(string); ok && runeLen(id) > maxActionID {
			return fmt.Sprintf("must be less than %d characters [json-pointer:%s/action_id]", maxActionID+1, at)
		}
		if v["type"] == "button" {
			if val, _ := v["value"].(string); runeLen(val) > maxButtonValue {
				return fmt.Sprintf("must be less than %d characters [json-pointer:%s/value]", maxButtonValue+1, at)
			}
			if runeLen(textOf(v["text"])) > maxButtonText {
				return fmt.Sprintf("must be less than %d characters [json-pointer:%s/text/text]", maxButtonText+1, at)
			}
		}
		for k, child := range v {
			if detail := checkElements(child, at+"/"+k); detail != "" {
				return detail
			}
		}
	case []any:
		for i, child := range v {
			if detail := checkElements(child, fmt.Sprintf("%s/%d", at, i)); detail != "" {
				return detail
			}
		}
	}
	return ""
}

// checkModal checks the view of views.open as Slack does and returns it decoded, or why Slack
// would refuse it.
func checkModal(raw json.RawMessage) (map[string]any, string) {
	var view map[string]any
	if err := json.Unmarshal(raw, &view); err != nil || view == nil {
		return nil, "view is not a JSON object"
	}
	if view["type"] != "modal" {
		return nil, fmt.Sprintf("view type must be modal, not %v [json-pointer:/view/type]", view["type"])
	}
	title := textOf(view["title"])
	if title == "" {
		return nil, "missing required field: title [json-pointer:/view/title]"
	}
	for _, k := range []string{"title", "submit", "close"} {
		if runeLen(textOf(view[k])) > maxViewTitle {
			return nil, fmt.Sprintf("must be less than %d characters [json-pointer:/view/%s/text]", maxViewTitle+1, k)
		}
	}
	if id, _ := view["callback_id"].(string); runeLen(id) > maxCallbackID {
		return nil, fmt.Sprintf("must be less than %d characters [json-pointer:/view/callback_id]", maxCallbackID+1)
	}
	if md, _ := view["private_metadata"].(string); runeLen(md) > maxPrivateMeta {
		return nil, fmt.Sprintf("must be less than %d characters [json-pointer:/view/private_metadata]", maxPrivateMeta+1)
	}
	if blocks, ok := view["blocks"]; ok {
		raw, _ := json.Marshal(blocks)
		if detail := checkBlocks(raw, maxModalBlocks, false); detail != "" {
			return nil, detail
		}
	}
	return view, ""
}
