package helm

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// serviceURLs are the in-cluster URLs of the Services a release's manifest creates, as Keptn's
// helm-service reported them in deploymentURIsLocal: http://NAME.NAMESPACE:PORT for each Service's first
// port, in manifest order. Tests and load generators running in the cluster reach the deployment there.
func serviceURLs(manifest, namespace string) []any {
	var urls []any
	docs := releaseutil.SplitManifests(manifest)
	keys := slices.Collect(maps.Keys(docs))
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	for _, key := range keys {
		doc := docs[key]
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Spec struct {
				Ports []struct {
					Port int `json:"port"`
				} `json:"ports"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind != "Service" || len(obj.Spec.Ports) == 0 {
			continue
		}
		ns := obj.Metadata.Namespace
		if ns == "" {
			ns = namespace
		}
		urls = append(urls, fmt.Sprintf("http://%s.%s:%d", obj.Metadata.Name, ns, obj.Spec.Ports[0].Port))
	}
	return urls
}
