package browsertest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recorder stands in for a test to see whether Find fails it or skips it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }

func (r *recorder) Fatalf(format string, args ...any) {
	if r.skipped == "" {
		r.failed = fmt.Sprintf(format, args...)
	}
}

// A missing chromium fails the test, saying how to install it, unless SHIPGATE_SKIP_BROWSER=1 asks to
// skip it.
func TestFindWithoutChromium(t *testing.T) {
	t.Setenv(ChromiumEnv, filepath.Join(t.TempDir(), "no-chromium"))
	for _, skip := range []string{"", "1"} {
		t.Run("skip="+skip, func(t *testing.T) {
			t.Setenv(SkipEnv, skip)
			r := &recorder{TB: t}
			Find(r)
			got := r.failed
			if skip == "1" {
				got = r.skipped
				if r.failed != "" {
					t.Errorf("failed although %s=1: %s", SkipEnv, r.failed)
				}
			} else if r.skipped != "" {
				t.Errorf("skipped although %s is unset: %s", SkipEnv, r.skipped)
			}
			if !strings.Contains(got, "chromium (apt-get install chromium)") || !strings.Contains(got, SkipEnv) {
				t.Errorf("the message does not say what is missing and how to skip: %q", got)
			}
		})
	}
}

// Command hands the script playwright-core's folder and the chromium to launch.
func TestCommand(t *testing.T) {
	b := Browser{Chromium: "/opt/chromium", Node: "/opt/node", NodePath: "/opt/e2e/node_modules"}
	cmd := b.Command(context.Background(), "tour.cjs", "http://127.0.0.1:1", "shots")
	if want := []string{"/opt/node", "tour.cjs", "http://127.0.0.1:1", "shots"}; !slices.Equal(cmd.Args, want) {
		t.Errorf("args %q, want %q", cmd.Args, want)
	}
	for _, kv := range []string{"NODE_PATH=/opt/e2e/node_modules", "CHROMIUM=/opt/chromium"} {
		if !slices.Contains(cmd.Env, kv) {
			t.Errorf("the environment lacks %s", kv)
		}
	}
}
