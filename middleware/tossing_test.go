package middleware_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// tossed is a request whose Cookie header holds the cookies in the order
// given, as a browser sends a planted cookie with a longer Path first.
func tossed(method, path string, pairs ...string) *http.Request {
	r := req(method, path)
	r.Header.Set("Cookie", strings.Join(pairs, "; "))
	return r
}

// TestTossedCookies holds what a cookie planted by a sibling subdomain (or
// a plain-http page) can do: nothing to a person's session. Each value is
// tried, a garbage or dead one neither refuses the request nor clears the
// cookies, and another person's valid session beside the victim's is
// refused rather than taken.
func TestTossedCookies(t *testing.T) {
	a := newApp(t, nil)
	// A session of the attacker's, ended, with a JWT past its life: its
	// cookies settle only at Stytch, which says the session is gone.
	_, dead := a.user(t)
	if err := a.srv.RevokeSession(dead.SessionID); err != nil {
		t.Fatal(err)
	}
	a.srv.Advance(6 * time.Minute)
	victim, vtok := a.user(t)
	_, atok := a.user(t) // the attacker's own live account
	const jwt, token = "stytch_session_jwt=", "stytch_session="
	tests := []struct {
		name    string
		cookies []string
		status  int
		user    string
	}{
		{"garbage JWT first", []string{jwt + "a.b.c", jwt + vtok.SessionJWT}, 200, victim.UserID},
		{"garbage token first", []string{token + strings.Repeat("x", 44), token + vtok.SessionToken}, 200, victim.UserID},
		{"a dead session's cookies first", []string{jwt + dead.SessionJWT, token + dead.SessionToken, jwt + vtok.SessionJWT, token + vtok.SessionToken}, 200, victim.UserID},
		{"the attacker's session beside the victim's", []string{jwt + atok.SessionJWT, jwt + vtok.SessionJWT}, 401, ""},
		{"the victim's beside the attacker's", []string{jwt + vtok.SessionJWT, jwt + atok.SessionJWT}, 401, ""},
		{"nothing good", []string{jwt + "a.b.c", jwt + "d.e.f"}, 401, ""},
		{"the same value twice is no toss", []string{jwt + vtok.SessionJWT, jwt + vtok.SessionJWT}, 200, victim.UserID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.srv.ResetCalls()
			rec := a.do(tossed("GET", "/me", tt.cookies...))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.user != "" && body(t, rec)["user_id"] != tt.user {
				t.Fatalf("signed in as %v, want %s", body(t, rec)["user_id"], tt.user)
			}
			for _, c := range rec.Result().Cookies() {
				if c.MaxAge < 0 {
					t.Fatalf("cookie %s cleared: the value that failed may be the planted one", c.Name)
				}
			}
		})
	}
	// Optional routes: a toss that proves nothing leaves the visitor
	// anonymous, cookies kept.
	rec := a.do(tossed("GET", "/optional", jwt+"a.b.c", jwt+"d.e.f"))
	if rec.Code != 200 || body(t, rec)["anonymous"] != true || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("optional route: %d %s %v", rec.Code, rec.Body, rec.Result().Cookies())
	}
	// A garbage JWT planted first costs no call to Stytch.
	a.srv.ResetCalls()
	a.do(tossed("GET", "/me", jwt+"a.b.c", jwt+vtok.SessionJWT))
	if n := a.srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d calls to Stytch", n)
	}
	if !strings.Contains(a.logs.String(), "__Host-") {
		t.Fatalf("two people's cookies were not logged with the remedy: %s", a.logs)
	}
}

// TestLogoutWithTossedCookiesEndsTheSignedInSession holds that a logout
// ends the session the request is signed in with, not a planted one sent
// first.
func TestLogoutWithTossedCookiesEndsTheSignedInSession(t *testing.T) {
	a := newApp(t, nil)
	_, vtok := a.user(t)
	rec := a.do(tossed("POST", "/logout", "stytch_session_jwt=a.b.c", "stytch_session_jwt="+vtok.SessionJWT))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if rec := a.do(req("GET", "/me", "bearer:"+vtok.SessionJWT)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("the victim's session survived the logout: %d", rec.Code)
	}
}

// TestHostPrefixedCookies holds the __Host- rules: cookies written with
// Secure, Path=/ and no Domain, and a Config that would break them refused
// at New.
func TestHostPrefixedCookies(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.Cookies.JWT, c.Cookies.Token = "__Host-stytch_session_jwt", "__Host-stytch_session"
	})
	_, tok := a.user(t)
	a.srv.Advance(6 * time.Minute) // stale: Stytch answers and the cookies are refreshed
	r := req("GET", "/me")
	r.AddCookie(&http.Cookie{Name: "__Host-stytch_session_jwt", Value: tok.SessionJWT})
	r.AddCookie(&http.Cookie{Name: "__Host-stytch_session", Value: tok.SessionToken})
	rec := a.do(r)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Fatalf("%s written as %+v", c.Name, c)
		}
	}

	srv := stytchtest.NewServer()
	defer srv.Close()
	for _, tt := range []struct {
		name string
		cfg  middleware.Config
		want string
	}{
		{"__Host- with a Domain", middleware.Config{Cookies: middleware.Cookies{JWT: "__Host-jwt", Domain: "example.com"}}, "Domain"},
		{"__Host- without Secure", middleware.Config{Cookies: middleware.Cookies{Token: "__Host-tok", Insecure: true}}, "Secure"},
		{"__Secure- without Secure", middleware.Config{Cookies: middleware.Cookies{Intermediate: "__Secure-ist", Insecure: true}}, "Secure"},
	} {
		tt.cfg.Client = srv.Client()
		_, err := middleware.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one about %s", tt.name, err, tt.want)
		}
	}
	tt := middleware.Config{Client: srv.Client(), Cookies: middleware.Cookies{JWT: "__Secure-jwt", Domain: "example.com"}}
	if mw, err := middleware.New(tt); err != nil {
		t.Errorf("__Secure- with a Domain is a browser's to take: %v", err)
	} else {
		mw.Close()
	}
}

// TestCookieCapLogged: past four values of a session cookie, the rest are
// not tried, so a person whose cookies come after four planted JWTs and
// four planted tokens is refused. That is logged, at most once a minute,
// naming the remedy: the __Host- prefix.
func TestCookieCapLogged(t *testing.T) {
	a := newApp(t, nil)
	_, vtok := a.user(t)
	var cookies []string
	for i := range 4 {
		cookies = append(cookies, fmt.Sprintf("stytch_session_jwt=planted.jwt.%d", i), "stytch_session="+strings.Repeat(strconv.Itoa(i), 44))
	}
	cookies = append(cookies, "stytch_session_jwt="+vtok.SessionJWT, "stytch_session="+vtok.SessionToken)
	for range 20 {
		if rec := a.do(tossed("GET", "/me", cookies...)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("%d %s: the victim's cookies came fifth", rec.Code, rec.Body)
		}
	}
	if n := strings.Count(a.logs.String(), "__Host-"); n != 1 {
		t.Fatalf("the cap was logged %d times in 20 requests, want once, naming __Host-:\n%s", n, a.logs)
	}
	if !strings.Contains(a.logs.String(), "more than 4 values") {
		t.Fatalf("the log does not say what happened:\n%s", a.logs)
	}
}

// TestTossedCookiesOfAnIdlePerson: a person idle past a JWT's five minutes
// holds a stale JWT, which only Stytch can renew. A planted cookie of the
// attacker's, a fresh JWT sent first or a session token beside the
// person's stale JWT, must not stand in for them: the project's signature
// on the stale JWT names its person, and a request holding two people's
// credentials is refused, no cookie cleared.
func TestTossedCookiesOfAnIdlePerson(t *testing.T) {
	a := newApp(t, nil)
	_, victim := a.user(t)
	a.srv.Advance(6 * time.Minute) // the victim's JWT is stale
	_, attacker := a.user(t)
	const jwt, token = "stytch_session_jwt=", "stytch_session="
	for _, tt := range []struct {
		name    string
		cookies []string
		status  int
	}{
		{"the attacker's fresh JWT before the person's stale one and token", []string{jwt + attacker.SessionJWT, jwt + victim.SessionJWT, token + victim.SessionToken}, 401},
		{"the attacker's token beside the person's stale JWT", []string{jwt + victim.SessionJWT, token + attacker.SessionToken}, 401},
		{"the person's own stale JWT and token", []string{jwt + victim.SessionJWT, token + victim.SessionToken}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := a.do(tossed("GET", "/me", tt.cookies...))
			if rec.Code != tt.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.status == 200 {
				if got := body(t, rec)["user_id"]; got == nil || got == "" {
					t.Fatalf("no user: %s", rec.Body)
				}
				return
			}
			for _, c := range rec.Result().Cookies() {
				if c.MaxAge < 0 {
					t.Fatalf("cookie %s cleared: the one that failed may be planted", c.Name)
				}
			}
		})
	}
}

// TestImplausibleTokenBesideAJWT: while no key set is held, a JWT cookie
// is asked of Stytch; a session token cookie beside it that cannot be one
// (a planted "x") does not make the request a sign-out: the JWT settles it.
func TestImplausibleTokenBesideAJWT(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500})
	a := newAppWith(t, srv, srv.Client(), &syncBuffer{}, nil)
	_, tok := a.user(t)
	rec := a.do(tossed("GET", "/me", "stytch_session_jwt="+tok.SessionJWT, "stytch_session=short"))
	if rec.Code != 200 {
		t.Fatalf("%d %s, want 200: the JWT was good", rec.Code, rec.Body)
	}
}
