package middleware_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

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

// An app's own sign-in endpoint (a magic link, OAuth or SSO callback that
// calls Stytch's authenticate) hands the session to the browser with the
// cookies the middleware reads.
func ExampleMiddleware_SetSessionCookies() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{}) // what the login returned

	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	rec := httptest.NewRecorder()
	mw.SetSessionCookies(rec, middleware.SignedIn{SessionToken: tokens.SessionToken, SessionJWT: tokens.SessionJWT, ExpiresAt: tokens.ExpiresAt})
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, c.Path, c.Secure, c.SameSite == http.SameSiteLaxMode, c.Value != "")
	}
	// Output:
	// stytch_session_jwt / true true true
	// stytch_session / true true true
	// stytch_intermediate_session_token / true true false
}

// Pages get a readable refusal, API clients the same JSON as before.
func ExampleHTMLErrorHandler() {
	refusal := &middleware.Error{Status: http.StatusForbidden, Code: middleware.CodeForbidden, Message: "cross-origin request refused"}
	for _, accept := range []string{"text/html", "application/json"} {
		r := httptest.NewRequest("GET", "/documents", nil)
		r.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		middleware.HTMLErrorHandler(rec, r, refusal)
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 403 text/html; charset=utf-8
	// 403 application/json
}

// "Sign out that device" and "sign out my other devices", next to the list
// of the caller's sessions.
func ExampleMiddleware_EndSessionHandler() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /sessions", mw.SessionsHandler())
	mux.Handle("POST /sessions/end", mw.EndSessionHandler())       // form value session_id
	mux.Handle("POST /sessions/others", mw.SignOutOthersHandler()) // all but this one

	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	here, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})
	phone, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})
	r := httptest.NewRequest("POST", "/sessions/end?session_id="+phone.SessionID, nil)
	r.Header.Set("Authorization", "Bearer "+here.SessionJWT)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	fmt.Println(rec.Code, srv.SessionAlive(phone.SessionID), srv.SessionAlive(here.SessionID))
	// Output: 204 false true
}

// A route that moves money needs a second factor from the last ten
// minutes, on top of a session.
func ExampleMiddleware_RequireFactor() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	transfer := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "sent") })
	h := mw.Require(mw.RequireFactor(10*time.Minute, middleware.Factor{Type: "totp"}, middleware.Factor{Type: "webauthn"})(transfer))

	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tokens, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{}) // an email magic link only
	r := httptest.NewRequest("POST", "/transfer", nil)
	r.Header.Set("Authorization", "Bearer "+tokens.SessionJWT)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 403 Bearer realm="stytchguard", error="insufficient_user_authentication", error_description="this needs a recent second factor", max_age="600", factors="totp webauthn"
}
