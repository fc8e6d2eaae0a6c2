package api

import (
	"fmt"
	"net/http"

	"github.com/shipgate/shipgate/evidence"
	"github.com/shipgate/shipgate/truncate"
)

// EvidenceSHA256Header carries the SHA-256 of the evidence pack's JSON form, in hex, on both forms: a
// JSON answer's body hashes to it, and an HTML page shows it.
const EvidenceSHA256Header = "X-Shipgate-Evidence-SHA256"

// evidenceCSP lets the page apply its own inline styles and load nothing else; the page needs nothing
// else, and an auditor's browser should not fetch anything on its behalf.
const evidenceCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// deliveryEvidence answers a delivery's evidence pack (package evidence): its canonical JSON form,
// byte for byte as `shipgate audit evidence` writes it, or with ?format=html the page.
func (a *API) deliveryEvidence(c *call) reply {
	q := c.r.URL.Query()
	for k, vs := range q {
		if k != "format" {
			return invalid("unknown parameter %q; expected format", truncate.Excerpt(k, 40))
		}
		if len(vs) > 1 {
			return invalid("parameter format is given %d times", len(vs))
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "html" {
		return invalid("format %q is not json or html", truncate.Excerpt(format, 40))
	}
	d, rep := a.delivery(c)
	if rep != nil {
		return *rep
	}
	p, err := evidence.Build(c.ctx, a.st, d.ID)
	if err != nil {
		return a.internal(c, "read evidence", err)
	}
	doc, err := evidence.Encode(p)
	if err != nil {
		return a.internal(c, "encode evidence", err)
	}
	out := reply{status: http.StatusOK, outcome: outcomeOK, raw: doc.JSON, contentType: "application/json",
		header: http.Header{EvidenceSHA256Header: {doc.SHA256},
			"Content-Disposition": {fmt.Sprintf(`inline; filename="evidence-%d.json"`, d.ID)}}}
	if format == "html" {
		page, err := evidence.HTML(p, doc.SHA256)
		if err != nil {
			return a.internal(c, "render evidence", err)
		}
		out.raw, out.contentType = page, "text/html; charset=utf-8"
		out.header.Set("Content-Disposition", fmt.Sprintf(`inline; filename="evidence-%d.html"`, d.ID))
		out.header.Set("Content-Security-Policy", evidenceCSP)
	}
	return out
}
