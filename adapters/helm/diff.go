package helm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/shipgate/shipgate/engine"
)

// Masks written in place of a Secret's values, so that a diff shows which keys change and never what
// they hold.
const (
	secretMask        = "(masked)"
	secretMaskChanged = "(masked, changed)"
)

// Diff says what the deployment task t would change: Helm's dry run of the upgrade (an install when the
// release does not exist yet) against the cluster, diffed per object against the manifest of the
// release that runs now, with Secrets' values masked on both sides. It changes nothing: no revision, no
// namespace, no settling of an interrupted upgrade.
func (x *Executor) Diff(ctx context.Context, t engine.Task) (*engine.Changes, error) {
	r, failure := x.newRun(t)
	if r == nil {
		return nil, errors.New(failure.Message)
	}
	if r.s.Action != actionUpgrade {
		return nil, fmt.Errorf("helm: task %s is a %s, not a deployment", t.Name, r.s.Action)
	}
	return r.diff(ctx)
}

func (r *run) diff(ctx context.Context) (*engine.Changes, error) {
	ch, _, err := r.loadChart()
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	vals, err := r.values()
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	history, err := r.history()
	if err != nil {
		return nil, fmt.Errorf("helm: reading the history of release %s in %s: %w", r.release, r.namespace, err)
	}
	prev := current(history)
	var next *release.Release
	if prev == nil {
		inst := action.NewInstall(r.cfg)
		inst.ReleaseName, inst.Namespace = r.release, r.namespace
		// "server": templates' lookup calls read the cluster, as the real install's would.
		inst.DryRun, inst.DryRunOption = true, "server"
		next, err = inst.RunWithContext(ctx, ch, vals)
	} else {
		up := action.NewUpgrade(r.cfg)
		up.Namespace = r.namespace
		up.DryRun, up.DryRunOption = true, "server"
		next, err = up.RunWithContext(ctx, r.release, ch, vals)
	}
	if err != nil {
		return nil, fmt.Errorf("helm: dry run of %s in %s: %w", r.release, r.namespace, err)
	}
	s := engine.ChangeSummary{Image: &engine.Change{New: r.t.Image}, Chart: &engine.Change{New: chartName(ch)}, Diffed: true}
	oldManifest := ""
	if prev != nil {
		oldManifest = prev.Manifest
		s.Image.Old = r.imageAt(prev.Config)
		s.Chart.Old = chartName(prev.Chart)
	}
	objects, diff, err := diffManifests(oldManifest, next.Manifest)
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	s.Objects = objects
	return &engine.Changes{Summary: s, Diff: diff}, nil
}

func chartName(ch *chart.Chart) string {
	if ch == nil || ch.Metadata == nil {
		return ""
	}
	return ch.Metadata.Name + "-" + ch.Metadata.Version
}

// object is one document of a rendered manifest.
type object struct {
	key  string // Kind/name
	kind string
	name string
	body map[string]any
}

// parseManifest splits a release manifest into its objects, in Helm's manifest order.
func parseManifest(manifest string) ([]*object, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := slices.Collect(maps.Keys(docs))
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var objs []*object
	for _, k := range keys {
		var body map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &body); err != nil {
			return nil, fmt.Errorf("reading the rendered manifest: %w", err)
		}
		if len(body) == 0 {
			continue
		}
		kind, _ := body["kind"].(string)
		meta, _ := body["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		key := kind + "/" + name
		if ns, _ := meta["namespace"].(string); ns != "" {
			key = kind + "/" + ns + "/" + name
		}
		objs = append(objs, &object{key: key, kind: kind, name: name, body: body})
	}
	return objs, nil
}

// diffManifests compares two rendered manifests object by object: what each change is, for the summary,
// and a unified diff of the objects that change, each written in one canonical form (keys sorted) so
// that only content counts. Secrets' data and stringData values are masked before anything is written.
func diffManifests(oldManifest, newManifest string) ([]engine.ObjectChange, string, error) {
	olds, err := parseManifest(oldManifest)
	if err != nil {
		return nil, "", err
	}
	news, err := parseManifest(newManifest)
	if err != nil {
		return nil, "", err
	}
	byKey := map[string]*object{}
	for _, o := range olds {
		byKey[o.key] = o
	}
	var changes []engine.ObjectChange
	var diff strings.Builder
	seen := map[string]bool{}
	emit := func(o, n *object) error {
		var ob, nb map[string]any
		if o != nil {
			ob = o.body
		}
		if n != nil {
			nb = n.body
		}
		if reflect.DeepEqual(ob, nb) {
			return nil
		}
		ref := n
		if ref == nil {
			ref = o
		}
		c := engine.ObjectChange{Kind: ref.kind, Name: ref.name, Change: engine.ObjectChanged}
		switch {
		case o == nil:
			c.Change = engine.ObjectAdded
		case n == nil:
			c.Change = engine.ObjectRemoved
		}
		if oi, ni := images(ob), images(nb); c.Change == engine.ObjectChanged && oi != ni {
			c.Images = &engine.Change{Old: oi, New: ni}
		}
		if c.Change == engine.ObjectChanged && (ref.kind == "ConfigMap" || ref.kind == "Secret") {
			c.Keys = changedKeys(ob, nb)
		}
		if ref.kind == "Secret" {
			ob, nb = maskSecret(ob, nb)
		}
		a, err := canonical(ob)
		if err != nil {
			return err
		}
		b, err := canonical(nb)
		if err != nil {
			return err
		}
		from, to := "a/"+ref.key, "b/"+ref.key
		if o == nil {
			from = "/dev/null"
		}
		if n == nil {
			to = "/dev/null"
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: lines(a), B: lines(b),
			FromFile: from, ToFile: to, Context: 3})
		if err != nil {
			return err
		}
		diff.WriteString(text)
		changes = append(changes, c)
		return nil
	}
	for _, n := range news {
		seen[n.key] = true
		if err := emit(byKey[n.key], n); err != nil {
			return nil, "", err
		}
	}
	for _, o := range olds {
		if !seen[o.key] {
			if err := emit(o, nil); err != nil {
				return nil, "", err
			}
		}
	}
	return changes, diff.String(), nil
}

// canonical is an object as YAML with sorted keys; "" for none.
func canonical(body map[string]any) (string, error) {
	if body == nil {
		return "", nil
	}
	b, err := yaml.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("writing the rendered manifest: %w", err)
	}
	return string(b), nil
}

// lines splits text into lines that keep their newline; none for "".
func lines(text string) []string {
	if text == "" {
		return nil
	}
	out := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := range out {
		out[i] += "\n"
	}
	return out
}

// dataFields are where ConfigMaps and Secrets keep their keys.
var dataFields = []string{"data", "binaryData", "stringData"}

// changedKeys counts the keys of a ConfigMap's or Secret's data that are added, removed or changed.
func changedKeys(o, n map[string]any) int {
	count := 0
	for _, f := range dataFields {
		om, _ := o[f].(map[string]any)
		nm, _ := n[f].(map[string]any)
		for k, v := range nm {
			if ov, ok := om[k]; !ok || !reflect.DeepEqual(ov, v) {
				count++
			}
		}
		for k := range om {
			if _, ok := nm[k]; !ok {
				count++
			}
		}
	}
	return count
}

// maskSecret returns copies of a Secret before and after with every value of data and stringData
// replaced: the old side's by secretMask, the new side's by secretMask when the value did not change and
// by secretMaskChanged when it did, so the diff still says which keys change.
func maskSecret(o, n map[string]any) (map[string]any, map[string]any) {
	mo, mn := maps.Clone(o), maps.Clone(n)
	for _, f := range dataFields {
		om, _ := o[f].(map[string]any)
		nm, _ := n[f].(map[string]any)
		if om != nil {
			masked := map[string]any{}
			for k := range om {
				masked[k] = secretMask
			}
			mo[f] = masked
		}
		if nm != nil {
			masked := map[string]any{}
			for k, v := range nm {
				masked[k] = secretMask
				if ov, ok := om[k]; ok && !reflect.DeepEqual(ov, v) {
					masked[k] = secretMaskChanged
				}
			}
			mn[f] = masked
		}
	}
	return mo, mn
}

// images lists the container images of a workload's pod template (Deployments, StatefulSets,
// DaemonSets, Jobs, CronJobs, bare Pods), in order, comma-separated.
func images(body map[string]any) string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, field := range []string{"initContainers", "containers"} {
			list, _ := m[field].([]any)
			for _, c := range list {
				if cm, ok := c.(map[string]any); ok {
					if img, ok := cm["image"].(string); ok {
						out = append(out, img)
					}
				}
			}
		}
		for _, k := range []string{"spec", "template", "jobTemplate"} {
			walk(m[k])
		}
	}
	walk(body)
	return strings.Join(out, ", ")
}
