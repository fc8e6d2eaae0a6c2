package discordfake

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Discord's limits, from discord-api-docs (see docs/spec chat-platforms.md, "Discord limits").
// The fake enforces them so that tests prove a client stays within them instead of finding
// out in production.
const (
	maxContent          = 2000
	maxEmbeds           = 10
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooterText       = 2048
	maxAuthorName       = 256
	maxEmbedTotal       = 6000
	maxActionRows       = 5
	maxRowButtons       = 5
	maxButtonLabel      = 80
	maxURL              = 512
	maxCustomID         = 100
	maxSelectOptions    = 25
	maxSelectText       = 100 // option label, value and description
	maxPlaceholder      = 150
	maxModalTitle       = 45
	maxTextInputLabel   = 45
	maxTextInputValue   = 4000
	maxTextInputHint    = 100 // text input placeholder
	maxV2Components     = 40
	maxThreadName       = 100
	maxCommands         = 100
	maxCommandName      = 32
	maxDescription      = 100
	maxOptions          = 25
	maxChoices          = 25
	maxChoiceName       = 100
	maxChoiceValue      = 100

	flagEphemeral    = 1 << 6
	flagLoading      = 1 << 7
	flagComponentsV2 = 1 << 15
)

// archiveDurations are the auto_archive_duration values Discord accepts, in minutes.
var archiveDurations = []float64{60, 1440, 4320, 10080}

// commandName is Discord's pattern for chat-input command and option names; they must also be
// lowercase where the script has case.
var commandName = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// checkMessage checks the message fields of body present in it: content, embeds and
// components. prefix is the path of body in the request ("data" for a callback).
func checkMessage(fe *formErrors, prefix string, body map[string]any) {
	if v, ok := body["content"]; ok && v != nil {
		if s, isStr := v.(string); !isStr {
			fe.add(join(prefix, "content"), "BASE_TYPE_STRING", "Must be a string.")
		} else {
			fe.maxLen(join(prefix, "content"), s, maxContent)
		}
	}
	if present(body, "embeds") {
		checkEmbeds(fe, join(prefix, "embeds"), body["embeds"])
	}
	if present(body, "components") {
		flags, _ := num(body, "flags")
		checkComponents(fe, join(prefix, "components"), body["components"], int64(flags)&flagComponentsV2 != 0)
	}
}

// emptyMessage reports whether body would make a message with nothing to show, which Discord
// refuses with code 50006.
func emptyMessage(body map[string]any) bool {
	return str(body, "content") == "" && len(arr(body, "embeds")) == 0 && len(arr(body, "components")) == 0 &&
		len(arr(body, "sticker_ids")) == 0 && len(arr(body, "attachments")) == 0 && !present(body, "poll")
}

func checkEmbeds(fe *formErrors, path string, v any) {
	embeds, ok := v.([]any)
	if !ok {
		fe.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if !fe.maxItems(path, embeds, maxEmbeds) {
		return
	}
	total := 0
	for i, e := range embeds {
		at := join(path, i)
		em := obj(e)
		if em == nil {
			fe.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
			continue
		}
		title, desc := str(em, "title"), str(em, "description")
		fe.maxLen(join(at, "title"), title, maxEmbedTitle)
		fe.maxLen(join(at, "description"), desc, maxEmbedDescription)
		total += runeLen(title) + runeLen(desc)
		if footer := obj(em["footer"]); footer != nil {
			fe.maxLen(join(at, "footer.text"), str(footer, "text"), maxFooterText)
			total += runeLen(str(footer, "text"))
		}
		if author := obj(em["author"]); author != nil {
			fe.maxLen(join(at, "author.name"), str(author, "name"), maxAuthorName)
			total += runeLen(str(author, "name"))
		}
		if fe.maxItems(join(at, "fields"), arr(em, "fields"), maxEmbedFields) {
			for j, f := range arr(em, "fields") {
				fat := join(join(at, "fields"), j)
				field := obj(f)
				name, value := str(field, "name"), str(field, "value")
				fe.lenRange(join(fat, "name"), name, 1, maxFieldName)
				fe.lenRange(join(fat, "value"), value, 1, maxFieldValue)
				total += runeLen(name) + runeLen(value)
			}
		}
	}
	if total > maxEmbedTotal {
		fe.add(path, "MAX_EMBED_SIZE_EXCEEDED", fmt.Sprintf("Embed size exceeds maximum size of %d", maxEmbedTotal))
	}
}

// checkComponents checks a message's components: up to 5 action rows of up to 5 buttons or
// one select menu each, with custom_ids unique in the message. A components-v2 message
// (flag 1<<15) has a free layout of up to 40 components; only custom_ids are checked there.
func checkComponents(fe *formErrors, path string, v any, v2 bool) {
	rows, ok := v.([]any)
	if !ok {
		fe.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	seen := map[string]bool{}
	if v2 {
		n := 0
		walkComponents(rows, path, func(at string, c map[string]any) {
			n++
			if present(c, "custom_id") {
				checkCustomID(fe, join(at, "custom_id"), str(c, "custom_id"), seen)
			}
		})
		if n > maxV2Components {
			fe.add(path, "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED", fmt.Sprintf("The maximum number of components is %d", maxV2Components))
		}
		return
	}
	if !fe.maxItems(path, rows, maxActionRows) {
		return
	}
	for i, r := range rows {
		at := join(path, i)
		row := obj(r)
		if t, _ := num(row, "type"); t != 1 {
			fe.add(join(at, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (1,).`)
			continue
		}
		items := arr(row, "components")
		if !fe.itemsRange(join(at, "components"), items, 1, maxRowButtons) {
			continue
		}
		for j, it := range items {
			c := obj(it)
			t, _ := num(c, "type")
			if isSelect(t) && len(items) > 1 {
				fe.add(join(at, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
			}
			checkInteractive(fe, join(join(at, "components"), j), c, seen)
		}
	}
}

func isSelect(t float64) bool { return t == 3 || (t >= 5 && t <= 8) }

// walkComponents calls fn on every component object nested in items.
func walkComponents(items []any, path string, fn func(at string, c map[string]any)) {
	for i, it := range items {
		c := obj(it)
		if c == nil {
			continue
		}
		at := join(path, i)
		fn(at, c)
		walkComponents(arr(c, "components"), join(at, "components"), fn)
		if acc := obj(c["accessory"]); acc != nil {
			fn(join(at, "accessory"), acc)
		}
	}
}

func checkCustomID(fe *formErrors, path, id string, seen map[string]bool) {
	fe.lenRange(path, id, 1, maxCustomID)
	if id != "" && seen[id] {
		fe.add(path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
	}
	seen[id] = true
}

// checkInteractive checks one component inside an action row of a message.
func checkInteractive(fe *formErrors, at string, c map[string]any, seen map[string]bool) {
	t, _ := num(c, "type")
	switch {
	case t == 2:
		style, _ := num(c, "style")
		if style < 1 || style > 6 {
			fe.add(join(at, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
		}
		label := str(c, "label")
		fe.maxLen(join(at, "label"), label, maxButtonLabel)
		if label == "" && !present(c, "emoji") && style != 6 {
			fe.add(join(at, "label"), "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or an emoji is required")
		}
		switch style {
		case 5:
			fe.lenRange(join(at, "url"), str(c, "url"), 1, maxURL)
			if present(c, "custom_id") {
				fe.add(join(at, "custom_id"), "BUTTON_COMPONENT_LINK_HAS_CUSTOM_ID", "A link button cannot have a custom id")
			}
		case 6:
			if str(c, "sku_id") == "" {
				fe.add(join(at, "sku_id"), "BASE_TYPE_REQUIRED", "This field is required")
			}
		default:
			checkCustomID(fe, join(at, "custom_id"), str(c, "custom_id"), seen)
			if present(c, "url") {
				fe.add(join(at, "url"), "BUTTON_COMPONENT_URL_NOT_ALLOWED", "Only link buttons can have a url")
			}
		}
	case isSelect(t):
		checkCustomID(fe, join(at, "custom_id"), str(c, "custom_id"), seen)
		fe.maxLen(join(at, "placeholder"), str(c, "placeholder"), maxPlaceholder)
		if v, ok := num(c, "min_values"); ok && (v < 0 || v > 25) {
			fe.add(join(at, "min_values"), "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
		}
		if v, ok := num(c, "max_values"); ok && (v < 1 || v > 25) {
			fe.add(join(at, "max_values"), "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
		}
		if t == 3 {
			opts := arr(c, "options")
			if fe.itemsRange(join(at, "options"), opts, 1, maxSelectOptions) {
				for k, o := range opts {
					oat := join(join(at, "options"), k)
					opt := obj(o)
					fe.lenRange(join(oat, "label"), str(opt, "label"), 1, maxSelectText)
					fe.lenRange(join(oat, "value"), str(opt, "value"), 1, maxSelectText)
					fe.maxLen(join(oat, "description"), str(opt, "description"), maxSelectText)
				}
			}
		}
	default:
		fe.add(join(at, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (2, 3, 5, 6, 7, 8).`)
	}
}

// checkModal checks the data of a type 9 (MODAL) interaction response: a title, a custom_id
// and 1 to 5 action rows holding one text input each.
func checkModal(fe *formErrors, prefix string, data map[string]any) {
	fe.lenRange(join(prefix, "custom_id"), str(data, "custom_id"), 1, maxCustomID)
	fe.lenRange(join(prefix, "title"), str(data, "title"), 1, maxModalTitle)
	path := join(prefix, "components")
	rows := arr(data, "components")
	if !fe.itemsRange(path, rows, 1, maxActionRows) {
		return
	}
	seen := map[string]bool{}
	for i, r := range rows {
		at := join(path, i)
		row := obj(r)
		if t, _ := num(row, "type"); t != 1 {
			fe.add(join(at, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (1,).`)
			continue
		}
		items := arr(row, "components")
		if !fe.itemsRange(join(at, "components"), items, 1, 1) {
			continue
		}
		in := obj(items[0])
		iat := join(join(at, "components"), 0)
		if t, _ := num(in, "type"); t != 4 {
			fe.add(join(iat, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (4,).`)
			continue
		}
		checkCustomID(fe, join(iat, "custom_id"), str(in, "custom_id"), seen)
		fe.lenRange(join(iat, "label"), str(in, "label"), 1, maxTextInputLabel)
		if style, _ := num(in, "style"); style != 1 && style != 2 {
			fe.add(join(iat, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
		}
		fe.maxLen(join(iat, "value"), str(in, "value"), maxTextInputValue)
		fe.maxLen(join(iat, "placeholder"), str(in, "placeholder"), maxTextInputHint)
		if v, ok := num(in, "min_length"); ok && (v < 0 || v > maxTextInputValue) {
			fe.add(join(iat, "min_length"), "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 0 and %d.", maxTextInputValue))
		}
		if v, ok := num(in, "max_length"); ok && (v < 1 || v > maxTextInputValue) {
			fe.add(join(iat, "max_length"), "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 1 and %d.", maxTextInputValue))
		}
	}
}

// checkChoices checks the choices of a type 8 (autocomplete result) response or of an option.
func checkChoices(fe *formErrors, path string, choices []any) {
	if !fe.maxItems(path, choices, maxChoices) {
		return
	}
	for i, c := range choices {
		at := join(path, i)
		ch := obj(c)
		fe.lenRange(join(at, "name"), str(ch, "name"), 1, maxChoiceName)
		if v, ok := ch["value"].(string); ok {
			fe.maxLen(join(at, "value"), v, maxChoiceValue)
		} else if !present(ch, "value") {
			fe.add(join(at, "value"), "BASE_TYPE_REQUIRED", "This field is required")
		}
	}
}

// checkThread checks the body of a start-thread-from-message call.
func checkThread(fe *formErrors, body map[string]any) {
	fe.lenRange("name", str(body, "name"), 1, maxThreadName)
	if d, ok := num(body, "auto_archive_duration"); ok && !slices.Contains(archiveDurations, d) {
		fe.add("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
	}
}

// checkCommands checks the body of a bulk overwrite: an array of application commands.
func checkCommands(fe *formErrors, cmds []any) {
	chatInput := 0
	seen := map[string]bool{}
	for i, c := range cmds {
		at := join("", i)
		cmd := obj(c)
		if cmd == nil {
			fe.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
			continue
		}
		checkFields(fe, at, cmd, commandFields)
		typ := 1.0
		if t, ok := num(cmd, "type"); ok {
			typ = t
		}
		name := str(cmd, "name")
		switch typ {
		case 1:
			chatInput++
			checkName(fe, join(at, "name"), name)
			fe.lenRange(join(at, "description"), str(cmd, "description"), 1, maxDescription)
			checkOptions(fe, join(at, "options"), arr(cmd, "options"), "command")
		case 2, 3:
			fe.lenRange(join(at, "name"), name, 1, maxCommandName)
			if str(cmd, "description") != "" {
				fe.add(join(at, "description"), "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have a description")
			}
			if len(arr(cmd, "options")) > 0 {
				fe.add(join(at, "options"), "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS", "Context menu commands cannot have options")
			}
		case 4:
			fe.lenRange(join(at, "name"), name, 1, maxCommandName)
		default:
			fe.add(join(at, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
		}
		key := fmt.Sprintf("%v/%s", typ, name)
		if seen[key] {
			fe.add(join(at, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
	}
	if chatInput > maxCommands {
		fe.add("", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer chat input commands.", maxCommands))
	}
}

// checkName checks a chat-input command or option name: 1-32 characters of letters, digits,
// hyphens, underscores and apostrophes, lowercase.
func checkName(fe *formErrors, path, name string) {
	if runeLen(name) == 0 || runeLen(name) > maxCommandName {
		fe.lenRange(path, name, 1, maxCommandName)
		return
	}
	if !commandName.MatchString(name) || strings.ToLower(name) != name {
		fe.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
}

// checkOptions checks the options of a command ("command"), of a subcommand group ("group")
// or of a subcommand ("subcommand"): subcommands (type 1) sit in a command or a group, groups
// (type 2) only in a command, and neither mixes with value options; required value options
// come first; names are unique.
func checkOptions(fe *formErrors, path string, opts []any, parent string) {
	if parent == "group" {
		if !fe.itemsRange(path, opts, 1, maxOptions) {
			return
		}
	} else if !fe.maxItems(path, opts, maxOptions) {
		return
	}
	var subs, values int
	optional := false
	names := map[string]bool{}
	for i, o := range opts {
		at := join(path, i)
		opt := obj(o)
		if opt == nil {
			fe.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
			continue
		}
		checkFields(fe, at, opt, optionFields)
		for j, ch := range arr(opt, "choices") {
			checkFields(fe, join(join(at, "choices"), j), obj(ch), choiceFields)
		}
		name := str(opt, "name")
		checkName(fe, join(at, "name"), name)
		if names[name] {
			fe.add(join(at, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
		}
		names[name] = true
		fe.lenRange(join(at, "description"), str(opt, "description"), 1, maxDescription)
		typ, _ := num(opt, "type")
		switch {
		case typ == 1 || typ == 2:
			subs++
			switch {
			case parent == "subcommand":
				fe.add(join(at, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands and sub-command groups cannot be nested in a sub-command")
			case parent == "group" && typ == 2:
				fe.add(join(at, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command groups cannot be nested in a sub-command group")
			default:
				kind := "subcommand"
				if typ == 2 {
					kind = "group"
				}
				checkOptions(fe, join(at, "options"), arr(opt, "options"), kind)
			}
		case typ >= 3 && typ <= 11:
			values++
			if parent == "group" {
				fe.add(join(at, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "A sub-command group can only hold sub-commands")
			}
			if flag(opt, "required") {
				if optional {
					fe.add(join(at, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
				}
			} else {
				optional = true
			}
			if choices := arr(opt, "choices"); len(choices) > 0 {
				checkChoices(fe, join(at, "choices"), choices)
				if flag(opt, "autocomplete") {
					fe.add(join(at, "autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES", "Autocomplete and choices are mutually exclusive")
				}
			}
		default:
			fe.add(join(at, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
		}
	}
	if subs > 0 && values > 0 {
		fe.add(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
}
