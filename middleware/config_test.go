package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestCookieOptionsExtractorAndRedirect(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.Cookies.JWT, c.Cookies.Token = "app_jwt", "app_token"
		c.Cookies.Insecure, c.Cookies.HTTPOnly = true, true
		c.Cookies.Domain = "example.com"
		c.Logout.Redirect = "/signed-out"
	})
	_, tok := a.user(t)
	a.srv.Advance(6 * time.Minute)
	r := req("GET", "/me")
	r.AddCookie(&http.Cookie{Name: "app_jwt", Value: tok.SessionJWT})
	r.AddCookie(&http.Cookie{Name: "app_token", Value: tok.SessionToken})
	rec := a.do(r)
	c := cookies(rec)
	if rec.Code != 200 || c["app_jwt"] == nil || c["app_token"] == nil {
		t.Fatalf("%d %v", rec.Code, rec.Header()["Set-Cookie"])
	}
	if ck := c["app_jwt"]; ck.Secure || !ck.HttpOnly || ck.Domain != "example.com" {
		t.Fatalf("cookie %+v", ck)
	}
	// The default names mean nothing to this middleware.
	if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 401 {
		t.Fatalf("default cookie name: %d", rec.Code)
	}
	lo := req("POST", "/logout")
	lo.AddCookie(&http.Cookie{Name: "app_jwt", Value: tok.SessionJWT})
	rec = a.do(lo)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signed-out" || len(cookies(rec)) != 2 {
		t.Fatalf("logout: %d %v", rec.Code, rec.Header())
	}
	// Logout everywhere goes where LogoutRedirect says, until
	// LogoutAllRedirect says otherwise.
	for _, tt := range []struct{ all, want string }{{"", "/signed-out"}, {"/signed-out?everywhere=1", "/signed-out?everywhere=1"}} {
		c := newApp(t, func(c *middleware.Config) { c.Logout.Redirect, c.Logout.AllRedirect = "/signed-out", tt.all })
		_, ctok := c.user(t)
		rec := c.do(req("POST", "/logout-all", "bearer:"+ctok.SessionJWT))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tt.want {
			t.Fatalf("logout-all with LogoutAllRedirect %q: %d %v", tt.all, rec.Code, rec.Header())
		}
	}
}

func TestSharedStoresAcrossInstances(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	revocations := memstore.NewList(memstore.Config{Now: srv.Now})
	remote := middleware.NewRemoteCache(0, srv.Now)
	var instances []http.Handler
	for range 2 {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Stores: middleware.Stores{Revocations: revocations, RemoteCache: remote}})
		if err != nil {
			t.Fatal(err)
		}
		defer mw.Close()
		mux := http.NewServeMux()
		mux.Handle("GET /me", mw.Require(whoami))
		mux.Handle("POST /logout", mw.LogoutHandler())
		instances = append(instances, mux)
	}
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	do := func(h http.Handler, r *http.Request) int {
		rec := (&app{h: h}).do(r)
		return rec.Code
	}
	if c := do(instances[0], req("GET", "/me", "bearer:"+tok.SessionToken)); c != 200 {
		t.Fatal(c)
	}
	if c := do(instances[1], req("GET", "/me", "bearer:"+tok.SessionToken)); c != 200 || srv.Calls(stytchtest.Authenticate) != 1 {
		t.Fatalf("the second instance did not reuse the first's answer: %d, %d calls", c, srv.Calls(stytchtest.Authenticate))
	}
	if c := do(instances[0], req("POST", "/logout", "jwt:"+tok.SessionJWT)); c != 204 {
		t.Fatal(c)
	}
	if c := do(instances[1], req("GET", "/me", "jwt:"+tok.SessionJWT)); c != 401 {
		t.Fatalf("a logout on one instance left the JWT working on the other: %d", c)
	}
}
