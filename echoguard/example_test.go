package echoguard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/echoguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// An Echo app whose routes need a session, one of them a permission too;
// refusals are the middleware's.
func Example() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"write"}}}}}})
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	rbac, _ := authz.New(authz.Config{Client: srv.Client()})
	defer rbac.Close()

	e := echo.New()
	e.POST("/documents", func(c echo.Context) error {
		u, _ := echoguard.Consumer(c)
		return c.String(http.StatusOK, "saved for "+u.User.Emails[0].Email)
	}, echoguard.Wrap(mw.Require), echoguard.Wrap(rbac.Require("documents", "write")))
	e.POST("/logout", echo.WrapHandler(mw.LogoutHandler()))

	ed := srv.CreateUser(stytchtest.UserParams{Email: "ed@example.com", Roles: []string{"editor"}})
	tok, _ := srv.StartSession(ed.UserID, stytchtest.SessionParams{})
	for _, bearer := range []string{"", tok.SessionToken} {
		req := httptest.NewRequest("POST", "/documents", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			var refusal struct {
				ErrorType string `json:"error_type"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &refusal)
			fmt.Println(rec.Code, refusal.ErrorType)
			continue
		}
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 401 unauthenticated
	// 200 saved for ed@example.com
}

// A route whose guards are composed once, when it is registered.
func ExampleGuard() {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "reader", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}}})
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	rbac, _ := authz.New(authz.Config{Client: srv.Client()})
	defer rbac.Close()

	read := func(c echo.Context) error { return c.String(http.StatusOK, "the documents") }
	e := echo.New()
	e.GET("/documents", echoguard.Guard(read, mw.Require, rbac.Require("documents", "read")))
	e.POST("/documents", echoguard.Guard(read, mw.Require, rbac.Require("documents", "write")))

	rita := srv.CreateUser(stytchtest.UserParams{Email: "rita@example.com", Roles: []string{"reader"}})
	tok, _ := srv.StartSession(rita.UserID, stytchtest.SessionParams{})
	for _, method := range []string{"GET", "POST"} {
		req := httptest.NewRequest(method, "/documents", nil)
		req.Header.Set("Authorization", "Bearer "+tok.SessionToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(method, rec.Code)
	}
	// Output:
	// GET 200
	// POST 403
}
