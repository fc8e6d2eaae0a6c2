package job

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The API server closes watches on its own schedule (minutes) and expires old resource versions, which
// the test server cannot be made to do on demand; this test scripts those answers with client-go's fake
// clientset to check that wait resumes from the last version it saw and starts over after a 410.
func TestWaitResumesAndRestartsWatches(t *testing.T) {
	job := func(rv string, conds ...batchv1.JobConditionType) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "test-1-1-1", Namespace: "qa", UID: "u1", ResourceVersion: rv}}
		for _, c := range conds {
			j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c, Status: corev1.ConditionTrue})
		}
		return j
	}
	client := fake.NewClientset(job("20")) // what a fresh read finds
	var mu sync.Mutex
	var versions []string
	scripts := []func(w *watch.FakeWatcher){
		func(w *watch.FakeWatcher) { // the server closes the first watch
			w.Modify(job("11"))
			w.Action(watch.Bookmark, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "12"}})
			w.Stop()
		},
		func(w *watch.FakeWatcher) { // version 12 has expired by the time we watch again
			w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 12"})
		},
		func(w *watch.FakeWatcher) {
			w.Modify(job("21", batchv1.JobComplete))
		},
	}
	client.PrependWatchReactor("jobs", func(a k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		versions = append(versions, a.(k8stesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		if len(versions) > len(scripts) {
			return true, nil, errors.New("one watch too many")
		}
		w := watch.NewFakeWithChanSize(4, false)
		scripts[len(versions)-1](w)
		return true, w, nil
	})
	r := &Runner{Client: client}

	done, err := r.wait(t.Context(), job("10"), make(chan time.Time))
	if err != nil {
		t.Fatal(err)
	}
	if done.ResourceVersion != "21" || !finished(done) {
		t.Errorf("wait returned %s %+v, want the completed job", done.ResourceVersion, done.Status)
	}
	if want := []string{"10", "12", "20"}; len(versions) != 3 || versions[0] != want[0] || versions[1] != want[1] || versions[2] != want[2] {
		t.Errorf("watched from versions %v, want %v", versions, want)
	}
}

func TestWaitStopsWhenTheJobIsDeleted(t *testing.T) {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "test-1-1-1", Namespace: "qa", UID: "u1", ResourceVersion: "10"}}
	client := fake.NewClientset()
	client.PrependWatchReactor("jobs", func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFakeWithChanSize(1, false)
		w.Delete(runtime.Object(j))
		return true, w, nil
	})
	r := &Runner{Client: client}
	if _, err := r.wait(t.Context(), j, make(chan time.Time)); !errors.Is(err, errGone) {
		t.Errorf("err = %v, want %v", err, errGone)
	}
}
