package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkMiddleware runs full requests, a JWT cookie each, through Require
// into a handler that does nothing: the same token again (cached-jwt), and a
// token the process has not seen (first-seen-jwt).
func BenchmarkMiddleware(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		b.Fatal(err)
	}
	const pool, cacheSize = 1024, 512
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.SessionJWT, claims); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, pool)
	for i := range tokens {
		claims["n"] = i
		if tokens[i], err = srv.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	run := func(b *testing.B, cacheSize int, token func(i int) string) {
		v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Verifier: v})
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Require(noop)
		reqs := make([]*http.Request, pool)
		for i := range reqs {
			reqs[i] = httptest.NewRequest("GET", "/", nil)
			reqs[i].AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: token(i)})
		}
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.ServeHTTP(w, reqs[i%pool])
		}
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.Run("cached-jwt", func(b *testing.B) { run(b, 0, func(int) string { return tokens[0] }) })
	b.Run("first-seen-jwt", func(b *testing.B) { run(b, cacheSize, func(i int) string { return tokens[i] }) })
}
