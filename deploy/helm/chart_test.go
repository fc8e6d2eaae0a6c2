package helm_test

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	// The chat platforms' sections, which the rendered configs hold.
	_ "github.com/shipgate/shipgate/adapters/platforms"
	"github.com/shipgate/shipgate/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	chartPath = "shipgate"
	// The release is installed as "shipgate" in namespace "delivery", so resources are named "shipgate".
	releaseName      = "shipgate"
	releaseNamespace = "delivery"
	fullValuesFile   = "shipgate/ci/full-values.yaml"
)

// kubeFloor is the oldest Kubernetes the chart supports (Chart.yaml's kubeVersion); kubeRecent a recent
// one. Helm's own default (v1.20, when the SDK is not built with a version) is older than the floor.
var (
	kubeFloor  = &chartutil.KubeVersion{Version: "v1.25.0", Major: "1", Minor: "25"}
	kubeRecent = &chartutil.KubeVersion{Version: "v1.34.0", Major: "1", Minor: "34"}
)

func fullValues(t *testing.T) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(fullValuesFile)
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// values reads YAML values, as `helm install -f` would.
func values(t *testing.T, src string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// The chart passes helm lint with no warnings, on a recent Kubernetes and on the oldest the chart
// supports (lint warns about APIs deprecated in the version it is given). The one message allowed is lint's advice to set an icon: shipgate publishes no
// icon URL to point at.
func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
	}{
		{"defaults", nil},
		{"full", fullValues(t)},
		{"cluster-wide", values(t, "rbac: {clusterWide: true}\npersistence: {enabled: false}")},
		{"backups", values(t, backupValues)},
	} {
		for _, kube := range []*chartutil.KubeVersion{kubeFloor, kubeRecent} {
			t.Run(tc.name+"/"+kube.Version, func(t *testing.T) {
				lint := action.NewLint()
				lint.Namespace = releaseNamespace
				lint.KubeVersion = kube
				res := lint.Run([]string{chartPath}, tc.vals)
				for _, err := range res.Errors {
					t.Errorf("lint error: %v", err)
				}
				for _, m := range res.Messages {
					if m.Severity == support.InfoSev && strings.Contains(m.Err.Error(), "icon is recommended") {
						t.Logf("lint: %s", m)
						continue
					}
					t.Errorf("lint: %s", m)
				}
				if res.TotalChartsLinted != 1 {
					t.Errorf("%d charts linted, want 1", res.TotalChartsLinted)
				}
			})
		}
	}
}

func TestChartMetadata(t *testing.T) {
	ch, err := loader.Load(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	md := ch.Metadata
	if md.APIVersion != "v2" || md.Name != "shipgate" || md.Version != "0.1.0" || md.AppVersion != "0.1.0" ||
		md.KubeVersion != ">=1.25.0-0" || md.Type != "application" {
		t.Errorf("Chart.yaml: %+v", md)
	}
	if ch.Schema == nil {
		t.Error("values.schema.json is not in the chart")
	}
	for _, f := range ch.Files {
		if strings.HasPrefix(f.Name, "ci/") {
			t.Errorf("%s is packaged; .helmignore should leave ci/ out", f.Name)
		}
	}
}

// rendered is one `helm install --dry-run` of the chart, client-side.
type rendered struct {
	manifest string
	notes    string
	// docs maps "Kind/namespace/name" to each object's YAML.
	docs map[string]string
}

func renderErr(vals map[string]any, kube *chartutil.KubeVersion) (*rendered, error) {
	ch, err := loader.Load(chartPath)
	if err != nil {
		return nil, err
	}
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.DryRun, inst.ClientOnly = true, true
	inst.ReleaseName, inst.Namespace = releaseName, releaseNamespace
	inst.KubeVersion = kube
	rel, err := inst.Run(ch, vals)
	if err != nil {
		return nil, err
	}
	r := &rendered{manifest: rel.Manifest, notes: rel.Info.Notes, docs: map[string]string{}}
	for _, doc := range releaseutil.SplitManifests(rel.Manifest) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("rendered YAML does not parse: %w\n%s", err, doc)
		}
		if head.Kind == "" {
			continue
		}
		key := head.Kind + "/" + head.Metadata.Namespace + "/" + head.Metadata.Name
		if _, dup := r.docs[key]; dup {
			return nil, fmt.Errorf("%s rendered twice", key)
		}
		r.docs[key] = doc
	}
	return r, nil
}

func render(t *testing.T, vals map[string]any) *rendered {
	t.Helper()
	r, err := renderErr(vals, kubeRecent)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keys are the rendered objects, sorted.
func (r *rendered) keys() []string {
	return slices.Sorted(maps.Keys(r.docs))
}

func (r *rendered) has(key string) bool {
	_, ok := r.docs[key]
	return ok
}

// object decodes one rendered object into its Kubernetes type as the API server does (field names are
// case-sensitive), refusing unknown and duplicate fields, so that a misspelt field in a template fails
// the test instead of being dropped or refused at install.
func object[T any](t *testing.T, r *rendered, key string) *T {
	t.Helper()
	doc, ok := r.docs[key]
	if !ok {
		t.Fatalf("%s is not rendered; rendered: %v", key, r.keys())
	}
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	obj := new(T)
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err = errors.Join(append(strict, err)...); err != nil {
		t.Fatalf("%s: %v\n%s", key, err, doc)
	}
	return obj
}

// Every rendered object of a known kind decodes strictly and carries the chart's labels.
func checkObjects(t *testing.T, r *rendered) {
	t.Helper()
	wantLabels := map[string]string{
		"app.kubernetes.io/name":       "shipgate",
		"app.kubernetes.io/instance":   releaseName,
		"app.kubernetes.io/managed-by": "Helm",
		"helm.sh/chart":                "shipgate-0.1.0",
	}
	for _, key := range r.keys() {
		kind := strings.SplitN(key, "/", 2)[0]
		var labels map[string]string
		switch kind {
		case "Deployment":
			labels = object[appsv1.Deployment](t, r, key).Labels
		case "Service":
			labels = object[corev1.Service](t, r, key).Labels
		case "ConfigMap":
			labels = object[corev1.ConfigMap](t, r, key).Labels
		case "ServiceAccount":
			labels = object[corev1.ServiceAccount](t, r, key).Labels
		case "PersistentVolumeClaim":
			labels = object[corev1.PersistentVolumeClaim](t, r, key).Labels
		case "Ingress":
			labels = object[networkingv1.Ingress](t, r, key).Labels
		case "Role":
			labels = object[rbacv1.Role](t, r, key).Labels
		case "RoleBinding":
			labels = object[rbacv1.RoleBinding](t, r, key).Labels
		case "ClusterRole":
			labels = object[rbacv1.ClusterRole](t, r, key).Labels
		case "ClusterRoleBinding":
			labels = object[rbacv1.ClusterRoleBinding](t, r, key).Labels
		case "ServiceMonitor":
			labels = object[serviceMonitor](t, r, key).Metadata.Labels
		default:
			t.Errorf("%s: a kind the tests do not check", key)
			continue
		}
		for k, v := range wantLabels {
			if labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", key, k, labels[k], v)
			}
		}
		if clusterScoped := strings.HasPrefix(kind, "Cluster"); clusterScoped != strings.Contains(key, "//") {
			t.Errorf("%s: namespace set on a cluster-scoped object, or missing on a namespaced one", key)
		}
	}
}

// serviceMonitor is the part of the Prometheus operator's ServiceMonitor the chart sets.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector          metaLabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type metaLabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

const (
	deploymentKey = "Deployment/" + releaseNamespace + "/shipgate"
	configMapKey  = "ConfigMap/" + releaseNamespace + "/shipgate"
	serviceKey    = "Service/" + releaseNamespace + "/shipgate"
	pvcKey        = "PersistentVolumeClaim/" + releaseNamespace + "/shipgate"
	saKey         = "ServiceAccount/" + releaseNamespace + "/shipgate"
	ingressKey    = "Ingress/" + releaseNamespace + "/shipgate"
	monitorKey    = "ServiceMonitor/" + releaseNamespace + "/shipgate"
)

func container(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "shipgate" {
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatal("no shipgate container")
	return nil
}

func volume(t *testing.T, d *appsv1.Deployment, name string) corev1.Volume {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q", name)
	return corev1.Volume{}
}

// mountAt is the container's mount at path and the volume behind it.
func mountAt(t *testing.T, d *appsv1.Deployment, path string) (corev1.VolumeMount, corev1.Volume) {
	t.Helper()
	for _, m := range container(t, d).VolumeMounts {
		if m.MountPath == path {
			return m, volume(t, d, m.Name)
		}
	}
	t.Fatalf("nothing mounted at %s", path)
	return corev1.VolumeMount{}, corev1.Volume{}
}

func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// checkDeployment holds what every rendering must keep, whatever the values.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1: SQLite has one writer", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %q, want Recreate", d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template
	for k, v := range d.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels %v", k, v, pod.Labels)
		}
	}
	if sum := pod.Annotations["checksum/config"]; !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sum) {
		t.Errorf("checksum/config annotation %q", sum)
	}
	c := container(t, d)
	if got, want := append(slices.Clone(c.Command), c.Args...), []string{"/usr/local/bin/shipgate", "serve", "--config", "/etc/shipgate/shipgate.yaml"}; !slices.Equal(got, want) {
		t.Errorf("command and args %q, want %q", got, want)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want http 8080", c.Ports)
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("probe %+v, want GET %s on port http", probe, path)
		}
	}

	// Non-root, read-only root filesystem, no privileges: the restricted Pod Security Standard.
	psc, sc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no security context")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.FSGroup == nil || *psc.FSGroup != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", psc)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container security context %+v", sc)
	}

	// The writable places a read-only root filesystem leaves: /data for the database, /tmp for exec
	// tasks and Helm's cache.
	if m, v := mountAt(t, d, "/data"); m.ReadOnly || (v.PersistentVolumeClaim == nil && v.EmptyDir == nil) {
		t.Errorf("/data: %+v from %+v", m, v)
	}
	if m, v := mountAt(t, d, "/tmp"); m.ReadOnly || v.EmptyDir == nil {
		t.Errorf("/tmp: %+v from %+v", m, v)
	}
	if m, v := mountAt(t, d, "/etc/shipgate/shipgate.yaml"); m.SubPath != "shipgate.yaml" || !m.ReadOnly ||
		v.ConfigMap == nil || v.ConfigMap.Name != "shipgate" {
		t.Errorf("config: %+v from %+v", m, v)
	}
	mountAt(t, d, "/etc/shipgate/projects")
	if home, _ := envValue(c, "HOME"); home != "/tmp" {
		t.Errorf("HOME=%q, want /tmp", home)
	}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		t.Error("service links are on: they would set SHIPGATE_* variables")
	}
	if pod.Spec.ServiceAccountName != "shipgate" {
		t.Errorf("service account %q", pod.Spec.ServiceAccountName)
	}
}

func TestRenderDefaults(t *testing.T) {
	r := render(t, nil)
	checkObjects(t, r)
	// Nothing optional, and no RBAC: the chart cannot guess which namespaces shipgate deploys to.
	want := []string{configMapKey, deploymentKey, pvcKey, serviceKey, saKey}
	if got := r.keys(); !slices.Equal(got, want) {
		t.Errorf("rendered %v, want %v", got, want)
	}

	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	c := container(t, d)
	if c.Image != "ghcr.io/shipgate/shipgate:0.1.0" {
		t.Errorf("image %q, want the appVersion tag", c.Image)
	}
	if len(c.EnvFrom) != 0 {
		t.Errorf("envFrom %+v without secrets.existingSecret", c.EnvFrom)
	}
	if lim := c.Resources.Limits.Memory().String(); lim != "512Mi" {
		t.Errorf("memory limit %s", lim)
	}
	if _, v := mountAt(t, d, "/data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "shipgate" {
		t.Errorf("/data is %+v, want the claim shipgate", v)
	}
	if m, v := mountAt(t, d, "/etc/shipgate/projects"); v.EmptyDir == nil || m.ReadOnly {
		t.Errorf("projects: %+v from %+v, want a writable emptyDir (to hold ConfigMap mount points)", m, v)
	}

	pvc := object[corev1.PersistentVolumeClaim](t, r, pvcKey)
	if size := pvc.Spec.Resources.Requests.Storage().String(); size != "1Gi" ||
		!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) ||
		pvc.Spec.StorageClassName != nil || pvc.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("claim %+v %+v", pvc.Annotations, pvc.Spec)
	}

	svc := object[corev1.Service](t, r, serviceKey)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 ||
		svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service %+v", svc.Spec)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not select the pod", k, v)
		}
	}

	sa := object[corev1.ServiceAccount](t, r, saKey)
	if sa.AutomountServiceAccountToken == nil || !*sa.AutomountServiceAccountToken {
		t.Error("the service account token is not mounted: the helm executor needs it")
	}

	for _, s := range []string{"kubectl -n delivery port-forward service/shipgate 8080:80", "/readyz",
		"WARNING: ServiceAccount shipgate has no permissions", "set ingress.enabled=true",
		"https://YOUR-HOST/slack/commands", "https://YOUR-HOST/discord/interactions", "No projects are mounted"} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES lack %q:\n%s", s, r.notes)
		}
	}
	golden(t, "default", r)
}

// The ConfigMap holds shipgate.yaml as values.yaml's config says, and shipgate accepts it.
func TestRenderedConfig(t *testing.T) {
	env := map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "signing", "DISCORD_BOT_TOKEN": "discord", "CI_TOKEN": "ci",
	}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	for _, tc := range []struct {
		name string
		vals map[string]any
	}{
		{"defaults", nil},
		{"full", fullValues(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.vals)
			cm := object[corev1.ConfigMap](t, r, configMapKey)
			data, ok := cm.Data["shipgate.yaml"]
			if !ok {
				t.Fatalf("no shipgate.yaml in %v", cm.Data)
			}
			cfg, diags := config.Parse("/etc/shipgate/shipgate.yaml", []byte(data), lookup)
			for _, d := range diags {
				t.Errorf("shipgate refuses the rendered config: %s\n%s", d, data)
			}
			if cfg.Listen != ":8080" || cfg.Database != "/data/shipgate.db" || cfg.ProjectsDir != "/etc/shipgate/projects" ||
				cfg.Log.Format != "json" {
				t.Errorf("listen %q, database %q, projects_dir %q, log format %q", cfg.Listen, cfg.Database, cfg.ProjectsDir, cfg.Log.Format)
			}
			if tc.name == "full" {
				// Chat ids survive Helm as strings, and secrets stay references to the environment.
				if !strings.Contains(data, `channel: "222233334444"`) || !strings.Contains(data, "${SLACK_BOT_TOKEN}") {
					t.Errorf("shipgate.yaml:\n%s", data)
				}
				if len(cfg.Channels) != 2 || cfg.Channels[1].Channel != "222233334444" {
					t.Errorf("channels %+v", cfg.Channels)
				}
			}
		})
	}
}

// The pod rolls when shipgate.yaml changes, and only then.
func TestConfigChecksum(t *testing.T) {
	sum := func(vals map[string]any) string {
		d := object[appsv1.Deployment](t, render(t, vals), deploymentKey)
		return d.Spec.Template.Annotations["checksum/config"]
	}
	base := sum(nil)
	if got := sum(values(t, "podAnnotations: {a: b}\nimage: {tag: v9}")); got != base {
		t.Error("checksum changed without a config change")
	}
	if got := sum(values(t, "config: {log: {level: debug}}")); got == base {
		t.Error("checksum unchanged after a config change")
	}
}

func TestRenderFull(t *testing.T) {
	r := render(t, fullValues(t))
	checkObjects(t, r)
	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	c := container(t, d)

	// Secrets by reference: every key of the Secret is an environment variable for ${NAME}.
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "shipgate-secrets" {
		t.Errorf("envFrom %+v, want secret shipgate-secrets", c.EnvFrom)
	}
	if tz, _ := envValue(c, "TZ"); tz != "Europe/Berlin" {
		t.Errorf("extraEnv TZ=%q", tz)
	}
	pod := d.Spec.Template
	if pod.Annotations["example.com/team"] != "delivery" || pod.Spec.NodeSelector["kubernetes.io/os"] != "linux" ||
		len(pod.Spec.Tolerations) != 1 {
		t.Errorf("pod annotations %v, node selector %v, tolerations %v", pod.Annotations, pod.Spec.NodeSelector, pod.Spec.Tolerations)
	}

	// Each project ConfigMap is its own read-only project directory.
	if m, v := mountAt(t, d, "/etc/shipgate/projects/fulltour-flat"); !m.ReadOnly || v.ConfigMap == nil ||
		v.ConfigMap.Name != "fulltour-flat" || len(v.ConfigMap.Items) != 0 {
		t.Errorf("fulltour-flat: %+v from %+v", m, v)
	}
	if m, v := mountAt(t, d, "/etc/shipgate/projects/fulltour"); !m.ReadOnly || v.ConfigMap == nil ||
		v.ConfigMap.Name != "fulltour-files" || len(v.ConfigMap.Items) != 4 || v.ConfigMap.Items[2].Path != "helloservice/slo.yaml" {
		t.Errorf("fulltour: %+v from %+v", m, v)
	}

	ing := object[networkingv1.Ingress](t, r, ingressKey)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 ||
		ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" || len(ing.Spec.Rules) != 1 {
		t.Fatalf("ingress %+v", ing)
	}
	rule := ing.Spec.Rules[0]
	var paths []string
	for _, p := range rule.HTTP.Paths {
		paths = append(paths, p.Path)
		if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service == nil ||
			p.Backend.Service.Name != "shipgate" || p.Backend.Service.Port.Name != "http" {
			t.Errorf("path %+v", p)
		}
	}
	// Only what chat platforms and CI call: /metrics, /healthz and /readyz stay inside the cluster.
	if rule.Host != "shipgate.example.com" || !slices.Equal(paths, []string{"/slack", "/discord", "/api"}) {
		t.Errorf("ingress host %q, paths %v", rule.Host, paths)
	}

	sm := object[serviceMonitor](t, r, monitorKey)
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Labels["release"] != "kube-prometheus-stack" ||
		len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" ||
		sm.Spec.Endpoints[0].Interval != "30s" || !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{releaseNamespace}) {
		t.Errorf("service monitor %+v", sm)
	}
	svc := object[corev1.Service](t, r, serviceKey)
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("service monitor selects %s=%s; the service has %v", k, v, svc.Labels)
		}
	}

	for _, ns := range []string{"fulltour-qa", "fulltour-production"} {
		role := object[rbacv1.Role](t, r, "Role/"+ns+"/shipgate")
		checkRules(t, "Role "+ns, role.Rules, false)
		rb := object[rbacv1.RoleBinding](t, r, "RoleBinding/"+ns+"/shipgate")
		if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "shipgate"}) ||
			len(rb.Subjects) != 1 || rb.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: "shipgate", Namespace: releaseNamespace}) {
			t.Errorf("RoleBinding in %s: %+v %+v", ns, rb.RoleRef, rb.Subjects)
		}
	}
	for _, key := range r.keys() {
		if strings.HasPrefix(key, "Cluster") {
			t.Errorf("%s rendered without rbac.clusterWide", key)
		}
	}

	for _, s := range []string{"https://shipgate.example.com/slack/commands", "https://shipgate.example.com/slack/interactions",
		"https://shipgate.example.com/discord/interactions", "export SHIPGATE_SERVER=https://shipgate.example.com",
		"may deploy to: fulltour-qa, fulltour-production", "(ServiceMonitor shipgate)", "Secret shipgate-secrets"} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES lack %q:\n%s", s, r.notes)
		}
	}
	if strings.Contains(r.notes, "WARNING") {
		t.Errorf("NOTES warn with every feature on:\n%s", r.notes)
	}
	golden(t, "full", r)
}

// access is one request the helm executor makes.
type access struct{ group, resource, verb string }

// helmNeeds is what Helm does in a namespace to install, upgrade, roll back and wait for a release of a
// typical service chart, and what shipgate does before (reading the namespace).
var helmNeeds = []access{
	{"", "namespaces", "get"},
	// Release records are Secrets.
	{"", "secrets", "get"}, {"", "secrets", "list"}, {"", "secrets", "create"}, {"", "secrets", "update"}, {"", "secrets", "delete"},
	{"", "services", "create"}, {"", "services", "patch"}, {"", "services", "delete"},
	{"", "configmaps", "patch"}, {"", "serviceaccounts", "create"}, {"", "persistentvolumeclaims", "get"},
	{"apps", "deployments", "get"}, {"apps", "deployments", "create"}, {"apps", "deployments", "patch"}, {"apps", "deployments", "delete"},
	{"apps", "statefulsets", "patch"}, {"apps", "replicasets", "list"}, {"", "pods", "list"},
	{"batch", "jobs", "create"}, {"batch", "jobs", "delete"},
	{"networking.k8s.io", "ingresses", "patch"}, {"autoscaling", "horizontalpodautoscalers", "create"},
	{"policy", "poddisruptionbudgets", "create"},
}

// beyondHelm is what the rules must not grant.
var beyondHelm = []access{
	{"", "pods", "delete"}, {"", "pods/exec", "create"}, {"", "nodes", "get"},
	{"rbac.authorization.k8s.io", "roles", "create"}, {"rbac.authorization.k8s.io", "rolebindings", "create"},
	{"apiextensions.k8s.io", "customresourcedefinitions", "create"},
}

func allows(rules []rbacv1.PolicyRule, a access) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, a.group) && slices.Contains(r.Resources, a.resource) &&
			slices.Contains(r.Verbs, a.verb) && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

// jobNeeds is what the job executor does in the namespaces it runs tasks in: create a Job and the
// ConfigMap of its files (owned by the Job, so deleting the Job with background propagation removes
// both), watch the Job to its end, find its Pods and read their logs, and re-attach after a restart.
var jobNeeds = []access{
	{"batch", "jobs", "create"}, {"batch", "jobs", "get"}, {"batch", "jobs", "list"}, {"batch", "jobs", "watch"},
	{"batch", "jobs", "delete"},
	{"", "configmaps", "create"}, {"", "configmaps", "get"}, {"", "configmaps", "delete"},
	{"", "pods", "get"}, {"", "pods", "list"}, {"", "pods/log", "get"},
}

func checkRules(t *testing.T, what string, rules []rbacv1.PolicyRule, createNamespaces bool) {
	t.Helper()
	for _, r := range rules {
		for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs) {
			if strings.Contains(s, "*") {
				t.Errorf("%s: wildcard in %+v", what, r)
			}
		}
	}
	for _, a := range helmNeeds {
		if !allows(rules, a) {
			t.Errorf("%s does not allow %s %s.%s", what, a.verb, a.resource, a.group)
		}
	}
	for _, a := range jobNeeds {
		if !allows(rules, a) {
			t.Errorf("%s does not allow %s %s.%s, which the job executor needs", what, a.verb, a.resource, a.group)
		}
	}
	for _, a := range beyondHelm {
		if allows(rules, a) {
			t.Errorf("%s allows %s %s.%s", what, a.verb, a.resource, a.group)
		}
	}
	if got := allows(rules, access{"", "namespaces", "create"}); got != createNamespaces {
		t.Errorf("%s: create namespaces %v, want %v", what, got, createNamespaces)
	}
}

func TestRBAC(t *testing.T) {
	t.Run("cluster-wide", func(t *testing.T) {
		r := render(t, values(t, "rbac: {clusterWide: true}"))
		checkObjects(t, r)
		// Cluster-scoped names carry the release's namespace: two installs must not share them.
		cr := object[rbacv1.ClusterRole](t, r, "ClusterRole//delivery-shipgate")
		checkRules(t, "ClusterRole", cr.Rules, true)
		crb := object[rbacv1.ClusterRoleBinding](t, r, "ClusterRoleBinding//delivery-shipgate")
		if crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != "delivery-shipgate" ||
			len(crb.Subjects) != 1 || crb.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: "shipgate", Namespace: releaseNamespace}) {
			t.Errorf("ClusterRoleBinding %+v %+v", crb.RoleRef, crb.Subjects)
		}
		if !strings.Contains(r.notes, "may deploy to every namespace") {
			t.Errorf("NOTES:\n%s", r.notes)
		}
	})
	t.Run("extra rules", func(t *testing.T) {
		r := render(t, values(t, `
rbac:
  namespaces: [fulltour-qa]
  extraRules:
    - {apiGroups: [monitoring.coreos.com], resources: [servicemonitors], verbs: [get, create, patch]}
`))
		role := object[rbacv1.Role](t, r, "Role/fulltour-qa/shipgate")
		if !allows(role.Rules, access{"monitoring.coreos.com", "servicemonitors", "create"}) {
			t.Errorf("extra rule missing: %+v", role.Rules)
		}
		checkRules(t, "Role", role.Rules, false)
	})
	t.Run("disabled", func(t *testing.T) {
		r := render(t, values(t, "rbac: {create: false, namespaces: [fulltour-qa], clusterWide: true}"))
		for _, key := range r.keys() {
			if strings.Contains(key, "Role") {
				t.Errorf("%s rendered with rbac.create false", key)
			}
		}
	})
	t.Run("existing service account", func(t *testing.T) {
		r := render(t, values(t, "serviceAccount: {create: false, name: deployer}\nrbac: {namespaces: [fulltour-qa]}"))
		if r.has(saKey) {
			t.Error("ServiceAccount rendered with serviceAccount.create false")
		}
		rb := object[rbacv1.RoleBinding](t, r, "RoleBinding/fulltour-qa/shipgate")
		d := object[appsv1.Deployment](t, r, deploymentKey)
		if rb.Subjects[0].Name != "deployer" || d.Spec.Template.Spec.ServiceAccountName != "deployer" {
			t.Errorf("binding %+v, pod account %q", rb.Subjects, d.Spec.Template.Spec.ServiceAccountName)
		}
	})
}

func TestPersistence(t *testing.T) {
	for _, tc := range []struct {
		name, vals string
		claim      bool   // a claim is rendered
		mounted    string // the claim mounted at /data; "" for an emptyDir
		check      func(t *testing.T, r *rendered)
	}{
		{name: "existing claim", vals: "persistence: {existingClaim: shipgate-db}", mounted: "shipgate-db"},
		{name: "disabled", vals: "persistence: {enabled: false}", check: func(t *testing.T, r *rendered) {
			if !strings.Contains(r.notes, "WARNING: persistence.enabled=false") {
				t.Errorf("NOTES do not warn about losing the database:\n%s", r.notes)
			}
		}},
		{name: "storage class", vals: "persistence: {storageClass: fast, size: 5Gi, keepOnUninstall: false}", claim: true, mounted: "shipgate",
			check: func(t *testing.T, r *rendered) {
				pvc := object[corev1.PersistentVolumeClaim](t, r, pvcKey)
				if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "fast" ||
					pvc.Spec.Resources.Requests.Storage().String() != "5Gi" || pvc.Annotations["helm.sh/resource-policy"] != "" {
					t.Errorf("claim %+v %+v", pvc.Annotations, pvc.Spec)
				}
			}},
		{name: "no storage class", vals: `persistence: {storageClass: "-"}`, claim: true, mounted: "shipgate",
			check: func(t *testing.T, r *rendered) {
				pvc := object[corev1.PersistentVolumeClaim](t, r, pvcKey)
				if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "" {
					t.Errorf("storageClassName %v, want empty (static binding)", pvc.Spec.StorageClassName)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, values(t, tc.vals))
			if r.has(pvcKey) != tc.claim {
				t.Errorf("claim rendered: %v, want %v", r.has(pvcKey), tc.claim)
			}
			d := object[appsv1.Deployment](t, r, deploymentKey)
			checkDeployment(t, d)
			_, v := mountAt(t, d, "/data")
			switch {
			case tc.mounted == "" && v.EmptyDir == nil:
				t.Errorf("/data from %+v, want an emptyDir", v)
			case tc.mounted != "" && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != tc.mounted):
				t.Errorf("/data from %+v, want claim %s", v, tc.mounted)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// projects.volume replaces the ConfigMaps with any volume: here the chart README's recipe, an emptyDir
// that git-sync fills before shipgate starts.
func TestProjectsVolume(t *testing.T) {
	r := render(t, values(t, `
projects:
  volume: {emptyDir: {}}
initContainers:
  - name: git-sync
    image: registry.k8s.io/git-sync/git-sync:v4.4.0
    args: [--repo=https://github.com/example/delivery, --ref=main, --root=/git, --link=current, --one-time]
    volumeMounts: [{name: projects, mountPath: /git}]
config: {projects_dir: /etc/shipgate/projects/current/projects}
`))
	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	m, v := mountAt(t, d, "/etc/shipgate/projects")
	if !m.ReadOnly || v.EmptyDir == nil {
		t.Errorf("projects: %+v from %+v, want the volume read-only", m, v)
	}
	for _, vol := range d.Spec.Template.Spec.Volumes {
		if strings.HasPrefix(vol.Name, "project-") {
			t.Errorf("volume %s without projects.configMaps", vol.Name)
		}
	}
	if ic := d.Spec.Template.Spec.InitContainers; len(ic) != 1 || ic[0].Name != "git-sync" || ic[0].VolumeMounts[0].Name != "projects" {
		t.Errorf("init containers %+v", ic)
	}
	if strings.Contains(r.notes, "No projects are mounted") {
		t.Errorf("NOTES:\n%s", r.notes)
	}
}

// Mistakes in values are refused at install with a message that names them, not left to the cluster or
// to shipgate's start.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct{ name, vals, want string }{
		{"misspelt key", "persistance: {enabled: false}", "'persistance' not allowed"},
		{"unquoted chat id", "config: {channels: [{platform: discord, channel: 222233334444}]}", "/config/channels/0/channel': got number, want string"},
		{"invalid namespace", "rbac: {namespaces: [Fulltour_QA]}", "'Fulltour_QA' does not match"},
		{"relative ingress path", "ingress: {enabled: true, hosts: [{host: a.example, paths: [slack]}]}", "'slack' does not match"},
		{"pull policy", "image: {pullPolicy: Sometimes}", "/image/pullPolicy"},
		{"both project sources", "projects: {configMaps: [fulltour], volume: {emptyDir: {}}}", "either configMaps or volume"},
		{"project twice", "projects: {configMaps: [fulltour, {name: other, project: fulltour}]}", `project "fulltour" is listed twice`},
		{"invalid project", "projects: {configMaps: [{name: x, project: Full_Tour}]}", "'Full_Tour' does not match"},
		{"backups too often", "backup: {enabled: true, every: 30s}", "/backup/every"},
		{"backups kept", "backup: {keep: -1}", "/backup/keep"},
		{"backup claim switched off", "backup: {persistence: {enabled: false}}", "'enabled' not allowed"},
		{"Litestream's old replicas list", "backup: {litestream: {enabled: true, replicas: [{url: s3://b/p}]}}", "'replicas' not allowed"},
		{"Litestream without a replica", "backup: {litestream: {enabled: true}}", "backup.litestream.replica is required"},
		{"backup of a database off /data", "backup: {enabled: true}\nconfig: {database: shipgate.db}", "config.database is /etc/shipgate/shipgate.db; backups read it through the /data volume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderErr(values(t, tc.vals), kubeRecent)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("kubernetes too old", func(t *testing.T) {
		_, err := renderErr(nil, &chartutil.KubeVersion{Version: "v1.24.9", Major: "1", Minor: "24"})
		if err == nil || !strings.Contains(err.Error(), "kubeVersion") {
			t.Errorf("error %v, want the kubeVersion constraint", err)
		}
	})
}

// golden compares the rendered manifest and NOTES with testdata/golden/NAME.*; -update rewrites them.
// The assertions above say what must hold; the golden files show a reviewer every change to the output.
func golden(t *testing.T, name string, r *rendered) {
	t.Helper()
	for ext, got := range map[string]string{".yaml": r.manifest, ".notes.txt": r.notes} {
		path := filepath.Join("testdata", "golden", name+ext)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./deploy/helm -update to create it)", err)
		}
		if string(want) != got {
			t.Errorf("%s differs from the rendering (go test ./deploy/helm -update, then review the diff):\n%s", path, firstDiff(string(want), got))
		}
	}
}

// firstDiff shows the first line where two texts differ, with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(only trailing differences)"
}
