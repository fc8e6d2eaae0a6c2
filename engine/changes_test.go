package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/shipgate/shipgate/store"
)

// fakeDiffer is an executor that can also say what a task would change. Its diff behaviour is set per
// test; calls are recorded.
type fakeDiffer struct {
	fakeExec
	dmu   sync.Mutex
	diff  func(ctx context.Context, t Task) (*Changes, error)
	diffs []Task
}

func (f *fakeDiffer) Diff(ctx context.Context, t Task) (*Changes, error) {
	f.dmu.Lock()
	f.diffs = append(f.diffs, t)
	fn := f.diff
	f.dmu.Unlock()
	if fn == nil {
		return &Changes{Summary: ChangeSummary{Diffed: true}}, nil
	}
	return fn(ctx, t)
}

func (f *fakeDiffer) onDiff(fn func(ctx context.Context, t Task) (*Changes, error)) {
	f.dmu.Lock()
	defer f.dmu.Unlock()
	f.diff = fn
}

func (f *fakeDiffer) diffCalls() []Task {
	f.dmu.Lock()
	defer f.dmu.Unlock()
	return append([]Task(nil), f.diffs...)
}

const image2 = "ghcr.io/podtato-head/podtatoserver:v0.1.2"

// diffExecutors runs production's release task on the differ.
const diffExecutors = defaultExecutors + `stages:
  production:
    tasks:
      release: {type: fake-diff}
`

// deliverFirst takes a first delivery through production, so that the stage has an image running.
func deliverFirst(t *testing.T, f *fixture) {
	t.Helper()
	id := f.trigger("carts", image)
	synctest.Wait()
	f.vote(f.pendingApproval(id).ID, "U-ann", store.DecisionApprove)
	synctest.Wait()
	if d := f.delivery(id); d.State != store.StateFinished || d.Result != store.ResultPass {
		t.Fatalf("first delivery %s/%s", d.State, d.Result)
	}
}

func (f *fixture) changesEvents() []Event {
	var out []Event
	for _, ev := range f.published() {
		if ev.Type == EventApprovalChanges {
			out = append(out, ev)
		}
	}
	return out
}

// When an approval waits, the differ is asked about the task after it, as that task would run, after the
// approval was committed; the changes are recorded with the approval, published once, and read back
// through ApprovalChanges. The image's old side comes from the stage's last delivery when the differ
// does not know it.
func TestApprovalChangesFromDiffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), diffExecutors)
		deliverFirst(t, f)
		diff := "--- a/Deployment/carts\n+++ b/Deployment/carts\n"
		f.differ.onDiff(func(_ context.Context, tk Task) (*Changes, error) {
			return &Changes{Summary: ChangeSummary{Image: &Change{New: tk.Image}, Chart: &Change{Old: "carts-0.1.0", New: "carts-0.2.0"}, Diffed: true,
				Objects: []ObjectChange{{Kind: "Deployment", Name: "carts", Change: ObjectChanged, Images: &Change{Old: image, New: tk.Image}}}}, Diff: diff}, nil
		})
		id := f.trigger("carts", image2)
		synctest.Wait()
		a := f.pendingApproval(id)

		calls := f.differ.diffCalls()
		last := calls[len(calls)-1]
		if last.Name != "release" || last.Stage != "production" || last.Image != image2 || last.DeliveryID != id || last.ProjectConfig == nil {
			t.Fatalf("differ asked about %+v", last)
		}
		ch, approvalID, err := f.e.ApprovalChanges(context.Background(), id, "production")
		if err != nil {
			t.Fatal(err)
		}
		want := ChangeSummary{Image: &Change{Old: image, New: image2}, Chart: &Change{Old: "carts-0.1.0", New: "carts-0.2.0"}, Diffed: true,
			Objects: []ObjectChange{{Kind: "Deployment", Name: "carts", Change: ObjectChanged, Images: &Change{Old: image, New: image2}}}}
		if approvalID != a.ID || ch.Diff != diff || !reflect.DeepEqual(ch.Summary, want) {
			t.Fatalf("approval %d changes %+v, want approval %d %+v", approvalID, ch.Summary, a.ID, want)
		}
		if got := ch.Summary.Short(); got != "1 object changes: Deployment/carts image" {
			t.Errorf("short %q", got)
		}
		evs := f.changesEvents()
		if len(evs) != 2 || evs[1].DeliveryID != id || evs[1].Approval == nil || evs[1].Approval.ID != a.ID || evs[1].Changes == nil || evs[1].Changes.Diff != diff {
			t.Fatalf("changes events %+v", evs)
		}
		// The dry run is no run: the release task waits for the approval.
		if n := len(f.differ.snapshot()); n != 1 {
			t.Errorf("release ran %d times, want once (the first delivery)", n)
		}
		if _, _, err := f.e.ApprovalChanges(context.Background(), id, "qa"); !errors.Is(err, ErrNotFound) {
			t.Errorf("qa has no approval: %v", err)
		}
	})
}

// A deployment no executor can diff still shows the image old → new, from the stage's last delivery.
func TestApprovalChangesWithoutDiffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), "")
		id := f.trigger("carts", image)
		synctest.Wait()
		ch, _, err := f.e.ApprovalChanges(context.Background(), id, "production")
		if err != nil {
			t.Fatal(err)
		}
		if want := (ChangeSummary{Image: &Change{New: image}}); !reflect.DeepEqual(ch.Summary, want) || ch.Diff != "" {
			t.Fatalf("first delivery: %+v", ch)
		}
		f.vote(f.pendingApproval(id).ID, "U-ann", store.DecisionApprove)
		synctest.Wait()
		id2 := f.trigger("carts", image2)
		synctest.Wait()
		ch, _, err = f.e.ApprovalChanges(context.Background(), id2, "production")
		if err != nil {
			t.Fatal(err)
		}
		if *ch.Summary.Image != (Change{Old: image, New: image2}) || ch.Summary.Short() != "" {
			t.Fatalf("second delivery: %+v", ch.Summary)
		}
	})
}

// A failed dry run is recorded with why, so the approvers know the diff is missing, and the image
// change is still there.
func TestApprovalChangesDifferFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), diffExecutors)
		f.differ.onDiff(func(context.Context, Task) (*Changes, error) {
			return nil, errors.New("helm: dry run of carts in shop-production: connection refused")
		})
		id := f.trigger("carts", image)
		synctest.Wait()
		ch, _, err := f.e.ApprovalChanges(context.Background(), id, "production")
		if err != nil {
			t.Fatal(err)
		}
		want := ChangeSummary{Image: &Change{New: image}, Error: "helm: dry run of carts in shop-production: connection refused"}
		if !reflect.DeepEqual(ch.Summary, want) {
			t.Fatalf("summary %+v, want %+v", ch.Summary, want)
		}
		if got := ch.Summary.Short(); got != "manifests not diffed: "+want.Error {
			t.Errorf("short %q", got)
		}
	})
}

// When the process stops during the dry run, nothing is recorded, and the next start computes the
// changes again, once.
func TestApprovalChangesAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, approvalShipyard("{pass: manual}"), diffExecutors)
		f.differ.onDiff(func(ctx context.Context, _ Task) (*Changes, error) {
			<-ctx.Done() // a dry run still going when the process stops
			return nil, ctx.Err()
		})
		id := f.trigger("carts", image)
		synctest.Wait()
		f.stop()
		f.differ.onDiff(nil)
		f.start()
		synctest.Wait()
		ch, _, err := f.e.ApprovalChanges(context.Background(), id, "production")
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Summary.Diffed || ch.Summary.Error != "" || len(f.differ.diffCalls()) != 2 || len(f.changesEvents()) != 1 {
			t.Fatalf("summary %+v after %d dry runs, %d events", ch.Summary, len(f.differ.diffCalls()), len(f.changesEvents()))
		}
		// A second restart finds the changes recorded and runs no dry run.
		f.restart()
		synctest.Wait()
		if n := len(f.differ.diffCalls()); n != 2 {
			t.Fatalf("%d dry runs after the second restart, want 2", n)
		}
	})
}

// Short names each object's change.
func TestChangeSummaryShort(t *testing.T) {
	s := ChangeSummary{Diffed: true, Objects: []ObjectChange{
		{Kind: "Deployment", Name: "helloservice", Change: ObjectChanged, Images: &Change{Old: "a", New: "b"}},
		{Kind: "ConfigMap", Name: "helloservice-config", Change: ObjectChanged, Keys: 2},
		{Kind: "Service", Name: "helloservice", Change: ObjectAdded},
		{Kind: "Secret", Name: "s", Change: ObjectChanged, Keys: 1},
		{Kind: "Ingress", Name: "i", Change: ObjectChanged},
	}}
	want := "5 objects change: Deployment/helloservice image, ConfigMap/helloservice-config 2 keys, Service/helloservice added, Secret/s 1 key, Ingress/i"
	if got := s.Short(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, tc := range []struct {
		s    ChangeSummary
		want string
	}{
		{ChangeSummary{}, ""},
		{ChangeSummary{Diffed: true}, "no object changes"},
		{ChangeSummary{Error: "boom"}, "manifests not diffed: boom"},
	} {
		if got := tc.s.Short(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

// A diff over MaxDiffBytes is cut at a line's end, with a line saying so; a shorter one is kept whole.
func TestCapDiff(t *testing.T) {
	short := "-a\n+b\n"
	if got := capDiff(short); got != short {
		t.Fatalf("short diff changed: %q", got)
	}
	line := strings.Repeat("x", 99) + "\n"
	long := strings.Repeat(line, MaxDiffBytes/100+10)
	got := capDiff(long)
	body, note, _ := strings.Cut(got, "… cut:")
	if len(body) > MaxDiffBytes || len(body)%100 != 0 || !strings.HasPrefix(note, fmt.Sprintf(" the diff is %d bytes", len(long))) {
		t.Fatalf("cut diff: %d bytes before the note %q", len(body), note)
	}
}
