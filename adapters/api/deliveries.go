package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
	"github.com/shipgate/shipgate/truncate"
)

// triggerRequest is the body of POST /api/v1/deliveries.
type triggerRequest struct {
	Project  string            `json:"project"`
	Service  string            `json:"service"`
	Stage    string            `json:"stage"`    // default: the project's first stage
	Sequence string            `json:"sequence"` // default: delivery
	Image    string            `json:"image"`
	Labels   map[string]string `json:"labels"`
	Values   map[string]any    `json:"values"` // more configurationChange values besides the image
}

// triggered answers a trigger: the delivery, and where to follow it.
type triggered struct {
	ID           int64  `json:"id"`
	KeptnContext string `json:"keptnContext"`
	URL          string `json:"url"`
}

// createDelivery starts a delivery. A repeated Idempotency-Key returns the first delivery with 200 and
// Idempotent-Replayed: true, where a new delivery is 202.
func (a *API) createDelivery(c *call) reply {
	var req triggerRequest
	if msg := decodeStrict(c.body, &req, true); msg != "" {
		return invalid("%s", msg)
	}
	key := c.r.Header.Get(IdempotencyHeader)
	if msg := checkKey(key); msg != "" {
		return invalid("%s", msg)
	}
	if req.Project == "" {
		return invalid("project is required")
	}
	target := "service:" + req.Project + "/" + req.Service
	if !c.caller.may(req.Project) {
		return forbidden(c, target, req.Project)
	}
	if p := a.projects[req.Project]; p != nil && req.Service == "" {
		return invalid("service is required; services of %s: %s", p.Name, strings.Join(p.Services, ", "))
	}
	if key != "" {
		key = c.caller.idempotencyKey("deliveries:" + key)
	}
	tr, err := a.eng.TriggerOnce(c.ctx, engine.Request{Project: req.Project, Service: req.Service, Stage: req.Stage, Sequence: req.Sequence,
		Image: req.Image, Labels: req.Labels, Values: req.Values, Actor: c.caller.name, Source: string(engine.PlatformAPI), IdempotencyKey: key})
	if err != nil {
		return a.engineReply(c, target, "trigger delivery", err)
	}
	d, err := a.st.GetDelivery(c.ctx, tr.ID)
	if err != nil {
		return a.internal(c, "read triggered delivery", err)
	}
	rep := ok(http.StatusAccepted, triggered{ID: d.ID, KeptnContext: d.KeptnContext, URL: a.deliveryURL(d.ID)})
	rep.header = http.Header{"Location": {a.deliveryURL(d.ID)}}
	if tr.Replayed {
		rep.status, rep.outcome = http.StatusOK, outcomeDuplicate
		rep.header.Set(ReplayedHeader, "true")
	}
	return rep
}

// delivery reads the delivery a route's {id} names, if the caller may see it.
func (a *API) delivery(c *call) (*store.Delivery, *reply) {
	id, bad := pathID(c, "delivery")
	if bad != nil {
		return nil, bad
	}
	target := fmt.Sprintf("delivery:%d", id)
	d, err := a.st.GetDelivery(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		rep := notFound(target, "delivery %d not found", id)
		return nil, &rep
	}
	if err != nil {
		rep := a.internal(c, "read delivery", err)
		return nil, &rep
	}
	if !c.caller.may(d.Project) {
		rep := forbidden(c, target, d.Project)
		return nil, &rep
	}
	return d, nil
}

// getDelivery answers one delivery in full.
func (a *API) getDelivery(c *call) reply {
	d, rep := a.delivery(c)
	if rep != nil {
		return *rep
	}
	v, err := a.view(c.ctx, d)
	if err != nil {
		return a.internal(c, "read delivery", err)
	}
	return ok(http.StatusOK, v)
}

// List limits.
const (
	defaultListLimit = 20
	maxListLimit     = 200
)

// listParams are the query parameters GET /api/v1/deliveries takes.
var listParams = []string{"project", "service", "stage", "state", "limit", "cursor"}

// deliveryPage is the answer of GET /api/v1/deliveries: one page, newest first. NextCursor, present only
// when older deliveries follow, continues the list as ?cursor=, and so does the Link header's rel="next"
// URL.
type deliveryPage struct {
	Deliveries []deliverySummary `json:"deliveries"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// listDeliveries answers the newest deliveries the caller may see, filtered by the query, one page at a
// time. A page is read in an index's order from the cursor on (store.ListDeliveries) and stops after one
// row more than the page, which tells whether there is a next one: what it costs does not depend on how
// many deliveries there are, nor on how far into the list the page is.
func (a *API) listDeliveries(c *call) reply {
	q := c.r.URL.Query()
	if msg := checkParams(q); msg != "" {
		return invalid("%s", msg)
	}
	dq := store.DeliveryQuery{Project: q.Get("project"), Service: q.Get("service"), Stage: q.Get("stage"),
		State: store.SequenceState(q.Get("state"))}
	if states := store.SequenceStates(); dq.State != "" && !slices.Contains(states, dq.State) {
		names := make([]string, len(states))
		for i, s := range states {
			names[i] = string(s)
		}
		return invalid("state %q is not one of %s", truncate.Excerpt(string(dq.State), 40), strings.Join(names, ", "))
	}
	page := defaultListLimit
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return invalid("limit %q is not a positive number", truncate.Excerpt(raw, 40))
		}
		page = min(n, maxListLimit)
	}
	if q.Has("cursor") {
		raw := q.Get("cursor")
		after, ok := decodeCursor(raw)
		if !ok {
			return invalid("cursor %q is not one this list gave out; pass the nextCursor of the page before, or no cursor to start with the newest",
				truncate.Excerpt(raw, 40))
		}
		dq.After = &after
	}
	if dq.Project != "" && !c.caller.may(dq.Project) {
		return forbidden(c, "", dq.Project)
	}
	if !c.caller.all {
		dq.Projects = append([]string{}, c.caller.projects...) // never nil: nil would mean every project
	}
	dq.Limit = page + 1
	ds, err := a.st.ListDeliveries(c.ctx, dq)
	if err != nil {
		return a.internal(c, "list deliveries", err)
	}
	out := deliveryPage{Deliveries: make([]deliverySummary, 0, min(len(ds), page))}
	if len(ds) > page {
		ds = ds[:page]
		out.NextCursor = encodeCursor(ds[page-1].Position())
	}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, a.summary(d))
	}
	rep := ok(http.StatusOK, out)
	if out.NextCursor != "" {
		rep.header = http.Header{"Link": {a.nextLink(c.r.URL, out.NextCursor)}}
	}
	return rep
}

// checkParams refuses query parameters the list does not know, and repeated ones, so that a typo does
// not silently list everything.
func checkParams(q url.Values) string {
	for k, vs := range q {
		if !slices.Contains(listParams, k) {
			return fmt.Sprintf("unknown parameter %q; expected %s", truncate.Excerpt(k, 40), strings.Join(listParams, ", "))
		}
		if len(vs) > 1 {
			return fmt.Sprintf("parameter %s is given %d times", k, len(vs))
		}
	}
	return ""
}
