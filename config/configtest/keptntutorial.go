package configtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// KeptnTutorialEnv overrides where KeptnTutorialDir looks for the Keptn tutorial's published files.
const KeptnTutorialEnv = "SHIPGATE_KEPTN_TUTORIAL"

// KeptnTutorialDir returns the folder holding the Keptn tutorial's project as published
// (christian-kreuzberger-dtx/keptn-job-executor-delivery-poc): $SHIPGATE_KEPTN_TUTORIAL, or
// ../shared/keptn-tutorial beside the module's root. The files are not in this repository, so a test
// that needs them is skipped, saying where they were looked for, when they are absent.
func KeptnTutorialDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(KeptnTutorialEnv)
	if dir == "" {
		_, self, _, ok := runtime.Caller(0)
		if !ok {
			t.Skip("cannot locate the module root to find ../shared/keptn-tutorial; set " + KeptnTutorialEnv)
		}
		// self is MODULE/config/configtest/keptntutorial.go.
		dir = filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "keptn-tutorial")
	}
	if _, err := os.Stat(filepath.Join(dir, "job-executor-config.yaml")); err != nil {
		t.Skipf("the Keptn tutorial's files are not at %s (set %s to their folder): %v", dir, KeptnTutorialEnv, err)
	}
	return dir
}

// KeptnTutorialProject assembles the tutorial's project in a new folder named fulltour under a
// temporary directory, each file where Keptn stored it as a resource, and returns the folder:
//
//	shipyard.yaml                           the project's
//	helloservice/job/config.yaml            job-executor-config.yaml, uploaded as the service's job/config.yaml
//	helloservice/charts/helloservice.tgz    helm/helloservice.tgz, uploaded as charts/helloservice.tgz: the
//	                                        job configuration mounts /charts and runs /keptn/charts/$(KEPTN_SERVICE).tgz
//	helloservice/helm/helloservice.tgz      the same chart where the repository keeps it
//	helloservice/locust/basic.py, locust.conf
//	helloservice/slo.yaml, remediation.yaml, prometheus/sli.yaml
//
// The files are copied unchanged. The test is skipped when they are absent (see KeptnTutorialDir).
func KeptnTutorialProject(t testing.TB) string {
	t.Helper()
	src := KeptnTutorialDir(t)
	dst := filepath.Join(t.TempDir(), "fulltour")
	for from, to := range map[string]string{
		"shipyard.yaml":            "shipyard.yaml",
		"job-executor-config.yaml": "helloservice/job/config.yaml",
		"helm/helloservice.tgz":    "helloservice/charts/helloservice.tgz",
		"locust/basic.py":          "helloservice/locust/basic.py",
		"locust/locust.conf":       "helloservice/locust/locust.conf",
		"slo.yaml":                 "helloservice/slo.yaml",
		"remediation.yaml":         "helloservice/remediation.yaml",
		"prometheus/sli.yaml":      "helloservice/prometheus/sli.yaml",
	} {
		copyFile(t, filepath.Join(src, filepath.FromSlash(from)), filepath.Join(dst, filepath.FromSlash(to)))
	}
	copyFile(t, filepath.Join(src, "helm", "helloservice.tgz"), filepath.Join(dst, "helloservice", "helm", "helloservice.tgz"))
	return dst
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
