package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/store"
)

// Request asks for a delivery: a build of a service taken through a project's stages.
type Request struct {
	Project  string
	Service  string
	Stage    string // default: the project's first stage
	Sequence string // default: delivery
	Image    string // the container image, e.g. ghcr.io/podtato-head/podtatoserver:v0.1.1
	Labels   map[string]string
	Values   map[string]any // extra configurationChange values
	Actor    string         // who asked
	Source   string         // where from: slack, discord, api, cli, web
	Channel  string         // the chat channel it was asked in, if any
	// Roles and Where are who asks and from where, for authorizeDelivery; a Request with no Where
	// comes from a caller that authorized it already (the API, the webhook).
	Roles []string
	Where *Where
	// IdempotencyKey makes a repeated request (a CI retry, a re-sent slash command) return the delivery
	// the first one created instead of starting a second.
	IdempotencyKey string
}

// idempotencyScope keeps trigger keys apart from other kinds of keys in the store.
const idempotencyScope = "trigger"

// Trigger validates a request and queues the delivery's first sequence; it returns the delivery id.
// Invalid requests return an error wrapping ErrInvalid whose message tells the caller what exists.
func (e *Engine) Trigger(ctx context.Context, req Request) (int64, error) {
	tr, err := e.TriggerOnce(ctx, req)
	return tr.ID, err
}

// Triggered is what TriggerOnce did: the delivery, and whether an earlier request with the same
// idempotency key had created it.
type Triggered struct {
	ID       int64
	Replayed bool
}

// TriggerOnce is Trigger that also says whether the request was a replay. The key is the engine's one
// idempotency layer (Handle): claimed in the transaction that creates the delivery, so there is no
// moment, crash included, at which the delivery exists and a retry with its key would not find it.
func (e *Engine) TriggerOnce(ctx context.Context, req Request) (Triggered, error) {
	if err := e.validate(&req); err != nil {
		return Triggered{}, err
	}
	h, err := e.Handle(ctx, Key{Scope: idempotencyScope, ID: req.IdempotencyKey}, func(op *Op) ([]byte, error) {
		_, err := op.triggerValid(req) // validated above, before the write lock
		return nil, err
	})
	if err != nil {
		return Triggered{}, err
	}
	return Triggered{ID: h.DeliveryID, Replayed: h.Replayed}, nil
}

// trigger creates a delivery for a validated request and queues its first sequence.
func (t *txn) trigger(req Request) (*store.Delivery, error) {
	if r := authorizeDelivery(req.Where, req.Roles, req.Project, 0, "trigger"); r != nil {
		return nil, r
	}
	d := &store.Delivery{Project: req.Project, Service: req.Service, Image: req.Image, Labels: req.Labels, Values: mustJSON(req.Values),
		Stage: req.Stage, Sequence: req.Sequence, Actor: req.Actor, Source: req.Source, SourceChannel: req.Channel}
	if len(req.Values) == 0 {
		d.Values = nil
	}
	if err := t.CreateDelivery(t.ctx, d); err != nil {
		return nil, err
	}
	if err := t.AppendAudit(t.ctx, &store.AuditEntry{Actor: req.Actor, Platform: req.Source, Channel: req.Channel, Action: "delivery.trigger",
		Target: fmt.Sprintf("delivery:%d", d.ID), Allowed: true, Details: mustJSON(map[string]any{"project": req.Project, "service": req.Service,
			"stage": req.Stage, "sequence": req.Sequence, "image": req.Image})}); err != nil {
		return nil, err
	}
	t.publish(d, Event{Type: EventDeliveryTriggered, Stage: req.Stage, Sequence: req.Sequence})
	values := map[string]any{"image": req.Image}
	deepMerge(values, req.Values)
	data := scopeData(req.Project, req.Stage, req.Service, req.Labels)
	data["configurationChange"] = map[string]any{"values": values}
	run, err := t.queueSequence(d, req.Stage, req.Sequence, data)
	if err != nil {
		return nil, err
	}
	// The request's transaction records the delivery and answers; its sequence starts in the transition
	// that follows, or, if the process stops first, when recover starts what is queued.
	t.fx.later = append(t.fx.later, &owed{key: fmt.Sprintf("start/%d", run.ID), what: fmt.Sprintf("start of sequence run %d", run.ID),
		fn: func(t *txn) error {
			run, err := t.GetSequenceRun(t.ctx, run.ID)
			if err != nil || run.State != store.StateTriggered {
				return err
			}
			return t.startSequence(d, run)
		}})
	return d, nil
}

// validate fills in defaults and checks that everything the request names exists.
func (e *Engine) validate(req *Request) error {
	p, err := e.project(req.Project)
	if err != nil {
		return err
	}
	if req.Stage == "" {
		req.Stage = p.Shipyard.Spec.Stages[0].Name
	}
	st, err := checkScope(p, req.Service, req.Stage)
	if err != nil {
		return err
	}
	if req.Sequence == "" {
		req.Sequence = store.DefaultSequence
	}
	if _, ok := st.Sequence(req.Sequence); !ok {
		names := []string{}
		for _, s := range st.Sequences {
			names = append(names, s.Name)
		}
		return invalidf("stage %s has no sequence %q; sequences: %s", st.Name, req.Sequence, strings.Join(names, ", "))
	}
	if req.Image == "" {
		return invalidf("an image is required, such as ghcr.io/podtato-head/podtatoserver:v0.1.1")
	}
	if _, err := reference.ParseNormalizedNamed(req.Image); err != nil {
		return invalidf("image %q is not a valid image reference: %v", req.Image, err)
	}
	keys := make([]string, 0, len(req.Labels))
	for k := range req.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			return invalidf("a label has an empty name")
		}
	}
	return nil
}

// CheckScope checks that a project has a service and, when stage is set, that stage; its error wraps
// ErrInvalid and names what exists, as Trigger's does. Commands that read rather than trigger (history,
// rollback's lookup) use it to answer as a trigger would.
func (e *Engine) CheckScope(project, service, stage string) error {
	p, err := e.project(project)
	if err != nil {
		return err
	}
	if stage == "" {
		stage = p.Shipyard.Spec.Stages[0].Name
	}
	_, err = checkScope(p, service, stage)
	return err
}

func checkScope(p *config.Project, service, stage string) (*config.Stage, error) {
	if !p.HasService(service) {
		return nil, invalidf("project %s has no service %q; services: %s", p.Name, service, strings.Join(p.Services, ", "))
	}
	st, ok := p.Shipyard.Stage(stage)
	if !ok {
		return nil, invalidf("project %s has no stage %q; stages: %s", p.Name, stage, strings.Join(p.Shipyard.StageNames(), ", "))
	}
	return st, nil
}

// storeErr turns the store's not-found into the engine's, for messages to callers.
func storeErr(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("%s", what)
	}
	return err
}
