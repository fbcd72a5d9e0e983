// Command echo protects Echo routes with Stytch sessions through
// echoguard: the same middleware, guards, handlers and refusals as
// net/http.
//
// Run it against Stytch's emulator: in one terminal,
// go run github.com/stytchguard/stytchguard/cmd/stytch-emulator, and in
// another the export lines it prints, then go run ./echo and
// curl -H "Authorization: Bearer $DEMO_SESSION_TOKEN" localhost:8080/me
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/echoguard"
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

	me := func(c echo.Context) error {
		u, _ := echoguard.Consumer(c)
		return c.JSON(http.StatusOK, map[string]string{"user_id": u.Session.UserID, "session_id": u.Session.SessionID})
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	signedIn := echoguard.Wrap(mw.Require)
	e.GET("/me", me, signedIn)
	// Guard composes a route's guards once, at registration: cheaper than
	// route middleware, which Echo v4 applies anew on every request.
	e.GET("/documents", echoguard.Guard(me, mw.Require, rbac.Require("documents", "read")))
	e.POST("/documents", echoguard.Guard(me, mw.Require, rbac.Require("documents", "write")))
	e.GET("/reports", func(c echo.Context) error {
		m, _ := echoguard.Machine(c)
		return c.JSON(http.StatusOK, map[string]string{"client_id": m.ClientID})
	}, echoguard.Wrap(mw.RequireMachine("read:reports")))
	e.POST("/logout", echo.WrapHandler(mw.LogoutHandler()))
	e.POST("/logout/all", echo.WrapHandler(mw.LogoutAllHandler()))

	addr := "localhost:8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	log.Printf("listening on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, e))
}
