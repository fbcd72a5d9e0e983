package middleware_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// whoever answers with the machine or person in the context.
var whoever = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	if m, ok := stytchguard.MachineFromContext(r.Context()); ok {
		out["client_id"], out["scopes"] = m.ClientID, m.Scopes
	}
	if a, ok := stytchguard.ConsumerFromContext(r.Context()); ok {
		out["user_id"] = a.Session.UserID
	}
	_ = json.NewEncoder(w).Encode(out)
})

// machineApp is newApp with machine routes.
func machineApp(t *testing.T) *app {
	t.Helper()
	a := newApp(t, nil)
	mux := a.h.(*http.ServeMux)
	mux.Handle("GET /reports", a.mw.RequireMachine("read:reports")(whoever))
	mux.Handle("GET /any", a.mw.RequireMachineAny("read:invoices", "read:reports")(whoever))
	mux.Handle("GET /either", a.mw.RequireSessionOrMachine("read:reports")(whoever))
	mux.Handle("GET /open", a.mw.Authenticate(whoever))
	return a
}

func (a *app) machine(t *testing.T, scopes ...string) (string, string) {
	t.Helper()
	mc, err := a.srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.srv.IssueM2MToken(mc.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.secrets = append(a.secrets, tok, mc.ClientSecret)
	a.mu.Unlock()
	return mc.ClientID, tok
}

func TestMachineRoutes(t *testing.T) {
	a := machineApp(t)
	reader, readTok := a.machine(t, "read:reports")
	_, writeTok := a.machine(t, "write:reports")
	_, wildTok := a.machine(t, "read:*")
	_, person := a.user(t)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(readTok, claims); err != nil {
		t.Fatal(err)
	}
	claims["exp"] = a.srv.Now().Add(-time.Minute).Unix()
	expired, err := a.srv.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		creds      []string
		status     int
		code       string // error_type, or the client or user id on success
		scope      string // the challenge's scope=
	}{
		{"machine with the scope", "/reports", []string{"bearer:" + readTok}, 200, reader, ""},
		{"machine with a wildcard", "/reports", []string{"bearer:" + wildTok}, 200, "", ""},
		{"machine without the scope", "/reports", []string{"bearer:" + writeTok}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"no credential", "/reports", nil, 401, stytchguard.CodeUnauthenticated, ""},
		{"a person's JWT instead", "/reports", []string{"bearer:" + person.SessionJWT}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"a person's opaque token instead", "/reports", []string{"bearer:" + person.SessionToken}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"a random opaque token", "/reports", []string{"bearer:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"a person's cookies instead", "/reports", []string{"jwt:" + person.SessionJWT, "token:" + person.SessionToken}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"an expired machine token", "/reports", []string{"bearer:" + expired}, 401, stytchguard.CodeInvalidToken, ""},
		{"a forged machine token", "/reports", []string{"bearer:" + readTok[:len(readTok)-6] + "AAAAAA"}, 401, stytchguard.CodeInvalidToken, ""},
		{"garbage", "/reports", []string{"bearer:eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, 401, stytchguard.CodeInvalidToken, ""},
		{"a machine token in a cookie", "/reports", []string{"jwt:" + readTok}, 401, stytchguard.CodeInvalidToken, ""},
		{"any of, the second", "/any", []string{"bearer:" + readTok}, 200, reader, ""},
		{"any of, neither", "/any", []string{"bearer:" + writeTok}, 403, stytchguard.CodeInsufficientScope, "read:invoices read:reports"},
		{"either: a person", "/either", []string{"bearer:" + person.SessionJWT}, 200, "", ""},
		{"either: a machine", "/either", []string{"bearer:" + readTok}, 200, reader, ""},
		{"either: a machine without the scope", "/either", []string{"bearer:" + writeTok}, 403, stytchguard.CodeInsufficientScope, "read:reports"},
		{"a person's route", "/me", []string{"bearer:" + readTok}, 403, stytchguard.CodeSessionRequired, ""},
		{"the sessions handler", "/sessions", []string{"bearer:" + readTok}, 403, stytchguard.CodeSessionRequired, ""},
		{"Authenticate lets a machine through", "/open", []string{"bearer:" + readTok}, 200, reader, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := a.do(req("GET", tc.path, tc.creds...))
			b := body(t, rec)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			switch {
			case tc.status != 200 && b["error_type"] != tc.code:
				t.Fatalf("error_type %v, want %s", b["error_type"], tc.code)
			case tc.status == 200 && tc.code != "" && b["client_id"] != tc.code:
				t.Fatalf("client %v, want %s", b["client_id"], tc.code)
			}
			challenge := rec.Header().Get("WWW-Authenticate")
			if tc.scope != "" && (!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="`+tc.scope+`"`)) {
				t.Fatalf("challenge %q, want insufficient_scope with scope=%q", challenge, tc.scope)
			}
		})
	}
	if n := a.srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d calls to authenticate: a route only machines may use asks Stytch nothing", n)
	}
	// A logout with a machine token ends no session, as one with no
	// session at all, and asks Stytch nothing.
	if rec := a.do(req("POST", "/logout", "bearer:"+readTok)); rec.Code != http.StatusNoContent || a.srv.Calls(stytchtest.Revoke) != 0 {
		t.Fatalf("logout with a machine token: %d %s, %d revocations", rec.Code, rec.Body, a.srv.Calls(stytchtest.Revoke))
	}
}

// TestMachineTokenWithoutKeySet: while no key set could be fetched, an M2M
// token is a 503, not a 401 nor a question to Stytch's session endpoint.
func TestMachineTokenWithoutKeySet(t *testing.T) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	mc, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: []string{"read:reports"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.IssueM2MToken(mc.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 503})
	a := newAppWith(t, srv, srv.Client(), &syncBuffer{}, nil)
	a.remember(stytchtest.Tokens{SessionJWT: tok})
	rec := a.do(req("GET", "/me", "bearer:"+tok))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if n := srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d calls to authenticate", n)
	}
}

type appClaims struct {
	Plan string `json:"plan"`
}

// TestTypedClaims: with Config.Claims, custom claims are decoded once per
// verified JWT and once per Stytch answer, and stytchguard.Claims returns them.
func TestTypedClaims(t *testing.T) {
	var decodes atomic.Int64
	a := newApp(t, func(c *middleware.Config) {
		c.Claims = func(custom map[string]any) (any, error) {
			decodes.Add(1)
			return stytchguard.ClaimsOf[appClaims]()(custom)
		}
	})
	mux := a.h.(*http.ServeMux)
	mux.Handle("GET /plan", a.mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := stytchguard.Claims[appClaims](r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write([]byte(c.Plan))
	})))
	u := a.srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := a.srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	a.remember(tok)
	for _, creds := range [][]string{{"jwt:" + tok.SessionJWT}, {"token:" + tok.SessionToken}} {
		for range 5 {
			if rec := a.do(req("GET", "/plan", creds...)); rec.Code != 200 || rec.Body.String() != "pro" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	}
	if n := decodes.Load(); n != 2 {
		t.Fatalf("claims decoded %d times for 10 requests with one JWT and one token, want 2", n)
	}

	// Claims that do not fit the type are an error in the handler, never
	// a zero value, whichever way the session was verified.
	misfit, err := a.srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": 7}})
	if err != nil {
		t.Fatal(err)
	}
	a.remember(misfit)
	for _, creds := range [][]string{{"jwt:" + misfit.SessionJWT}, {"token:" + misfit.SessionToken}} {
		if rec := a.do(req("GET", "/plan", creds...)); rec.Code != 500 || !strings.Contains(rec.Body.String(), "decoding custom claims") {
			t.Fatalf("misfit claims via %s: %d %q", creds[0][:3], rec.Code, rec.Body)
		}
	}
}
