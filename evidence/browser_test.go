package evidence_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/evidence"
)

// skipBrowserEnv, set to 1, skips the browser check when Chromium, node or playwright-core is missing,
// instead of failing it (as for the demo's browser tour).
const skipBrowserEnv = "SHIPGATE_SKIP_BROWSER"

// browserDeps finds Debian's chromium, node, and playwright-core installed by `make e2e-deps` into
// .cache/e2e.
func browserDeps(t *testing.T) (chromium, node, nodePath string) {
	t.Helper()
	var missing []string
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	root, _ := filepath.Abs("..")
	nodePath = filepath.Join(root, ".cache", "e2e", "node_modules")
	if _, err := os.Stat(filepath.Join(nodePath, "playwright-core")); err != nil {
		missing = append(missing, "playwright-core in .cache/e2e (make e2e-deps)")
	}
	if len(missing) == 0 {
		return chromium, node, nodePath
	}
	if os.Getenv(skipBrowserEnv) == "1" {
		t.Skipf("%s missing and %s=1: skipping the browser check", strings.Join(missing, ", "), skipBrowserEnv)
	}
	t.Fatalf("%s missing: run `make e2e-deps`, or set %s=1 to skip the browser check", strings.Join(missing, ", "), skipBrowserEnv)
	return "", "", ""
}

// The page opens from disk in headless Chromium without a single request, shows its SHA-256 and its
// key facts, and prints to PDF. The screenshot and the PDF are in the test's artifact directory (kept
// with go test -artifacts).
func TestHTMLInBrowser(t *testing.T) {
	chromium, node, nodePath := browserDeps(t)
	var page []byte
	var sum string
	synctest.Test(t, func(t *testing.T) {
		p, _, _, _ := released(t)
		doc, err := evidence.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		sum = doc.SHA256
		if page, err = evidence.HTML(p, doc.SHA256); err != nil {
			t.Fatal(err)
		}
	})
	out := t.ArtifactDir()
	file := filepath.Join(out, "evidence-1.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "check.cjs"), file, out,
		sum, "Evidence pack: delivery #1", "Response time P95", "qa <green>, change ticket CHG-1042", "hotfix for INC-77",
		"you triggered this delivery, so someone else has to approve it")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "CHROMIUM="+chromium)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the page in Chromium: %v\n%s", err, b)
	}
	for _, name := range []string{"evidence.png", "evidence.pdf"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s was not written: %v", name, err)
		}
	}
	t.Logf("screenshot %s, printed %s", filepath.Join(out, "evidence.png"), filepath.Join(out, "evidence.pdf"))
}
