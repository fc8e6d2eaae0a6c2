package helm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	backupPVCKey        = "PersistentVolumeClaim/" + releaseNamespace + "/shipgate-backup"
	litestreamConfigKey = "ConfigMap/" + releaseNamespace + "/shipgate-litestream"
)

// Both ways of backing up at once, as TestLint and the golden files see them.
const backupValues = `
secrets: {existingSecret: shipgate-secrets}
backup:
  enabled: true
  every: 6h
  keep: 14
  persistence: {size: 10Gi, storageClass: backup-hdd}
  litestream:
    enabled: true
    replica: {url: "s3://shipgate-backups/delivery", endpoint: "${S3_ENDPOINT}"}
    existingSecret: litestream-s3
    extraEnv: [{name: S3_ENDPOINT, value: "https://minio.example.com"}]
`

// named returns the pod's container of that name, failing the test if there is none.
func named(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("no %s container", name)
	return nil
}

// mounts maps each of a container's mount paths to the volume behind it.
func mounts(t *testing.T, d *appsv1.Deployment, c *corev1.Container) map[string]corev1.Volume {
	t.Helper()
	out := map[string]corev1.Volume{}
	for _, m := range c.VolumeMounts {
		out[m.MountPath] = volume(t, d, m.Name)
	}
	return out
}

// checkSidecar holds for every sidecar: shipgate's restricted security context, the database's volume
// at /data, and a writable /tmp (the root filesystem is read-only).
func checkSidecar(t *testing.T, d *appsv1.Deployment, c *corev1.Container) map[string]corev1.Volume {
	t.Helper()
	if want := container(t, d).SecurityContext; c.SecurityContext == nil || c.SecurityContext.String() != want.String() {
		t.Errorf("%s: security context %v, want shipgate's %v", c.Name, c.SecurityContext, want)
	}
	m := mounts(t, d, c)
	if data, _ := mountAt(t, d, "/data"); m["/data"].Name != data.Name {
		t.Errorf("%s: /data from %+v, want the database's volume %s", c.Name, m["/data"], data.Name)
	}
	if m["/tmp"].EmptyDir == nil {
		t.Errorf("%s: /tmp from %+v, want an emptyDir", c.Name, m["/tmp"])
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: no memory limit", c.Name)
	}
	return m
}

// backup.enabled: `shipgate backup --every --keep` beside shipgate, into a claim of its own.
func TestBackupSidecar(t *testing.T) {
	r := render(t, values(t, `
secrets: {existingSecret: shipgate-secrets}
backup: {enabled: true, every: 6h, keep: 14, persistence: {size: 10Gi, storageClass: backup-hdd}}
`))
	checkObjects(t, r)
	if r.has(litestreamConfigKey) {
		t.Error("Litestream's ConfigMap rendered without backup.litestream.enabled")
	}
	pvc := object[corev1.PersistentVolumeClaim](t, r, backupPVCKey)
	if size := pvc.Spec.Resources.Requests.Storage().String(); size != "10Gi" || pvc.Spec.StorageClassName == nil ||
		*pvc.Spec.StorageClassName != "backup-hdd" || pvc.Annotations["helm.sh/resource-policy"] != "keep" ||
		!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("backup claim %+v %+v", pvc.Annotations, pvc.Spec)
	}

	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	c := named(t, d, "backup")
	if c.Image != container(t, d).Image {
		t.Errorf("backup image %q, want shipgate's %q", c.Image, container(t, d).Image)
	}
	want := []string{"/usr/local/bin/shipgate", "backup", "--database", "/data/shipgate.db", "--to", "/backup", "--every", "6h", "--keep", "14"}
	if got := append(slices.Clone(c.Command), c.Args...); !slices.Equal(got, want) {
		t.Errorf("backup runs %q, want %q", got, want)
	}
	// It reads no shipgate.yaml, so it gets none of shipgate's secrets.
	if len(c.EnvFrom) != 0 || len(c.Env) != 0 {
		t.Errorf("backup environment %+v %+v", c.EnvFrom, c.Env)
	}
	m := checkSidecar(t, d, c)
	if v := m["/backup"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "shipgate-backup" {
		t.Errorf("/backup from %+v, want claim shipgate-backup", v)
	}
	for _, path := range []string{"/backup"} {
		if _, ok := mounts(t, d, container(t, d))[path]; ok {
			t.Errorf("shipgate mounts %s", path)
		}
	}
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/default-container"] != "shipgate" {
		t.Errorf("pod annotations %v: kubectl logs would pick a sidecar", d.Spec.Template.Annotations)
	}
	for _, s := range []string{"Every 6h, a verified copy of the database goes to claim shipgate-backup", "the newest 14 are kept",
		"kubectl -n delivery logs deployment/shipgate -c backup", `follow "Backups" in the chart's README`} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES lack %q:\n%s", s, r.notes)
		}
	}

	t.Run("existing claim", func(t *testing.T) {
		r := render(t, values(t, "backup: {enabled: true, persistence: {existingClaim: nightly}}"))
		if r.has(backupPVCKey) {
			t.Error("a backup claim rendered beside backup.persistence.existingClaim")
		}
		d := object[appsv1.Deployment](t, r, deploymentKey)
		if v := mounts(t, d, named(t, d, "backup"))["/backup"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "nightly" {
			t.Errorf("/backup from %+v, want claim nightly", v)
		}
	})
	t.Run("database elsewhere on the volume", func(t *testing.T) {
		r := render(t, values(t, "backup: {enabled: true}\nconfig: {database: /data/state/shipgate.db}"))
		d := object[appsv1.Deployment](t, r, deploymentKey)
		if c := named(t, d, "backup"); !slices.Contains(c.Args, "/data/state/shipgate.db") {
			t.Errorf("backup args %q", c.Args)
		}
	})
}

// backup.litestream.enabled: Litestream beside shipgate, its configuration in a ConfigMap, its
// credentials from a Secret of its own.
func TestLitestreamSidecar(t *testing.T) {
	vals := `
secrets: {existingSecret: shipgate-secrets}
backup:
  litestream:
    enabled: true
    replica: {url: "s3://shipgate-backups/delivery", endpoint: "${S3_ENDPOINT}"}
    existingSecret: litestream-s3
    extraEnv: [{name: S3_ENDPOINT, value: "https://minio.example.com"}]
`
	r := render(t, values(t, vals))
	checkObjects(t, r)
	if r.has(backupPVCKey) {
		t.Error("a backup claim rendered without backup.enabled")
	}
	cm := object[corev1.ConfigMap](t, r, litestreamConfigKey)
	var ls struct {
		DBs []struct {
			Path    string            `json:"path"`
			Replica map[string]string `json:"replica"`
		} `json:"dbs"`
	}
	if err := yaml.UnmarshalStrict([]byte(cm.Data["litestream.yml"]), &ls); err != nil {
		t.Fatalf("litestream.yml: %v\n%s", err, cm.Data["litestream.yml"])
	}
	if len(ls.DBs) != 1 || ls.DBs[0].Path != "/data/shipgate.db" || ls.DBs[0].Replica["url"] != "s3://shipgate-backups/delivery" ||
		ls.DBs[0].Replica["endpoint"] != "${S3_ENDPOINT}" {
		t.Errorf("litestream.yml:\n%s", cm.Data["litestream.yml"])
	}

	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	c := named(t, d, "litestream")
	if c.Image != "litestream/litestream:0.5.16" {
		t.Errorf("image %q", c.Image)
	}
	if got, want := append(slices.Clone(c.Command), c.Args...), []string{"/usr/local/bin/litestream", "replicate", "-config", "/etc/litestream/litestream.yml"}; !slices.Equal(got, want) {
		t.Errorf("litestream runs %q, want %q", got, want)
	}
	// Litestream's credentials reach Litestream only, and shipgate's secrets do not reach it.
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "litestream-s3" {
		t.Errorf("litestream envFrom %+v", c.EnvFrom)
	}
	if v, _ := envValue(c, "S3_ENDPOINT"); v != "https://minio.example.com" {
		t.Errorf("litestream env %+v", c.Env)
	}
	for _, e := range container(t, d).EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == "litestream-s3" {
			t.Error("shipgate gets Litestream's secret")
		}
	}
	m := checkSidecar(t, d, c)
	if v := m["/etc/litestream"]; v.ConfigMap == nil || v.ConfigMap.Name != "shipgate-litestream" {
		t.Errorf("/etc/litestream from %+v", v)
	}
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/etc/litestream" && !vm.ReadOnly {
			t.Error("Litestream's configuration is mounted writable")
		}
	}
	for _, s := range []string{"Litestream replicates the database to s3://shipgate-backups/delivery", "-c litestream"} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES lack %q:\n%s", s, r.notes)
		}
	}

	// The pod rolls when the replica changes, as it does for shipgate.yaml.
	sum := func(vals string) string {
		return object[appsv1.Deployment](t, render(t, values(t, vals)), deploymentKey).Spec.Template.Annotations["checksum/litestream"]
	}
	if a, b := sum(vals), sum(strings.Replace(vals, "delivery", "delivery-2", 1)); a == "" || a == b {
		t.Errorf("checksum/litestream %q, then %q after a change of replica", a, b)
	}
}

// With both, the golden file shows a reviewer the whole pod.
func TestRenderBackups(t *testing.T) {
	r := render(t, values(t, backupValues))
	checkObjects(t, r)
	d := object[appsv1.Deployment](t, r, deploymentKey)
	checkDeployment(t, d)
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"shipgate", "backup", "litestream"}) {
		t.Errorf("containers %v", names)
	}
	if !r.has(backupPVCKey) || !r.has(litestreamConfigKey) {
		t.Errorf("rendered %v", r.keys())
	}
	golden(t, "backup", r)
}

// The schema's backup.every is what `shipgate backup --every` accepts: a Go duration of 1m or more.
func TestBackupEveryValues(t *testing.T) {
	for _, every := range []string{"1m", "90m", "6h", "24h", "1h30m", "168h", "2h0m30s"} {
		if d, err := time.ParseDuration(every); err != nil || d < time.Minute {
			t.Fatalf("test value %s is not a duration of 1m or more", every)
		}
		if _, err := renderErr(values(t, "backup: {enabled: true, every: "+every+"}"), kubeRecent); err != nil {
			t.Errorf("every %s refused: %v", every, err)
		}
	}
	for _, every := range []string{"30s", "0m", "0h", "59s", "1d", "6 h", "", "-1h", "1.5h"} {
		if _, err := renderErr(values(t, `backup: {enabled: true, every: "`+every+`"}`), kubeRecent); err == nil || !strings.Contains(err.Error(), "/backup/every") {
			t.Errorf("every %q: error %v, want the schema to refuse it", every, err)
		}
	}
}
