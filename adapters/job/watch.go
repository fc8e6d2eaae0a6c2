package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// errTimedOut is MaxPollDuration passing before the Job finished.
var errTimedOut = errors.New("maxPollDuration passed")

// maxWatchFailures is how many watches in a row may fail to start before wait gives up; a broken API
// server fails the task instead of being retried forever.
const maxWatchFailures = 5

// rewatchDelay is the pause before starting a watch again after one failed to start.
const rewatchDelay = time.Second

// wait watches job until it has a Complete or Failed condition and returns it as last seen. The watch
// resumes from the last resource version it saw when the server closes it, and starts over from a fresh
// read when that version has expired (410 Gone), so no event in between is missed.
func (r *Runner) wait(ctx context.Context, job *batchv1.Job, deadline <-chan time.Time) (*batchv1.Job, error) {
	jobs := r.Client.BatchV1().Jobs(job.Namespace)
	uid := job.UID
	failures := 0
	for {
		if finished(job) {
			return job, nil
		}
		w, err := jobs.Watch(ctx, metav1.ListOptions{
			FieldSelector:       fields.OneTermEqualSelector("metadata.name", job.Name).String(),
			ResourceVersion:     job.ResourceVersion,
			AllowWatchBookmarks: true,
		})
		if err == nil {
			failures = 0
			job, err = r.consume(ctx, w, job, deadline)
			w.Stop()
			if err == nil {
				continue // the server closed the watch; resume from job's version
			}
		}
		switch {
		case errors.Is(err, errTimedOut), ctx.Err() != nil, errors.Is(err, errGone):
			return job, err
		case apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, errExpired):
			// Our version is too old to watch from: read the Job again and watch from now.
			fresh, gerr := jobs.Get(ctx, job.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(gerr) || gerr == nil && fresh.UID != uid {
				return job, errGone
			}
			if gerr != nil {
				return job, fmt.Errorf("reading job again after its watch expired: %w", gerr)
			}
			job = fresh
		default:
			failures++
			if failures >= maxWatchFailures {
				return job, err
			}
			r.log().Warn("watching job failed; trying again", "namespace", job.Namespace, "job", job.Name, "err", err)
			select {
			case <-ctx.Done():
				return job, ctx.Err()
			case <-deadline:
				return job, errTimedOut
			case <-time.After(rewatchDelay):
			}
		}
	}
}

var (
	errGone    = errors.New("the job was deleted before it finished")
	errExpired = errors.New("watch expired")
)

// consume reads w's events about job until it finishes (returned with a nil error), the server closes
// the watch (the Job as last seen, a nil error), ctx ends, or the deadline passes.
func (r *Runner) consume(ctx context.Context, w watch.Interface, job *batchv1.Job, deadline <-chan time.Time) (*batchv1.Job, error) {
	last, uid := job, job.UID
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-deadline:
			return last, errTimedOut
		case ev, ok := <-w.ResultChan():
			if !ok {
				return last, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				j, ok := ev.Object.(*batchv1.Job)
				if !ok {
					continue
				}
				if j.UID != uid {
					return last, errGone // deleted and created again by someone else
				}
				last = j
				if finished(j) {
					return last, nil
				}
			case watch.Bookmark:
				// A bookmark moves the version to resume from without a change to the Job.
				if j, ok := ev.Object.(*batchv1.Job); ok {
					last = last.DeepCopy()
					last.ResourceVersion = j.ResourceVersion
				}
			case watch.Deleted:
				return last, errGone
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return last, errExpired
				}
				return last, fmt.Errorf("watching the job: %w", err)
			}
		}
	}
}

// finished reports whether the Job has ended: condition Complete or Failed is true.
func finished(j *batchv1.Job) bool {
	_, ok := finalCondition(j)
	return ok
}

func finalCondition(j *batchv1.Job) (batchv1.JobCondition, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c, true
		}
	}
	return batchv1.JobCondition{}, false
}

// outcome reads how a finished Job ended.
func outcome(j *batchv1.Job) (Outcome, string, string) {
	c, _ := finalCondition(j)
	if c.Type == batchv1.JobComplete {
		return Succeeded, c.Reason, c.Message
	}
	return Failed, c.Reason, c.Message
}
