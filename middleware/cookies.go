package middleware

import (
	"net/http"
	"time"
)

// setCookie writes a session cookie that lives until expires.
func (m *Middleware) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   m.cfg.CookieDomain,
		Expires:  expires,
		Secure:   !m.cfg.InsecureCookies,
		HttpOnly: m.cfg.HTTPOnlyCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearCookies expires both session cookies.
func (m *Middleware) clearCookies(w http.ResponseWriter) {
	m.expireCookie(w, m.cfg.JWTCookie)
	m.expireCookie(w, m.cfg.TokenCookie)
}

// expireCookie expires one cookie, with the attributes it was set with.
func (m *Middleware) expireCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     "/",
		Domain:   m.cfg.CookieDomain,
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		Secure:   !m.cfg.InsecureCookies,
		HttpOnly: m.cfg.HTTPOnlyCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// writeBack refreshes the cookies a credential came from with what Stytch
// answered: a new JWT, and the token again with the session's new expiry.
func (m *Middleware) writeBack(w http.ResponseWriter, c Credential, a *auth) {
	if c.From != FromCookie || a.jwt == "" && a.token == "" {
		return
	}
	if a.jwt != "" {
		m.setCookie(w, m.cfg.JWTCookie, a.jwt, a.expires)
	}
	if c.Token != "" && a.token != "" {
		m.setCookie(w, m.cfg.TokenCookie, a.token, a.expires)
	}
}
