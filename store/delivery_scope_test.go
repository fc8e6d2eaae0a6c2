package store

import (
	"reflect"
	"testing"
	"time"
)

// A caller limited to some projects lists only theirs.
func TestListDeliveriesOfProjects(t *testing.T) {
	s, c := newStore(t)
	var made []*Delivery
	for _, p := range []string{"fulltour", "shop", "fulltour", "billing"} {
		d := &Delivery{Project: p, Service: "helloservice", Stage: "qa"}
		update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) })
		made = append(made, d)
		c.Advance(time.Second)
	}
	tests := []struct {
		name     string
		projects []string
		dq       DeliveryQuery
		want     []int64
	}{
		{"one project, newest first", []string{"fulltour"}, DeliveryQuery{}, []int64{made[2].ID, made[0].ID}},
		{"two projects", []string{"fulltour", "shop"}, DeliveryQuery{}, []int64{made[2].ID, made[1].ID, made[0].ID}},
		{"limit", []string{"fulltour", "shop", "billing"}, DeliveryQuery{Limit: 2}, []int64{made[3].ID, made[2].ID}},
		{"project filter inside the allowed ones", []string{"fulltour", "shop"}, DeliveryQuery{Project: "shop"}, []int64{made[1].ID}},
		{"project filter outside them", []string{"fulltour"}, DeliveryQuery{Project: "billing"}, nil},
		{"no projects", []string{}, DeliveryQuery{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dq.Projects = tt.projects
			got, err := s.ListDeliveries(t.Context(), tt.dq)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("got %v, want %v", ids(got), tt.want)
			}
		})
	}
}
