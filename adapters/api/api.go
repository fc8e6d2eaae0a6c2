// Package api is shipgate's delivery API for CI systems, served as JSON on the bot's one HTTP listener:
// trigger a delivery, follow it, pause, resume or abort it, decide an approval as a named person, read
// its Keptn event log or its evidence pack for an audit, and Keptn's own POST /v1/event for pipelines
// written against Keptn.
//
// Every route authenticates first: a bearer token from api.tokens (or Keptn's x-token header on the
// Keptn route), or an HMAC-SHA256 signature of the body with api.webhook_secret. A token acts only on
// the projects it names. Refused requests are answered 401 or 403 without saying which part failed, and
// recorded in the audit trail with the reason, never with the credential.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// MaxBodyBytes caps a request body; a trigger is a few hundred bytes, values included.
const MaxBodyBytes = 1 << 20

// Options configure an API.
type Options struct {
	Engine   *engine.Engine
	Store    *store.Store
	Config   *config.Config // api.tokens, api.webhook_secret and public_url
	Projects []*config.Project
	// Approver decides approvals for POST /api/v1/approvals/{id}; without one that route answers 501.
	Approver Approver
	// Links makes links to chat messages for GET /api/v1/deliveries/{id}; nil gives ids only.
	Links Linker
	// Registry receives the request counters and the latency histogram; nil registers nothing.
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Now is the clock signature timestamps are checked against; nil means time.Now.
	Now func() time.Time
}

// Linker makes a link to a chat message, "" when its platform cannot; the bot is one.
type Linker interface {
	MessageLink(ctx context.Context, platform engine.Platform, channel, messageID string) string
}

// API serves the /api/v1 routes. Create it with New and mount it with Register.
type API struct {
	eng       *engine.Engine
	st        *store.Store
	projects  map[string]*config.Project
	approver  Approver
	links     Linker
	auth      *authenticator
	metrics   *metrics
	publicURL string
	log       *slog.Logger
}

// New checks the options and the configured credentials and returns an API ready to Register.
func New(opts Options) (*API, error) {
	if opts.Engine == nil || opts.Store == nil || opts.Config == nil {
		return nil, errors.New("api: engine, store and config are required")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	auth, err := newAuthenticator(opts.Config.API, now)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	a := &API{eng: opts.Engine, st: opts.Store, projects: map[string]*config.Project{}, approver: opts.Approver, links: opts.Links, auth: auth,
		metrics: m, publicURL: strings.TrimRight(opts.Config.PublicURL, "/"), log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range opts.Projects {
		a.projects[p.Name] = p
	}
	return a, nil
}

// Register mounts the API's routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range []route{
		{pattern: "POST /api/v1/deliveries", action: "deliveries.create", changes: true, serve: a.createDelivery},
		{pattern: "GET /api/v1/deliveries", action: "deliveries.list", serve: a.listDeliveries},
		{pattern: "GET /api/v1/deliveries/{id}", action: "deliveries.get", serve: a.getDelivery},
		{pattern: "GET /api/v1/deliveries/{id}/events", action: "deliveries.events", serve: a.deliveryEvents},
		{pattern: "GET /api/v1/deliveries/{id}/diff", action: "deliveries.diff", serve: a.deliveryDiff},
		{pattern: "GET /api/v1/deliveries/{id}/evidence", action: "deliveries.evidence", serve: a.deliveryEvidence},
		{pattern: "POST /api/v1/deliveries/{id}/abort", action: "deliveries.abort", changes: true, serve: a.control(actionAbort)},
		{pattern: "POST /api/v1/deliveries/{id}/pause", action: "deliveries.pause", changes: true, serve: a.control(actionPause)},
		{pattern: "POST /api/v1/deliveries/{id}/resume", action: "deliveries.resume", changes: true, serve: a.control(actionResume)},
		{pattern: "POST /api/v1/deliveries/{id}/unfreeze", action: "deliveries.unfreeze", changes: true, serve: a.unfreeze},
		{pattern: "POST /api/v1/approvals/{id}", action: "approvals.decide", changes: true, serve: a.decide},
		{pattern: "POST /api/v1/event", action: "event", changes: true, keptn: true, serve: a.keptnEvent},
	} {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, rt) })
	}
}

// route is one endpoint: its pattern (also its metrics label), its name in the audit trail, and how
// it answers an authenticated call.
type route struct {
	pattern string
	action  string // the audit action is "api." + action
	// changes marks routes that change state: every refusal of theirs is audited, not only
	// authentication failures.
	changes bool
	// keptn marks Keptn's route: it also takes the token from x-token, and errors take Keptn's shape.
	keptn bool
	serve func(*call) reply
}

// call is an authenticated request.
type call struct {
	ctx    context.Context
	r      *http.Request
	body   []byte
	caller *caller
}

// reply is a handler's answer, with what the wrapper needs to count and audit it.
type reply struct {
	status  int
	body    any
	outcome string      // the metrics outcome: ok, unauthorized, forbidden, duplicate, invalid, not_found, refused, error
	header  http.Header // extra response headers
	target  string      // what the request was about, for the audit trail: delivery:N, approval:N
	reason  string      // why it was refused, for the audit trail; may say more than the answer
	// audited says the refusal is in the audit trail already (the engine audits refused votes).
	audited bool
	// raw, when set, is the body as it is sent, of type contentType: a document whose bytes are its
	// identity (the evidence pack, hashed), which encoding again would change.
	raw         []byte
	contentType string
}

// Metric outcomes.
const (
	outcomeOK           = "ok"
	outcomeUnauthorized = "unauthorized"
	outcomeForbidden    = "forbidden"
	outcomeDuplicate    = "duplicate"
	outcomeInvalid      = "invalid"
	outcomeNotFound     = "not_found"
	outcomeRefused      = "refused"
	outcomeError        = "error"
)

// errorBody is every error answer: one message a caller may show a person.
type errorBody struct {
	Error string `json:"error"`
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, rt route) {
	start := time.Now()
	rep := a.answer(w, r, rt)
	a.write(w, rt, rep)
	a.metrics.observe(rt.pattern, rep.outcome, time.Since(start))
}

// answer reads and authenticates a request, lets the route answer it, and audits refusals.
func (a *API) answer(w http.ResponseWriter, r *http.Request, rt route) reply {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return reply{status: http.StatusRequestEntityTooLarge, outcome: outcomeInvalid,
				body: errorBody{fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}}
		}
		return invalid("cannot read the request body")
	}
	c, why := a.auth.authenticate(r, body, rt.keptn)
	if c == nil {
		a.log.Warn("api request refused", "endpoint", rt.pattern, "remote", r.RemoteAddr, "reason", why)
		a.audit(ctx, rt, "unknown", reply{reason: why})
		return reply{status: http.StatusUnauthorized, outcome: outcomeUnauthorized, body: errorBody{"unauthorized"}}
	}
	rep := rt.serve(&call{ctx: ctx, r: r, body: body, caller: c})
	if rep.audited {
		return rep
	}
	switch rep.outcome {
	case outcomeForbidden:
		a.log.Warn("api request refused", "endpoint", rt.pattern, "caller", c.name, "target", rep.target, "reason", rep.reason)
		a.audit(ctx, rt, c.name, rep)
	case outcomeInvalid, outcomeNotFound, outcomeRefused:
		if rt.changes {
			a.audit(ctx, rt, c.name, rep)
		}
	}
	return rep
}

// audit records a refused request. The credential itself never reaches the trail: actor is the token's
// name, "webhook" for a signed request, or "unknown". A caller hanging up does not stop the record.
func (a *API) audit(ctx context.Context, rt route, actor string, rep reply) {
	ctx = context.WithoutCancel(ctx)
	reason := rep.reason
	if reason == "" {
		if e, ok := rep.body.(errorBody); ok {
			reason = e.Error
		}
	}
	entry := &store.AuditEntry{Actor: actor, Platform: string(engine.PlatformAPI), Action: "api." + rt.action, Target: rep.target,
		Allowed: false, Reason: reason}
	if err := a.st.Update(ctx, func(tx *store.Tx) error { return tx.AppendAudit(ctx, entry) }); err != nil {
		a.log.Error("audit refused api request", "endpoint", rt.pattern, "err", err)
	}
}

// write sends a reply as JSON; on Keptn's route errors take Keptn's {code, message} shape as well.
func (a *API) write(w http.ResponseWriter, rt route, rep reply) {
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	h.Set("Cache-Control", "no-store")
	if rep.raw != nil {
		h.Set("Content-Type", rep.contentType)
		w.WriteHeader(rep.status)
		if _, err := w.Write(rep.raw); err != nil {
			a.log.Debug("write api answer", "endpoint", rt.pattern, "err", err)
		}
		return
	}
	h.Set("Content-Type", "application/json")
	body := rep.body
	if e, ok := body.(errorBody); ok && rt.keptn {
		body = keptnError{Code: rep.status, Message: e.Error, Error: e.Error}
	}
	w.WriteHeader(rep.status)
	if body == nil {
		return
	}
	if err := json.NewEncoder(w).Encode(body); err != nil {
		a.log.Debug("write api answer", "endpoint", rt.pattern, "err", err)
	}
}

// internal answers a failure inside shipgate: logged in full, answered with no detail. When the
// database refused the write (a full disk, the write lock held elsewhere), it answers 503 with
// Retry-After instead: nothing was recorded, and the same request will succeed once the fault clears.
func (a *API) internal(c *call, what string, err error) reply {
	if store.IsTransient(err) {
		a.log.Warn(what, "caller", c.caller.name, "path", c.r.URL.Path, "err", err)
		return reply{status: http.StatusServiceUnavailable, outcome: outcomeError, header: http.Header{"Retry-After": {"5"}},
			body: errorBody{"the database is not taking writes right now; nothing was recorded; retry later"}}
	}
	a.log.Error(what, "caller", c.caller.name, "path", c.r.URL.Path, "err", err)
	return reply{status: http.StatusInternalServerError, outcome: outcomeError, body: errorBody{"internal error; the cause is in shipgate's log"}}
}

func ok(status int, body any) reply { return reply{status: status, outcome: outcomeOK, body: body} }

func invalid(format string, args ...any) reply {
	return reply{status: http.StatusBadRequest, outcome: outcomeInvalid, body: errorBody{fmt.Sprintf(format, args...)}}
}

func notFound(target, format string, args ...any) reply {
	return reply{status: http.StatusNotFound, outcome: outcomeNotFound, target: target, body: errorBody{fmt.Sprintf(format, args...)}}
}

// forbidden refuses a caller a project; the answer says no more than that, the audit trail says why.
func forbidden(c *call, target, project string) reply {
	return reply{status: http.StatusForbidden, outcome: outcomeForbidden, target: target, body: errorBody{"forbidden"},
		reason: fmt.Sprintf("%s may not act on project %s", c.caller.name, project)}
}

// engineReply answers the engine's errors meant for callers (ErrInvalid 400, ErrNotFound 404,
// ErrRefused 409) with their message, and anything else as an internal error.
func (a *API) engineReply(c *call, target, what string, err error) reply {
	status, outcome := 0, ""
	var rf *engine.Refusal
	switch {
	case errors.As(err, &rf):
		return reply{status: http.StatusForbidden, outcome: outcomeRefused, target: target, body: errorBody{refusalReason(rf)}}
	case errors.Is(err, engine.ErrInvalid):
		status, outcome = http.StatusBadRequest, outcomeInvalid
	case errors.Is(err, engine.ErrNotFound):
		status, outcome = http.StatusNotFound, outcomeNotFound
	case errors.Is(err, engine.ErrRefused):
		status, outcome = http.StatusConflict, outcomeRefused
	default:
		return a.internal(c, what, err)
	}
	msg, ok := engine.Reason(err)
	if !ok {
		msg = err.Error()
	}
	return reply{status: status, outcome: outcome, target: target, body: errorBody{msg}}
}

// pathID reads the {id} of a route; what names it in the message ("delivery", "approval").
func pathID(c *call, what string) (int64, *reply) {
	raw := c.r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		rep := invalid("%s id %q is not a positive number", what, truncate.Excerpt(raw, 40))
		return 0, &rep
	}
	return id, nil
}

// deliveryURL is where a delivery can be read: under public_url when set, else a path.
func (a *API) deliveryURL(id int64) string {
	return fmt.Sprintf("%s/api/v1/deliveries/%d", a.publicURL, id)
}
