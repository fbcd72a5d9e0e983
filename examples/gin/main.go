// Command gin protects gin routes with Stytch sessions through ginguard:
// the same middleware, guards, handlers and refusals as net/http.
//
// Run it against Stytch's emulator: in one terminal,
// go run github.com/stytchguard/stytchguard/cmd/stytch-emulator, and in
// another the export lines it prints, then go run ./gin and
// curl -H "Authorization: Bearer $DEMO_SESSION_TOKEN" localhost:8080/me
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/ginguard"
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
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	rbac, err := authz.New(authz.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}

	me := func(c *gin.Context) {
		u, _ := ginguard.Consumer(c)
		c.JSON(http.StatusOK, gin.H{"user_id": u.Session.UserID, "session_id": u.Session.SessionID})
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	signedIn := r.Group("/", ginguard.Wrap(mw.Require))
	signedIn.GET("/me", me)
	signedIn.GET("/documents", ginguard.Wrap(rbac.Require("documents", "read")), me)
	signedIn.POST("/documents", ginguard.Wrap(rbac.Require("documents", "write")), me)
	r.GET("/reports", ginguard.Wrap(mw.RequireMachine("read:reports")), func(c *gin.Context) {
		m, _ := ginguard.Machine(c)
		c.JSON(http.StatusOK, gin.H{"client_id": m.ClientID})
	})
	r.POST("/logout", gin.WrapH(mw.LogoutHandler()))
	r.POST("/logout/all", gin.WrapH(mw.LogoutAllHandler()))

	addr := "localhost:8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	log.Printf("listening on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, r))
}
