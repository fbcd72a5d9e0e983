// Command quickstart protects net/http routes with Stytch sessions.
//
// Run it against Stytch's emulator: in one terminal,
// go run github.com/stytchguard/stytchguard/cmd/stytch-emulator, and in
// another the export lines it prints, then go run . and
// curl -H "Authorization: Bearer $DEMO_SESSION_TOKEN" localhost:8080/me
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

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

	me := func(w http.ResponseWriter, r *http.Request) {
		u, _ := stytchguard.ConsumerFromContext(r.Context())
		fmt.Fprintf(w, "hello %s (session %s, checked %s)\n", u.Session.UserID, u.Session.SessionID, u.Source)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(http.HandlerFunc(me)))
	mux.Handle("POST /documents", mw.Require(rbac.Require("documents", "write")(http.HandlerFunc(me))))
	mux.Handle("POST /logout", mw.LogoutHandler())

	addr := "localhost:8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	log.Printf("listening on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
