package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestCookieOptionsExtractorAndRedirect(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.JWTCookie, c.TokenCookie = "app_jwt", "app_token"
		c.InsecureCookies, c.HTTPOnlyCookies = true, true
		c.CookieDomain = "example.com"
		c.LogoutRedirect = "/signed-out"
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

	// A custom extractor: a header of the app's own.
	b := newApp(t, func(c *middleware.Config) {
		c.Extractor = func(r *http.Request) (middleware.Credential, *middleware.Error) {
			return middleware.Credential{JWT: r.Header.Get("X-Session"), From: middleware.FromHeader}, nil
		}
	})
	_, btok := b.user(t)
	if rec := b.do(req("GET", "/me", "header:X-Session:"+btok.SessionJWT)); rec.Code != 200 {
		t.Fatalf("custom extractor: %d", rec.Code)
	}
	if rec := b.do(req("GET", "/me", "bearer:"+btok.SessionJWT)); rec.Code != 401 {
		t.Fatalf("custom extractor ignores Bearer: %d", rec.Code)
	}
}

func TestSharedStoresAcrossInstances(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	revocations := middleware.NewMemoryRevocationList(0, srv.Now)
	remote := middleware.NewMemoryRemoteCache(0, srv.Now)
	var instances []http.Handler
	for range 2 {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Revocations: revocations, RemoteCache: remote})
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

func TestMemoryRevocationListIsBounded(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	l := middleware.NewMemoryRevocationList(100, clock)
	ctx := context.Background()
	for i := range 100 {
		_ = l.Revoke(ctx, fmt.Sprint("expired-", i), now.Add(-time.Second))
	}
	for i := range 150 {
		_ = l.Revoke(ctx, fmt.Sprint("live-", i), now.Add(time.Duration(i+1)*time.Minute))
	}
	if l.Len() > 100 {
		t.Fatalf("%d entries, bound 100", l.Len())
	}
	if l.IsRevoked(ctx, "expired-3") {
		t.Fatal("an expired revocation still counts")
	}
	if !l.IsRevoked(ctx, "live-149") {
		t.Fatal("the latest-ending revocation was dropped")
	}
	c := middleware.NewMemoryRemoteCache(10, clock)
	c.Set(ctx, "k", &middleware.RemoteEntry{Until: now.Add(-time.Second), Consumer: &session.ConsumerAuth{}})
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatal("an expired entry was returned")
	}
}
