package helm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// upgrade installs the release, or upgrades it when it exists, with the artifact's image. Its result data
// is Keptn's deployment.finished shape (deploymentstrategy, deploymentNames, deploymentURIsLocal and
// deploymentURIsPublic) with what Helm did under deployment.helm: release, namespace, revision, chart
// version, and the revision and image that ran before, for the approval card and for rollback.
func (r *run) upgrade(ctx context.Context) engine.Result {
	pl, err := r.plan(ctx)
	if err != nil {
		return errored("helm: %v", err)
	}
	desc := fmt.Sprintf("%s: %s", marker(r.t), r.t.Image)
	var rel *release.Release
	verb := "upgrade"
	if len(pl.history) == 0 {
		verb = "install"
		inst := action.NewInstall(r.cfg)
		inst.ReleaseName, inst.Namespace = r.release, r.namespace
		inst.Wait, inst.Atomic, inst.Timeout = r.s.Wait || r.s.Atomic, r.s.Atomic, r.helmTimeout()
		inst.Description = desc
		rel, err = inst.RunWithContext(ctx, pl.chart, pl.values)
	} else {
		up := action.NewUpgrade(r.cfg)
		up.Namespace = r.namespace
		up.Wait, up.Atomic, up.Timeout = r.s.Wait || r.s.Atomic, r.s.Atomic, r.helmTimeout()
		up.MaxHistory = *r.s.MaxHistory
		up.Description = desc
		rel, err = up.RunWithContext(ctx, r.release, pl.chart, pl.values)
	}
	if err != nil {
		res := failed("helm %s of %s in %s failed: %v", verb, r.release, r.namespace, err)
		res.Data = r.deploymentData(rel, pl)
		return res
	}
	return r.deployed(rel, pl)
}

// upgradePlan is what an upgrade needs besides the Helm SDK call.
type upgradePlan struct {
	chart     *chart.Chart
	chartFrom string
	values    map[string]any
	history   []*release.Release // oldest first
	prev      *release.Release   // what runs now, nil before the first install
}

// plan loads the chart and values, reads the release's history and makes sure the namespace exists.
func (r *run) plan(ctx context.Context) (*upgradePlan, error) {
	ch, from, err := r.loadChart()
	if err != nil {
		return nil, err
	}
	vals, err := r.values()
	if err != nil {
		return nil, err
	}
	history, err := r.history()
	if err != nil {
		return nil, fmt.Errorf("reading the history of release %s in %s: %w", r.release, r.namespace, err)
	}
	if err := r.settleInterrupted(history); err != nil {
		return nil, err
	}
	if err := r.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	return &upgradePlan{chart: ch, chartFrom: from, values: vals, history: history, prev: current(history)}, nil
}

// settleInterrupted deals with a release whose newest revision is still pending: Helm refuses any
// operation on it. When this delivery's own earlier attempt left it so (shipgate stopped mid-upgrade, and
// the engine runs the task again), that attempt is marked failed, as Helm would have marked it, so the
// retry can go ahead; when someone else's operation is pending, the task fails instead of racing it.
func (r *run) settleInterrupted(history []*release.Release) error {
	if len(history) == 0 {
		return nil
	}
	last := history[len(history)-1]
	if last.Info == nil || !last.Info.Status.IsPending() {
		return nil
	}
	if !strings.HasPrefix(last.Info.Description, marker(r.t)) {
		return fmt.Errorf("release %s in %s has an operation in progress (revision %d is %s: %q); not deploying over it",
			r.release, r.namespace, last.Version, last.Info.Status, last.Info.Description)
	}
	last.SetStatus(release.StatusFailed, fmt.Sprintf("%s: interrupted, shipgate stopped during the %s", marker(r.t), last.Info.Status))
	if err := r.cfg.Releases.Update(last); err != nil {
		return fmt.Errorf("marking the interrupted revision %d of %s failed: %w", last.Version, r.release, err)
	}
	return nil
}

// deployed is the result of a successful upgrade or install.
func (r *run) deployed(rel *release.Release, pl *upgradePlan) engine.Result {
	md := pl.chart.Metadata
	msg := fmt.Sprintf("%s revision %d in %s: chart %s-%s, image %s", r.release, rel.Version, r.namespace, md.Name, md.Version, r.t.Image)
	if pl.prev != nil {
		msg += fmt.Sprintf(" (was revision %d", pl.prev.Version)
		if img := r.imageAt(pl.prev.Config); img != "" && img != r.t.Image {
			msg += ", " + img
		}
		msg += ")"
	}
	r.x.debugLog("deployed %s from %s", r.release, pl.chartFrom)
	return engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded, Message: msg, Data: r.deploymentData(rel, pl)}
}

// history is the release's revisions, oldest first; none when it was never installed.
func (r *run) history() ([]*release.Release, error) {
	h := action.NewHistory(r.cfg)
	rels, err := h.Run(r.release)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rels, func(a, b *release.Release) int { return a.Version - b.Version })
	return rels, nil
}

// current is the revision that runs now: the deployed one, else (every revision failed) the newest.
func current(history []*release.Release) *release.Release {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Info != nil && history[i].Info.Status == release.StatusDeployed {
			return history[i]
		}
	}
	if len(history) > 0 {
		return history[len(history)-1]
	}
	return nil
}

// ensureNamespace creates the release's namespace when it is missing and the settings allow it.
func (r *run) ensureNamespace(ctx context.Context) error {
	cs, err := r.cfg.KubernetesClientSet()
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	_, err = cs.CoreV1().Namespaces().Get(ctx, r.namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", r.namespace, err)
	}
	if !*r.s.CreateNamespace {
		return fmt.Errorf("namespace %s does not exist, and create_namespace is false", r.namespace)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.namespace, Labels: map[string]string{
		"app.kubernetes.io/managed-by": "shipgate", "shipgate.dev/project": r.t.Project, "shipgate.dev/stage": r.t.Stage,
	}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", r.namespace, err)
	}
	return nil
}

// deploymentData is the result data of a deployment; rel is nil when Helm made no revision.
func (r *run) deploymentData(rel *release.Release, pl *upgradePlan) map[string]any {
	prev, chartVersion := pl.prev, pl.chart.Metadata.Version
	strategy, _ := r.t.Properties["deploymentstrategy"].(string)
	if strategy == "" {
		strategy = "direct"
	}
	h := map[string]any{"release": r.release, "namespace": r.namespace, "stage": r.t.Stage, "chartVersion": chartVersion, "image": r.t.Image,
		"previousRevision": 0, "previousImage": ""}
	if prev != nil {
		h["previousRevision"], h["previousImage"] = prev.Version, r.imageAt(prev.Config)
		if prev.Chart != nil && prev.Chart.Metadata != nil {
			h["previousChartVersion"] = prev.Chart.Metadata.Version
		}
	}
	dep := map[string]any{"deploymentstrategy": strategy, "deploymentNames": []any{strategy}, "helm": h}
	if rel != nil {
		h["revision"] = rel.Version
		if rel.Info != nil {
			h["status"] = rel.Info.Status.String()
		}
		if urls := serviceURLs(rel.Manifest, r.namespace); len(urls) > 0 {
			dep["deploymentURIsLocal"] = urls
		}
	}
	if r.s.url != nil {
		if u, err := engine.Render(r.s.url, r.data); err == nil && strings.TrimSpace(u) != "" {
			dep["deploymentURIsPublic"] = []any{strings.TrimSpace(u)}
		}
	}
	return map[string]any{"deployment": dep}
}
