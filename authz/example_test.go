package authz_test

import (
	"context"
	"fmt"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func ExampleIndex_Decide() {
	ix := authz.Compile([]session.Role{
		{RoleID: "viewer", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
	})
	fmt.Println(ix.Decide([]string{"editor", "viewer"}, "documents", "read", nil))
	fmt.Println(ix.Decide([]string{"viewer"}, "documents", "write", nil))
	// Output:
	// [viewer editor]
	// []
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
