package metrics

import (
	"slices"
	"testing"
)

func TestPending(t *testing.T) {
	p := newPending[string](3)
	p.put(1, "a")
	p.put(2, "b")
	p.put(3, "c")
	if v, ok := p.take(2); !ok || v != "b" {
		t.Fatalf("take(2) = %q, %v", v, ok)
	}
	if _, ok := p.take(2); ok {
		t.Fatal("2 taken twice")
	}
	p.put(1, "a again") // newest now: 3, then 1
	p.put(4, "d")
	p.put(5, "e") // over the limit: 3 goes, the oldest
	if _, ok := p.take(3); ok {
		t.Error("3 was kept beyond the limit")
	}
	if v, ok := p.take(1); !ok || v != "a again" {
		t.Errorf("take(1) = %q, %v; putting it again should have made it newer", v, ok)
	}
	if got := p.takeWhere(func(v string) bool { return v != "nothing" }); !slices.Equal(got, []string{"d", "e"}) {
		t.Errorf("takeWhere = %q, want oldest first", got)
	}
	if p.len() != 0 {
		t.Errorf("%d left", p.len())
	}
}

// However many values come and go, what is kept stays bounded.
func TestPendingStaysBounded(t *testing.T) {
	p := newPending[int](10)
	for i := range int64(10_000) {
		p.put(i, int(i))
		if i%2 == 0 {
			p.take(i)
		}
	}
	if p.len() > 10 || len(p.order) > 20 {
		t.Errorf("%d values and %d refs kept, want at most 10 and 20", p.len(), len(p.order))
	}
	if v, ok := p.take(9_999); !ok || v != 9_999 {
		t.Errorf("the newest value is gone: %v, %v", v, ok)
	}
}
