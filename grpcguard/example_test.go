package grpcguard_test

import (
	"context"
	"fmt"
	"net/http"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/grpcguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Per-method guards: the interceptors (g.Unary(), g.Stream()) go to
// grpc.NewServer; Authorize is what they run for each call.
func Example() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "viewer", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}}})
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	rbac, _ := authz.New(authz.Config{Client: srv.Client()})
	defer rbac.Close()
	g, _ := grpcguard.New(grpcguard.Config{
		Middleware: mw,
		Methods: map[string][]func(http.Handler) http.Handler{
			"/docs.Documents/Read":  {mw.Require, rbac.Require("documents", "read")},
			"/docs.Documents/Write": {mw.Require, rbac.Require("documents", "write")},
		},
	})

	viewer := srv.CreateUser(stytchtest.UserParams{Email: "vi@example.com", Roles: []string{"viewer"}})
	tok, _ := srv.StartSession(viewer.UserID, stytchtest.SessionParams{})
	incoming := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok.SessionJWT))
	for _, method := range []string{"/docs.Documents/Read", "/docs.Documents/Write"} {
		ctx, err := g.Authorize(incoming, method)
		if err != nil {
			fmt.Println(method, status.Code(err), status.Convert(err).Message())
			continue
		}
		u, _ := stytchguard.ConsumerFromContext(ctx)
		fmt.Println(method, "OK, for the viewer:", u.Session.UserID == viewer.UserID)
	}
	// Output:
	// /docs.Documents/Read OK, for the viewer: true
	// /docs.Documents/Write PermissionDenied the user is not authorized to perform the requested action
}
