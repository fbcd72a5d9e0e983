package middleware_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const (
	notesMCP    = "https://notes.example.com/mcp"         // the resource's URL
	notesAPI    = "https://api.notes.example.com"         // its clients' custom audience
	otherMCP    = "https://tasks.example.com/mcp"         // another MCP server
	otherAPI    = "https://api.tasks.example.com"         // another custom audience
	noNarrowing = "takes any Connected Apps access token" // the log line of a resource nothing narrows
)

// bindingApp is an app on the emulator, with a user, and Connected Apps
// clients: agent and stranger (plain ones), api (whose tokens carry
// notesAPI) and otherAPI (otherAPI).
type bindingApp struct {
	*app
	user                            string
	agent, stranger, api, apiOthers string
}

// newBindingApp builds a bindingApp; with no key set ever held when
// keyless.
func newBindingApp(t *testing.T, keyless bool) *bindingApp {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	if keyless {
		srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 503})
	}
	a := &bindingApp{app: newAppWith(t, srv, srv.Client(), &syncBuffer{}, func(c *middleware.Config) {
		c.ErrorHandler = stytchguard.WriteRefusalExplained // the diagnosis, to check
	})}
	u, _ := a.app.user(t)
	a.user = u.UserID
	for _, c := range []struct {
		id       *string
		name     string
		audience string
	}{{&a.agent, "agent", ""}, {&a.stranger, "stranger", ""}, {&a.api, "notes api client", notesAPI}, {&a.apiOthers, "tasks api client", otherAPI}} {
		app, err := a.srv.RegisterConnectedApp(c.name, false, "http://127.0.0.1:9/cb")
		if err != nil {
			t.Fatal(err)
		}
		*c.id = app.ClientID
		if c.audience != "" {
			if err := a.srv.SetConnectedAppCustomAudience(app.ClientID, c.audience); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a
}

// token issues an access token to client for resources, as the token
// endpoint would after the person consented.
func (a *bindingApp) token(t *testing.T, client string, resources ...string) string {
	t.Helper()
	tok, err := a.srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{Issuer: a.srv.URL, SubjectID: a.user, ClientID: client, Scopes: []string{"notes:read"}, Resources: resources})
	if err != nil {
		t.Fatal(err)
	}
	a.remember(stytchtest.Tokens{SessionJWT: tok})
	return tok
}

func (a *bindingApp) resource(t *testing.T, cfg middleware.ProtectedResource) *middleware.Resource {
	t.Helper()
	cfg.URL = notesMCP
	res, err := a.mw.Resource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// diagnosis is a refusal's Stytchguard-Diagnosis (WriteRefusalExplained).
func diagnosis(h http.Header) string { return h.Get("Stytchguard-Diagnosis") }

// TestResourceBinding: a protected resource takes only its own tokens:
// with Audiences, those whose aud names one of them; with ClientIDs, those
// of its clients; and never one whose aud names another resource or
// another custom audience, whatever is set. Each refusal is a 401
// invalid_token naming the metadata and saying why, decided without asking
// Stytch. A resource nothing narrows takes any token of the project that
// names no other resource, and logs so once, when built.
func TestResourceBinding(t *testing.T) {
	a := newBindingApp(t, false)
	resources := []struct {
		name string
		cfg  middleware.ProtectedResource
	}{
		{"strict", middleware.ProtectedResource{Audiences: []string{notesMCP}}},
		{"custom", middleware.ProtectedResource{Audiences: []string{notesAPI}}},
		{"clients", middleware.ProtectedResource{ClientIDs: []string{a.agent}}},
		{"open", middleware.ProtectedResource{}},
	}
	mux := a.h.(*http.ServeMux)
	for _, r := range resources {
		mux.Handle("GET /"+r.name, a.resource(t, r.cfg).Require("notes:read")(agentWho))
	}
	if n := strings.Count(a.logs.String(), noNarrowing); n != 1 {
		t.Fatalf("%d lines saying a resource takes any token of the project, want 1 (for open): %s", n, a.logs)
	}
	var line string
	for l := range strings.Lines(a.logs.String()) {
		if strings.Contains(l, noNarrowing) {
			line = l
		}
	}
	for _, want := range []string{"ProtectedResource.Audiences", "ProtectedResource.ClientIDs", "resource=" + notesMCP, "project_id=" + a.srv.ProjectID(), "level=WARN"} {
		if !strings.Contains(line, want) {
			t.Fatalf("the log line %q does not name %s", line, want)
		}
	}

	const (
		ok          = ""
		foreign     = "the token is another resource's"
		notNamed    = "names none of ProtectedResource.Audiences"
		notAllowed  = "is not one of ProtectedResource.ClientIDs"
		sessionOnly = "Resource.Authenticate"
	)
	kid, key := a.srv.SigningKey()
	withAud := func(tok string, aud ...string) string {
		out := resign(t, tok, kid, key, func(c jwt.MapClaims) { c["aud"] = append([]string{a.srv.ProjectID()}, aud...) })
		a.remember(stytchtest.Tokens{SessionJWT: out})
		return out
	}
	tests := []struct {
		name  string
		token string
		// want is the answer of each resource, strict, custom, clients and
		// open: ok (200), or a 401's diagnosis.
		want [4]string
	}{
		{"requested for this resource", a.token(t, a.agent, notesMCP), [4]string{ok, notNamed, ok, ok}},
		{"requested for another resource", a.token(t, a.agent, otherMCP), [4]string{foreign, foreign, foreign, foreign}},
		{"requested for this resource and another", a.token(t, a.agent, notesMCP, otherMCP), [4]string{foreign, foreign, foreign, foreign}},
		{"only the project id in aud", a.token(t, a.agent), [4]string{notNamed, notNamed, ok, ok}},
		{"this resource's custom audience", a.token(t, a.api), [4]string{foreign, ok, foreign, foreign}},
		{"this resource's custom audience, requested for it", a.token(t, a.api, notesMCP), [4]string{foreign, ok, foreign, foreign}},
		{"another custom audience", a.token(t, a.apiOthers), [4]string{foreign, foreign, foreign, foreign}},
		{"another custom audience, requested for this resource", a.token(t, a.apiOthers, notesMCP), [4]string{foreign, foreign, foreign, foreign}},
		{"a client not allowlisted", a.token(t, a.stranger, notesMCP), [4]string{ok, notNamed, notAllowed, ok}},
		// Stytch's page calls aud "the audience (client_id)": the token's
		// own client is no other resource; another client is.
		{"its own client in aud, requested for this resource", withAud(a.token(t, a.agent), a.agent, notesMCP), [4]string{ok, notNamed, ok, ok}},
		{"another client in aud", withAud(a.token(t, a.agent), a.stranger), [4]string{foreign, foreign, foreign, foreign}},
	}
	a.srv.ResetCalls()
	for _, tt := range tests {
		for i, r := range resources {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				rec := a.do(req("GET", "/"+r.name, "bearer:"+tt.token))
				want := tt.want[i]
				switch {
				case want == ok && rec.Code != http.StatusOK:
					t.Fatalf("%d %s (%s), want 200", rec.Code, rec.Body, diagnosis(rec.Header()))
				case want == ok:
					if got := body(t, rec); got["sub"] != a.user {
						t.Fatalf("the handler saw %v", got)
					}
				case rec.Code != http.StatusUnauthorized || body(t, rec)["error_type"] != "invalid_token":
					t.Fatalf("%d %s, want 401 invalid_token", rec.Code, rec.Body)
				case !strings.Contains(diagnosis(rec.Header()), want):
					t.Fatalf("diagnosis %q, want it to say %q", diagnosis(rec.Header()), want)
				case !strings.Contains(rec.Header().Get("WWW-Authenticate"), `resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp"`):
					t.Fatalf("challenge %q names no metadata", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}

	// On a person's routes, any access token is refused, however bound,
	// and the diagnosis says how a route takes one.
	for _, path := range []string{"/me", "/optional"} {
		rec := a.do(req("GET", path, "bearer:"+tests[0].token))
		if rec.Code != http.StatusUnauthorized || body(t, rec)["error_type"] != "invalid_token" || !strings.Contains(diagnosis(rec.Header()), sessionOnly) {
			t.Fatalf("%s: %d %s (%s), want 401 invalid_token saying how to opt in", path, rec.Code, rec.Body, diagnosis(rec.Header()))
		}
	}
	if n := a.srv.Calls(stytchtest.Authenticate) + a.srv.Calls(stytchtest.OAuthIntrospect); n != 0 {
		t.Fatalf("%d calls to Stytch; every token here is decided locally", n)
	}
	if n := strings.Count(a.logs.String(), noNarrowing); n != 1 {
		t.Fatalf("%d lines saying a resource takes any token, after the requests; want the one at start", n)
	}
}

// TestResourceBindingIntrospected: while no key set is held, a token is
// introspected, and Stytch's answer is held to the same binding: one whose
// aud names another resource, or none of Audiences, is refused.
func TestResourceBindingIntrospected(t *testing.T) {
	a := newBindingApp(t, true)
	server, err := a.srv.RegisterConnectedApp("the resource server", true, "https://notes.example.com/unused")
	if err != nil {
		t.Fatal(err)
	}
	a.remember(stytchtest.Tokens{SessionToken: server.ClientSecret})
	tokens := map[string]string{
		"for this resource":        a.token(t, a.agent, notesMCP),
		"for another resource":     a.token(t, a.agent, otherMCP),
		"another custom audience":  a.token(t, a.apiOthers, notesMCP),
		"only the project id":      a.token(t, a.agent),
		"from a client not listed": a.token(t, a.stranger, notesMCP),
	}
	res := a.resource(t, middleware.ProtectedResource{Audiences: []string{notesMCP}, ClientIDs: []string{a.agent},
		Introspection: &middleware.Introspection{ClientID: server.ClientID, ClientSecret: server.ClientSecret}})
	a.h.(*http.ServeMux).Handle("GET /mcp", res.Require("notes:read")(agentWho))
	for name, want := range map[string]string{
		"for this resource":        "",
		"for another resource":     "the token is another resource's",
		"another custom audience":  "the token is another resource's",
		"only the project id":      "names none of ProtectedResource.Audiences",
		"from a client not listed": "is not one of ProtectedResource.ClientIDs",
	} {
		t.Run(name, func(t *testing.T) {
			before := a.srv.Calls(stytchtest.OAuthIntrospect)
			rec := a.do(req("GET", "/mcp", "bearer:"+tokens[name]))
			if a.srv.Calls(stytchtest.OAuthIntrospect) != before+1 {
				t.Fatal("not introspected: the key set was held after all")
			}
			got := body(t, rec)
			if want == "" {
				if rec.Code != http.StatusOK || got["source"] != "stytch" {
					t.Fatalf("%d %v (%s), want 200 on Stytch's word", rec.Code, got, diagnosis(rec.Header()))
				}
				return
			}
			if rec.Code != http.StatusUnauthorized || got["error_type"] != "invalid_token" || !strings.Contains(diagnosis(rec.Header()), want) {
				t.Fatalf("%d %v (%s), want 401 invalid_token saying %q", rec.Code, got, diagnosis(rec.Header()), want)
			}
		})
	}
}

// TestResourceAuthenticate: a route people and agents share takes a
// person's session as Middleware.Authenticate does, and an access token
// only through the resource's checks, here before an authz guard that
// decides the person by their roles and the token by its scopes: a token
// for another resource is refused, and a revoked grant stops working once
// the token is past Introspection.After (and the last answer past
// RemoteTTL). Without the resource, the same route refuses every access
// token.
func TestResourceAuthenticate(t *testing.T) {
	a := newBindingApp(t, false)
	a.srv.SetPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "reader", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
	})
	server, err := a.srv.RegisterConnectedApp("the resource server", true, "https://notes.example.com/unused")
	if err != nil {
		t.Fatal(err)
	}
	a.remember(stytchtest.Tokens{SessionToken: server.ClientSecret})
	res := a.resource(t, middleware.ProtectedResource{Audiences: []string{notesMCP},
		Introspection: &middleware.Introspection{ClientID: server.ClientID, ClientSecret: server.ClientSecret, After: time.Minute}})
	rbac, err := authz.New(authz.Config{Client: a.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rbac.Close)
	read := rbac.Require("notes", "read")
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if at, ok := stytchguard.AccessTokenFromContext(r.Context()); ok {
			_, _ = w.Write([]byte("token of " + at.Subject))
			return
		}
		u, _ := stytchguard.ConsumerFromContext(r.Context())
		_, _ = w.Write([]byte("session of " + u.Session.UserID))
	})
	mux := a.h.(*http.ServeMux)
	mux.Handle("GET /notes", res.Authenticate(read(who)))
	mux.Handle("GET /notes-for-people", a.mw.Authenticate(read(who)))

	reader := a.srv.CreateUser(stytchtest.UserParams{Email: "rita@example.com", Roles: []string{"reader"}})
	person, err := a.srv.StartSession(reader.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	a.remember(person)
	good, other := a.token(t, a.agent, notesMCP), a.token(t, a.agent, otherMCP)
	a.srv.ResetCalls()

	steps := []struct {
		name   string
		before func()
		path   string
		cred   string
		want   int
		answer string // the body of a 200; a 401's diagnosis
		asked  int    // introspection calls so far
	}{
		{"a person's session", nil, "/notes", "jwt:" + person.SessionJWT, 200, "session of " + reader.UserID, 0},
		{"the same, as Bearer", nil, "/notes", "bearer:" + person.SessionJWT, 200, "session of " + reader.UserID, 0},
		{"nobody: the authz guard refuses", nil, "/notes", "", 401, "", 0},
		{"a token for this resource", nil, "/notes", "bearer:" + good, 200, "token of " + a.user, 0},
		{"a token for another resource", nil, "/notes", "bearer:" + other, 401, "the token is another resource's", 0},
		{"a token on the people's route", nil, "/notes-for-people", "bearer:" + good, 401, "Resource.Authenticate", 0},
		{"a person on the people's route", nil, "/notes-for-people", "jwt:" + person.SessionJWT, 200, "session of " + reader.UserID, 0},
		{"revoked, within After: still taken", func() {
			if err := a.srv.RevokeConnectedApp(a.user, a.agent); err != nil {
				t.Fatal(err)
			}
		}, "/notes", "bearer:" + good, 200, "token of " + a.user, 0},
		{"past After: introspected, and refused", func() { a.srv.Advance(61 * time.Second) }, "/notes", "bearer:" + good, 401, "not active", 1},
		{"again: the last answer, refused", nil, "/notes", "bearer:" + good, 401, "not active", 1},
		{"a token for another resource, past After: refused, never introspected", nil, "/notes", "bearer:" + other, 401, "the token is another resource's", 1},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		var creds []string
		if s.cred != "" {
			creds = append(creds, s.cred)
		}
		rec := a.do(req("GET", s.path, creds...))
		switch {
		case rec.Code != s.want:
			t.Fatalf("%s: %d %s (%s), want %d", s.name, rec.Code, rec.Body, diagnosis(rec.Header()), s.want)
		case s.want == 200 && rec.Body.String() != s.answer:
			t.Fatalf("%s: the handler said %q, want %q", s.name, rec.Body, s.answer)
		case s.want == 401 && !strings.Contains(diagnosis(rec.Header()), s.answer):
			t.Fatalf("%s: diagnosis %q, want it to say %q", s.name, diagnosis(rec.Header()), s.answer)
		}
		if n := a.srv.Calls(stytchtest.OAuthIntrospect); n != s.asked {
			t.Fatalf("%s: %d introspection calls, want %d", s.name, n, s.asked)
		}
	}
}

// TestResourceWarnsOfOfflineAccess: a resource advertising offline_access,
// which the MCP spec says it should not, is told so once, when built.
func TestResourceWarnsOfOfflineAccess(t *testing.T) {
	const warning = "advertises offline_access"
	for _, tt := range []struct {
		scopes []string
		warned bool
	}{
		{[]string{"notes:read", "offline_access"}, true},
		{[]string{"notes:read"}, false},
	} {
		a := newBindingApp(t, false)
		a.resource(t, middleware.ProtectedResource{Audiences: []string{notesMCP}, Scopes: tt.scopes})
		if warned := strings.Count(a.logs.String(), warning); warned != map[bool]int{true: 1, false: 0}[tt.warned] {
			t.Fatalf("scopes %v: warned %d times, want warned %v:\n%s", tt.scopes, warned, tt.warned, a.logs)
		}
	}
}
