package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func Example() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})

	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := session.ConsumerFromContext(r.Context())
		fmt.Fprintln(w, a.Session.UserID == user.UserID, a.Source)
	})))
	mux.Handle("POST /logout", mw.LogoutHandler())

	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/me", nil)
		r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tokens.SessionJWT})
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	fmt.Print(get().Body)

	logout := httptest.NewRequest("POST", "/logout", nil)
	logout.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tokens.SessionJWT})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, logout)
	fmt.Println(w.Code, get().Code)
	// Output:
	// true local
	// 204 401
}
