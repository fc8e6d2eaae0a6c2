// Package truncate shortens text to a length limit without splitting a character, marking the cut with
// an ellipsis: for chat platforms' limits, for quoting a user's or a command's text back, and for
// columns of a table. Limits are in bytes (what platforms and stores count) or in runes (what a reader
// sees in a column); see each function.
//
// Cuts fall on rune boundaries, not grapheme clusters: a combining mark or a zero-width joiner sequence
// can be cut after its first rune, which still leaves valid UTF-8 that shows the base character. Text
// that is not valid UTF-8 is kept as it is: each invalid byte counts as one rune, and the part before
// the cut is a prefix of the input, so a result is valid UTF-8 whenever its input is.
package truncate

import "unicode/utf8"

// Marker ends a string that was cut.
const Marker = "…"

// Bytes returns s when it has at most n bytes; otherwise the longest prefix of s that ends on a rune
// boundary and, followed by Marker, fits in n bytes, followed by Marker. Marker (3 bytes) counts within
// n, so the result never exceeds n bytes: when n is smaller than Marker, the result is the longest prefix
// of at most n bytes, unmarked.
func Bytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < len(Marker) {
		return s[:runeStart(s, max(n, 0))]
	}
	return s[:runeStart(s, n-len(Marker))] + Marker
}

// Runes returns s when it has at most n runes; otherwise its first n-1 runes followed by Marker, n runes
// in all. When n is less than 1, the result is "".
func Runes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	k := 0
	for i := range s {
		if k == n-1 {
			return s[:i] + Marker
		}
		k++
	}
	return s // not reached: s has more than n runes
}

// Excerpt returns s when it has at most n bytes; otherwise the longest prefix of s of at most n bytes
// that ends on a rune boundary, followed by Marker. Unlike Bytes, Marker does not count within n, so an
// excerpt can be up to n+3 bytes: it is for quoting what someone sent (in an error message, an audit
// record or a test failure), where n says how much of it to show.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, max(n, 0))] + Marker
}

// runeStart is the largest i' <= i at which a rune of s starts (or 0). It needs i < len(s).
func runeStart(s string, i int) int {
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
