package job

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Bounds of the logs kept in a Result: the tail of the output is what explains a failure, and the
// result travels through chat and the database.
const (
	LogTailLines = 100
	LogTailBytes = 32 << 10
)

// LogSource reads the last tailLines lines of a container's log.
type LogSource interface {
	Logs(ctx context.Context, namespace, pod, container string, tailLines int64) (io.ReadCloser, error)
}

// PodLogs reads logs through the API server's pods/log subresource, which the API server proxies to the
// kubelet of the pod's node.
type PodLogs struct{ Client kubernetes.Interface }

// Logs streams the container's log tail.
func (p PodLogs) Logs(ctx context.Context, namespace, pod, container string, tailLines int64) (io.ReadCloser, error) {
	return p.Client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tailLines}).Stream(ctx)
}

func (r *Runner) logSource() LogSource {
	if r.Logs != nil {
		return r.Logs
	}
	return PodLogs{Client: r.Client}
}

// collect fills res with the exit code and logs of job's pods. Neither is worth failing the task over:
// what cannot be read is said in the logs instead.
func (r *Runner) collect(ctx context.Context, job *batchv1.Job, res *Result) {
	pods, err := r.pods(ctx, job)
	if err != nil {
		res.Logs = fmt.Sprintf("(pods of the job unreadable: %v)", err)
		return
	}
	var out bytes.Buffer
	for i, pod := range pods {
		if code, ok := exitCode(pod); ok {
			res.ExitCode = new(code) // the newest pod's, as the last to run
		}
		if len(pods) > 1 {
			fmt.Fprintf(&out, "--- pod %s (%d of %d)\n", pod.Name, i+1, len(pods))
		}
		out.WriteString(r.podLogs(ctx, pod))
	}
	res.Pods = len(pods)
	res.Logs = tail(out.String(), LogTailLines, LogTailBytes)
}

// pods are the Job's pods, oldest first, found by the selector the API server gave the Job (its
// controller-uid label), so that a Job of the same name from before is not mixed in.
func (r *Runner) pods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	selector := "batch.kubernetes.io/controller-uid=" + string(job.UID)
	if job.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil {
			return nil, err
		}
		selector = s.String()
	}
	list, err := r.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	slices.SortStableFunc(pods, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return pods, nil
}

// podLogs is the tail of a pod's task container's log, or why it could not be read.
func (r *Runner) podLogs(ctx context.Context, pod *corev1.Pod) string {
	rc, err := r.logSource().Logs(ctx, pod.Namespace, pod.Name, ContainerName, LogTailLines)
	if err != nil {
		return fmt.Sprintf("(logs of pod %s unavailable: %v)\n", pod.Name, err)
	}
	defer rc.Close()
	// Keep reading to the end but hold only the last bytes: the server's tailLines bounds lines, not bytes.
	var keep tailBuffer
	if _, err := io.Copy(&keep, rc); err != nil {
		keep.Write(fmt.Appendf(nil, "\n(reading logs of pod %s: %v)\n", pod.Name, err))
	}
	s := keep.String()
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// exitCode is the task container's exit code, when it has terminated.
func exitCode(pod *corev1.Pod) (int32, bool) {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == ContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated.ExitCode, true
		}
	}
	return 0, false
}

// tailBuffer keeps the last LogTailBytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - LogTailBytes; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// tail is the last lines lines of s, at most maxBytes of them, starting at a line's beginning when cut.
func tail(s string, lines, maxBytes int) string {
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	trimmed := strings.TrimSuffix(s, "\n")
	if n := strings.Count(trimmed, "\n") + 1; n > lines {
		idx := len(trimmed)
		for range lines {
			idx = strings.LastIndexByte(trimmed[:idx], '\n')
		}
		s = s[idx+1:]
	}
	return s
}
