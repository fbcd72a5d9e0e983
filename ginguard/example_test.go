package ginguard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/ginguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// A gin app whose routes need a session, one of them a permission too;
// refusals are the middleware's.
func Example() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"write"}}}}}})
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	rbac, _ := authz.New(authz.Config{Client: srv.Client()})
	defer rbac.Close()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	signedIn := r.Group("/", ginguard.Wrap(mw.Require))
	signedIn.POST("/documents", ginguard.Wrap(rbac.Require("documents", "write")), func(c *gin.Context) {
		u, _ := ginguard.Consumer(c)
		c.String(http.StatusOK, "saved for %s", u.User.Emails[0].Email)
	})
	r.POST("/logout", gin.WrapH(mw.LogoutHandler()))

	ed := srv.CreateUser(stytchtest.UserParams{Email: "ed@example.com", Roles: []string{"editor"}})
	tok, _ := srv.StartSession(ed.UserID, stytchtest.SessionParams{})
	for _, bearer := range []string{"", tok.SessionToken} {
		req := httptest.NewRequest("POST", "/documents", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
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
