// Package browsertest finds what tests that drive a headless browser need: Debian's chromium, node, and
// playwright-core installed by `make e2e-deps` into .cache/e2e (playwright-core drives the chromium it
// is given and never downloads a browser of its own). A test that lacks them fails, saying how to
// install them, or is skipped when SkipEnv is 1.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/modroot"
)

// SkipEnv names the environment variable that, set to 1, skips a browser test when chromium, node or
// playwright-core is missing, instead of failing it.
const SkipEnv = "SHIPGATE_SKIP_BROWSER"

// ChromiumEnv names the environment variable that overrides where chromium is (/usr/bin/chromium).
const ChromiumEnv = "CHROMIUM"

// Browser is where the tools are.
type Browser struct {
	Chromium string // the chromium binary
	Node     string // the node binary
	NodePath string // the node_modules folder holding playwright-core
	Dir      string // .cache/e2e under the module root, where `make e2e-deps` installs and tests keep screenshots
}

// Find finds chromium, node and playwright-core, or fails (or skips) t saying how to install them.
func Find(t testing.TB) Browser {
	t.Helper()
	var missing []string
	b := Browser{Chromium: os.Getenv(ChromiumEnv)}
	if b.Chromium == "" {
		b.Chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(b.Chromium); err != nil {
		missing = append(missing, "chromium (apt-get install chromium)")
	}
	var err error
	if b.Node, err = exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if root, err := modroot.Dir(); err == nil {
		b.Dir = filepath.Join(root, ".cache", "e2e")
		b.NodePath = filepath.Join(b.Dir, "node_modules")
		if _, err := os.Stat(filepath.Join(b.NodePath, "playwright-core")); err != nil {
			missing = append(missing, "playwright-core in .cache/e2e (make e2e-deps)")
		}
	} else {
		missing = append(missing, "playwright-core (no go.mod above the working directory to find .cache/e2e)")
	}
	if len(missing) == 0 {
		return b
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s missing and %s=1: skipping the browser test", strings.Join(missing, ", "), SkipEnv)
	}
	t.Fatalf("%s missing: run `make e2e-deps`, or set %s=1 to skip the browser test", strings.Join(missing, ", "), SkipEnv)
	return Browser{}
}

// Command runs a node script with playwright-core on its module path and chromium named in ChromiumEnv,
// which is where the scripts take the browser from.
func (b Browser) Command(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.Node, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+b.NodePath, ChromiumEnv+"="+b.Chromium)
	return cmd
}
