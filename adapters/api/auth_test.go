package api

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Every route takes a token or a signature; refusals say nothing about why, and are audited and
// logged without the credential.
func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	body := jsonBody(t, hello())
	now := f.clock()
	ts := strconv.FormatInt(now.Unix(), 10)
	goodSig := "sha256=" + hex.EncodeToString(Sign([]byte(webhookKey), ts, body))
	for _, tt := range []struct {
		name    string
		method  string
		path    string
		body    []byte
		headers []string
		status  int
		reason  string // audited for a refusal
	}{
		{"no credentials", "GET", "/api/v1/deliveries", nil, nil, 401, "no credentials"},
		{"wrong token", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Bearer ci-secreT"}, 401, "unknown token"},
		{"empty bearer", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Bearer "}, 401, "empty token"},
		{"basic auth", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Basic Y2k6Y2ktc2VjcmV0"}, 401, "authorization is not a bearer token"},
		{"x-token outside Keptn's route", "GET", "/api/v1/deliveries", nil, []string{"X-Token", secret(tokCI)}, 401, "no credentials"},
		{"token", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Bearer " + secret(tokCI)}, 200, ""},
		{"lower-case scheme", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "bearer " + secret(tokCI)}, 200, ""},
		{"token_sha256", "GET", "/api/v1/deliveries", nil, []string{"Authorization", "Bearer " + secret(tokAdmin)}, 200, ""},
		{"signature", "POST", "/api/v1/deliveries", body, []string{SignatureHeader, goodSig, TimestampHeader, ts}, 202, ""},
		{"signature of another body", "POST", "/api/v1/deliveries", jsonBody(t, hello("stage", "production")),
			[]string{SignatureHeader, goodSig, TimestampHeader, ts}, 401, "signature does not match"},
		{"signature with another timestamp", "POST", "/api/v1/deliveries", body,
			[]string{SignatureHeader, goodSig, TimestampHeader, strconv.FormatInt(now.Unix()+1, 10)}, 401, "signature does not match"},
		{"malformed signature", "POST", "/api/v1/deliveries", body, []string{SignatureHeader, strings.TrimPrefix(goodSig, "sha256="), TimestampHeader, ts}, 401,
			"malformed X-Shipgate-Signature-256 header"},
		{"signature without timestamp", "POST", "/api/v1/deliveries", body, []string{SignatureHeader, goodSig}, 401, "malformed X-Shipgate-Timestamp header"},
		{"token lacking the project", "POST", "/api/v1/deliveries", body, []string{"Authorization", "Bearer " + secret(tokShop)}, 403,
			"shop may not act on project fulltour"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.audit("api.deliveries.list")) + len(f.audit("api.deliveries.create"))
			r := f.do(tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			switch tt.status {
			case 401:
				if string(r.body) != "{\"error\":\"unauthorized\"}\n" {
					t.Errorf("answer %q says more than unauthorized", r.body)
				}
			case 403:
				if string(r.body) != "{\"error\":\"forbidden\"}\n" {
					t.Errorf("answer %q says more than forbidden", r.body)
				}
			}
			entries := append(f.audit("api.deliveries.list"), f.audit("api.deliveries.create")...)
			if tt.reason == "" {
				if len(entries) != before {
					t.Errorf("an allowed request was audited as refused")
				}
				return
			}
			if len(entries) != before+1 {
				t.Fatalf("%d refusals audited, want %d", len(entries), before+1)
			}
			found := false
			for _, e := range entries {
				found = found || (!e.Allowed && e.Platform == "api" && strings.Contains(e.Reason, tt.reason))
			}
			if !found {
				t.Errorf("no refusal audited with reason %q", tt.reason)
			}
		})
	}

	// Signatures are good for five minutes either way of shipgate's clock.
	for _, tt := range []struct {
		name   string
		at     time.Time
		status int
	}{
		{"4 minutes old", now.Add(-4 * time.Minute), 202},
		{"6 minutes old", now.Add(-6 * time.Minute), 401},
		{"6 minutes ahead", now.Add(6 * time.Minute), 401},
		{"the far future", time.Unix(1<<62, 0), 401},
	} {
		if r := f.signed("POST", "/api/v1/deliveries", body, tt.at); r.status != tt.status {
			t.Errorf("signature %s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	stale := f.audit("api.deliveries.create")[0]
	if stale.Actor != "unknown" || !strings.Contains(stale.Reason, "is more than 5m0s away from shipgate's clock") {
		t.Errorf("stale signature audited as %+v", stale)
	}

	// What a signed request triggers is the webhook's.
	r := f.signed("POST", "/api/v1/deliveries", body, now)
	var tr triggered
	r.decode(t, &tr)
	d, err := f.st.GetDelivery(t.Context(), tr.ID)
	if err != nil || d.Actor != WebhookCaller || d.Source != "api" {
		t.Errorf("signed trigger: %+v %v", d, err)
	}

	// No credential reaches the log or the audit trail.
	all, _ := f.st.ListAudit(t.Context(), store.AuditQuery{})
	for _, e := range all {
		for _, s := range []string{secret(tokCI), secret(tokShop), secret(tokAdmin), "ci-secreT", webhookKey, goodSig} {
			if strings.Contains(e.Reason+string(e.Details)+e.Actor, s) {
				t.Errorf("audit entry %+v holds a credential", e)
			}
		}
	}
	for _, s := range []string{secret(tokCI), secret(tokShop), "ci-secreT", webhookKey, goodSig} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the log holds a credential:\n%s", f.logs.String())
		}
	}
	if !strings.Contains(f.logs.String(), "api request refused") {
		t.Errorf("refusals were not logged:\n%s", f.logs.String())
	}
}

// Signed requests need a configured secret; without one, a signature is no credential.
func TestSignatureWithoutSecret(t *testing.T) {
	au := &authenticator{now: time.Now}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := "sha256=" + hex.EncodeToString(Sign(nil, ts, nil))
	r, _ := http.NewRequest("GET", "/api/v1/deliveries", nil)
	r.Header.Set(SignatureHeader, sig)
	r.Header.Set(TimestampHeader, ts)
	if c, why := au.authenticate(r, nil, false); c != nil || !strings.Contains(why, "api.webhook_secret is not set") {
		t.Errorf("signature without a secret: caller %v, %q", c, why)
	}
}
