package middleware_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// agentApp is newApp with a protected resource at /mcp, and the person and
// Connected App client its tokens are issued to and for.
type agentApp struct {
	*app
	res            *middleware.Resource
	userID, client string
	sessionJWT     string
}

func newAgentApp(t *testing.T) *agentApp {
	t.Helper()
	a := newApp(t, nil)
	res, err := a.mw.Resource(middleware.ProtectedResource{
		URL: "https://notes.example.com/mcp", Scopes: []string{"notes:read", "notes:write", "offline_access"}, Name: "Notes",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := a.h.(*http.ServeMux)
	mux.Handle("GET "+res.MetadataPath(), res.MetadataHandler())
	mux.Handle("GET /mcp", res.Require()(agentWho))
	mux.Handle("POST /mcp/notes", res.Require("notes:write")(agentWho))
	mux.Handle("GET /reports", a.mw.RequireMachine()(agentWho))
	mux.Handle("GET /open", a.mw.Authenticate(agentWho))
	mux.Handle("GET /shared", res.Authenticate(agentWho))
	client, err := a.srv.RegisterConnectedApp("Notes agent", false, "http://127.0.0.1:9/callback")
	if err != nil {
		t.Fatal(err)
	}
	u, toks := a.user(t)
	return &agentApp{app: a, res: res, userID: u.UserID, client: client.ClientID, sessionJWT: toks.SessionJWT}
}

// agentWho answers with the access token in the context, if any.
var agentWho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"anonymous": true}
	if a, ok := stytchguard.AccessTokenFromContext(r.Context()); ok {
		out = map[string]any{"sub": a.Subject, "client_id": a.ClientID, "scopes": strings.Join(a.Scopes, " "), "source": a.Source.String()}
	}
	_ = json.NewEncoder(w).Encode(out)
})

func (a *agentApp) token(t *testing.T, scopes ...string) string {
	t.Helper()
	tok, err := a.srv.IssueConnectedAppToken(a.userID, a.client, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	a.remember(stytchtest.Tokens{SessionJWT: tok})
	return tok
}

// resign signs tok's claims, changed by mod, with key under kid.
func resign(t *testing.T, tok, kid string, key *rsa.PrivateKey, mod func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	mod(claims)
	j := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	j.Header["kid"] = kid
	out, err := j.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResourceRefusals holds what a protected resource's guard answers for
// each credential an agent, a person or an attacker might send, and that
// none of it costs a call to Stytch.
func TestResourceRefusals(t *testing.T) {
	a := newAgentApp(t)
	good := a.token(t, "notes:read", "notes:write")
	readOnly := a.token(t, "notes:read")
	kid, key := a.srv.SigningKey()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := resign(t, good, kid, other, func(jwt.MapClaims) {})
	unknownKid := resign(t, good, "jwk-test-made-up", other, func(jwt.MapClaims) {})
	expired := resign(t, good, kid, key, func(c jwt.MapClaims) { c["exp"] = a.srv.Now().Add(-time.Minute).Unix() })
	otherProject := resign(t, good, kid, key, func(c jwt.MapClaims) { c["aud"] = []string{"project-test-other"} })
	otherIssuer := resign(t, good, kid, key, func(c jwt.MapClaims) { c["iss"] = "https://login.elsewhere.example" })
	_, machine := a.machine(t, "read:reports")
	_, person := a.user(t)
	a.srv.ResetCalls()

	meta := `resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp"`
	tests := []struct {
		name, method, path string
		creds              []string
		want               int
		code, challenge    string
	}{
		{"no credential", "GET", "/mcp", nil, 401, "unauthenticated", `Bearer realm="stytchguard", ` + meta},
		{"no credential, scoped route", "POST", "/mcp/notes", nil, 401, "unauthenticated", meta + `, scope="notes:write"`},
		{"a valid token", "GET", "/mcp", []string{"bearer:" + good}, 200, "", ""},
		{"a valid token with the scope", "POST", "/mcp/notes", []string{"bearer:" + good}, 200, "", ""},
		{"a token without the scope", "POST", "/mcp/notes", []string{"bearer:" + readOnly}, 403, "insufficient_scope", `error="insufficient_scope"`},
		{"forged", "GET", "/mcp", []string{"bearer:" + forged}, 401, "invalid_token", `error="invalid_token"`},
		{"an unknown kid", "GET", "/mcp", []string{"bearer:" + unknownKid}, 401, "invalid_token", meta},
		{"expired", "GET", "/mcp", []string{"bearer:" + expired}, 401, "invalid_token", meta},
		{"another project's", "GET", "/mcp", []string{"bearer:" + otherProject}, 401, "invalid_token", meta},
		{"an issuer not configured", "GET", "/mcp", []string{"bearer:" + otherIssuer}, 401, "invalid_token", meta},
		{"an M2M token", "GET", "/mcp", []string{"bearer:" + machine}, 401, "invalid_token", meta},
		{"a session JWT", "GET", "/mcp", []string{"bearer:" + person.SessionJWT}, 401, "invalid_token", meta},
		{"an opaque session token", "GET", "/mcp", []string{"bearer:" + person.SessionToken}, 401, "invalid_token", meta},
		{"a session cookie", "GET", "/mcp", []string{"jwt:" + person.SessionJWT}, 401, "unauthenticated", meta},
		{"an access token as a cookie", "GET", "/mcp", []string{"jwt:" + good}, 401, "unauthenticated", meta},
		{"an access token on a person's route", "GET", "/me", []string{"bearer:" + good}, 401, "invalid_token", `error="invalid_token"`},
		{"an access token on a machine route", "GET", "/reports", []string{"bearer:" + good}, 403, "insufficient_scope", ""},
		{"an access token where a session is optional", "GET", "/open", []string{"bearer:" + good}, 401, "invalid_token", `error="invalid_token"`},
		{"an access token where the resource shares the route", "GET", "/shared", []string{"bearer:" + good}, 200, "", ""},
		{"a forged token where the resource shares the route", "GET", "/shared", []string{"bearer:" + forged}, 401, "invalid_token", `error="invalid_token"`},
		{"another project's where the resource shares the route", "GET", "/shared", []string{"bearer:" + otherProject}, 401, "invalid_token", `error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := a.do(req(tt.method, tt.path, tt.creds...))
			if rec.Code != tt.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			got := body(t, rec)
			if tt.want == 200 {
				if got["sub"] != a.userID || got["client_id"] != a.client || got["source"] != "local" {
					t.Fatalf("the handler saw %v", got)
				}
				return
			}
			if got["error_type"] != tt.code {
				t.Fatalf("error_type %v, want %s", got["error_type"], tt.code)
			}
			if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, tt.challenge) {
				t.Fatalf("challenge %q, want it to hold %q", ch, tt.challenge)
			}
		})
	}
	if n := a.srv.Calls(stytchtest.Authenticate) + a.srv.Calls(stytchtest.OAuthIntrospect); n != 0 {
		t.Fatalf("%d calls to Stytch's authenticate or introspection; every access token is decided locally", n)
	}
	if n := a.srv.Calls(stytchtest.JWKS); n > 1 {
		t.Fatalf("%d JWKS fetches; the unknown kid may cost one, paced", n)
	}
}

// TestResourceMetadata holds the metadata document and where it is served.
func TestResourceMetadata(t *testing.T) {
	a := newAgentApp(t)
	if got := a.res.MetadataPath(); got != "/.well-known/oauth-protected-resource/mcp" {
		t.Fatalf("path %q", got)
	}
	rec := a.do(req("GET", a.res.MetadataPath()))
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
		BearerMethods        []string `json:"bearer_methods_supported"`
		Name                 string   `json:"resource_name"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if doc.Resource != "https://notes.example.com/mcp" || len(doc.AuthorizationServers) != 1 || doc.AuthorizationServers[0] != a.srv.URL ||
		len(doc.ScopesSupported) != 3 || doc.BearerMethods[0] != "header" || doc.Name != "Notes" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("metadata %+v, headers %v", doc, rec.Header())
	}

	bad := []struct {
		name string
		cfg  middleware.ProtectedResource
		want string
	}{
		{"no URL", middleware.ProtectedResource{}, "URL: required"},
		{"a relative URL", middleware.ProtectedResource{URL: "/mcp"}, "not an absolute URL"},
		{"http elsewhere than localhost", middleware.ProtectedResource{URL: "http://notes.example.com/mcp"}, "https is required"},
		{"an authorization server the verifier does not accept", middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
			AuthorizationServers: []string{"https://login.example.com"}}, "Verification.Issuers"},
		{"an empty audience", middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
			Audiences: []string{"https://notes.example.com/mcp", ""}}, "ProtectedResource.Audiences[1]: empty"},
		{"the project id as the audience", middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
			Audiences: []string{a.srv.ProjectID()}}, "ProtectedResource.Audiences[0]: " + `"` + a.srv.ProjectID() + `" is the project id`},
		{"an empty client id", middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
			ClientIDs: []string{""}}, "ProtectedResource.ClientIDs[0]: empty"},
	}
	for _, tt := range bad {
		if _, err := a.mw.Resource(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// introspectingApp is an app whose resource introspects tokens older than
// a minute, as a confidential Connected Apps client of its own; with no key
// set held when keyless.
func introspectingApp(t *testing.T, keyless bool, secret func(string) string) (*app, *decisionLog, string, string) {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	u := srv.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	agent, err := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	server, err := srv.RegisterConnectedApp("the resource server", true, "https://notes.example.com/unused")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.IssueConnectedAppToken(u.UserID, agent.ClientID, "notes:read")
	if err != nil {
		t.Fatal(err)
	}
	if keyless {
		srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 503})
	}
	log := &decisionLog{}
	a := newAppWith(t, srv, srv.Client(), &syncBuffer{}, func(c *middleware.Config) { c.Hooks.Decided = log.add })
	a.remember(stytchtest.Tokens{SessionJWT: tok, SessionToken: server.ClientSecret})
	res, err := a.mw.Resource(middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
		Introspection: &middleware.Introspection{ClientID: server.ClientID, ClientSecret: secret(server.ClientSecret), After: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	a.h.(*http.ServeMux).Handle("GET /mcp", res.Require("notes:read")(agentWho))
	return a, log, tok, u.UserID
}

// decisionLog keeps what Hooks.Decided was told.
type decisionLog struct {
	mu  sync.Mutex
	all []middleware.Decision
}

func (l *decisionLog) add(_ context.Context, d middleware.Decision) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, d)
}

// last is the latest decision's outcome and source.
func (l *decisionLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return ""
	}
	d := l.all[len(l.all)-1]
	return d.Outcome + "/" + d.Source
}

// TestResourceIntrospection: a token older than Introspection.After is
// asked about once per RemoteTTL, so that a revoked grant stops working
// here within After plus RemoteTTL; an introspection that fails leaves the
// token's last verdict standing (the local one, until Stytch has found it
// inactive), and holds introspections back for 10 s at least.
func TestResourceIntrospection(t *testing.T) {
	a, decisions, tok, userID := introspectingApp(t, false, func(s string) string { return s })
	get := func() (int, map[string]any) {
		rec := a.do(req("GET", "/mcp", "bearer:"+tok))
		return rec.Code, body(t, rec)
	}
	a.srv.ResetCalls()
	steps := []struct {
		name   string
		before func()
		want   int
		source string
		asked  int // introspection calls so far
	}{
		{"fresh: local", nil, 200, "local", 0},
		{"past After: asked", func() { a.srv.Advance(61 * time.Second) }, 200, "local", 1},
		{"again: the recent answer", nil, 200, "local", 1},
		{"past RemoteTTL, Stytch down: the local verdict stands", func() {
			a.srv.Advance(61 * time.Second)
			a.srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 503})
		}, 200, "local", 4}, // the client's three attempts
		{"Stytch back, within the pause after the failure: not asked", func() { a.srv.ClearFaults() }, 200, "local", 4},
		{"past the pause: asked", func() { a.srv.Advance(13 * time.Second) }, 200, "local", 5},
		{"revoked, within RemoteTTL: the recent answer", func() {
			if err := a.srv.RevokeConnectedApp(userID, clientOf(t, tok)); err != nil {
				t.Fatal(err)
			}
		}, 200, "local", 5},
		{"past RemoteTTL: asked, and refused", func() { a.srv.Advance(61 * time.Second) }, 401, "", 6},
		{"again: the recent answer, refused", nil, 401, "", 6},
		{"past RemoteTTL, Stytch down: the last verdict, refused, stands", func() {
			a.srv.Advance(61 * time.Second)
			a.srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 500})
		}, 401, "", 7},
		{"within the pause: refused, not asked", func() { a.srv.ClearFaults() }, 401, "", 7},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		code, got := get()
		if code != s.want || s.want == 200 && got["source"] != s.source {
			t.Fatalf("%s: %d %v", s.name, code, got)
		}
		if n := a.srv.Calls(stytchtest.OAuthIntrospect); n != s.asked {
			t.Fatalf("%s: %d introspection calls, want %d", s.name, n, s.asked)
		}
		if d := decisions.last(); s.want == 200 && d != "authenticated/local" {
			t.Fatalf("%s: Hooks.Decided was told %s", s.name, d)
		}
	}
}

func clientOf(t *testing.T, tok string) string {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return c["client_id"].(string)
}

// TestResourceIntrospectionWithoutKeys: while no key set is held, tokens
// are introspected within the upstream budget: a good one goes through
// (Stytch's word), a forged one is refused; Stytch down, garbage answers
// and refused client credentials are 503s, never a sign-out.
func TestResourceIntrospectionWithoutKeys(t *testing.T) {
	tests := []struct {
		name   string
		secret func(string) string
		fault  *stytchtest.Fault
		forged bool
		want   int
		source string
	}{
		{"a good token", func(s string) string { return s }, nil, false, 200, "stytch"},
		{"a forged token", func(s string) string { return s }, nil, true, 401, ""},
		{"Stytch down", func(s string) string { return s }, &stytchtest.Fault{Status: 503}, false, 503, ""},
		{"a 2xx without an answer", func(s string) string { return s }, &stytchtest.Fault{Status: 200, Body: `{}`}, false, 503, ""},
		{"a redirect, as a captive portal answers", func(s string) string { return s }, &stytchtest.Fault{Status: http.StatusFound}, false, 503, ""},
		{"a wrong client secret", func(string) string { return "wrong" }, nil, false, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, decisions, tok, _ := introspectingApp(t, true, tt.secret)
			if tt.fault != nil {
				a.srv.InjectFault(stytchtest.OAuthIntrospect, *tt.fault)
			}
			if tt.forged {
				other, _ := rsa.GenerateKey(rand.Reader, 2048)
				kid, _ := a.srv.SigningKey()
				tok = resign(t, tok, kid, other, func(jwt.MapClaims) {})
			}
			rec := a.do(req("GET", "/mcp", "bearer:"+tok))
			got := body(t, rec)
			if rec.Code != tt.want || tt.want == 200 && got["source"] != tt.source {
				t.Fatalf("%d %v", rec.Code, got)
			}
			if d := decisions.last(); tt.want == 200 && d != "authenticated/remote" {
				t.Fatalf("Hooks.Decided was told %s for a token Stytch vouched for", d)
			}
			if tt.want == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("a 503 without Retry-After")
			}
			if n := a.srv.Calls(stytchtest.OAuthIntrospect); n < 1 || n > 3 {
				t.Fatalf("%d introspection calls, want 1 (3 with the client's retries of a 503)", n)
			}
		})
	}
}

// TestResourceIntrospectionBudget: a flood of made-up tokens while no key
// set is held reaches Stytch only as far as the upstream budget allows; the
// rest are 503s, and no forged token is let through.
func TestResourceIntrospectionBudget(t *testing.T) {
	a, _, tok, _ := introspectingApp(t, true, func(s string) string { return s })
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	kid, _ := a.srv.SigningKey()
	codes := map[int]int{}
	for i := range 300 {
		forged := resign(t, tok, kid, other, func(c jwt.MapClaims) { c["jti"] = fmt.Sprint(i) })
		codes[a.do(req("GET", "/mcp", "bearer:"+forged)).Code]++
	}
	n := a.srv.Calls(stytchtest.OAuthIntrospect)
	if codes[200] != 0 || codes[401] != n || codes[503] != 300-n || n > 60 {
		t.Fatalf("answers %v, %d introspection calls (the budget's burst is 50)", codes, n)
	}
}

// TestResourceForMembers: on a B2B project, a member's access token names
// their organization, and an authz guard bound to an organization takes it
// only there.
func TestResourceForMembers(t *testing.T) {
	a := newLineApp(t, true, nil)
	a.srv.SetB2BPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "stytch_member", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
	})
	org := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, err := a.srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "mia@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := a.srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	tok, err := a.srv.IssueConnectedAppToken(m.MemberID, agent.ClientID, "notes:read")
	if err != nil {
		t.Fatal(err)
	}
	a.remember(stytchtest.Tokens{SessionJWT: tok})
	res, err := a.mw.Resource(middleware.ProtectedResource{URL: "https://notes.example.com/api"})
	if err != nil {
		t.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: lineClient(a.srv, true)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rbac.Close)
	inOrg := rbac.RequireIn(authz.PathValue("organization_id"), authz.Permission{ResourceID: "notes", Action: "read"})
	a.h.(*http.ServeMux).Handle("GET /orgs/{organization_id}/notes", res.Require()(inOrg(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := stytchguard.AccessTokenFromContext(r.Context())
		_, _ = w.Write([]byte(at.OrganizationID))
	}))))
	for _, tt := range []struct {
		org  string
		want int
	}{{org.OrganizationID, 200}, {"organization-test-other", 403}} {
		rec := a.do(req("GET", "/orgs/"+tt.org+"/notes", "bearer:"+tok))
		if rec.Code != tt.want || tt.want == 200 && rec.Body.String() != org.OrganizationID {
			t.Fatalf("%s: %d %s", tt.org, rec.Code, rec.Body)
		}
	}
}

// TestResourceIntrospectionSharedFailure: requests that share one failed
// introspection each get a refusal of their own, naming the metadata (under
// -race, a shared one written to would show).
func TestResourceIntrospectionSharedFailure(t *testing.T) {
	a, _, tok, _ := introspectingApp(t, true, func(s string) string { return s })
	a.srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 503, Latency: 50 * time.Millisecond})
	var wg sync.WaitGroup
	recs := make([]*httptest.ResponseRecorder, 8)
	for i := range recs {
		wg.Go(func() { recs[i] = a.do(req("GET", "/mcp", "bearer:"+tok)) })
	}
	wg.Wait()
	for _, rec := range recs {
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	if n := a.srv.Calls(stytchtest.OAuthIntrospect); n > 3 {
		t.Fatalf("%d introspection calls for 8 requests with one token, want one call (3 attempts at most)", n)
	}
}
