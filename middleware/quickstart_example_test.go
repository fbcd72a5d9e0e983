package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

// The README's quickstarts are the bodies of these two examples, word for
// word (TestREADMECodeIsCompiled holds them equal): they compile with every
// build, and cannot rot.

func Example_chi() {
	client, err := session.New(session.Config{ProjectID: os.Getenv("STYTCH_PROJECT_ID"), Secret: os.Getenv("STYTCH_SECRET")})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Check(context.Background()); errors.Is(err, session.ErrCredentials) {
		log.Fatal(err) // a wrong secret: stop here, not with a 503 on every request
	}
	mw, err := middleware.New(middleware.Config{Client: client, B2B: true})
	if err != nil {
		log.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: client, B2B: true})
	if err != nil {
		log.Fatal(err)
	}
	documents := func(w http.ResponseWriter, r *http.Request) {
		m, _ := session.MemberFromContext(r.Context())
		fmt.Fprintf(w, "documents of %s for %s\n", m.Session.OrganizationID, m.Session.MemberID)
	}
	r := chi.NewRouter()
	r.Use(mw.Protect, mw.Authenticate) // Protect: no cross-site POSTs with the user's cookies
	r.Route("/orgs/{organization_id}", func(r chi.Router) {
		org := authz.OrganizationFrom(authz.URLParam("organization_id"))
		r.With(mw.Require, rbac.Require("documents", "read", org)).Get("/documents", documents)
	})
	r.Method("POST", "/logout", mw.LogoutHandler())
	r.Method("POST", "/logout-all", mw.LogoutAllHandler())
	log.Fatal(http.ListenAndServe(":8080", r))
}

func Example_netHTTP() {
	client, err := session.New(session.Config{ProjectID: os.Getenv("STYTCH_PROJECT_ID"), Secret: os.Getenv("STYTCH_SECRET")})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Check(context.Background()); errors.Is(err, session.ErrCredentials) {
		log.Fatal(err) // a wrong secret: stop here, not with a 503 on every request
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	me := func(w http.ResponseWriter, r *http.Request) {
		u, _ := session.ConsumerFromContext(r.Context())
		fmt.Fprintf(w, "hello %s (session %s, verified %s)\n", u.Session.UserID, u.Session.SessionID, u.Source)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(http.HandlerFunc(me)))
	mux.Handle("POST /documents", mw.Require(rbac.Require("documents", "write")(http.HandlerFunc(me))))
	mux.Handle("GET /sessions", mw.SessionsHandler())
	mux.Handle("POST /logout", mw.LogoutHandler())
	mux.Handle("POST /logout-all", mw.LogoutAllHandler())
	log.Fatal(http.ListenAndServe(":8080", mw.Protect(mux)))
}
