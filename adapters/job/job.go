// Package job runs one task as a Kubernetes batch/v1 Job, the way Keptn's job-executor-service did: the
// task's files travel in a ConfigMap mounted at /keptn, the Job runs once (backoffLimit 0, restartPolicy
// Never), and the Runner watches it until it completes, fails or runs out of time, then collects the tail
// of its pod's logs and the container's exit code.
//
// The Job carries labels naming the delivery, stage, task and attempt, so that after a restart the Runner
// finds a Job that is still running and waits for it instead of starting a second one. The ConfigMap is
// owned by the Job, so deleting the Job (abort, timeout, ttlSecondsAfterFinished) lets the garbage
// collector delete the ConfigMap too.
//
// This package takes a resolved Spec: reading job/config.yaml and substituting variables happen before.
// Runner runs one Spec; Executor is the engine's executor over it, running a task's Plan (its Jobs in
// order) as Keptn ran an action's tasks[].
//
// The ConfigMap is created after the Job, because its owner reference needs the Job's uid; the Job's pod
// waits (ContainerCreating) until the ConfigMap it mounts exists.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Label keys a Runner's Jobs carry; Labels builds them.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelDelivery  = "shipgate/delivery"
	LabelStage     = "shipgate/stage"
	LabelTask      = "shipgate/task"
	LabelAttempt   = "shipgate/attempt"
)

// managedBy is LabelManagedBy's value on every Job and ConfigMap this package creates.
const managedBy = "shipgate"

// Labels are the labels that identify one attempt of one task of a delivery, for Spec.Labels and Find.
func Labels(delivery int64, stage, task string, attempt int) map[string]string {
	return map[string]string{
		LabelManagedBy: managedBy,
		LabelDelivery:  fmt.Sprint(delivery),
		LabelStage:     stage,
		LabelTask:      task,
		LabelAttempt:   fmt.Sprint(attempt),
	}
}

// Defaults of a Spec's zero fields.
const (
	// DefaultMaxPollDuration is job-executor-service's default maxPollDuration (5 minutes).
	DefaultMaxPollDuration = 5 * time.Minute
	// ContainerName is the name of the Job's one container, whose exit code and logs are the task's.
	ContainerName = "task"
	// MountPath is where the Spec's files appear in the container, as with job-executor-service.
	MountPath = "/keptn"
)

// Spec is one task's Job, resolved: names chosen, variables substituted, files read.
type Spec struct {
	Namespace string
	// Name is the Job's name (and its ConfigMap's), a DNS-1123 label of at most 63 characters, since the
	// job controller puts it in the pods' job-name label.
	Name string
	// Labels identify the task (see Labels); Run finds an existing Job by them before creating one.
	Labels map[string]string
	// Annotations go on the Job's pods (job-executor-service's task annotations, for a service mesh or a
	// cloud identity).
	Annotations map[string]string
	Image       string
	Command     []string
	Args        []string
	Env         []EnvVar
	// EnvFromSecrets are Kubernetes secrets in the Job's namespace each of whose keys becomes a variable
	// (job-executor-service's valueFrom: secret); their values never pass through shipgate.
	EnvFromSecrets []string
	// Files maps a path under /keptn ("/keptn/locust/basic.py" or "locust/basic.py") to its content.
	// Together they must fit a ConfigMap (1 MiB).
	Files           map[string][]byte
	WorkingDir      string
	ServiceAccount  string
	ImagePullPolicy string // Always, IfNotPresent, Never or ""
	Resources       *corev1.ResourceRequirements
	SecurityContext *corev1.SecurityContext
	// TTLSecondsAfterFinished lets Kubernetes delete the finished Job (and, through its owner reference,
	// the ConfigMap); nil keeps it.
	TTLSecondsAfterFinished *int32
	// MaxPollDuration bounds the wait for the Job; when it passes, the Job is deleted and the result says
	// it timed out. Zero is DefaultMaxPollDuration.
	MaxPollDuration time.Duration
}

// EnvVar is an environment variable of the container: a Value, or the key SecretKey of the Kubernetes
// secret SecretName in the Job's namespace.
type EnvVar struct {
	Name       string
	Value      string
	SecretName string
	SecretKey  string
}

// Runner creates Jobs and waits for them. Client is required.
type Runner struct {
	Client kubernetes.Interface
	// Logs fetches container logs; nil is PodLogs over Client (the API server's pods/log).
	Logs   LogSource
	Logger *slog.Logger

	// after starts the MaxPollDuration timer; nil is time.After. Tests replace it to end the wait when
	// they choose.
	after func(time.Duration) <-chan time.Time
}

// NewClient connects to a cluster as kubectl would: kubeconfig ("" is $KUBECONFIG or ~/.kube/config,
// and in a pod its service account) and context ("" is the kubeconfig's current context).
func NewClient(kubeconfig, context string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(cfg)
}

// Run runs spec's Job to its end and reports how it ended. A Job with spec's labels that already exists
// (after a restart) is waited for instead of starting another. An invalid spec is an error before
// anything is created. When ctx ends first, the Job is deleted (background propagation) and Run returns
// ctx's error; when MaxPollDuration passes, the Job is deleted and the Result says TimedOut.
func (r *Runner) Run(ctx context.Context, spec Spec) (Result, error) {
	if spec.MaxPollDuration == 0 {
		spec.MaxPollDuration = DefaultMaxPollDuration
	}
	m, err := build(spec)
	if err != nil {
		return Result{}, err
	}
	res := Result{Namespace: spec.Namespace, Job: spec.Name}
	// The timer starts before anything is created, so a slow API server counts against the task's time.
	deadline := r.startTimer(spec.MaxPollDuration)
	job, err := r.Find(ctx, spec.Namespace, spec.Labels)
	if err != nil {
		return res, err
	}
	if job != nil {
		res.Job, res.Reattached = job.Name, true
		r.log().Info("re-attaching to a running job", "namespace", job.Namespace, "job", job.Name)
	} else {
		job, err = r.Client.BatchV1().Jobs(spec.Namespace).Create(ctx, m.job, metav1.CreateOptions{})
		if err != nil {
			if ctx.Err() != nil {
				// Aborted while the create was on its way: the server may have made the Job anyway.
				r.deleteDetached(ctx, spec.Namespace, spec.Name)
			}
			return res, fmt.Errorf("creating job %s/%s: %w", spec.Namespace, spec.Name, err)
		}
	}
	if m.configMap != nil {
		if err := r.createConfigMap(ctx, m.configMap, job); err != nil {
			r.deleteDetached(ctx, job.Namespace, job.Name)
			return res, err
		}
	}
	done, err := r.wait(ctx, job, deadline)
	switch {
	case errors.Is(err, errTimedOut):
		// Logs first: once the Job is deleted, the garbage collector takes its pods.
		r.collect(ctx, job, &res)
		r.deleteDetached(ctx, job.Namespace, job.Name)
		res.Outcome = TimedOut
		res.Message = fmt.Sprintf("job did not finish within maxPollDuration %s; deleted", spec.MaxPollDuration)
		return res, nil
	case err != nil && ctx.Err() != nil:
		r.deleteDetached(ctx, job.Namespace, job.Name)
		return res, fmt.Errorf("waiting for job %s/%s: %w", job.Namespace, job.Name, context.Cause(ctx))
	case err != nil:
		return res, fmt.Errorf("waiting for job %s/%s: %w", job.Namespace, job.Name, err)
	}
	res.Outcome, res.Reason, res.Message = outcome(done)
	r.collect(ctx, done, &res)
	return res, nil
}

// createConfigMap creates the files' ConfigMap owned by job. It is created after the Job, because the
// owner reference needs the Job's uid; the Job's pod waits for the ConfigMap to mount it. An existing
// ConfigMap of the same name is one an earlier attempt of this Run created before a restart.
func (r *Runner) createConfigMap(ctx context.Context, cm *corev1.ConfigMap, job *batchv1.Job) error {
	cm = cm.DeepCopy()
	// A Job found again may have another name than the spec's; the ConfigMap is the one it mounts.
	name, ok := mountedConfigMap(job)
	if !ok {
		return nil
	}
	cm.Name = name
	cm.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
		BlockOwnerDeletion: new(true),
	}}
	_, err := r.Client.CoreV1().ConfigMaps(job.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating configmap %s/%s with the job's files: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// mountedConfigMap is the name of the ConfigMap job mounts its files from.
func mountedConfigMap(job *batchv1.Job) (string, bool) {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name == filesVolume && v.ConfigMap != nil {
			return v.ConfigMap.Name, true
		}
	}
	return "", false
}

// Find returns the newest Job in namespace carrying all of want's labels that is not being deleted, or
// nil when there is none.
func (r *Runner) Find(ctx context.Context, namespace string, want map[string]string) (*batchv1.Job, error) {
	if len(want) == 0 {
		return nil, errors.New("finding a job: no labels to find it by")
	}
	list, err := r.Client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(want).String()})
	if err != nil {
		return nil, fmt.Errorf("listing jobs in %s: %w", namespace, err)
	}
	var live []*batchv1.Job
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			live = append(live, &list.Items[i])
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	newest := slices.MaxFunc(live, func(a, b *batchv1.Job) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	return newest, nil
}

// Delete deletes a Job with background propagation: the Job goes at once and the garbage collector
// deletes its pods and ConfigMap. (batch/v1 Jobs default to orphaning their pods.) A Job that does not
// exist is not an error.
func (r *Runner) Delete(ctx context.Context, namespace, name string) error {
	err := r.Client.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: new(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting job %s/%s: %w", namespace, name, err)
	}
	return nil
}

// deleteTimeout bounds the clean-up delete that runs after ctx ended.
const deleteTimeout = 15 * time.Second

// deleteDetached deletes a Job even though ctx may have ended (abort): leaving it running would keep
// doing the work the task no longer wants.
func (r *Runner) deleteDetached(ctx context.Context, namespace, name string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	if err := r.Delete(dctx, namespace, name); err != nil {
		r.log().Warn("job left behind", "namespace", namespace, "job", name, "err", err)
	}
}

func (r *Runner) startTimer(d time.Duration) <-chan time.Time {
	if r.after != nil {
		return r.after(d)
	}
	return time.After(d)
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
