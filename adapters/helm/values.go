package helm

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/shipgate/shipgate/engine"
)

// values builds the release's values as `helm upgrade -f FILE… --set K=V…` would, then adds the
// delivery's configuration change (Keptn's configurationChange.values, from the trigger's values) and
// last the image, so that the artifact being delivered is always the one deployed.
func (r *run) values() (map[string]any, error) {
	opts := values.Options{}
	for i, tmpl := range r.s.valuesFiles {
		name, err := engine.Render(tmpl, r.data)
		if err != nil {
			return nil, err
		}
		path, ok := r.valuesFile(name)
		if !ok {
			return nil, fmt.Errorf("values_files[%d]: %s is not among the files of %s in stage %s", i, name, r.t.Service, r.t.Stage)
		}
		opts.ValueFiles = append(opts.ValueFiles, path)
	}
	for _, k := range slices.Sorted(maps.Keys(r.s.set)) {
		v, err := engine.Render(r.s.set[k], r.data)
		if err != nil {
			return nil, err
		}
		opts.Values = append(opts.Values, k+"="+v)
	}
	// Only local files are read: no getter may fetch a values file from a URL.
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	change, _ := r.t.Data["configurationChange"].(map[string]any)
	if cv, ok := change["values"].(map[string]any); ok {
		extra := map[string]any{}
		for k, v := range cv {
			if k != "image" { // the image goes where the image setting says, below
				extra[k] = v
			}
		}
		merge(vals, extra)
	}
	if err := r.setImage(vals); err != nil {
		return nil, err
	}
	return vals, nil
}

func (r *run) valuesFile(name string) (string, bool) {
	if r.t.ProjectConfig == nil {
		return "", false
	}
	return r.t.ProjectConfig.Resource(r.t.Stage, r.t.Service, name)
}

// setImage puts the artifact at the image setting's paths, as strings even when a tag looks like a
// number (--set-string), since --set would turn tag 1.10 into 1.1.
func (r *run) setImage(vals map[string]any) error {
	im := r.s.Image
	if im.Value != "" {
		return setString(vals, im.Value, r.t.Image)
	}
	repo, tag, err := splitImage(r.t.Image)
	if err != nil {
		return err
	}
	if err := setString(vals, im.Repository, repo); err != nil {
		return err
	}
	return setString(vals, im.Tag, tag)
}

// splitImage splits a reference into repository and tag for charts that take them apart.
func splitImage(image string) (repo, tag string, err error) {
	ref, err := reference.Parse(image)
	if err != nil {
		return "", "", fmt.Errorf("image %q: %w", image, err)
	}
	named, ok := ref.(reference.Named)
	tagged, hasTag := ref.(reference.Tagged)
	if !ok || !hasTag {
		return "", "", fmt.Errorf("image %q has no tag, and image.tag needs one; use image.value for the whole reference", image)
	}
	return named.Name(), tagged.Tag(), nil
}

func setString(vals map[string]any, path, value string) error {
	if err := strvals.ParseIntoString(escapeSetKey(path)+"="+escapeSetValue(value), vals); err != nil {
		return fmt.Errorf("setting the image at %s: %w", path, err)
	}
	return nil
}

// imageAt reads back what setImage wrote, from a release's values, for "what ran before".
func (r *run) imageAt(vals map[string]any) string {
	im := r.s.Image
	if im.Value != "" {
		s, _ := lookup(vals, im.Value).(string)
		return s
	}
	repo, _ := lookup(vals, im.Repository).(string)
	tag := fmt.Sprint(lookup(vals, im.Tag))
	if repo == "" {
		return ""
	}
	if tag == "" || tag == "<nil>" {
		return repo
	}
	return repo + ":" + tag
}

func lookup(vals map[string]any, path string) any {
	var cur any = vals
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// merge deep-merges src into dst, src winning, as Helm merges values files.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// escapeSetKey and escapeSetValue protect --set syntax characters in a path we write ourselves.
func escapeSetKey(k string) string { return strings.ReplaceAll(k, "=", `\=`) }

func escapeSetValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`).Replace(v)
}
