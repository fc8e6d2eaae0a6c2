package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/engine"
)

// Who may act in the console depends on its mode.
const (
	modeDemo     = "demo"      // anyone, as any of Options.Users
	modeToken    = "token"     // whoever logged in with the access token, as the id they gave
	modeReadOnly = "read-only" // nobody
)

const (
	sessionCookie = "shipgate_web"
	// sessionTTL is how long a login lasts; changing the access token ends every login at once.
	sessionTTL = 7 * 24 * time.Hour
)

// Answers to people who may not act.
const (
	msgReadOnly = "the console is read-only; set web.access_token"
	msgLogin    = "log in with the console's access token to act"
)

// sessionEncoding refuses the variants of an encoding that a lenient decoder would take as the same
// bytes, so that exactly one cookie value carries a session.
var sessionEncoding = base64.RawURLEncoding.Strict()

// actorIDPattern is what role member lists hold (config's chat user ids): a name given at login must be
// one of them to ever hold a role, and must not be a mention or carry markup.
var actorIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

func (c *Console) mode() string {
	switch {
	case c.demo:
		return modeDemo
	case c.token != nil:
		return modeToken
	}
	return modeReadOnly
}

// refusal is why a request may not act, with its status.
type refusal struct {
	status int
	msg    string
}

// actorFor says who a command or click acts as, given the user id the page sends: in demo mode one of
// the users; with an access token the id logged in with (a session cookie), or for a bearer token
// the id sent.
func (c *Console) actorFor(r *http.Request, claimed string) (bot.Actor, *refusal) {
	switch c.mode() {
	case modeDemo:
		u, ok := c.userByID[claimed]
		if !ok {
			return bot.Actor{}, &refusal{http.StatusForbidden, "user " + strconv.Quote(claimed) + " is not one of the console's demo users"}
		}
		return bot.Actor{Platform: engine.PlatformWeb, ID: u.ID, Name: u.Name}, nil
	case modeToken:
		if bearer, ok := bearerToken(r); ok {
			if !c.tokenMatches(bearer) {
				return bot.Actor{}, &refusal{http.StatusUnauthorized, "wrong access token"}
			}
			if !actorIDPattern.MatchString(claimed) {
				return bot.Actor{}, &refusal{http.StatusBadRequest, "user must be the id role lists name, such as U0123ABC or dana"}
			}
			return bot.Actor{Platform: engine.PlatformWeb, ID: claimed, Name: claimed}, nil
		}
		name, ok := c.session(r)
		if !ok {
			return bot.Actor{}, &refusal{http.StatusForbidden, msgLogin}
		}
		if claimed != "" && claimed != name {
			return bot.Actor{}, &refusal{http.StatusForbidden, "you are logged in as " + name}
		}
		return bot.Actor{Platform: engine.PlatformWeb, ID: name, Name: name}, nil
	}
	return bot.Actor{}, &refusal{http.StatusForbidden, msgReadOnly}
}

// streamUser is whom a page's event stream receives private messages for: the demo user it names, the
// id it logged in with, or for a bearer token the id it names; else nobody.
func (c *Console) streamUser(r *http.Request) string {
	claimed := r.URL.Query().Get("user")
	switch c.mode() {
	case modeDemo:
		if _, ok := c.userByID[claimed]; ok {
			return claimed
		}
	case modeToken:
		if name, ok := c.session(r); ok {
			return name
		}
		if bearer, ok := bearerToken(r); ok && c.tokenMatches(bearer) && actorIDPattern.MatchString(claimed) {
			return claimed
		}
	}
	return ""
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// tokenMatches compares digests, which takes the same time whatever the length of what was sent.
func (c *Console) tokenMatches(token string) bool {
	if c.token == nil {
		return false
	}
	d := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(d[:], c.token[:]) == 1
}

// A session cookie is the name logged in with, when the login ends, and a MAC over both keyed with the
// access token's digest: nothing is kept on the server, and a new token ends every session.
func (c *Console) sessionValue(name string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return sessionEncoding.EncodeToString([]byte(name)) + "." + exp + "." + sessionEncoding.EncodeToString(c.sessionMAC(name, exp))
}

func (c *Console) sessionMAC(name, exp string) []byte {
	mac := hmac.New(sha256.New, c.token[:])
	mac.Write([]byte("shipgate web session\n" + name + "\n" + exp))
	return mac.Sum(nil)
}

// session returns the name a request's session cookie was issued for, if it is valid and current.
func (c *Console) session(r *http.Request) (string, bool) {
	if c.token == nil {
		return "", false
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		return "", false
	}
	rawName, err1 := sessionEncoding.DecodeString(parts[0])
	sum, err2 := sessionEncoding.DecodeString(parts[2])
	exp, err3 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return "", false
	}
	name := string(rawName)
	if !hmac.Equal(sum, c.sessionMAC(name, parts[1])) || !c.now().Before(time.Unix(exp, 0)) || !actorIDPattern.MatchString(name) {
		return "", false
	}
	return name, true
}

// serveLogin checks the access token and gives the page a session cookie for the id it acts as.
func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
		Name  string `json:"name"`
	}
	if !c.readJSON(w, r, &req) {
		return
	}
	switch c.mode() {
	case modeDemo:
		writeError(w, http.StatusBadRequest, "the demo console needs no login; pick who you are")
		return
	case modeReadOnly:
		writeError(w, http.StatusForbidden, msgReadOnly)
		return
	}
	name := strings.TrimSpace(req.Name)
	if !actorIDPattern.MatchString(name) {
		writeError(w, http.StatusBadRequest, "name must be the id your roles list in shipgate.yaml, such as U0123ABC or dana")
		return
	}
	if !c.tokenMatches(req.Token) {
		c.log.Warn("web console login refused", "name", name, "remote", r.RemoteAddr, "reason", "wrong access token")
		writeError(w, http.StatusUnauthorized, "wrong access token")
		return
	}
	expires := c.now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: c.sessionValue(name, expires), Path: "/", Expires: expires,
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
	c.log.Info("web console login", "name", name, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]userOut{"me": {ID: name, Name: name}})
}

// serveLogout forgets the session cookie.
func (c *Console) serveLogout(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !c.readJSON(w, r, &req) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// secure tells whether the page was reached over TLS, directly or through a proxy or public URL that
// says so, so that the session cookie is never sent in the clear.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") || strings.HasPrefix(c.public, "https:")
}
