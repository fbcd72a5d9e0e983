package middleware

import (
	"net/http"
	"strings"
	"time"
)

// Cookie name prefixes browsers enforce. A "__Host-" cookie is taken only
// with Secure, Path=/ and no Domain, from a secure page: a sibling
// subdomain or a plain-http page cannot plant one, so it cannot be tossed.
// A "__Secure-" cookie needs Secure.
const (
	hostPrefix   = "__Host-"
	securePrefix = "__Secure-"
)

// cookie returns a session cookie of the middleware's attributes: Path /,
// SameSite Lax, Secure unless InsecureCookies, HttpOnly with
// HTTPOnlyCookies, Domain CookieDomain but for a __Host- name.
func (m *Middleware) cookie(name, value string) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   m.cfg.Cookies.Domain,
		Secure:   !m.cfg.Cookies.Insecure,
		HttpOnly: m.cfg.Cookies.HTTPOnly,
		SameSite: http.SameSiteLaxMode,
	}
	if strings.HasPrefix(name, hostPrefix) {
		c.Domain = ""
	}
	return c
}

// setCookie writes a session cookie that lives until expires.
func (m *Middleware) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := m.cookie(name, value)
	c.Expires = expires
	http.SetCookie(w, c)
}

// clearCookies expires both session cookies.
func (m *Middleware) clearCookies(w http.ResponseWriter) {
	m.expireCookie(w, m.cfg.Cookies.JWT)
	m.expireCookie(w, m.cfg.Cookies.Token)
}

// expireCookie expires one cookie, with the attributes it was set with.
func (m *Middleware) expireCookie(w http.ResponseWriter, name string) {
	c := m.cookie(name, "")
	c.MaxAge, c.Expires = -1, time.Unix(0, 0)
	http.SetCookie(w, c)
}

// writeBack refreshes the cookies a credential came from with what Stytch
// answered: a new JWT, and the token again with the session's new expiry.
func (m *Middleware) writeBack(w http.ResponseWriter, c credential, a *auth) {
	if c.From != fromCookie || a.jwt == "" && a.token == "" {
		return
	}
	if a.jwt != "" {
		m.setCookie(w, m.cfg.Cookies.JWT, a.jwt, a.expires)
	}
	if c.Token != "" && a.token != "" {
		m.setCookie(w, m.cfg.Cookies.Token, a.token, a.expires)
	}
}
