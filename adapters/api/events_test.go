package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A delivery's event log reads as Keptn's CloudEvents.
func TestDeliveryEvents(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello())
	f.waitForApproval(id)
	d, err := f.st.GetDelivery(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	r := f.as(tokCI, "GET", fmt.Sprintf("/api/v1/deliveries/%d/events", id), nil)
	var events []struct {
		SpecVersion    string         `json:"specversion"`
		ID             string         `json:"id"`
		Type           string         `json:"type"`
		Source         string         `json:"source"`
		Time           time.Time      `json:"time"`
		KeptnContext   string         `json:"shkeptncontext"`
		TriggeredID    string         `json:"triggeredid"`
		DataContenType string         `json:"datacontenttype"`
		Data           map[string]any `json:"data"`
	}
	r.decode(t, &events)
	if r.status != http.StatusOK || len(events) == 0 {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	first := events[0]
	if first.Type != "sh.keptn.event.qa.delivery.triggered" || first.Data["project"] != "fulltour" || first.TriggeredID != "" {
		t.Errorf("first event %+v", first)
	}
	ids := map[string]string{} // id -> type
	var types []string
	for _, e := range events {
		if e.SpecVersion != "1.0" || e.Source != "shipgate" || e.KeptnContext != d.KeptnContext || e.ID == "" || e.Time.IsZero() ||
			e.DataContenType != "application/json" {
			t.Errorf("event %+v", e)
		}
		if strings.HasSuffix(e.Type, ".started") || strings.HasSuffix(e.Type, ".finished") {
			if !strings.HasSuffix(ids[e.TriggeredID], ".triggered") {
				t.Errorf("%s answers %q, which is not a .triggered event of this delivery", e.Type, e.TriggeredID)
			}
		}
		ids[e.ID] = e.Type
		types = append(types, e.Type)
	}
	for _, want := range []string{"sh.keptn.event.deployment.finished", "sh.keptn.event.evaluation.finished", "sh.keptn.event.qa.delivery.finished",
		"sh.keptn.event.production.delivery.triggered", "sh.keptn.event.approval.started"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("no %s among %v", want, types)
		}
	}
	for _, tt := range []struct {
		tok, path string
		status    int
	}{
		{tokCI, "/api/v1/deliveries/999/events", 404},
		{tokShop, fmt.Sprintf("/api/v1/deliveries/%d/events", id), 403},
	} {
		if r := f.as(tt.tok, "GET", tt.path, nil); r.status != tt.status {
			t.Errorf("%s as %s: %d %s, want %d", tt.path, tt.tok, r.status, r.body, tt.status)
		}
	}
}
