package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
)

// TestErrorHandlerInTheContextWins: a handler recorded in the request's
// context before the middleware (an adapter's: grpcguard's) answers every
// refusal, the middleware's and those of the guards behind it, over
// Config.ErrorHandler; without one, Config.ErrorHandler answers both.
func TestErrorHandlerInTheContextWins(t *testing.T) {
	var got []string
	handler := func(name string) stytchguard.ErrorHandler {
		return func(w http.ResponseWriter, _ *http.Request, e *stytchguard.Refusal) {
			got = append(got, name+" "+e.Code)
			w.WriteHeader(e.Status)
		}
	}
	a := newApp(t, func(c *middleware.Config) { c.ErrorHandler = handler("app") })
	guard := func(next http.Handler) http.Handler { // refuses every request, as a guard does
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stytchguard.Refuse(w, r, &stytchguard.Refusal{Status: 403, Code: stytchguard.CodeForbidden, Message: "no"})
		})
	}
	h := a.mw.Require(guard(whoami))
	_, toks := a.user(t)
	tok := toks.SessionJWT
	tests := []struct {
		name      string
		outer     stytchguard.ErrorHandler
		bearer    string
		want      string
		wantCalls int
	}{
		{"middleware's refusal, app's handler", nil, "", "app unauthenticated", 1},
		{"guard's refusal, app's handler", nil, tok, "app forbidden", 1},
		{"middleware's refusal, outer handler", handler("outer"), "", "outer unauthenticated", 1},
		{"guard's refusal, outer handler", handler("outer"), tok, "outer forbidden", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("GET", "/me", nil)
			if tt.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.outer != nil {
				r = r.WithContext(stytchguard.WithErrorHandler(r.Context(), tt.outer))
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if len(got) != tt.wantCalls || got[0] != tt.want {
				t.Fatalf("handlers called: %v, want [%s]", got, tt.want)
			}
		})
	}
}
