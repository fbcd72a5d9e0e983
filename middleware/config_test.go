package middleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
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
	// Logout everywhere goes where LogoutRedirect says, until
	// LogoutAllRedirect says otherwise.
	for _, tt := range []struct{ all, want string }{{"", "/signed-out"}, {"/signed-out?everywhere=1", "/signed-out?everywhere=1"}} {
		c := newApp(t, func(c *middleware.Config) { c.LogoutRedirect, c.LogoutAllRedirect = "/signed-out", tt.all })
		_, ctok := c.user(t)
		rec := c.do(req("POST", "/logout-all", "bearer:"+ctok.SessionJWT))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tt.want {
			t.Fatalf("logout-all with LogoutAllRedirect %q: %d %v", tt.all, rec.Code, rec.Header())
		}
	}

	// A custom extractor: a header of the app's own.
	b := newApp(t, func(c *middleware.Config) {
		c.Extractor = func(r *http.Request) (middleware.Credential, *stytchguard.Refusal) {
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
	revocations := middleware.NewMemoryRevocationList(middleware.MemoryRevocationListConfig{Now: srv.Now})
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

func TestMemoryRevocationListDropsInExpiryOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name            string
		size            int
		expired, live   int
		wantDropped     int
		wantLiveRevoked int
	}{
		// Room for every live one: only expired ones go, whatever the
		// shards their ids hash to.
		{"expired make room", 1000, 900, 1000, 0, 1000},
		{"a few expired among many live", 1000, 10, 1000, 0, 1000},
		// Full of live ones: the soonest to end go, and are counted.
		{"full of live revocations", 1000, 0, 1500, 500, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			var logs syncBuffer
			l := middleware.NewMemoryRevocationList(middleware.MemoryRevocationListConfig{Size: tt.size, Now: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			for i := range tt.expired {
				_ = l.Revoke(ctx, fmt.Sprint("expired-", i), now.Add(time.Second))
			}
			mu.Lock()
			now = now.Add(2 * time.Second) // they expire
			mu.Unlock()
			for i := range tt.live {
				_ = l.Revoke(ctx, fmt.Sprint("live-", i), now.Add(time.Duration(i+1)*time.Second))
			}
			if l.Len() > tt.size {
				t.Fatalf("%d entries, bound %d", l.Len(), tt.size)
			}
			if got := int(l.Dropped()); got != tt.wantDropped {
				t.Fatalf("dropped %d unexpired revocations, want %d", got, tt.wantDropped)
			}
			revoked := 0
			for i := range tt.live {
				if l.IsRevoked(ctx, fmt.Sprint("live-", i)) {
					revoked++
				} else if i >= tt.wantDropped {
					t.Fatalf("live-%d was dropped before one that ends sooner", i)
				}
			}
			if revoked != tt.wantLiveRevoked {
				t.Fatalf("%d live revocations held, want %d", revoked, tt.wantLiveRevoked)
			}
			if l.IsRevoked(ctx, "expired-3") {
				t.Fatal("an expired revocation still counts")
			}
			if logged := strings.Contains(logs.String(), "revocation list is full"); logged != (tt.wantDropped > 0) {
				t.Fatalf("logged a drop: %v, want %v: %s", logged, tt.wantDropped > 0, logs.String())
			}
		})
	}
}

func TestMemoryRevocationListKeepsTheLaterEnd(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	l := middleware.NewMemoryRevocationList(middleware.MemoryRevocationListConfig{Now: func() time.Time { return now }})
	_ = l.Revoke(ctx, "s", now.Add(time.Hour))
	_ = l.Revoke(ctx, "s", now.Add(time.Minute)) // an earlier end does not shorten it
	_ = l.Revoke(ctx, "past", now.Add(-time.Second))
	if !l.IsRevoked(ctx, "s") || l.Len() != 1 {
		t.Fatalf("revoked %v, len %d", l.IsRevoked(ctx, "s"), l.Len())
	}
}

func TestMemoryRemoteCacheKeepsSessionsApartFromGone(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	c := middleware.NewMemoryRemoteCache(10, clock)
	c.Set(ctx, "expired", &middleware.RemoteEntry{Until: now.Add(-time.Second), Consumer: &stytchguard.ConsumerAuth{}})
	if _, ok := c.Get(ctx, "expired"); ok {
		t.Fatal("an expired entry was returned")
	}
	for i := range 10 {
		c.Set(ctx, fmt.Sprint("live-", i), &middleware.RemoteEntry{Until: now.Add(time.Minute), Consumer: &stytchguard.ConsumerAuth{}})
	}
	for i := range 10_000 { // a storm of dead tokens
		c.Set(ctx, fmt.Sprint("dead-", i), &middleware.RemoteEntry{Until: now.Add(time.Minute), Gone: true})
	}
	for i := range 10 {
		if e, ok := c.Get(ctx, fmt.Sprint("live-", i)); !ok || e.Gone {
			t.Fatalf("live-%d was evicted by gone answers", i)
		}
	}
	if e, ok := c.Get(ctx, "dead-9999"); !ok || !e.Gone {
		t.Fatal("the latest gone answer is missing")
	}
	// An answer changes class: the old one is forgotten.
	c.Set(ctx, "live-0", &middleware.RemoteEntry{Until: now.Add(time.Minute), Gone: true})
	if e, _ := c.Get(ctx, "live-0"); e == nil || !e.Gone {
		t.Fatal("a session answer outlived the gone answer that replaced it")
	}
}
