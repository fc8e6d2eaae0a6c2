package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// listPage is a page of GET /api/v1/deliveries as a client reads it. Its next cursor is a pointer so
// that a test tells an absent one from an empty one.
type listPage struct {
	Deliveries []struct {
		ID      int64  `json:"id"`
		Project string `json:"project"`
	} `json:"deliveries"`
	NextCursor *string `json:"nextCursor"`
}

func (p listPage) ids() []int64 {
	out := []int64{}
	for _, d := range p.Deliveries {
		out = append(out, d.ID)
	}
	return out
}

// seedDeliveries records deliveries straight in the store, n per transaction so that each group shares
// its creation time and only the id orders it, projects taken in turn; nothing runs them. It returns
// their ids, newest first, as the list orders them.
func (f *fixture) seedDeliveries(n, perTx int, projects ...string) []int64 {
	f.t.Helper()
	var made []int64
	for len(made) < n {
		err := f.st.Update(context.Background(), func(tx *store.Tx) error {
			for i := 0; i < perTx && len(made) < n; i++ {
				p := projects[len(made)%len(projects)]
				service := map[string]string{"fulltour": "helloservice", "shop": "carts"}[p]
				d := &store.Delivery{Project: p, Service: service, Stage: "qa", Image: helloImage, Source: "api"}
				if err := tx.CreateDelivery(context.Background(), d); err != nil {
					return err
				}
				made = append(made, d.ID)
			}
			return nil
		})
		if err != nil {
			f.t.Fatal(err)
		}
	}
	slices.Reverse(made)
	return made
}

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// page reads one page and checks that the Link header and nextCursor agree: both present, naming the
// same cursor, or both absent. It returns the page and the path of its Link, "" when there is none.
func (f *fixture) page(tok, path string) (listPage, string) {
	f.t.Helper()
	r := f.as(tok, "GET", path, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET %s as %s: %d %s", path, tok, r.status, r.body)
	}
	var p listPage
	r.decode(f.t, &p)
	link := r.header.Get("Link")
	switch {
	case p.NextCursor == nil && link != "":
		f.t.Errorf("GET %s: Link %q without a nextCursor", path, link)
	case p.NextCursor != nil:
		m := linkNext.FindStringSubmatch(link)
		if m == nil {
			f.t.Fatalf("GET %s: Link %q, want <URL>; rel=\"next\"", path, link)
		}
		u, err := url.Parse(m[1])
		if err != nil || u.Path != "/api/v1/deliveries" || u.Query().Get("cursor") != *p.NextCursor {
			f.t.Errorf("GET %s: Link %q does not continue with nextCursor %q", path, link, *p.NextCursor)
		}
		if *p.NextCursor == "" {
			f.t.Errorf("GET %s: empty nextCursor", path)
		}
		return p, u.RequestURI()
	}
	return p, ""
}

// 45 deliveries read 20 at a time: three pages, each delivery once and in order, the last page without a
// next cursor, while new deliveries keep arriving, which the pages already started never show.
func TestListDeliveriesPages(t *testing.T) {
	f := newFixture(t)
	want := f.seedDeliveries(45, 7, "fulltour", "shop")

	var got []int64
	var sizes []int
	path := "/api/v1/deliveries?limit=20"
	for range 5 {
		p, next := f.page(tokAdmin, path)
		got = append(got, p.ids()...)
		sizes = append(sizes, len(p.Deliveries))
		if next == "" {
			break
		}
		// Arrivals between two pages: newer than every delivery listed so far.
		f.seedDeliveries(3, 3, "fulltour", "shop")
		path = next
	}
	if !slices.Equal(sizes, []int{20, 20, 5}) {
		t.Errorf("page sizes %v, want [20 20 5]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids:\n got %v\nwant %v", got, want)
	}

	// A page starts where the cursor says, whatever arrived since: the first page's cursor still gives
	// the second page.
	first, _ := f.page(tokAdmin, "/api/v1/deliveries?limit=20")
	if first.NextCursor == nil || first.ids()[0] == want[0] {
		t.Fatalf("first page now: %v, cursor %v; want the new deliveries first", first.ids(), first.NextCursor)
	}
	cursor := encodeCursor(store.Position{At: f.deliveryCreated(want[19]), ID: want[19]})
	if second, _ := f.page(tokAdmin, "/api/v1/deliveries?limit=20&cursor="+cursor); !slices.Equal(second.ids(), want[20:40]) {
		t.Errorf("page after delivery %d: %v, want %v", want[19], second.ids(), want[20:40])
	}
}

// deliveryCreated is when a delivery was created, as stored.
func (f *fixture) deliveryCreated(id int64) time.Time {
	f.t.Helper()
	d, err := f.st.GetDelivery(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d.CreatedAt
}

// A token limited to projects pages through its projects only, with every filter kept across pages,
// and a cursor does not open other projects.
func TestListDeliveriesPagesStayInScope(t *testing.T) {
	f := newFixture(t)
	all := f.seedDeliveries(45, 4, "fulltour", "shop", "fulltour")
	var fulltour, shop []int64
	for _, id := range all {
		d, err := f.st.GetDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Project == "fulltour" {
			fulltour = append(fulltour, id)
		} else {
			shop = append(shop, id)
		}
	}

	pageThrough := func(tok, path string) []int64 {
		t.Helper()
		var got []int64
		for range 10 {
			p, next := f.page(tok, path)
			got = append(got, p.ids()...)
			if next == "" {
				return got
			}
			path = next
			if !strings.Contains(path, "limit=7") {
				t.Errorf("next page %s lost the limit", path)
			}
		}
		t.Fatal("more than 10 pages")
		return nil
	}
	if got := pageThrough(tokCI, "/api/v1/deliveries?limit=7"); !slices.Equal(got, fulltour) {
		t.Errorf("ci token (fulltour): %v, want %v", got, fulltour)
	}
	if got := pageThrough(tokShop, "/api/v1/deliveries?limit=7"); !slices.Equal(got, shop) {
		t.Errorf("shop token: %v, want %v", got, shop)
	}
	if got := pageThrough(tokAdmin, "/api/v1/deliveries?limit=7&project=shop&service=carts"); !slices.Equal(got, shop) {
		t.Errorf("admin, project shop: %v, want %v", got, shop)
	}

	// The cursor of a fulltour delivery, used by the shop token: shop's older deliveries, nothing of fulltour.
	cursor := encodeCursor(store.Position{At: f.deliveryCreated(fulltour[3]), ID: fulltour[3]})
	p, _ := f.page(tokShop, "/api/v1/deliveries?limit=200&cursor="+cursor)
	for _, d := range p.Deliveries {
		if d.Project != "shop" || d.ID >= fulltour[3] {
			t.Errorf("shop token after fulltour's delivery %d got delivery %d of %s", fulltour[3], d.ID, d.Project)
		}
	}
	if len(p.Deliveries) == 0 {
		t.Error("shop token after a fulltour cursor: nothing, want shop's older deliveries")
	}
	if r := f.as(tokCI, "GET", "/api/v1/deliveries?project=shop&cursor="+cursor, nil); r.status != http.StatusForbidden {
		t.Errorf("ci token, project shop with a cursor: %d %s, want 403", r.status, r.body)
	}
}

// A cursor the API did not give out is refused with 400 and a message that says what to do; nothing is
// written.
func TestListDeliveriesBadCursor(t *testing.T) {
	f := newFixture(t)
	f.seedDeliveries(3, 3, "fulltour")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, cursor := range []string{
		"",
		"not-a-cursor!",
		b64("1741944413589"),     // no id
		b64("1741944413589.0"),   // id 0
		b64("1741944413589.-4"),  // negative id
		b64("soon.4"),            // not a time
		b64("1741944413589.4.1"), // more than two parts
		b64("01741944413589.4"),  // another spelling of a valid cursor
		b64("+1741944413589.4"),  // and another
		base64.URLEncoding.EncodeToString([]byte("1741944413589.4")) + "=", // padded
		strings.Repeat("A", 5000),
	} {
		commits := f.st.Commits()
		r := f.as(tokCI, "GET", "/api/v1/deliveries?cursor="+url.QueryEscape(cursor), nil)
		msg := r.errorText(t)
		if r.status != http.StatusBadRequest || !strings.Contains(msg, "is not one this list gave out; pass the nextCursor of the page before") {
			t.Errorf("cursor %q: %d %q, want 400 and what to do", cursor, r.status, msg)
		}
		if len(msg) > 300 {
			t.Errorf("cursor %q: the message repeats %d characters of it", cursor, len(msg))
		}
		if n := f.st.Commits(); n != commits {
			t.Errorf("cursor %q: %d commits, want none", cursor, n-commits)
		}
	}
	if r := f.as(tokCI, "GET", "/api/v1/deliveries?cursor=a&cursor=b", nil); r.status != http.StatusBadRequest {
		t.Errorf("two cursors: %d %s, want 400", r.status, r.body)
	}
}

// The list's shape is what clients read before cursors existed: an object with deliveries, now with
// nextCursor when more follow and nothing new when none do.
func TestListDeliveriesShape(t *testing.T) {
	f := newFixture(t)
	f.seedDeliveries(2, 1, "fulltour")
	for _, tt := range []struct {
		query string
		keys  []string
	}{
		{"", []string{"deliveries"}},
		{"?limit=1", []string{"deliveries", "nextCursor"}},
	} {
		r := f.as(tokCI, "GET", "/api/v1/deliveries"+tt.query, nil)
		var body map[string]json.RawMessage
		r.decode(t, &body)
		var keys []string
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.keys) {
			t.Errorf("GET %s: keys %v, want %v", tt.query, keys, tt.keys)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, p := range []store.Position{
		{At: time.UnixMilli(1741944413589).UTC(), ID: 42},
		{At: time.UnixMilli(0).UTC(), ID: 1},
		{At: time.UnixMilli(-1).UTC(), ID: 1 << 62},
	} {
		got, ok := decodeCursor(encodeCursor(p))
		if !ok || !got.At.Equal(p.At) || got.ID != p.ID {
			t.Errorf("decode(encode(%v)) = %v, %v", p, got, ok)
		}
	}
}

// Whatever a client sends as a cursor, decoding does not panic, and what it accepts is a cursor the API
// would give out: encoding it again gives the same text.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(store.Position{At: time.UnixMilli(1741944413589), ID: 42}))
	f.Add("")
	f.Add("MTc0MTk0NDQxMzU4OS4w")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := decodeCursor(s)
		if ok && encodeCursor(p) != s {
			t.Errorf("accepted %q, which encodes as %q", s, encodeCursor(p))
		}
		if ok && p.ID <= 0 {
			t.Errorf("accepted %q with id %d", s, p.ID)
		}
	})
}
