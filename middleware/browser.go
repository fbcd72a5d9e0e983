package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SignedIn is what a sign-in returned (Stytch's authenticate of a magic link,
// an OAuth or SSO callback, a password, an exchange...): the credentials a
// browser keeps, and when the session ends.
type SignedIn struct {
	SessionToken string
	SessionJWT   string
	ExpiresAt    time.Time
}

// SetSessionCookies writes the session cookies after a sign-in the app's
// own endpoint completed, with the names and attributes the middleware reads
// and refreshes (Path /, SameSite Lax, Secure unless InsecureCookies,
// HttpOnly with HTTPOnlyCookies, Domain CookieDomain), expiring with the
// session. An empty credential is not written. Any intermediate session
// token cookie is cleared: the sign-in is complete.
func (m *Middleware) SetSessionCookies(w http.ResponseWriter, s SignedIn) {
	if s.SessionJWT != "" {
		m.setCookie(w, m.cfg.Cookies.JWT, s.SessionJWT, s.ExpiresAt)
	}
	if s.SessionToken != "" {
		m.setCookie(w, m.cfg.Cookies.Token, s.SessionToken, s.ExpiresAt)
	}
	m.expireCookie(w, m.cfg.Cookies.Intermediate)
}

// ClearSessionCookies expires the session cookies and the intermediate
// session token cookie, as a logout does.
func (m *Middleware) ClearSessionCookies(w http.ResponseWriter) {
	m.clearCookies(w)
	m.expireCookie(w, m.cfg.Cookies.Intermediate)
}

// returnPath is the page r asked for, as a path on this site to come back
// to after signing in: r's path and query, or "/" when the path, as sent or
// decoded, could be read as another site ("//evil.example",
// "/%2F%2Fevil.example", "/\evil.example") or is not a path. It follows
// LocalPath's rule.
func returnPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return LocalPath(p)
}

// LocalPath is p, a redirect target a client sent (a sign-in form's
// return_to), when a browser can only read it as a path on this site;
// otherwise "/". p must start with one "/" and not two, and hold no
// backslash and no control character (below 0x20, and 0x7f), as sent and
// once its path is percent-decoded. A browser drops tabs and newlines from
// a Location, strips leading spaces and controls, and reads a backslash as a
// slash, so "/\t/evil.example", " //evil.example" and "/\evil.example" would
// all take it to another site; each is refused here.
func LocalPath(p string) string {
	path, _, _ := strings.Cut(p, "?")
	decoded, err := url.PathUnescape(path)
	if err != nil || !local(p) || !local(decoded) {
		return "/"
	}
	return p
}

// local reports whether s starts with exactly one slash and holds no byte a
// browser drops, trims or reads as a slash in a Location: then a browser
// reads it as a path on this site whatever follows.
func local(s string) bool {
	if len(s) == 0 || s[0] != '/' || len(s) > 1 && s[1] == '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// signInTarget is SignInURL with return_to set to the page asked for.
func signInTarget(signIn string, r *http.Request) string {
	u, err := url.Parse(signIn)
	if err != nil {
		return signIn
	}
	q := u.Query()
	q.Set("return_to", returnPath(r))
	u.RawQuery = q.Encode()
	return u.String()
}
