package exec

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestOutputBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		limit     int
		writes    []string
		want      string
		truncated bool
	}{
		{"empty", 10, nil, "", false},
		{"under the limit", 10, []string{"abc", "de"}, "abcde", false},
		{"at the limit", 10, []string{"abcde", "fghij"}, "abcdefghij", false},
		{"one byte over", 10, []string{"abcdefghijk"}, "abcde\n[… 1 bytes dropped …]\nghijk", true},
		{"many small writes", 4, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, "ab\n[… 4 bytes dropped …]\ngh", true},
		{"a large write after the head", 6, []string{"abc", strings.Repeat("x", 100) + "yz"}, "abc\n[… 99 bytes dropped …]\nxyz", true},
		{"odd limit", 5, []string{"0123456789"}, "01\n[… 5 bytes dropped …]\n789", true},
		{"a cut character", 4, []string{"ééé"}, "é\n[… 2 bytes dropped …]\né", true},
		{"a split character", 3, []string{"ééé"}, "\uFFFD\n[… 3 bytes dropped …]\né", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutput(tt.limit)
			for _, w := range tt.writes {
				if n, err := o.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			got, truncated := o.String()
			if got != tt.want || truncated != tt.truncated {
				t.Errorf("String() = %q, %v; want %q, %v", got, truncated, tt.want, tt.truncated)
			}
		})
	}
}

// FuzzOutput checks that, however the output is split into writes, the head and the tail of the limit
// are kept and the marker counts what was dropped.
func FuzzOutput(f *testing.F) {
	f.Add([]byte("hello, world"), 5, uint8(3))
	f.Add([]byte(strings.Repeat("abc\n", 100)), 33, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, limit int, chunk uint8) {
		if limit <= 0 || limit > 1<<16 || chunk == 0 {
			t.Skip()
		}
		o := newOutput(limit)
		for rest := data; len(rest) > 0; {
			n := min(int(chunk), len(rest))
			o.Write(rest[:n])
			rest = rest[n:]
		}
		got, truncated := o.String()
		want := string(data)
		if len(data) > limit {
			head, tail := limit/2, limit-limit/2
			want = string(data[:head]) + fmt.Sprintf("\n[… %d bytes dropped …]\n", len(data)-limit) + string(data[len(data)-tail:])
		}
		want = strings.ToValidUTF8(want, "\uFFFD")
		if got != want || truncated != (len(data) > limit) {
			t.Errorf("String() = %q, %v; want %q", got, truncated, want)
		}
	})
}

func TestMessage(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	tests := []struct {
		name      string
		out       string
		tailLines int
		want      string
	}{
		{"no output", "", 10, "exit 0 in 1.0s"},
		{"only newlines", "\n\n", 10, "exit 0 in 1.0s"},
		{"last lines", "a\nb\nc\n", 2, "exit 0 in 1.0s\n```\nb\nc\n```"},
		{"fewer lines than tail_lines", "a\nb", 10, "exit 0 in 1.0s\n```\na\nb\n```"},
		{"progress bar", "10%\r50%\r100%\r\ndone\n", 10, "exit 0 in 1.0s\n```\n100%\ndone\n```"},
		{"a fence in the output", "```\n", 1, "exit 0 in 1.0s\n```\n`\u200b``\n```"},
		{"a long line", long + "\n", 1, "exit 0 in 1.0s\n```\n" + strings.Repeat("x", maxLineRunes-1) + "…\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := message("exit 0 in 1.0s", tt.out, tt.tailLines); got != tt.want {
				t.Errorf("message:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestMessageBound(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	for i := range 100 {
		fmt.Fprintf(&out, "%d %s\n", i, strings.Repeat("é", 300))
	}
	got := message("exit status 1 in 2.0s", out.String(), MaxTailLines)
	if len(got) > maxMessage || !utf8.ValidString(got) {
		t.Errorf("message of %d bytes (valid UTF-8: %v), want at most %d", len(got), utf8.ValidString(got), maxMessage)
	}
	if !strings.Contains(got, "\n99 é") || !strings.HasSuffix(got, "…\n```") {
		t.Errorf("message does not end with the last line, cut:\n%s", got)
	}
}

func TestFormatTook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{12345 * time.Microsecond, "12ms"},
		{412 * time.Millisecond, "0.4s"},
		{3210 * time.Millisecond, "3.2s"},
		{5*time.Minute + 12400*time.Millisecond, "5m12s"},
	}
	for _, tt := range tests {
		if got := formatTook(tt.d); got != tt.want {
			t.Errorf("formatTook(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
