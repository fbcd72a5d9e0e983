// Command quickstart protects a B2B app's chi routes with Stytch member
// sessions: every route under /orgs/{organization_id} belongs to that
// organization.
//
// Run it against Stytch's emulator: in one terminal,
// go run github.com/stytchguard/stytchguard/cmd/stytch-emulator, and in
// another the export lines it prints, then go run . and
// curl -H "Authorization: Bearer $DEMO_MEMBER_SESSION_TOKEN" localhost:8080/orgs/<organization_id>/documents
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

func main() {
	client, err := session.New(session.Config{
		ProjectID: os.Getenv("STYTCH_PROJECT_ID"),
		Secret:    os.Getenv("STYTCH_SECRET"),
		BaseURL:   os.Getenv("STYTCH_BASE_URL"), // empty: Stytch itself
		B2B:       true,                         // members of organizations, set once here
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Check(context.Background()); errors.Is(err, session.ErrCredentials) {
		log.Fatal(err) // a wrong secret: stop here, not with a 503 on every request
	} else if err != nil {
		log.Printf("Stytch cannot be reached yet, requests will answer 503 until it can: %v", err)
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}

	documents := func(w http.ResponseWriter, r *http.Request) {
		m, _ := stytchguard.MemberFromContext(r.Context())
		fmt.Fprintf(w, "documents of %s for %s\n", m.Session.OrganizationID, m.Session.MemberID)
	}
	org := authz.PathValue("organization_id")
	r := chi.NewRouter()
	r.Route("/orgs/{organization_id}", func(r chi.Router) {
		r.Use(mw.Require, authz.RequireOrganization(org)) // a member of another organization: 403
		r.Get("/documents", documents)
		r.With(rbac.Require("documents", "write")).Post("/documents", documents)
		r.Method(http.MethodPost, "/logout", mw.LogoutHandler())
	})

	addr := "localhost:8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	log.Printf("listening on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, r))
}
