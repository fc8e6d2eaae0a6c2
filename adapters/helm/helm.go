// Package helm is the helm executor: deployment tasks upgrade-or-install the service's chart with the
// artifact's image, and rollback tasks roll the release back to what ran before the delivery, through the
// Helm v3 SDK (pkg/action), not the helm binary. Release history stays Helm's (release secrets in the
// namespace); each revision shipgate makes says in its description which delivery made it, and the task's
// result data records the revisions, so rollback knows what to go back to.
//
// executors.yaml:
//
//	tasks:
//	  deployment: {type: helm}                     # chart helm/SERVICE.tgz (or folder), release SERVICE, namespace PROJECT-STAGE
//	  rollback:   {type: helm}                     # a task named rollback rolls back
//	stages:
//	  production:
//	    tasks:
//	      deployment:
//	        type: helm
//	        with: {values_files: [helm/values-production.yaml], set: {replicaCount: "3"}, wait: true, atomic: true, context: prod}
package helm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// Executor runs helm tasks. Its zero value works: kubeconfig as kubectl finds it, or the pod's service
// account in a cluster.
type Executor struct {
	// Kubeconfig and Context are the defaults for tasks that do not set their own (shipgate.yaml helm).
	Kubeconfig string
	Context    string
	// CacheDir holds chart downloads, repository indexes and the API discovery cache; "" is a folder
	// under os.TempDir.
	CacheDir string
	Logger   *slog.Logger

	mu       sync.Mutex
	clusters map[clusterKey]*genericclioptions.ConfigFlags
	charts   sync.Mutex // serialises downloads into CacheDir
}

type clusterKey struct{ kubeconfig, context string }

// CheckConfig validates a task's settings.
func (x *Executor) CheckConfig(task string, with map[string]any) error {
	_, err := parseSettings(task, with)
	return err
}

// Idempotent says an upgrade may run again after a restart interrupted it: it applies the same chart and
// values again, and an interrupted upgrade left either the old release or a new revision that the retry
// supersedes. A rollback is not: run again, it would go back one revision further.
func (x *Executor) Idempotent(task string, with map[string]any) bool {
	s, err := parseSettings(task, with)
	return err == nil && s.Action == actionUpgrade
}

// Execute upgrades (or installs) or rolls back the task's release. Every failure fails the task with a
// message for chat; only a broken executor returns an error.
func (x *Executor) Execute(ctx context.Context, t engine.Task) (engine.Result, error) {
	r, failure := x.newRun(t)
	if r == nil {
		return failure, nil
	}
	if r.s.Action == actionRollback {
		return r.rollback(ctx), nil
	}
	return r.upgrade(ctx), nil
}

// newRun resolves a task's settings, release and namespace, and connects to its cluster; it returns the
// failed result instead when it cannot.
func (x *Executor) newRun(t engine.Task) (*run, engine.Result) {
	s, err := parseSettings(t.Name, t.Config)
	if err != nil {
		return nil, errored("helm settings: %v", err)
	}
	data := t.TemplateData()
	release, err := engine.Render(s.release, data)
	if err != nil {
		return nil, errored("helm: %v", err)
	}
	namespace, err := engine.Render(s.namespace, data)
	if err != nil {
		return nil, errored("helm: %v", err)
	}
	if errs := validName(release, 53); errs != "" {
		return nil, errored("helm: release name %q is invalid: %s", release, errs)
	}
	if errs := validName(namespace, 63); errs != "" {
		return nil, errored("helm: namespace %q is invalid: %s", namespace, errs)
	}
	cfg, err := x.configuration(s, namespace)
	if err != nil {
		return nil, errored("helm: connecting to the cluster: %v", err)
	}
	return &run{x: x, s: s, t: t, data: data, cfg: cfg, release: release, namespace: namespace}, engine.Result{}
}

// run is one helm task.
type run struct {
	x                  *Executor
	s                  *settings
	t                  engine.Task
	data               engine.TemplateData
	cfg                *action.Configuration
	release, namespace string
}

// configuration is Helm's action configuration for one namespace. The client settings are kept per
// kubeconfig and context, so that API discovery is done once, not on every task.
func (x *Executor) configuration(s *settings, namespace string) (*action.Configuration, error) {
	key := clusterKey{kubeconfig: s.Kubeconfig, context: s.Context}
	if key.kubeconfig == "" {
		key.kubeconfig = x.Kubeconfig
	}
	if key.context == "" {
		key.context = x.Context
	}
	x.mu.Lock()
	flags, ok := x.clusters[key]
	if !ok {
		flags = genericclioptions.NewConfigFlags(true)
		flags.KubeConfig = new(key.kubeconfig)
		flags.Context = new(key.context)
		flags.CacheDir = new(filepath.Join(x.cacheDir(), "discovery"))
		if x.clusters == nil {
			x.clusters = map[clusterKey]*genericclioptions.ConfigFlags{}
		}
		x.clusters[key] = flags
	}
	x.mu.Unlock()
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", x.debugLog); err != nil {
		return nil, err
	}
	// The client's own namespace comes from kubeconfig otherwise; resources without one go here.
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		kc.Namespace = namespace
	}
	return cfg, nil
}

func (x *Executor) cacheDir() string {
	if x.CacheDir != "" {
		return x.CacheDir
	}
	return filepath.Join(os.TempDir(), "shipgate-helm")
}

func (x *Executor) debugLog(format string, v ...any) {
	if x.Logger != nil {
		x.Logger.Debug(fmt.Sprintf(format, v...), "component", "helm")
	}
}

// helmTimeout is Helm's wait timeout: the setting, but never past the task's deadline, so that Helm
// reports its own timeout (with what was not ready) before the engine gives up on the task.
func (r *run) helmTimeout() time.Duration {
	d := r.s.Timeout
	if !r.t.Deadline.IsZero() {
		if left := time.Until(r.t.Deadline) - 2*time.Second; left < d {
			d = max(left, time.Second)
		}
	}
	return d
}

// marker names the task's delivery in a revision's description, so that rollback can find the revisions
// a delivery made in Helm's own history. The Keptn context is unique across shipgate databases.
func marker(t engine.Task) string {
	return fmt.Sprintf("shipgate delivery #%d (%s)", t.DeliveryID, t.KeptnContext)
}

func errored(format string, args ...any) engine.Result {
	return engine.Result{Result: store.ResultFail, Status: store.StatusErrored, Message: fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) engine.Result {
	return engine.Result{Result: store.ResultFail, Status: store.StatusSucceeded, Message: fmt.Sprintf(format, args...)}
}

// validName checks a DNS-1123 label as Kubernetes does for namespaces and Helm for release names, and
// returns what is wrong, or "".
func validName(name string, maxLen int) string {
	switch {
	case name == "":
		return "it is empty"
	case len(name) > maxLen:
		return fmt.Sprintf("it is longer than %d characters", maxLen)
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(name)-1) {
			return "it must be lowercase letters, digits and hyphens, starting and ending with a letter or digit"
		}
	}
	return ""
}

var errNoChart = errors.New("no chart")
