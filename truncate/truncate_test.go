package truncate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello", 10, "hello"},
		{"hello world", 8, "hello…"},
		{"héllo", 5, "h…"},       // é is 2 bytes: "hé…" would be 6
		{"héllo!", 6, "hé…"},     // exactly fits
		{"🔔 ring", 6, "…"},       // the bell (4 bytes) does not fit beside the marker
		{"🔔 ring", 7, "🔔…"},      //
		{"e\u0301tude", 5, "e…"}, // the combining accent is cut off its e
		{"hello", 2, "he"},       // too small for the marker
		{"héllo", 2, "h"},        //
		{"hello", 0, ""},
		{"hello", -1, ""},
		{"", 0, ""},
	} {
		if got := Bytes(tc.s, tc.n); got != tc.want {
			t.Errorf("Bytes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestRunes(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"héllo wörld", 6, "héllo…"},
		{"🔔🔔🔔", 3, "🔔🔔🔔"},
		{"🔔🔔🔔", 2, "🔔…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"a\xffbcd", 3, "a\xff…"}, // an invalid byte counts as a rune and is kept
	} {
		if got := Runes(tc.s, tc.n); got != tc.want {
			t.Errorf("Runes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello world", 5, "hello…"},
		{"héllo", 2, "h…"},
		{"héllo", 3, "hé…"},
		{"hello", 0, "…"},
	} {
		if got := Excerpt(tc.s, tc.n); got != tc.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{"", "hello world", "héllo wörld", "🔔 ring the bell", "e\u0301e\u0301e\u0301", "👩‍👩‍👧 family", "a\xffb\x80\x80c", "\xe2\x82"} {
		for _, n := range []int{-1, 0, 1, 2, 3, 4, 5, 8, 13} {
			f.Add(s, n)
		}
	}
}

// check asserts what all three functions share: s unchanged when it fits, else a prefix of s ending on
// a rune boundary followed by Marker (or, for a limit too small for the marker, no marker), valid when s
// is valid.
func check(t *testing.T, what, s, got string, fits bool) string {
	t.Helper()
	if fits {
		if got != s {
			t.Fatalf("%s(%q) = %q, want it unchanged", what, s, got)
		}
		return s
	}
	prefix := strings.TrimSuffix(got, Marker)
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("%s(%q) = %q, not a prefix of the input", what, s, got)
	}
	if utf8.ValidString(s) && len(prefix) < len(s) && !utf8.RuneStart(s[len(prefix)]) {
		t.Fatalf("%s(%q) = %q splits a rune", what, s, got)
	}
	if utf8.ValidString(s) && !utf8.ValidString(got) {
		t.Fatalf("%s(%q) = %q, not valid UTF-8", what, s, got)
	}
	return prefix
}

func FuzzBytes(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= len(s) + 8
		got := Bytes(s, n)
		prefix := check(t, "Bytes", s, got, len(s) <= n)
		if len(got) > max(n, 0) {
			t.Fatalf("Bytes(%q, %d) = %q, %d bytes", s, n, got, len(got))
		}
		if len(s) > n && n >= len(Marker) && !strings.HasSuffix(got, Marker) {
			t.Fatalf("Bytes(%q, %d) = %q, cut without a marker", s, n, got)
		}
		if utf8.ValidString(s) && len(got) < len(s) && len(prefix) < max(n, 0)-len(Marker)-(utf8.UTFMax-1) {
			t.Fatalf("Bytes(%q, %d) = %q, dropped more than the rune at the cut", s, n, got)
		}
	})
}

func FuzzRunes(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= utf8.RuneCountInString(s) + 4
		got := Runes(s, n)
		count := utf8.RuneCountInString(s)
		prefix := check(t, "Runes", s, got, count <= n)
		if c := utf8.RuneCountInString(got); c > max(n, 0) {
			t.Fatalf("Runes(%q, %d) = %q, %d runes", s, n, got, c)
		}
		if count > n && n >= 1 && (got != prefix+Marker || utf8.RuneCountInString(prefix) != n-1) {
			t.Fatalf("Runes(%q, %d) = %q, want %d runes and the marker", s, n, got, n-1)
		}
	})
}

func FuzzExcerpt(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= len(s) + 8
		got := Excerpt(s, n)
		prefix := check(t, "Excerpt", s, got, len(s) <= n)
		if len(s) > n && (got != prefix+Marker || len(prefix) > max(n, 0)) {
			t.Fatalf("Excerpt(%q, %d) = %q, want at most %d bytes of s and the marker", s, n, got, n)
		}
		if utf8.ValidString(s) && len(s) > n && len(prefix) < n-(utf8.UTFMax-1) {
			t.Fatalf("Excerpt(%q, %d) = %q, dropped more than the rune at the cut", s, n, got)
		}
	})
}
