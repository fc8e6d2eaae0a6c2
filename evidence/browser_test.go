package evidence_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/browsertest"
	"github.com/shipgate/shipgate/evidence"
)

// The page opens from disk in headless Chromium without a single request, shows its SHA-256 and its
// key facts, and prints to PDF. The screenshot and the PDF are in the test's artifact directory (kept
// with go test -artifacts).
func TestHTMLInBrowser(t *testing.T) {
	browser := browsertest.Find(t)
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
	cmd := browser.Command(ctx, filepath.Join("e2e", "check.cjs"), file, out,
		sum, "Evidence pack: delivery #1", "Response time P95", "qa <green>, change ticket CHG-1042", "hotfix for INC-77",
		"you triggered this delivery, so someone else has to approve it")
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
