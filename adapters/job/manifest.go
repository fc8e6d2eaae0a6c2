package job

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxFilesSize is the most a Spec's files may add up to (keys and contents): Kubernetes refuses a
// ConfigMap larger than 1 MiB.
const MaxFilesSize = 1 << 20

// filesVolume is the name of the volume that mounts the ConfigMap at MountPath.
const filesVolume = "keptn-files"

// manifests are the objects Run creates for a Spec.
type manifests struct {
	job       *batchv1.Job
	configMap *corev1.ConfigMap // nil when there are no files
}

// build checks spec and makes its Job and ConfigMap. Every mistake is reported at once, before anything
// is created.
func build(spec Spec) (*manifests, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, msg := range validation.IsDNS1123Label(spec.Namespace) {
		bad("namespace %q: %s", spec.Namespace, msg)
	}
	// The job controller copies the name into the pods' job-name label, so it is a label (63), not a
	// subdomain (253).
	for _, msg := range validation.IsDNS1123Label(spec.Name) {
		bad("job name %q: %s", spec.Name, msg)
	}
	if len(spec.Labels) == 0 {
		bad("labels: a job needs labels naming its delivery, stage and task, to be found again after a restart")
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Labels)) {
		for _, msg := range validation.IsQualifiedName(k) {
			bad("label key %q: %s", k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(spec.Labels[k]) {
			bad("label %s=%q: %s", k, spec.Labels[k], msg)
		}
	}
	if spec.Image == "" {
		bad("image is missing")
	}
	switch corev1.PullPolicy(spec.ImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("imagePullPolicy %q is not Always, IfNotPresent or Never", spec.ImagePullPolicy)
	}
	if spec.MaxPollDuration < 0 {
		bad("maxPollDuration must be positive, not %s", spec.MaxPollDuration)
	}
	if t := spec.TTLSecondsAfterFinished; t != nil && *t < 0 {
		bad("ttlSecondsAfterFinished must be 0 or more, not %d", *t)
	}
	env, err := envVars(spec.Env)
	if err != nil {
		errs = append(errs, err)
	}
	items, data, err := files(spec.Files)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("job %s/%s: %w", spec.Namespace, spec.Name, err)
	}

	container := corev1.Container{
		Name: ContainerName, Image: spec.Image, Command: spec.Command, Args: spec.Args, Env: env,
		WorkingDir: spec.WorkingDir, ImagePullPolicy: corev1.PullPolicy(spec.ImagePullPolicy),
		SecurityContext: spec.SecurityContext,
	}
	for _, name := range spec.EnvFromSecrets {
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			bad("env from secret %q: %s", name, msg)
		}
		container.EnvFrom = append(container.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
	}
	if spec.Resources != nil {
		container.Resources = *spec.Resources
	}
	pod := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: spec.ServiceAccount,
		Containers:         []corev1.Container{container},
	}
	m := &manifests{job: &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: maps.Clone(spec.Labels)},
		Spec: batchv1.JobSpec{
			// Run once, as job-executor-service did: a task that failed is the engine's to retry.
			BackoffLimit:            new(int32(0)),
			TTLSecondsAfterFinished: spec.TTLSecondsAfterFinished,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(spec.Labels), Annotations: maps.Clone(spec.Annotations)},
				Spec:       pod,
			},
		},
	}}
	if len(items) > 0 {
		ps := &m.job.Spec.Template.Spec
		ps.Volumes = []corev1.Volume{{Name: filesVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: spec.Name}, Items: items,
		}}}}
		ps.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: filesVolume, MountPath: MountPath, ReadOnly: true}}
		m.configMap = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: maps.Clone(spec.Labels)},
			BinaryData: data,
		}
	}
	return m, nil
}

// envVars turns the spec's variables into the container's, plain or from a secret.
func envVars(vars []EnvVar) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	var errs []error
	seen := map[string]bool{}
	for _, v := range vars {
		for _, msg := range validation.IsEnvVarName(v.Name) {
			errs = append(errs, fmt.Errorf("env %q: %s", v.Name, msg))
		}
		if seen[v.Name] {
			errs = append(errs, fmt.Errorf("env %q is set twice", v.Name))
		}
		seen[v.Name] = true
		switch {
		case v.SecretName == "" && v.SecretKey == "":
			out = append(out, corev1.EnvVar{Name: v.Name, Value: v.Value})
		case v.Value != "":
			errs = append(errs, fmt.Errorf("env %q: a value or a secret, not both", v.Name))
		case v.SecretName == "" || v.SecretKey == "":
			errs = append(errs, fmt.Errorf("env %q: a secret needs both its name and the key in it", v.Name))
		default:
			out = append(out, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: v.SecretName}, Key: v.SecretKey,
			}}})
		}
	}
	return out, errors.Join(errs...)
}

// files maps each file to a ConfigMap key and its place under MountPath. Keys may hold only
// [-._a-zA-Z0-9], so a path's other characters become '_', and a key two paths would share gets a
// number.
func files(in map[string][]byte) ([]corev1.KeyToPath, map[string][]byte, error) {
	var items []corev1.KeyToPath
	data := map[string][]byte{}
	var errs []error
	size := 0
	places := map[string]string{}
	for _, p := range slices.Sorted(maps.Keys(in)) {
		rel, err := relPath(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, ok := places[rel]; ok {
			errs = append(errs, fmt.Errorf("files %q and %q are both mounted at %s", other, p, path.Join(MountPath, rel)))
			continue
		}
		places[rel] = p
		key := sanitizeKey(rel)
		for n := 2; data[key] != nil; n++ {
			key = sanitizeKey(fmt.Sprintf("%s.%d", rel, n)) // cut after numbering, to stay within 253
		}
		data[key] = in[p]
		if data[key] == nil {
			data[key] = []byte{} // an empty file is a file; nil would read as a free key above
		}
		size += len(key) + len(in[p])
		items = append(items, corev1.KeyToPath{Key: key, Path: rel})
	}
	if size > MaxFilesSize {
		errs = append(errs, fmt.Errorf("files add up to %d bytes, more than a ConfigMap holds (%d bytes, 1 MiB); mount fewer or smaller files", size, MaxFilesSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return items, data, nil
}

// relPath is a file's path relative to MountPath, refusing paths that would land outside it.
func relPath(p string) (string, error) {
	rel := p
	if strings.HasPrefix(p, "/") {
		rel = strings.TrimPrefix(p, MountPath+"/")
		if rel == p {
			return "", fmt.Errorf("file %q is not under %s", p, MountPath)
		}
	}
	clean := path.Clean(rel)
	if rel == "" || clean == "." || clean != rel || strings.HasPrefix(clean, "../") || clean == ".." {
		return "", fmt.Errorf("file %q is not a plain path under %s (no .., no empty parts)", p, MountPath)
	}
	if strings.HasPrefix(rel, "..") {
		// Kubernetes reserves paths starting with ".." in a ConfigMap volume for its own symlinks.
		return "", fmt.Errorf("file %q: Kubernetes refuses mount paths starting with ..", p)
	}
	return rel, nil
}

// sanitizeKey makes a ConfigMap key of a relative path.
func sanitizeKey(rel string) string {
	b := []byte(rel)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			b[i] = '_'
		}
	}
	key := string(b)
	if len(key) > validation.DNS1123SubdomainMaxLength {
		key = key[len(key)-validation.DNS1123SubdomainMaxLength:]
	}
	// Kubernetes refuses keys "." and "..", and any key starting with "..".
	if key == "." || strings.HasPrefix(key, "..") {
		key = "_" + key
	}
	return key
}
