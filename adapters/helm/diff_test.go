package helm

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/adapters/helm/kubetest"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// secretValues are the chart's secret values in testdata/configured and what the diff test sets them to;
// none of them, nor their base64, may appear in a diff.
var secretValues = []string{"s3cr3t-one", "t0ken-one", "s3cr3t-two"}

func wantNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range secretValues {
		if strings.Contains(text, s) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Fatalf("secret value %q (or its base64) appears in:\n%s", s, text)
		}
	}
}

// Before the first install, the diff is Helm's dry-run install: every object is added, and nothing is
// created in the cluster, not even the namespace.
func TestDiffBeforeFirstInstall(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "difffirst", "configured", nil)
	x := newExecutor(t, kube)
	const v1 = "ghcr.io/podtato-head/podtatoserver:v0.1.1"

	ch, err := x.Diff(context.Background(), task(p, 1, "deployment", v1, nil))
	if err != nil {
		t.Fatal(err)
	}
	s := ch.Summary
	if *s.Image != (engine.Change{New: v1}) || *s.Chart != (engine.Change{New: "helloservice-0.1.0"}) || !s.Diffed {
		t.Fatalf("summary %+v image %+v chart %+v", s, s.Image, s.Chart)
	}
	var got []string
	for _, o := range s.Objects {
		got = append(got, o.Kind+"/"+o.Name+" "+o.Change)
	}
	want := []string{"Secret/helloservice-secret added", "ConfigMap/helloservice-config added", "Service/helloservice added", "Deployment/helloservice added"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("objects %q, want %q", got, want)
	}
	if !strings.Contains(ch.Diff, "--- /dev/null\n+++ b/Deployment/helloservice\n") || !strings.Contains(ch.Diff, "+      - image: "+v1) {
		t.Fatalf("diff:\n%s", ch.Diff)
	}
	wantNoSecrets(t, ch.Diff)
	if _, err := kube.Do(context.Background(), "GET", "/api/v1/namespaces/difffirst-qa"); !kubetest.IsNotFound(err) {
		t.Fatalf("namespace after a dry run: %v, want not found", err)
	}
}

// Install v1, then ask what v2 would change with a new image, a new chart version, two ConfigMap keys and
// one secret value changed: the summary names each changed object, the Service that stays the same is
// not among them, and no secret value appears, old or new. The release is still at revision 1.
func TestDiffUpgrade(t *testing.T) {
	kube := kubetest.Shared(t)
	p := project(t, "diffup", "configured", nil)
	x := newExecutor(t, kube)
	const v1, v2 = "ghcr.io/podtato-head/podtatoserver:v0.1.1", "ghcr.io/podtato-head/podtatoserver:v0.1.2"
	wantResult(t, execute(t, x, task(p, 1, "deployment", v1, nil)), store.ResultPass, "revision 1")

	chartFile := filepath.Join(p.Dir, "helloservice", "helm", "helloservice", "Chart.yaml")
	b, err := os.ReadFile(chartFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chartFile, []byte(strings.Replace(string(b), "version: 0.1.0", "version: 0.2.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	with := map[string]any{"set": map[string]any{"config.greeting": "hej", "config.color": "red", "secret.password": "s3cr3t-two"}}
	ch, err := x.Diff(context.Background(), task(p, 2, "deployment", v2, with))
	if err != nil {
		t.Fatal(err)
	}
	s := ch.Summary
	if *s.Image != (engine.Change{Old: v1, New: v2}) || *s.Chart != (engine.Change{Old: "helloservice-0.1.0", New: "helloservice-0.2.0"}) {
		t.Fatalf("image %+v chart %+v", s.Image, s.Chart)
	}
	want := []engine.ObjectChange{
		{Kind: "Secret", Name: "helloservice-secret", Change: "changed", Keys: 1},
		{Kind: "ConfigMap", Name: "helloservice-config", Change: "changed", Keys: 2},
		{Kind: "Deployment", Name: "helloservice", Change: "changed", Images: &engine.Change{Old: v1, New: v2}},
	}
	if !reflect.DeepEqual(s.Objects, want) {
		t.Fatalf("objects %+v\nwant %+v", s.Objects, want)
	}
	if got, w := s.Short(), "3 objects change: Secret/helloservice-secret 1 key, ConfigMap/helloservice-config 2 keys, Deployment/helloservice image"; got != w {
		t.Fatalf("short %q, want %q", got, w)
	}
	for _, line := range []string{
		"--- a/ConfigMap/helloservice-config\n+++ b/ConfigMap/helloservice-config\n",
		"-  color: blue\n", "+  color: red\n", "-  greeting: hello\n", "+  greeting: hej\n",
		"-  password: (masked)\n", "+  password: (masked, changed)\n",
		"-      - image: " + v1 + "\n", "+      - image: " + v2 + "\n",
	} {
		if !strings.Contains(ch.Diff, line) {
			t.Errorf("diff lacks %q", line)
		}
	}
	if strings.Contains(ch.Diff, "Service/helloservice") || strings.Contains(ch.Diff, "token") {
		t.Errorf("diff shows what does not change:\n%s", ch.Diff)
	}
	wantNoSecrets(t, ch.Diff)
	if t.Failed() {
		t.Fatalf("diff:\n%s", ch.Diff)
	}
	if n := releaseSecrets(t, kube, "diffup-qa", "helloservice"); n != 1 {
		t.Fatalf("%d revisions after the dry run, want 1", n)
	}
}

// A rollback task has nothing to diff, and a task whose chart is missing says so.
func TestDiffRefuses(t *testing.T) {
	kube := kubetest.Shared(t)
	x := newExecutor(t, kube)
	p := project(t, "diffnochart", "", nil)
	if _, err := x.Diff(context.Background(), task(p, 1, "rollback", "img:v1", nil)); err == nil || !strings.Contains(err.Error(), "not a deployment") {
		t.Fatalf("rollback: %v", err)
	}
	if _, err := x.Diff(context.Background(), task(p, 1, "deployment", "img:v1", nil)); err == nil || !strings.Contains(err.Error(), "no chart") {
		t.Fatalf("no chart: %v", err)
	}
}

// A Secret's values are masked on both sides even when only its metadata changes, and a removed
// object is listed as removed.
func TestDiffManifestsMasksAndRemoves(t *testing.T) {
	old := "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {a: b}\ndata:\n  k: c2VjcmV0\n" +
		"---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\ndata:\n  x: z\n"
	newer := "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {a: c}\ndata:\n  k: c2VjcmV0\n"
	objs, diff, err := diffManifests(old, newer)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.ObjectChange{{Kind: "Secret", Name: "s", Change: "changed"}, {Kind: "ConfigMap", Name: "gone", Change: "removed"}}
	if !reflect.DeepEqual(objs, want) {
		t.Fatalf("objects %+v, want %+v", objs, want)
	}
	if strings.Contains(diff, "c2VjcmV0") || !strings.Contains(diff, "+++ /dev/null\n@@ -1,6 +0,0 @@\n-apiVersion: v1\n") || strings.Contains(diff, "\n \n") {
		t.Fatalf("diff:\n%s", diff)
	}
}
