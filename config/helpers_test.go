package config

import (
	"strings"
	"testing"
)

// want is one diagnostic a test expects: its line, severity and a part of its message.
type want struct {
	line int
	sev  Severity
	text string
}

func errAt(line int, text string) want  { return want{line, SeverityError, text} }
func warnAt(line int, text string) want { return want{line, SeverityWarning, text} }

// checkDiags asserts that diags are exactly the wanted ones, in any order.
func checkDiags(t *testing.T, diags Diagnostics, wants ...want) {
	t.Helper()
	used := make([]bool, len(diags))
	for _, w := range wants {
		found := false
		for i, d := range diags {
			if !used[i] && d.Line == w.line && d.Severity == w.sev && strings.Contains(d.Message, w.text) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s at line %d containing %q", w.sev, w.line, w.text)
		}
	}
	for i, d := range diags {
		if !used[i] {
			t.Errorf("unexpected diagnostic: %s", d)
		}
	}
}
