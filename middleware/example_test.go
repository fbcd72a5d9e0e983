package middleware_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

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

// Stytch's webhooks, verified with the endpoint's signing secret, make
// changes made in the dashboard take effect on the changed person's next
// request.
func ExampleMiddleware_WebhookHandler() {
	client, err := session.New(session.Config{ProjectID: os.Getenv("STYTCH_PROJECT_ID"), Secret: os.Getenv("STYTCH_SECRET")})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	hooks, err := mw.WebhookHandler(os.Getenv("STYTCH_WEBHOOK_SECRET")) // whsec_..., from the dashboard
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/stytch", hooks)
}
