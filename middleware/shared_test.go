package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// TestSharedSessionsTakeNoAppends: a session in the context may be the same
// value for many requests (the token cache, the remembered answers). A
// handler appending to its roles or factors must get storage of its own, or
// two requests would write into one array.
func TestSharedSessionsTakeNoAppends(t *testing.T) {
	tests := []struct {
		name string
		cred func(session.User, string, string) string
	}{
		{"session JWT, verified locally", func(_ session.User, jwt, _ string) string { return "jwt:" + jwt }},
		{"session token, answered by Stytch", func(_ session.User, _, token string) string { return "token:" + token }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, nil)
			u, tok := a.user(t, "editor", "viewer", "billing", "admin", "support")
			var appended [][]string
			var factors [][]session.AuthenticationFactor
			h := a.mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := stytchguard.ConsumerFromContext(r.Context())
				appended = append(appended, append(c.Session.Roles, r.URL.Query().Get("n")))
				factors = append(factors, append(c.Session.AuthenticationFactors, session.AuthenticationFactor{Type: r.URL.Query().Get("n")}))
			}))
			for _, n := range []string{"first", "second"} {
				h.ServeHTTP(httptest.NewRecorder(), req("GET", "/?n="+n, tt.cred(u, tok.SessionJWT, tok.SessionToken)))
			}
			if len(appended) != 2 {
				t.Fatalf("the handler ran %d times", len(appended))
			}
			for i, want := range []string{"first", "second"} {
				if got := appended[i][len(appended[i])-1]; got != want {
					t.Fatalf("request %d's appended role reads %q: %q", i, got, appended)
				}
				if got := factors[i][len(factors[i])-1].Type; got != want {
					t.Fatalf("request %d's appended factor reads %q", i, got)
				}
			}
			if !slices.Contains(appended[0], "editor") {
				t.Fatalf("roles %q", appended[0])
			}
		})
	}
}
