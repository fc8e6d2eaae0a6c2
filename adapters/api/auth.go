package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/adapters/bodylimit"
	"github.com/shipgate/shipgate/config"
)

// Headers of a signed request. The signature is the hex HMAC-SHA256, keyed with api.webhook_secret, of
// the timestamp, a dot and the raw body: HMAC(secret, "1718000000." + body).
const (
	SignatureHeader = "X-Shipgate-Signature-256" // "sha256=" + hex
	TimestampHeader = "X-Shipgate-Timestamp"     // unix seconds
	// KeptnTokenHeader carries the token on Keptn's route, as Keptn's CLI and API clients send it.
	KeptnTokenHeader = "X-Token"
)

// MaxSignatureAge is how far a signed request's timestamp may be from shipgate's clock, either way:
// enough for clock skew and a slow retry, too little to replay a captured request much later.
const MaxSignatureAge = 5 * time.Minute

// WebhookCaller is the name signed requests act under in the audit trail and as the actor of what they
// trigger. They may act on every project; they cannot vote, as they name no person.
const WebhookCaller = "webhook"

// caller is who an authenticated request comes from.
type caller struct {
	name     string   // the token's name, or WebhookCaller
	all      bool     // may act on every project
	projects []string // otherwise, the projects it may act on
	actor    string   // the chat user the token votes as; "" when it may not vote
	webhook  bool     // authenticated by signature rather than by token
}

// may reports whether the caller may trigger, read and control deliveries of project.
func (c *caller) may(project string) bool {
	return c.all || slices.Contains(c.projects, project)
}

// idempotencyKey scopes a client's Idempotency-Key to the caller, so that two CI systems choosing the
// same key never receive each other's delivery.
func (c *caller) idempotencyKey(key string) string {
	if c.webhook {
		return "webhook:" + key
	}
	return "token:" + c.name + ":" + key
}

// token is a configured token, kept as the SHA-256 of its value: comparing digests takes the same time
// whatever the presented token's length, and token_sha256 entries need no value at all.
type token struct {
	caller
	digest [sha256.Size]byte
}

// authenticator checks a request's credentials against api.tokens and api.webhook_secret.
type authenticator struct {
	tokens []token
	secret []byte // nil without api.webhook_secret
	now    func() time.Time
}

func newAuthenticator(cfg config.APIConfig, now func() time.Time) (*authenticator, error) {
	au := &authenticator{now: now}
	for i, t := range cfg.Tokens {
		tk := token{caller: caller{name: t.Name, all: slices.Contains(t.Projects, "*"), projects: t.Projects, actor: t.Actor}}
		switch {
		case t.Token.IsSet():
			tk.digest = sha256.Sum256([]byte(t.Token.Reveal()))
		case t.TokenSHA256 != "":
			raw, err := hex.DecodeString(t.TokenSHA256)
			if err != nil || len(raw) != sha256.Size {
				return nil, fmt.Errorf("api.tokens[%d] (%s): token_sha256 is not 64 hexadecimal characters", i, t.Name)
			}
			copy(tk.digest[:], raw)
		default:
			return nil, fmt.Errorf("api.tokens[%d] (%s): no token, token_file or token_sha256", i, t.Name)
		}
		au.tokens = append(au.tokens, tk)
	}
	if cfg.WebhookSecret.IsSet() {
		au.secret = []byte(cfg.WebhookSecret.Reveal())
	}
	return au, nil
}

// authenticate returns the request's caller, or nil and why not (for the log and the audit trail,
// never for the answer). A bearer token is tried first, then, on Keptn's route, the x-token header,
// then a body signature; a credential that is present and wrong is not followed by the next kind. What
// the headers settle was settled by the guard, before the body was read, and is taken from the request's
// context; only a signature is checked here, over the body.
func (au *authenticator) authenticate(r *http.Request, body []byte, keptn bool) (*caller, string) {
	v, ok := r.Context().Value(verdictKey{}).(verdict)
	if !ok || v.keptn != keptn {
		v = au.fromHeaders(r, keptn)
	}
	if v.signature == nil {
		return v.caller, v.why
	}
	if !hmac.Equal(v.signature, Sign(au.secret, v.timestamp, body)) {
		return nil, "signature does not match"
	}
	return &caller{name: WebhookCaller, all: true, webhook: true}, ""
}

// verdict is what a request's headers say of its sender: a caller, or a refusal and why, or a signature
// still to be checked over the body.
type verdict struct {
	caller    *caller
	why       string
	signature []byte // the HMAC the body must have; nil when the headers settle it
	timestamp string // what the signature covers with the body
	keptn     bool   // judged as Keptn's route, which also takes x-token
}

type verdictKey struct{}

// fromHeaders judges a request by its headers alone.
func (au *authenticator) fromHeaders(r *http.Request, keptn bool) verdict {
	v := verdict{keptn: keptn}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			v.why = "authorization is not a bearer token"
			return v
		}
		v.caller, v.why = au.byToken(strings.TrimSpace(value))
		return v
	}
	if keptn {
		if t := r.Header.Get(KeptnTokenHeader); t != "" {
			v.caller, v.why = au.byToken(t)
			return v
		}
	}
	if r.Header.Get(SignatureHeader) != "" || r.Header.Get(TimestampHeader) != "" {
		v.signature, v.why = au.signatureHeaders(r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader))
		v.timestamp = r.Header.Get(TimestampHeader)
		return v
	}
	v.why = "no credentials"
	return v
}

// byToken finds the token presented. Every configured token is compared, in constant time, so the
// answer's timing says nothing about which one came close.
func (au *authenticator) byToken(presented string) (*caller, string) {
	if presented == "" {
		return nil, "empty token"
	}
	digest := sha256.Sum256([]byte(presented))
	var found *caller
	for i := range au.tokens {
		if subtle.ConstantTimeCompare(digest[:], au.tokens[i].digest[:]) == 1 {
			found = &au.tokens[i].caller
		}
	}
	if found == nil {
		return nil, "unknown token"
	}
	return found, ""
}

// signatureHeaders checks what can be checked of a signed request before its body is read: that
// signatures are configured, that both headers are well formed, and that the timestamp is recent. It
// returns the signature the body must have, or why the request is refused.
func (au *authenticator) signatureHeaders(signature, timestamp string) ([]byte, string) {
	if au.secret == nil {
		return nil, "signed request, but api.webhook_secret is not set"
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return nil, "malformed " + SignatureHeader + " header; expected sha256=<hex>"
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil, "malformed " + TimestampHeader + " header; expected unix seconds"
	}
	// Compared as bounds, so that no timestamp, however absurd, can overflow into the window.
	now, limit := au.now().Unix(), int64(MaxSignatureAge/time.Second)
	if secs < now-limit || secs > now+limit {
		return nil, fmt.Sprintf("signature timestamp %d is more than %s away from shipgate's clock (%d)", secs, MaxSignatureAge, now)
	}
	return got, ""
}

// Sign returns the HMAC-SHA256 a signed request carries in X-Shipgate-Signature-256 (after "sha256=",
// hex-encoded): the signature of timestamp, a dot, and the raw body.
func Sign(secret []byte, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// keptnPath is Keptn's route, on which the token may also come in x-token.
const keptnPath = "/api/v1/event"

// Guard judges every request under /api/v1/ by its headers before a byte of its body is read; it must
// wrap the handler the API is registered on. A request with a good token goes on as it came. A request
// with no credential or a wrong one goes on to its route with an empty body, which answers 401 and
// audits the refusal; what the client still sends of the body is left unread, and the connection closes
// after the answer (bodylimit.LeaveUnread). A signed request's body must be read for its signature to be
// checked: it is read in a slot of the server's bodylimit.Limiter, and answered 503 at once when every
// slot is taken. Anything outside /api/v1/ goes on untouched.
func (a *API) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		v := a.auth.fromHeaders(r, r.URL.Path == keptnPath)
		r = r.WithContext(context.WithValue(r.Context(), verdictKey{}, v))
		switch {
		case v.signature != nil:
			release, ok := bodylimit.Admit(w, r)
			if !ok {
				a.log.Debug("api request refused: too many unverified bodies being read", "path", r.URL.Path, "remote", r.RemoteAddr)
				bodylimit.Refuse(w, r)
				return
			}
			defer release()
		case v.caller == nil:
			bodylimit.LeaveUnread(w, r)
			r.Body = http.NoBody
		}
		next.ServeHTTP(w, r)
	})
}
