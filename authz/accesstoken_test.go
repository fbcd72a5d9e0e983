package authz_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestAccessTokenScopesThroughThePolicy: a Connected Apps access token acts
// for its person with what its scopes grant through the policy's scopes,
// as Stytch's authorization check on introspection decides; the roles the
// person holds do not widen it. On a route bound to an organization, only
// a token of a member of it. The token is put in the context as a
// protected resource's guard puts it (middleware.Resource.Require or
// Resource.Authenticate, which checked that it is the resource's own: the
// middleware's tests hold that part); the session routes no longer let one
// through (middleware.TestResourceAuthenticate).
func TestAccessTokenScopesThroughThePolicy(t *testing.T) {
	for _, b2b := range []bool{false, true} {
		name, denied := "consumer", "consumer_session_authorization_error"
		if b2b {
			name, denied = "b2b", "session_authorization_error"
		}
		t.Run(name, func(t *testing.T) {
			srv := stytchtest.NewServer()
			defer srv.Close()
			policy := session.Policy{
				Roles: []session.Role{role("editor", perm("documents", "*"))},
				Scopes: []session.Scope{
					{Scope: "documents:read", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
					{Scope: "documents:write", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"write"}}}},
				},
			}
			if b2b {
				srv.SetB2BPolicy(policy)
			} else {
				srv.SetPolicy(policy)
			}
			a := newAuthorizer(t, srv, b2b, &clock{now: time.Now()})
			mux := http.NewServeMux()
			mux.Handle("GET /documents", a.Require("documents", "read")(verdictHandler))
			mux.Handle("POST /documents", a.Require("documents", "write")(verdictHandler))
			mux.Handle("GET /orgs/{organization_id}/documents", a.RequireIn(authz.PathValue("organization_id"), authz.Permission{ResourceID: "documents", Action: "read"})(verdictHandler))
			tests := []struct {
				name, method, path string
				scopes             []string
				org                string
				status             int
				errorType          string
			}{
				{"a scope granting it", "GET", "/documents", []string{"documents:read"}, "", 200, ""},
				{"the person may write, the token may not", "POST", "/documents", []string{"documents:read"}, "", 403, denied},
				{"granted by its own scope", "POST", "/documents", []string{"documents:read", "documents:write"}, "", 200, ""},
				{"a scope named like a wildcard grants nothing", "GET", "/documents", []string{"documents:*"}, "", 403, denied},
				{"the member's organization", "GET", "/orgs/org-1/documents", []string{"documents:read"}, "org-1", 200, ""},
				{"another organization", "GET", "/orgs/org-2/documents", []string{"documents:read"}, "org-1", 403, "session_authorization_tenancy_error"},
				{"a token of no organization", "GET", "/orgs/org-1/documents", []string{"documents:read"}, "", 403, "session_authorization_tenancy_error"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := httptest.NewRequest(tc.method, tc.path, nil)
					r = r.WithContext(stytchguard.NewAccessTokenContext(context.Background(), &stytchguard.AccessTokenAuth{
						Subject: "user-test-1", ClientID: "connected-app-test-1", Scopes: tc.scopes, OrganizationID: tc.org}))
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, r)
					if rec.Code != tc.status {
						t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
					}
					if tc.status == 200 {
						var granting []string
						if err := json.Unmarshal(rec.Body.Bytes(), &granting); err != nil || len(granting) == 0 || !slices.Contains(tc.scopes, granting[0]) {
							t.Fatalf("granting %v", granting)
						}
						return
					}
					var b map[string]any
					_ = json.Unmarshal(rec.Body.Bytes(), &b)
					if b["error_type"] != tc.errorType {
						t.Fatalf("error_type %v, want %s", b["error_type"], tc.errorType)
					}
				})
			}
		})
	}
}
