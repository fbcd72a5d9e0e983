package conformance_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestGuardsOnChi runs authz's organization guard behind chi's router:
// authz reads route parameters with http.Request.PathValue, which chi sets
// for its parameters, through sub-routers too, so authz need not import chi.
func TestGuardsOnChi(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	perm := func(actions ...string) []session.Permission {
		return []session.Permission{{ResourceID: "documents", Actions: actions}}
	}
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{
		{RoleID: "stytch_member", Permissions: []session.Permission{}},
		{RoleID: "viewer", Permissions: perm("read")},
	}})
	acme := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	other := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Other"})
	viewer, err := srv.CreateMember(acme.OrganizationID, stytchtest.MemberParams{Email: "v@example.com", Roles: []string{"viewer"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.StartMemberSession(viewer.MemberID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: srv.B2BClient(), Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	rbac, err := authz.New(authz.Config{Client: srv.B2BClient()})
	if err != nil {
		t.Fatal(err)
	}
	defer rbac.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	r := chi.NewRouter()
	r.Use(mw.Authenticate)
	r.Route("/orgs/{organization_id}", func(r chi.Router) {
		org := authz.PathValue("organization_id")
		r.With(mw.Require, rbac.RequireIn(org, authz.Permission{ResourceID: "documents", Action: "read"})).Get("/documents", ok)
		r.With(mw.Require, rbac.RequireIn(org, authz.Permission{ResourceID: "documents", Action: "write"})).Post("/documents", ok)
	})
	r.With(mw.Require, rbac.Require("documents", "read")).Get("/documents", ok)

	tests := []struct {
		name, method, path, token string
		status                    int
		errorType                 string
	}{
		{"allowed", "GET", "/orgs/" + acme.OrganizationID + "/documents", tok.SessionToken, 200, ""},
		{"the session's own organization", "GET", "/documents", tok.SessionToken, 200, ""},
		{"denied", "POST", "/orgs/" + acme.OrganizationID + "/documents", tok.SessionToken, 403, "session_authorization_error"},
		{"another organization", "GET", "/orgs/" + other.OrganizationID + "/documents", tok.SessionToken, 403, "session_authorization_tenancy_error"},
		{"an empty organization segment", "GET", "/orgs//documents", tok.SessionToken, 403, "session_authorization_tenancy_error"},
		{"no session", "GET", "/orgs/" + acme.OrganizationID + "/documents", "", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.errorType) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.errorType)
			}
		})
	}
}
