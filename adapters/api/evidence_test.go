package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/evidence"
	"github.com/shipgate/shipgate/store"
)

// A released delivery's evidence pack: the canonical JSON, byte for byte what the evidence package
// (and so `shipgate audit evidence`) gives, with its SHA-256 in a header; ?format=html the page, which
// may load nothing.
func TestDeliveryEvidence(t *testing.T) {
	f := newFixture(t)
	id := f.trigger(tokCI, hello("labels", map[string]string{"version": "v0.1.1", "ci.run": "1842"}))
	f.waitForApproval(id)
	as, err := f.st.ListApprovals(t.Context(), store.ApprovalQuery{DeliveryID: id})
	if err != nil || len(as) != 1 {
		t.Fatalf("approvals %v, %v", as, err)
	}
	if r := f.as(tokRelease, "POST", fmt.Sprintf("/api/v1/approvals/%d", as[0].ID), map[string]any{"decision": "approve", "reason": "CHG-1042"}); r.status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	f.waitFinished(id)

	path := fmt.Sprintf("/api/v1/deliveries/%d/evidence", id)
	r := f.as(tokCI, "GET", path, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("evidence: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	sum := sha256.Sum256(r.body)
	if got := r.header.Get(EvidenceSHA256Header); got != hex.EncodeToString(sum[:]) {
		t.Errorf("%s %q is not the SHA-256 of the body", EvidenceSHA256Header, got)
	}
	p, err := evidence.Build(t.Context(), f.st, id)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := evidence.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, doc.JSON) {
		t.Errorf("the answer is not the pack's canonical JSON:\n%s", r.body)
	}
	for _, want := range []string{`"ci.run": "1842"`, `"voter": "` + opsUser + `"`, `"reason": "CHG-1042"`, `"complete": true`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("the pack lacks %s", want)
		}
	}

	h := f.as(tokCI, "GET", path+"?format=html", nil)
	if h.status != http.StatusOK || h.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("evidence page: %d %s", h.status, h.header.Get("Content-Type"))
	}
	if h.header.Get(EvidenceSHA256Header) != doc.SHA256 || !bytes.Contains(h.body, []byte(doc.SHA256)) {
		t.Errorf("the page or its header does not carry %s", doc.SHA256)
	}
	if csp := h.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if page, _ := evidence.HTML(p, doc.SHA256); !bytes.Equal(h.body, page) {
		t.Error("the page is not the pack's HTML")
	}
	if j := f.as(tokCI, "GET", path+"?format=json", nil); !bytes.Equal(j.body, doc.JSON) {
		t.Error("?format=json is not the default answer")
	}

	// Refusals last: a refused read is audited on the delivery, and so changes its pack.
	for _, tt := range []struct {
		tok, path string
		status    int
		want      string
	}{
		{tokCI, "/api/v1/deliveries/999/evidence", 404, "delivery 999 not found"},
		{tokCI, "/api/v1/deliveries/x/evidence", 400, `delivery id "x" is not a positive number`},
		{tokCI, path + "?format=pdf", 400, `format "pdf" is not json or html`},
		{tokCI, path + "?fromat=html", 400, `unknown parameter "fromat"`},
		{tokShop, path, 403, "forbidden"},
		{"nobody", path, 401, "unauthorized"},
	} {
		r := f.as(tt.tok, "GET", tt.path, nil)
		if r.status != tt.status || r.errorText(t) != tt.want && !strings.HasPrefix(r.errorText(t), tt.want) {
			t.Errorf("%s as %s: %d %s, want %d %q", tt.path, tt.tok, r.status, r.body, tt.status, tt.want)
		}
	}
}
