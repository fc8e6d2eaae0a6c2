package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
)

// TestMain lets a test re-run this binary as the real shipgate command (see startShipgate), so process
// behaviour such as signal handling is tested on a real process without building a second binary.
func TestMain(m *testing.M) {
	if os.Getenv("SHIPGATE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	// kubetest.Run runs the tests and stops the Kubernetes API server if one of them started it.
	code := kubetest.Run(m)
	if builtBin != "" { // shipgateBinary's build, about 100 MB: not left in the temporary directory
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// runCLI runs the command tree in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != exitOK || !bytes.HasPrefix([]byte(out), []byte("shipgate dev (commit ")) {
		t.Fatalf("version: exit %d, output %q", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"validate"},
		{"validate", "--print", "--project", "x"},
		{"validate", "--bogus"},
		{"serve", "extra-arg"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a message", args, code, errOut)
		}
	}
}
