package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shipgate/shipgate/engine"
	"github.com/shipgate/shipgate/store"
)

// A day with shipgate from CI: trigger, then read the delivery while it waits for approval in production.
func TestTriggerAndRead(t *testing.T) {
	f := newFixture(t)
	r := f.as(tokCI, "POST", "/api/v1/deliveries", hello("labels", map[string]string{"version": "v0.1.1"}, "values", map[string]any{"replicaCount": 2}))
	if r.status != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	var tr triggered
	r.decode(t, &tr)
	if tr.ID == 0 || len(tr.KeptnContext) != 36 || tr.URL != fmt.Sprintf("/api/v1/deliveries/%d", tr.ID) {
		t.Errorf("trigger answered %+v", tr)
	}
	if got := r.header.Get("Location"); got != tr.URL {
		t.Errorf("Location %q, want %q", got, tr.URL)
	}
	f.waitForApproval(tr.ID)
	// The bot would have posted the root card; its reference is what the API shows.
	err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.SaveChatMessage(context.Background(), &store.ChatMessage{DeliveryID: tr.ID, Platform: "slack", Channel: "CREL1",
			MessageID: "1718000000.000100", ThreadID: "1718000000.000100", Kind: store.MessageRoot})
	})
	if err != nil {
		t.Fatal(err)
	}

	r = f.as(tokCI, "GET", tr.URL, nil)
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var v struct {
		ID           int64             `json:"id"`
		KeptnContext string            `json:"keptnContext"`
		State        string            `json:"state"`
		Image        string            `json:"image"`
		Labels       map[string]string `json:"labels"`
		Values       map[string]any    `json:"values"`
		Actor        string            `json:"actor"`
		Source       string            `json:"source"`
		CreatedAt    string            `json:"createdAt"`
		FinishedAt   *string           `json:"finishedAt"`
		Stages       []struct {
			Name      string `json:"name"`
			Sequences []struct {
				Name  string `json:"name"`
				State string `json:"state"`
				Tasks []struct {
					Name       string `json:"name"`
					Executor   string `json:"executor"`
					State      string `json:"state"`
					Result     string `json:"result"`
					Attempt    int    `json:"attempt"`
					Data       any    `json:"data"`
					Evaluation *struct {
						Result string  `json:"result"`
						Score  float64 `json:"score"`
					} `json:"evaluation"`
				} `json:"tasks"`
			} `json:"sequences"`
			Evaluations []struct {
				Score      float64 `json:"score"`
				Result     string  `json:"result"`
				Objectives []struct {
					SLI         string   `json:"sli"`
					DisplayName string   `json:"displayName"`
					Value       *float64 `json:"value"`
					Status      string   `json:"status"`
					PassTargets []struct {
						Criteria string `json:"criteria"`
					} `json:"passTargets"`
				} `json:"objectives"`
			} `json:"evaluations"`
			Approvals []struct {
				ID       int64    `json:"id"`
				State    string   `json:"state"`
				Required int      `json:"required"`
				Roles    []string `json:"roles"`
				Voters   []any    `json:"voters"`
			} `json:"approvals"`
		} `json:"stages"`
		Chat []map[string]any `json:"chat"`
	}
	r.decode(t, &v)
	if v.ID != tr.ID || v.KeptnContext != tr.KeptnContext || v.State != "waitingForApproval" || v.Image != helloImage ||
		v.Labels["version"] != "v0.1.1" || v.Values["replicaCount"] != float64(2) || v.Actor != tokCI || v.Source != "api" ||
		v.CreatedAt == "" || v.FinishedAt != nil {
		t.Errorf("delivery: %s", r.body)
	}
	if len(v.Stages) != 2 || v.Stages[0].Name != "qa" || v.Stages[1].Name != "production" {
		t.Fatalf("stages: %s", r.body)
	}
	qa, prod := v.Stages[0], v.Stages[1]
	var tasks []string
	for _, tk := range qa.Sequences[0].Tasks {
		tasks = append(tasks, tk.Name+":"+tk.State+":"+tk.Result)
		if tk.Data != nil || tk.Attempt != 1 {
			t.Errorf("task %s: data %v attempt %d", tk.Name, tk.Data, tk.Attempt)
		}
	}
	if want := []string{"deployment:finished:pass", "test:finished:pass", "evaluation:finished:pass"}; !slices.Equal(tasks, want) {
		t.Errorf("qa tasks %v, want %v", tasks, want)
	}
	if ev := qa.Sequences[0].Tasks[2].Evaluation; ev == nil || ev.Result != "pass" || ev.Score != 100 {
		t.Errorf("evaluation task summary %+v", ev)
	}
	if len(qa.Evaluations) != 1 || qa.Evaluations[0].Score != 100 || len(qa.Evaluations[0].Objectives) != 2 {
		t.Fatalf("qa evaluations: %+v", qa.Evaluations)
	}
	o := qa.Evaluations[0].Objectives[0]
	if o.SLI != "response_time_p95" || o.DisplayName != "Response time P95" || o.Value == nil || *o.Value != 420 || o.Status != "pass" ||
		len(o.PassTargets) != 1 || o.PassTargets[0].Criteria != "<600" {
		t.Errorf("objective %+v", o)
	}
	if len(prod.Sequences) != 1 || prod.Sequences[0].State != "waitingForApproval" || len(prod.Approvals) != 1 {
		t.Fatalf("production: %+v", prod)
	}
	if a := prod.Approvals[0]; a.State != "pending" || a.Required != 1 || !slices.Equal(a.Roles, []string{"approver"}) || len(a.Voters) != 0 {
		t.Errorf("approval %+v", a)
	}
	want := []map[string]any{{"platform": "slack", "channel": "CREL1", "messageId": "1718000000.000100", "threadId": "1718000000.000100", "kind": "root"}}
	if !reflect.DeepEqual(v.Chat, want) {
		t.Errorf("chat %v, want %v", v.Chat, want)
	}

	for _, tt := range []struct {
		name, tok, path string
		status          int
		want            string
	}{
		{"unknown", tokCI, "/api/v1/deliveries/999", http.StatusNotFound, "delivery 999 not found"},
		{"not a number", tokCI, "/api/v1/deliveries/first", http.StatusBadRequest, `delivery id "first" is not a positive number`},
		{"another project's token", tokShop, tr.URL, http.StatusForbidden, "forbidden"},
	} {
		r := f.as(tt.tok, "GET", tt.path, nil)
		if r.status != tt.status || r.errorText(t) != tt.want {
			t.Errorf("%s: %d %s, want %d %q", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
}

// A delivery's URL starts with public_url when it is set.
func TestDeliveryURL(t *testing.T) {
	for _, tt := range []struct{ public, want string }{
		{"", "/api/v1/deliveries/7"},
		{"https://shipgate.example.org", "https://shipgate.example.org/api/v1/deliveries/7"},
		{"https://example.org/shipgate/", "https://example.org/shipgate/api/v1/deliveries/7"},
	} {
		a := &API{publicURL: strings.TrimRight(tt.public, "/")}
		if got := a.deliveryURL(7); got != tt.want {
			t.Errorf("public_url %q: %q, want %q", tt.public, got, tt.want)
		}
	}
}

// A retried trigger with the same Idempotency-Key returns the first delivery; keys are per caller.
func TestIdempotentTrigger(t *testing.T) {
	f := newFixture(t)
	key := []string{IdempotencyHeader, "build-1234/attempt-1"}
	first := f.trigger(tokCI, hello(), key...)

	r := f.as(tokCI, "POST", "/api/v1/deliveries", hello(), key...)
	var tr triggered
	r.decode(t, &tr)
	if r.status != http.StatusOK || tr.ID != first || r.header.Get(ReplayedHeader) != "true" {
		t.Errorf("retry: %d %s %v; want 200, delivery %d, %s: true", r.status, r.body, r.header, first, ReplayedHeader)
	}
	if other := f.trigger(tokRelease, hello(), key...); other == first {
		t.Errorf("another token's same key returned delivery %d", first)
	}
	r = f.signed("POST", "/api/v1/deliveries", jsonBody(t, hello()), f.clock(), key...)
	r.decode(t, &tr)
	if r.status != http.StatusAccepted || tr.ID == first {
		t.Errorf("a signed request with the same key: %d %s", r.status, r.body)
	}
	if r := f.as(tokCI, "POST", "/api/v1/deliveries", hello(), IdempotencyHeader, strings.Repeat("k", 256)); r.status != http.StatusBadRequest {
		t.Errorf("a 256-character key: %d %s", r.status, r.body)
	}

	// Retries arriving together: one creates, the others see its delivery.
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		ids      = map[int64]bool{}
	)
	for range n {
		wg.Go(func() {
			r := f.as(tokCI, "POST", "/api/v1/deliveries", hello(), IdempotencyHeader, "together")
			var tr triggered
			r.decode(t, &tr)
			mu.Lock()
			defer mu.Unlock()
			statuses[r.status]++
			ids[tr.ID] = true
		})
	}
	wg.Wait()
	if statuses[http.StatusAccepted] != 1 || statuses[http.StatusOK] != n-1 || len(ids) != 1 {
		t.Errorf("%d concurrent retries: statuses %v, deliveries %v; want one 202, the rest 200, one delivery", n, statuses, ids)
	}
}

// Bad triggers get 400 with what is wrong and change nothing; each refusal is audited.
func TestTriggerRejects(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name   string
		body   any
		status int
		want   string // part of the error
	}{
		{"bad JSON", `{"project": "fulltour",`, 400, "request body is not valid JSON"},
		{"not an object", `["fulltour"]`, 400, "request body must be a JSON object, not array"},
		{"empty", "", 400, "request body is empty"},
		{"two values", `{"project":"fulltour"} {}`, 400, "more than one JSON value"},
		{"unknown field", hello("tag", "v1"), 400, `unknown field "tag"; expected project, service, stage, sequence, image, labels, values`},
		{"label not a string", hello("labels", map[string]any{"build": 7}), 400, "each value of labels must be a string, not number"},
		{"no project", map[string]any{"service": "helloservice", "image": helloImage}, 400, "project is required"},
		{"unknown project", map[string]any{"project": "nope", "service": "x", "image": helloImage}, 403, "forbidden"},
		{"no service", map[string]any{"project": "fulltour", "image": helloImage}, 400, "service is required; services of fulltour: helloservice, orders"},
		{"unknown service", hello("service", "carts"), 400, `project fulltour has no service "carts"; services: helloservice, orders`},
		{"unknown stage", hello("stage", "staging"), 400, `project fulltour has no stage "staging"; stages: qa, production`},
		{"unknown sequence", hello("sequence", "canary"), 400, `stage qa has no sequence "canary"; sequences: delivery`},
		{"no image", hello("image", ""), 400, "an image is required"},
		{"bad image", hello("image", "Ghcr.io/UPPER CASE:v1"), 400, `image "Ghcr.io/UPPER CASE:v1" is not a valid image reference`},
		{"too large", hello("values", map[string]any{"blob": strings.Repeat("x", MaxBodyBytes)}), 413, "larger than 1048576 bytes"},
	} {
		r := f.as(tokCI, "POST", "/api/v1/deliveries", tt.body)
		if r.status != tt.status || !strings.Contains(r.errorText(t), tt.want) {
			t.Errorf("%s: %d %s; want %d and %q", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
	if ds, _ := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); len(ds) != 0 {
		t.Errorf("%d deliveries after only bad triggers", len(ds))
	}
	// Everything but the oversized body (refused before the caller is known) is audited.
	if got := f.audit("api.deliveries.create"); len(got) != 14 || got[0].Actor != tokCI || got[0].Allowed {
		t.Errorf("%d refusals audited, want 14; newest %+v", len(got), got[0])
	}
	// A "*" token learns which projects exist.
	r := f.as(tokAdmin, "POST", "/api/v1/deliveries", map[string]any{"project": "nope", "service": "x", "image": helloImage})
	if r.status != 400 || r.errorText(t) != `unknown project "nope"; projects: fulltour, shop` {
		t.Errorf("unknown project for an admin: %d %s", r.status, r.body)
	}
}

// The list is newest first, filtered, and holds only the projects the token may see.
func TestListDeliveries(t *testing.T) {
	f := newFixture(t)
	hello1 := f.trigger(tokCI, hello())
	orders := f.trigger(tokCI, hello("service", "orders", "stage", "production"))
	carts := f.trigger(tokShop, map[string]any{"project": "shop", "service": "carts", "image": "ghcr.io/shop/carts:1.0"})
	for _, id := range []int64{hello1, orders, carts} {
		f.waitForApproval(id)
	}
	for _, tt := range []struct {
		name, tok, query string
		want             []int64
	}{
		{"all of an admin", tokAdmin, "", []int64{carts, orders, hello1}},
		{"a token's projects", tokCI, "", []int64{orders, hello1}},
		{"another token's", tokShop, "", []int64{carts}},
		{"project", tokAdmin, "?project=fulltour", []int64{orders, hello1}},
		{"service", tokAdmin, "?service=orders", []int64{orders}},
		{"stage", tokAdmin, "?stage=qa", []int64{carts, hello1}},
		{"state", tokAdmin, "?state=waitingForApproval", []int64{carts, orders, hello1}},
		{"no match", tokCI, "?state=finished", []int64{}},
		{"limit", tokAdmin, "?limit=1", []int64{carts}},
		{"limit above the maximum", tokAdmin, "?limit=5000", []int64{carts, orders, hello1}},
	} {
		r := f.as(tt.tok, "GET", "/api/v1/deliveries"+tt.query, nil)
		var out struct {
			Deliveries []struct {
				ID      int64  `json:"id"`
				URL     string `json:"url"`
				Project string `json:"project"`
			} `json:"deliveries"`
		}
		r.decode(t, &out)
		got := []int64{}
		for _, d := range out.Deliveries {
			got = append(got, d.ID)
		}
		if r.status != 200 || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %d %v, want %v", tt.name, r.status, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name, query string
		status      int
		want        string
	}{
		{"another project", "?project=shop", 403, "forbidden"},
		{"zero limit", "?limit=0", 400, `limit "0" is not a positive number`},
		{"unknown state", "?state=running", 400, `state "running" is not one of triggered, waiting, started, waitingForApproval, paused, frozen, finished, aborted, timedOut`},
		{"unknown parameter", "?servce=orders", 400, `unknown parameter "servce"; expected project, service, stage, state, limit, cursor`},
		{"repeated parameter", "?service=a&service=b", 400, "parameter service is given 2 times"},
	} {
		r := f.as(tokCI, "GET", "/api/v1/deliveries"+tt.query, nil)
		if r.status != tt.status || r.errorText(t) != tt.want {
			t.Errorf("%s: %d %s, want %d %q", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
}

// The key is claimed in the transaction that creates the delivery, so there is no moment at which the
// delivery exists and its key is unknown: a retry after shipgate committed the delivery but died before
// answering (here: the engine committed it, and the API never answered) is a replay, 200 with
// Idempotent-Replayed, never a second delivery or a 202.
func TestIdempotentTriggerAfterTheAnswerWasLost(t *testing.T) {
	f := newFixture(t)
	const key = "build-77/attempt-1"
	committed, err := f.eng.TriggerOnce(context.Background(), engine.Request{Project: "fulltour", Service: "helloservice",
		Image: helloImage, Actor: tokCI, Source: "api", IdempotencyKey: (&caller{name: tokCI}).idempotencyKey("deliveries:" + key)})
	if err != nil || committed.Replayed {
		t.Fatalf("first trigger: %+v %v", committed, err)
	}

	r := f.as(tokCI, "POST", "/api/v1/deliveries", hello(), IdempotencyHeader, key)
	var tr triggered
	r.decode(t, &tr)
	if r.status != http.StatusOK || tr.ID != committed.ID || r.header.Get(ReplayedHeader) != "true" {
		t.Errorf("retry: %d %s %v; want 200, delivery %d, %s: true", r.status, r.body, r.header, committed.ID, ReplayedHeader)
	}
	if ds, err := f.st.ListDeliveries(context.Background(), store.DeliveryQuery{}); err != nil || len(ds) != 1 {
		t.Errorf("%d deliveries (%v), want the one", len(ds), err)
	}
}
