package api

import (
	"fmt"
	"testing"
)

// Requests are counted by route pattern and outcome, and timed.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello(), IdempotencyHeader, "k1")
	f.as(tokCI, "POST", "/api/v1/deliveries", hello(), IdempotencyHeader, "k1") // duplicate
	f.do("POST", "/api/v1/deliveries", jsonBody(t, hello()))                    // unauthorized
	f.as(tokShop, "POST", "/api/v1/deliveries", hello())                        // forbidden
	f.as(tokCI, "POST", "/api/v1/deliveries", hello("service", "carts"))        // invalid
	f.as(tokCI, "GET", "/api/v1/deliveries/999", nil)                           // not_found
	f.as(tokCI, "GET", fmt.Sprintf("/api/v1/deliveries/%d", id), nil)           // ok
	f.as(tokCI, "POST", fmt.Sprintf("/api/v1/deliveries/%d/resume", id), nil)   // refused: nothing paused

	want := map[[2]string]float64{
		{"POST /api/v1/deliveries", "ok"}:                  1,
		{"POST /api/v1/deliveries", "duplicate"}:           1,
		{"POST /api/v1/deliveries", "unauthorized"}:        1,
		{"POST /api/v1/deliveries", "forbidden"}:           1,
		{"POST /api/v1/deliveries", "invalid"}:             1,
		{"GET /api/v1/deliveries/{id}", "not_found"}:       1,
		{"GET /api/v1/deliveries/{id}", "ok"}:              1,
		{"POST /api/v1/deliveries/{id}/resume", "refused"}: 1,
	}
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]float64{}
	observed := map[string]uint64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "shipgate_api_requests_total":
				got[[2]string{labels["endpoint"], labels["outcome"]}] = m.GetCounter().GetValue()
			case "shipgate_api_request_seconds":
				observed[labels["endpoint"]] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("shipgate_api_requests_total{endpoint=%q,outcome=%q} = %v, want %v", k[0], k[1], got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counters %v, want only %v", got, want)
	}
	if observed["POST /api/v1/deliveries"] != 5 || observed["GET /api/v1/deliveries/{id}"] != 2 {
		t.Errorf("histogram counts %v", observed)
	}
}
