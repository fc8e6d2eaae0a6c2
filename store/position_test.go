package store

import (
	"slices"
	"testing"
	"time"
)

// pageAll lists everything in pages of size, each continuing after the last row of the one before, and
// calls between after each page but the last.
func pageAll[T any](t *testing.T, size int, list func(after *Position) []*T, pos func(*T) Position, between func()) [][]*T {
	t.Helper()
	var pages [][]*T
	var after *Position
	for {
		page := list(after)
		if len(page) > size {
			t.Fatalf("page of %d rows, want at most %d", len(page), size)
		}
		if len(page) == 0 {
			return pages
		}
		pages = append(pages, page)
		if len(pages) > 100 {
			t.Fatal("more than 100 pages: the cursor does not move on")
		}
		p := pos(page[len(page)-1])
		after = &p
		if between != nil {
			between()
		}
	}
}

// Paging through deliveries yields each exactly once, in the order of one unpaged list, including
// deliveries created in the same millisecond (ordered by id) and whatever is created while paging.
func TestListDeliveriesKeyset(t *testing.T) {
	s, c := newStore(t)
	create := func(project string) *Delivery {
		d := &Delivery{Project: project, Service: "helloservice", Stage: "qa"}
		update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) })
		return d
	}
	// 11 deliveries over 5 times, three of them in one millisecond, in three projects.
	for i, p := range []string{"fulltour", "shop", "fulltour", "fulltour", "billing", "shop", "fulltour", "shop", "fulltour", "billing", "fulltour"} {
		if i%3 == 0 {
			c.Advance(time.Second)
		}
		create(p)
	}
	for _, tt := range []struct {
		name string
		dq   DeliveryQuery
	}{
		{"every project", DeliveryQuery{}},
		{"one project", DeliveryQuery{Project: "fulltour"}},
		{"a caller's two projects", DeliveryQuery{Projects: []string{"shop", "fulltour"}}},
		{"a caller's projects, narrowed to one", DeliveryQuery{Projects: []string{"shop", "fulltour"}, Project: "shop"}},
		{"state", DeliveryQuery{State: StateTriggered}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := s.ListDeliveries(t.Context(), tt.dq)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 3 {
				t.Fatalf("only %d deliveries to page through", len(want))
			}
			// Each page is followed by a new delivery in every project: newer than the first page, so
			// never listed after it.
			pages := pageAll(t, 2, func(after *Position) []*Delivery {
				dq := tt.dq
				dq.Limit, dq.After = 2, after
				ds, err := s.ListDeliveries(t.Context(), dq)
				if err != nil {
					t.Fatal(err)
				}
				return ds
			}, (*Delivery).Position, func() {
				for _, p := range []string{"fulltour", "shop", "billing"} {
					create(p)
				}
			})
			if got := ids(slices.Concat(pages...)); !slices.Equal(got, ids(want)) {
				t.Errorf("pages of 2 = %v, want %v", got, ids(want))
			}
		})
	}
}

// A position between rows of the same millisecond continues with the lower ids of that millisecond.
func TestListDeliveriesAfterTie(t *testing.T) {
	s, _ := newStore(t)
	var made []*Delivery
	for range 3 {
		d := &Delivery{Project: "fulltour", Service: "helloservice", Stage: "qa"}
		update(t, s, func(tx *Tx) error { return tx.CreateDelivery(t.Context(), d) })
		made = append(made, d)
	}
	if !made[0].CreatedAt.Equal(made[2].CreatedAt) {
		t.Fatal("the fixture's clock moved")
	}
	after := made[1].Position()
	got, err := s.ListDeliveries(t.Context(), DeliveryQuery{After: &after})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{made[0].ID}; !slices.Equal(ids(got), want) {
		t.Errorf("after delivery %d = %v, want %v", made[1].ID, ids(got), want)
	}
}

// The audit export pages oldest first, from a time, by an actor.
func TestListAuditKeyset(t *testing.T) {
	s, c := newStore(t)
	var since time.Time
	for i := range 9 {
		if i%2 == 0 {
			c.Advance(time.Minute)
		}
		if i == 3 {
			since = c.Stored()
		}
		actor := []string{"U1", "U2", "U1"}[i%3]
		update(t, s, func(tx *Tx) error {
			return tx.AppendAudit(t.Context(), &AuditEntry{Actor: actor, Action: "delivery.trigger", Allowed: true})
		})
	}
	for _, tt := range []struct {
		name string
		aq   AuditQuery
		want []int64
	}{
		{"everything, oldest first", AuditQuery{OldestFirst: true}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"since", AuditQuery{OldestFirst: true, Since: since}, []int64{3, 4, 5, 6, 7, 8, 9}},
		{"since, one actor", AuditQuery{OldestFirst: true, Since: since, Actor: "U1"}, []int64{3, 4, 6, 7, 9}},
		{"newest first", AuditQuery{Actor: "U2"}, []int64{8, 5, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pages := pageAll(t, 2, func(after *Position) []*AuditEntry {
				aq := tt.aq
				aq.Limit, aq.After = 2, after
				as, err := s.ListAudit(t.Context(), aq)
				if err != nil {
					t.Fatal(err)
				}
				return as
			}, (*AuditEntry).Position, nil)
			if got := ids(slices.Concat(pages...)); !slices.Equal(got, tt.want) {
				t.Errorf("pages of 2 = %v, want %v", got, tt.want)
			}
		})
	}
}
