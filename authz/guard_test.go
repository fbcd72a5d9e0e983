package authz_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// withMember stands in for the middleware: it authenticates the Bearer
// token with Stytch and puts the member session in the context.
func withMember(client *session.Client) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok := r.Header.Get("Authorization"); len(tok) > 7 {
				res, err := client.B2B.Authenticate(r.Context(), session.B2BAuthenticateParams{SessionToken: tok[7:]})
				if err == nil {
					r = r.WithContext(stytchguard.NewMemberContext(r.Context(), &stytchguard.MemberAuth{Session: res.MemberSession, Source: stytchguard.SourceStytch}))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func withConsumer(client *session.Client) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok := r.Header.Get("Authorization"); len(tok) > 7 {
				res, err := client.Consumer.Authenticate(r.Context(), session.AuthenticateParams{SessionToken: tok[7:]})
				if err == nil {
					r = r.WithContext(stytchguard.NewConsumerContext(r.Context(), &stytchguard.ConsumerAuth{Session: res.Session, Source: stytchguard.SourceStytch}))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// verdictHandler answers 200 with the granting roles from the context.
var verdictHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	v, ok := stytchguard.VerdictFromContext(r.Context())
	if !ok {
		http.Error(w, "no verdict", 500)
		return
	}
	_ = json.NewEncoder(w).Encode(v.GrantingRoles)
})

func TestGuardsOnServeMux(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{
		role("stytch_member"),
		role("viewer", perm("documents", "read")),
		role("editor", perm("documents", "read", "write")),
	}})
	acme := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	other := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Other"})
	viewer, _ := srv.CreateMember(acme.OrganizationID, stytchtest.MemberParams{Email: "v@example.com", Roles: []string{"viewer"}})
	vtok, _ := srv.StartMemberSession(viewer.MemberID, stytchtest.SessionParams{})
	client := srv.Client()
	a := newAuthorizer(t, srv, true, &clock{now: time.Now()})

	mux := http.NewServeMux()
	org := authz.PathValue("organization_id")
	mux.Handle("GET /orgs/{organization_id}/documents", a.RequireIn(org, authz.Permission{ResourceID: "documents", Action: "read"})(verdictHandler))
	mux.Handle("POST /orgs/{organization_id}/documents", a.RequireIn(org, authz.Permission{ResourceID: "documents", Action: "write"})(verdictHandler))
	mux.Handle("GET /documents", a.Require("documents", "read")(verdictHandler))

	tests := []struct {
		name, method, path, token string
		status                    int
		errorType                 string
		granting                  []string
	}{
		{"allowed", "GET", "/orgs/" + acme.OrganizationID + "/documents", vtok.SessionToken, 200, "", []string{"viewer"}},
		{"the session's own organization", "GET", "/documents", vtok.SessionToken, 200, "", []string{"viewer"}},
		{"denied", "POST", "/orgs/" + acme.OrganizationID + "/documents", vtok.SessionToken, 403, "session_authorization_error", nil},
		{"another organization", "GET", "/orgs/" + other.OrganizationID + "/documents", vtok.SessionToken, 403, "session_authorization_tenancy_error", nil},
		{"no session", "GET", "/orgs/" + acme.OrganizationID + "/documents", "", 401, "unauthenticated", nil},
	}
	for _, router := range []struct {
		name string
		h    http.Handler
	}{{"ServeMux", withMember(client)(mux)}} { // chi: conformance/chi_test.go
		for _, tt := range tests {
			t.Run(router.name+"/"+tt.name, func(t *testing.T) {
				rec := serveBearer(router.h, tt.method, tt.path, tt.token)
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				if tt.status == 200 {
					var got []string
					_ = json.Unmarshal(rec.Body.Bytes(), &got)
					if !slices.Equal(got, tt.granting) {
						t.Fatalf("granting roles %v, want %v", got, tt.granting)
					}
					return
				}
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				if body["error_type"] != tt.errorType || body["status_code"] != float64(tt.status) || body["request_id"] == "" || body["error_message"] == "" {
					t.Fatalf("body %v", body)
				}
				if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
					t.Fatalf("401 without a challenge")
				}
			})
		}
	}
}

func TestEmptyOrganizationIsATenancyRefusal(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{role("stytch_member", perm("documents", "read"))}})
	acme := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, _ := srv.CreateMember(acme.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
	tok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	a := newAuthorizer(t, srv, true, &clock{now: time.Now()})

	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{organization_id}/documents", a.RequireIn(authz.PathValue("organization_id"), authz.Permission{ResourceID: "documents", Action: "read"})(verdictHandler))
	r := withMember(srv.Client())(mux)
	empty := withMember(srv.Client())(a.RequireIn(func(*http.Request) string { return "" }, authz.Permission{ResourceID: "documents", Action: "read"})(verdictHandler))
	tests := []struct {
		name string
		h    http.Handler
		path string
		want int
	}{
		{"own organization in the URL", r, "/orgs/" + acme.OrganizationID + "/documents", 200},
		// chi's empty segment (/orgs//documents): conformance/chi_test.go.
		{"any router, the function finds none", empty, "/documents", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveBearer(tt.h, "GET", tt.path, tok.SessionToken)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 403 && !strings.Contains(rec.Body.String(), "session_authorization_tenancy_error") {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
}

func TestConsumerGuardAndPolicyOutage(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{role("viewer", perm("documents", "read"))}})
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com", Roles: []string{"viewer"}})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	client := srv.Client()
	clk := &clock{now: time.Now()}
	a := newAuthorizer(t, srv, false, clk)
	h := withConsumer(client)(a.Require("documents", "write")(verdictHandler))
	get := func() *httptest.ResponseRecorder { return serveBearer(h, "GET", "/", tok.SessionToken) }
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 503})
	if rec := get(); rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("policy never loaded: %d, want 503 (not 403)", rec.Code)
	}
	srv.ClearFaults()
	clk.Advance(13 * time.Second) // past the pause after the failure
	rec := get()
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 403 || body["error_type"] != "consumer_session_authorization_error" {
		t.Fatalf("%d %v", rec.Code, body)
	}
}

func TestRequireOrganization(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	acme := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	other := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Other"})
	m, _ := srv.CreateMember(acme.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
	tok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("GET /orgs/{organization_id}/me", authz.RequireOrganization(authz.PathValue("organization_id"))(ok))
	h := withMember(srv.Client())(mux)
	none := withMember(srv.Client())(authz.RequireOrganization(func(*http.Request) string { return "" })(ok))
	tests := []struct {
		name  string
		h     http.Handler
		path  string
		token string
		want  int
		body  string
	}{
		{"own organization", h, "/orgs/" + acme.OrganizationID + "/me", tok.SessionToken, 204, ""},
		{"another organization", h, "/orgs/" + other.OrganizationID + "/me", tok.SessionToken, 403, "session_authorization_tenancy_error"},
		{"no organization named", none, "/me", tok.SessionToken, 403, "session_authorization_tenancy_error"},
		{"no session", h, "/orgs/" + acme.OrganizationID + "/me", "", 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveBearer(tt.h, "GET", tt.path, tt.token)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.want, tt.body)
			}
		})
	}
}

func TestRequireAny(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{
		role("stytch_user"),
		role("viewer", perm("documents", "read")),
		role("editor", perm("documents", "read", "write")),
		role("auditor", perm("logs", "read")),
	}})
	a := newAuthorizer(t, srv, false, &clock{now: time.Now()})
	h := withConsumer(srv.Client())(a.RequireAny(authz.Permission{ResourceID: "documents", Action: "write"}, authz.Permission{ResourceID: "logs", Action: "read"})(verdictHandler))
	none := withConsumer(srv.Client())(a.RequireAny()(verdictHandler))
	tests := []struct {
		name     string
		h        http.Handler
		roles    []string
		status   int
		granting []string
	}{
		{"the first permission", h, []string{"editor"}, 200, []string{"editor"}},
		{"the second permission", h, []string{"auditor"}, 200, []string{"auditor"}},
		{"neither", h, []string{"viewer"}, 403, nil},
		{"no permission named", none, []string{"editor"}, 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com", Roles: tt.roles})
			tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
			rec := serveBearer(tt.h, "GET", "/", tok.SessionToken)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 403 && !strings.Contains(rec.Body.String(), "consumer_session_authorization_error") {
				t.Fatalf("body %s", rec.Body)
			}
			if tt.status == 200 {
				var got []string
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				if !slices.Equal(got, tt.granting) {
					t.Fatalf("granting %v, want %v", got, tt.granting)
				}
			}
		})
	}
}

// TestErrorHandler: a guard answers its refusals with the ErrorHandler the
// middleware recorded in the request (stytchguard.WithErrorHandler): one
// handler for the app, the guards' 401, 403 and tenancy refusals included.
// Without one, WriteRefusal's JSON with its challenge.
func TestErrorHandler(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{{RoleID: "stytch_member", Permissions: []session.Permission{}}}})
	acme := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, _ := srv.CreateMember(acme.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
	tok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	page := func(w http.ResponseWriter, _ *http.Request, rf *stytchguard.Refusal) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rf.Status)
		_, _ = w.Write([]byte("<p>page: " + rf.Code + ": " + rf.Message + "</p>"))
	}
	az, err := authz.New(authz.Config{Client: srv.B2BClient()})
	if err != nil {
		t.Fatal(err)
	}
	defer az.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	org := authz.PathValue("organization_id")
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{organization_id}/documents", az.RequireIn(org, authz.Permission{ResourceID: "documents", Action: "write"})(ok))
	mux.Handle("GET /orgs/{organization_id}/me", authz.RequireOrganization(org)(ok))
	withPage := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(stytchguard.WithErrorHandler(r.Context(), page)))
		})
	}
	pages, json := withMember(srv.Client())(withPage(mux)), withMember(srv.Client())(mux)
	tests := []struct {
		name, path, token string
		h                 http.Handler
		want              int
		body, challenge   string
	}{
		{"denied, the recorded handler", "/orgs/" + acme.OrganizationID + "/documents", tok.SessionToken, pages, 403, "<p>page: session_authorization_error", ""},
		{"no session, the recorded handler", "/orgs/" + acme.OrganizationID + "/documents", "", pages, 401, "<p>page: unauthenticated", ""},
		{"tenancy, the recorded handler", "/orgs/other/me", tok.SessionToken, pages, 403, "<p>page: session_authorization_tenancy_error", ""},
		{"denied, JSON by default", "/orgs/" + acme.OrganizationID + "/documents", tok.SessionToken, json, 403, `"error_type":"session_authorization_error"`, ""},
		{"no session, JSON with the challenge", "/orgs/" + acme.OrganizationID + "/documents", "", json, 401, `"error_type":"unauthenticated"`, `Bearer realm="stytchguard"`},
		{"tenancy, JSON by default", "/orgs/other/me", tok.SessionToken, json, 403, `"error_type":"session_authorization_tenancy_error"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveBearer(tt.h, "GET", tt.path, tt.token)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.body) || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("%d %q %q, want %d %q %q", rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"), tt.want, tt.body, tt.challenge)
			}
		})
	}
}

// serveBearer serves one request to h, with token as its Bearer credential
// unless it is empty.
func serveBearer(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
