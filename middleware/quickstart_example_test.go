package middleware_test

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

// The README's net/http quickstart is the body of this example, word for
// word (TestREADMECodeIsCompiled holds them equal): it compiles with every
// build, and cannot rot. The chi quickstart is in conformance/, the module
// that may require chi.

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
		u, _ := stytchguard.ConsumerFromContext(r.Context())
		fmt.Fprintf(w, "hello %s (session %s, verified %s)\n", u.Session.UserID, u.Session.SessionID, u.Source)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(http.HandlerFunc(me)))
	mux.Handle("POST /documents", mw.Require(rbac.Require("documents", "write")(http.HandlerFunc(me))))
	mux.Handle("GET /sessions", mw.SessionsHandler())
	mux.Handle("POST /logout", mw.LogoutHandler())
	mux.Handle("POST /logout-all", mw.LogoutAllHandler())
	log.Fatal(http.ListenAndServe(":8080", mux))
}
