package slack

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// mentionPattern matches the mentions the bot writes, which Slack must see unescaped.
var mentionPattern = regexp.MustCompile(`<(@[A-Z0-9]+|!subteam\^[A-Z0-9]+)>`)

// escape makes text safe for mrkdwn: &, < and > are Slack's control characters (so that text from a
// task's output cannot ping @channel or forge a link), except in the mentions the bot wrote itself.
// Text is escaped exactly once, where a mrkdwn string is built from the bot's plain text: Slack decodes
// once, so text escaped twice shows its entities (&gt;) to people.
func escape(s string) string {
	var out strings.Builder
	last := 0
	for _, m := range mentionPattern.FindAllStringIndex(s, -1) {
		out.WriteString(escapeRaw(s[last:m[0]]))
		out.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	out.WriteString(escapeRaw(s[last:]))
	return out.String()
}

var rawEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeRaw escapes all of s, mentions too, so that it notifies nobody.
func escapeRaw(s string) string { return rawEscaper.Replace(s) }

// cutMrkdwn shortens escaped text to at most n bytes, ending it with "…" when it had to cut. Unlike
// truncate.Bytes it never cuts inside an entity (&amp;) or a mention or link (<@U1>), which would show as
// broken markup.
func cutMrkdwn(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:markupCut(s, n-len("…"))] + "…"
}

// splitMrkdwn splits escaped text into a first part of at most n bytes and the rest: at a line end in
// the second half of the part if there is one, else where markupCut allows.
func splitMrkdwn(s string, n int) (part, rest string) {
	if len(s) <= n {
		return s, ""
	}
	cut := markupCut(s, n)
	if i := strings.LastIndex(s[:cut], "\n"); i > n/2 {
		return s[:i], s[i+1:]
	}
	return s[:cut], s[cut:]
}

// markupCut is the largest cut of s (len(s) > n) at or before n that falls between characters and
// outside any entity or <…> markup; if markup begins the text and is longer than n, it is cut anyway
// rather than not at all.
func markupCut(s string, n int) int {
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if i := strings.LastIndexAny(s[:n], "&<"); i > 0 && !strings.ContainsAny(s[i:n], ";>") {
		return i
	}
	return max(n, 1)
}
