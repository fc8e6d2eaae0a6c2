package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// LabelStep numbers a Job among the Jobs of one task attempt (job/config.yaml's tasks[] of an action),
// so that each is found again on its own after a restart.
const LabelStep = "shipgate/step"

// Executor runs an engine task as Jobs, one after another, through a Runner per cluster. Resolve says
// which Jobs a task is (reading job/config.yaml is not this package's); each Spec's Labels and Name are
// filled in by Execute when empty.
type Executor struct {
	// Kubeconfig and Context choose the cluster of a Plan that names none (as the helm executor's
	// shipgate.yaml defaults do). Client, when set, serves every Plan instead, as in tests.
	Kubeconfig, Context string
	Client              kubernetes.Interface
	Logs                LogSource
	// Resolve returns the task's Plan.
	Resolve func(ctx context.Context, t engine.Task) (Plan, error)

	mu      sync.Mutex
	runners map[clusterKey]*Runner
}

// Plan is what a task runs: its Jobs, in order, and the cluster (executors.yaml may choose one per
// stage; "" is the Executor's).
type Plan struct {
	Kubeconfig, Context string
	Jobs                []Spec
}

type clusterKey struct{ kubeconfig, context string }

// Idempotent is true: after a restart, Run finds the task's Jobs by their labels and waits for them (or
// takes the result of one that finished) instead of starting them again.
func (x *Executor) Idempotent(string, map[string]any) bool { return true }

// Execute runs the task's Jobs in order; the first that does not succeed ends the task with its result.
// Data["jobs"] lists every Job's details; the message has a line per Job.
func (x *Executor) Execute(ctx context.Context, t engine.Task) (engine.Result, error) {
	if x.Resolve == nil {
		return engine.Result{}, fmt.Errorf("job executor: nothing says which jobs task %s runs", t.Name)
	}
	plan, err := x.Resolve(ctx, t)
	if err != nil {
		return erroredf("job: %v", err), nil
	}
	specs := plan.Jobs
	if len(specs) == 0 {
		return erroredf("job: task %s has no jobs to run", t.Name), nil
	}
	r, err := x.connect(plan)
	if err != nil {
		return erroredf("job: connecting to the cluster: %v", err), nil
	}
	var jobs []any
	var lines []string
	for i, spec := range specs {
		if spec.Labels == nil {
			spec.Labels = Labels(t.DeliveryID, t.Stage, t.Name, t.Attempt)
			spec.Labels[LabelStep] = fmt.Sprint(i + 1)
		}
		if spec.Name == "" {
			spec.Name = Name(t, i+1)
		}
		res, err := r.Run(ctx, spec)
		if err != nil {
			if ctx.Err() != nil {
				return engine.Result{}, err // aborted or timed out: the engine says which
			}
			return erroredf("job %s: %v", spec.Name, err), nil
		}
		er := res.Engine()
		jobs = append(jobs, er.Data["job"])
		lines = append(lines, er.Message)
		if er.Result != store.ResultPass {
			er.Data = map[string]any{"jobs": jobs}
			er.Message = strings.Join(lines, "\n")
			return er, nil
		}
	}
	return engine.Result{Result: store.ResultPass, Status: store.StatusSucceeded, Message: strings.Join(lines, "\n"), Data: map[string]any{"jobs": jobs}}, nil
}

// connect makes one Runner per cluster, so that its client (and connections) serve every task.
func (x *Executor) connect(p Plan) (*Runner, error) {
	key := clusterKey{kubeconfig: p.Kubeconfig, context: p.Context}
	if key.kubeconfig == "" {
		key.kubeconfig = x.Kubeconfig
	}
	if key.context == "" {
		key.context = x.Context
	}
	if x.Client != nil {
		key = clusterKey{}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if r, ok := x.runners[key]; ok {
		return r, nil
	}
	client := x.Client
	if client == nil {
		var err error
		if client, err = NewClient(key.kubeconfig, key.context); err != nil {
			return nil, err
		}
	}
	if x.runners == nil {
		x.runners = map[clusterKey]*Runner{}
	}
	r := &Runner{Client: client, Logs: x.Logs}
	x.runners[key] = r
	return r, nil
}

// Name is the name of step (from 1) of task t's Jobs: TASK-DELIVERY-ATTEMPT-STEP, as a DNS-1123 label.
// A long task name is cut and given a hash of the whole, so that two tasks never share a name.
func Name(t engine.Task, step int) string {
	suffix := fmt.Sprintf("-%d-%d-%d", t.DeliveryID, t.Attempt, step)
	base := strings.Trim(sanitizeLabel(t.Name), "-")
	if base == "" {
		base = "task"
	}
	if len(base)+len(suffix) > 63 {
		sum := sha256.Sum256([]byte(t.Name))
		h := "-" + hex.EncodeToString(sum[:])[:8]
		base = strings.TrimRight(base[:max(0, 63-len(suffix)-len(h))], "-") + h
	}
	return base + suffix
}

// sanitizeLabel lowercases s and turns what a DNS-1123 label may not hold into '-'.
func sanitizeLabel(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

func erroredf(format string, args ...any) engine.Result {
	return engine.Result{Result: store.ResultFail, Status: store.StatusErrored, Message: fmt.Sprintf(format, args...)}
}
