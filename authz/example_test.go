package authz_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Authorize decides locally, as Stytch's authorization_check would, for
// code that is not an HTTP handler.
func ExampleAuthorizer_Authorize() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{
		{RoleID: "viewer", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
	}})
	a, err := authz.New(authz.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	v, err := a.Authorize(context.Background(), authz.Check{Roles: []string{"editor", "viewer"}, ResourceID: "documents", Action: "read"})
	fmt.Println(v.GrantingRoles, err)
	_, err = a.Authorize(context.Background(), authz.Check{Roles: []string{"viewer"}, ResourceID: "documents", Action: "write"})
	fmt.Println(errors.Is(err, authz.ErrDenied))
	// Output:
	// [viewer editor] <nil>
	// true
}

func ExampleAuthorizer_Require() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{
		{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
	}})

	a, err := authz.New(authz.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer a.Close()

	// In an app: mux.Handle("POST /documents", a.Require("documents", "write")(handler)),
	// behind the middleware that puts the session in the context.
	_ = a.Require("documents", "write")

	v, err := a.Authorize(context.Background(), authz.Check{Roles: []string{"stytch_user", "editor"}, ResourceID: "documents", Action: "write"})
	fmt.Println(v.GrantingRoles, err)
	// Output: [editor] <nil>
}

// Routes under /orgs/{organization_id} that need no permission still belong
// to one organization: RequireOrganization refuses a member of another.
func ExampleRequireOrganization() {
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := stytchguard.MemberFromContext(r.Context())
		fmt.Fprintln(w, m.Session.MemberID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{organization_id}/me", authz.RequireOrganization(authz.PathValue("organization_id"))(me))

	m := &stytchguard.MemberAuth{Session: session.MemberSession{MemberID: "member-test-1", OrganizationID: "organization-test-a"}}
	for _, org := range []string{"organization-test-a", "organization-test-b"} {
		req := httptest.NewRequest("GET", "/orgs/"+org+"/me", nil)
		req = req.WithContext(stytchguard.NewMemberContext(req.Context(), m))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(org, rec.Code)
	}
	// Output:
	// organization-test-a 200
	// organization-test-b 403
}

// A route that editors and auditors may both open.
func ExampleAuthorizer_RequireAny() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	a, err := authz.New(authz.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	guard := a.RequireAny(authz.Permission{ResourceID: "documents", Action: "write"}, authz.Permission{ResourceID: "logs", Action: "read"})
	_ = guard // mux.Handle("GET /history", mw.Require(guard(history)))
}
