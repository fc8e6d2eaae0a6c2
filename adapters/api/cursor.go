package api

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/store"
)

// A cursor is where a page of a list ended, handed to the caller as nextCursor and taken back as
// ?cursor=: the creation time (unix milliseconds) and id of the page's last row, so that the next page is
// read with a keyset condition from an index, never with an OFFSET. Callers must treat it as opaque; it is
// URL-safe base64 so that what it holds can change without breaking anyone who does.

// encodeCursor is the cursor of a position.
func encodeCursor(p store.Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", p.At.UnixMilli(), p.ID)))
}

// decodeCursor reads a cursor encodeCursor made, and nothing else: a cursor that would not be encoded
// the same way again is refused, so that there is one spelling of each.
func decodeCursor(s string) (store.Position, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Position{}, false
	}
	at, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return store.Position{}, false
	}
	ms, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return store.Position{}, false
	}
	p := store.Position{At: time.UnixMilli(ms).UTC(), ID: n}
	if encodeCursor(p) != s {
		return store.Position{}, false
	}
	return p, true
}

// nextLink is the Link header value of a list's next page: the request's own URL, under public_url when
// set, with the cursor replaced (RFC 8288; GitHub's API pages the same way).
func (a *API) nextLink(r *url.URL, cursor string) string {
	q := r.Query()
	q.Set("cursor", cursor)
	return fmt.Sprintf(`<%s%s?%s>; rel="next"`, a.publicURL, r.Path, q.Encode())
}
