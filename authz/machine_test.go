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

// TestMachineScopesThroughThePolicy: an M2M token's scopes open a guard
// through the policy's scopes, as Stytch's RBAC has it.
func TestMachineScopesThroughThePolicy(t *testing.T) {
	for _, b2b := range []bool{false, true} {
		name := "consumer"
		if b2b {
			name = "b2b"
		}
		t.Run(name, func(t *testing.T) {
			srv := stytchtest.NewServer()
			defer srv.Close()
			policy := session.Policy{
				Roles: []session.Role{role("viewer", perm("documents", "read"))},
				Scopes: []session.Scope{
					{Scope: "read:documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
					{Scope: "admin:documents", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
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
				status             int
				errorType          string
				granting           []string
			}{
				{"a scope the policy maps", "GET", "/documents", []string{"read:documents"}, 200, "", []string{"read:documents"}},
				{"a wildcard action", "POST", "/documents", []string{"read:documents", "admin:documents"}, 200, "", []string{"admin:documents"}},
				{"not granted", "POST", "/documents", []string{"read:documents"}, 403, "m2m_authorization_error", nil},
				{"a scope the policy lacks", "GET", "/documents", []string{"documents:read"}, 403, "m2m_authorization_error", nil},
				{"a route bound to an organization", "GET", "/orgs/org-1/documents", []string{"read:documents"}, 403, "session_authorization_tenancy_error", nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := httptest.NewRequest(tc.method, tc.path, nil)
					r = r.WithContext(stytchguard.NewMachineContext(context.Background(), &stytchguard.MachineAuth{ClientID: "m2m-client-test-1", Scopes: tc.scopes}))
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, r)
					if rec.Code != tc.status {
						t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
					}
					if tc.status == 200 {
						var granting []string
						if err := json.Unmarshal(rec.Body.Bytes(), &granting); err != nil || !slices.Equal(granting, tc.granting) {
							t.Fatalf("granting %v, want %v", granting, tc.granting)
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
