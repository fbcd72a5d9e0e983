package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
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
		a, _ := stytchguard.ConsumerFromContext(r.Context())
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

// A complete sign-in endpoint of the app's own: the magic link's callback
// trades the link's token for a session at Stytch (here the emulator stands
// in for the Go SDK's MagicLinks.Authenticate), and hands it to the browser
// with the cookies the middleware reads. A Stytch outage is a 503 the person
// can retry, never "the link is invalid".
func ExampleMiddleware_SetSessionCookies_signInEndpoint() {
	srv := stytchtest.NewServer() // stands in for Stytch
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	mw, err := middleware.New(middleware.Config{Client: srv.Client(), Cookies: middleware.Cookies{HTTPOnly: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close()

	// authenticate is the app's call to Stytch's magic link authenticate
	// (stytch-go: MagicLinks.Authenticate with the token and a
	// SessionDurationMinutes), returning the session it started.
	authenticate := func(ctx context.Context, token string) (middleware.SignedIn, error) {
		if token != "link-token-from-the-email" {
			return middleware.SignedIn{}, &session.APIError{StatusCode: 404, ErrorType: "magic_link_not_found"}
		}
		t, err := srv.StartSession(user.UserID, stytchtest.SessionParams{Duration: time.Hour})
		return middleware.SignedIn{SessionToken: t.SessionToken, SessionJWT: t.SessionJWT, ExpiresAt: t.ExpiresAt}, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authenticate", func(w http.ResponseWriter, r *http.Request) {
		signedIn, err := authenticate(r.Context(), r.URL.Query().Get("token"))
		switch {
		case errors.Is(err, session.ErrUnavailable):
			w.Header().Set("Retry-After", "5")
			http.Error(w, "Stytch cannot be reached right now: open the link again in a moment.", http.StatusServiceUnavailable)
		case err != nil:
			http.Redirect(w, r, "/sign-in?link=expired", http.StatusSeeOther)
		default:
			mw.SetSessionCookies(w, signedIn)
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	})

	for _, token := range []string{"link-token-from-the-email", "a-spent-link"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/authenticate?token="+token, nil))
		fmt.Println(rec.Code, rec.Header().Get("Location"), len(rec.Result().Cookies()))
	}
	// Output:
	// 303 / 3
	// 303 /sign-in?link=expired 0
}

// Pages get a readable refusal, API clients the same JSON as before.
func Example_refusalPages() {
	refusal := &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeForbidden, Message: "cross-origin request refused"}
	for _, accept := range []string{"text/html", "application/json"} {
		r := httptest.NewRequest("GET", "/documents", nil)
		r.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		stytchguard.WriteRefusalPage(rec, r, refusal)
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

// A route for other services: an M2M client gets a token from Stytch's
// token endpoint with its own id and secret, and calls the route with it.
// The token is verified locally, like a session JWT; people's sessions are
// refused there with 403 insufficient_scope.
func ExampleMiddleware_RequireMachine() {
	srv := stytchtest.NewServer()
	defer srv.Close()
	client := srv.Client()
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	reports := mw.RequireMachine("read:reports")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := stytchguard.MachineFromContext(r.Context())
		fmt.Fprintln(w, "reports for", m.ClientID == "reporting-job", m.Scopes)
	}))

	// The caller's side: a client with the scope, and a token for it from
	// Stytch's OAuth2 token endpoint (the client-credentials grant).
	created, _ := srv.CreateM2MClient(stytchtest.M2MClientParams{ClientID: "reporting-job", Scopes: []string{"read:reports"}})
	res, err := http.PostForm(srv.URL+"/v1/public/"+srv.ProjectID()+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {created.ClientID}, "client_secret": {created.ClientSecret}})
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/api/reports", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	w := httptest.NewRecorder()
	reports.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output: 200 reports for true [read:reports]
}

// Typed custom claims: configured once, decoded once per verified token,
// read in handlers without a map.
func ExampleMiddleware_claims() {
	srv := stytchtest.NewServer()
	defer srv.Close()
	type Claims struct {
		Plan  string `json:"plan"`
		Seats int    `json:"seats"`
	}
	mw, err := middleware.New(middleware.Config{Client: srv.Client(), Claims: stytchguard.ClaimsOf[Claims]()})
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	h := mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := stytchguard.Claims[Claims](r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, c.Plan, c.Seats)
	}))
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "team", "seats": 12}})
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tok.SessionJWT})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body)
	// Output: team 12
}

// Routes for services, and routes that people and services share.
func ExampleMiddleware_RequireSessionOrMachine() {
	client, err := session.New(session.Config{ProjectID: os.Getenv("STYTCH_PROJECT_ID"), Secret: os.Getenv("STYTCH_SECRET")})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := stytchguard.MachineFromContext(r.Context()) // the client and its scopes
		fmt.Fprintf(w, "reports for %s\n", m.ClientID)
	})
	documents := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m, ok := stytchguard.MachineFromContext(r.Context()); ok {
			fmt.Fprintf(w, "documents for service %s\n", m.ClientID)
			return
		}
		u, _ := stytchguard.ConsumerFromContext(r.Context())
		fmt.Fprintf(w, "documents for user %s\n", u.Session.UserID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/reports", mw.RequireMachine("read:reports")(reports))                // services only
	mux.Handle("GET /api/documents", mw.RequireSessionOrMachine("read:documents")(documents)) // people or services
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// A protected resource: an MCP server (or any API) that AI agents and
// third-party apps call with the access tokens Stytch issues them through
// Connected Apps, acting for one of the project's users. A request without
// one is answered with the challenge from which an MCP client discovers
// the authorization server.
func ExampleMiddleware_Resource() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()

	res, err := mw.Resource(middleware.ProtectedResource{
		URL:    "https://notes.example.com/mcp",
		Scopes: []string{"notes:read", "notes:write"},
		// Only tokens requested for this URL (RFC 8707's resource, which
		// MCP clients send): one for another server is refused.
		Audiences: []string{"https://notes.example.com/mcp"},
		// AuthorizationServers: the project's domain, also in Verification.Issuers.
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+res.MetadataPath(), res.MetadataHandler()) // RFC 9728
	mux.Handle("/mcp", res.Require("notes:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := stytchguard.AccessTokenFromContext(r.Context())
		fmt.Fprintf(w, "%s acts for %s with %v", at.ClientID, at.Subject, at.Scopes)
	})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mcp", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	// A CORS preflight carries no token: the guard answers it (204, without
	// CORS headers: put a CORS layer in front, docs/guide.md#cors), and the
	// handler, which needs a token, never runs.
	preflight := httptest.NewRequest("OPTIONS", "/mcp", nil)
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, preflight)
	fmt.Println(rec.Code)
	// Output:
	// 401 Bearer realm="stytchguard", resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp", scope="notes:read"
	// 204
}

// An MCP server's endpoint behind RequireMCP: each tool needs its own
// scopes, read from the JSON-RPC body exactly as the MCP Go SDK reads it.
// A body the SDK and a looser reader could read as different tools is
// refused before the server sees it.
func ExampleResource_RequireMCP() {
	srv := stytchtest.NewServer() // Stytch's emulator: session.New(session.Config{...}) in an app
	defer srv.Close()
	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	res, err := mw.Resource(middleware.ProtectedResource{
		URL:    "https://notes.example.com/mcp",
		Scopes: []string{"notes:read", "notes:write"},
		// Only tokens requested for this URL (RFC 8707's resource, which
		// MCP clients send): one for another server is refused.
		Audiences: []string{"https://notes.example.com/mcp"},
	})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := res.RequireMCP(middleware.MCP{
		Scopes: []string{"notes:read"}, // every request
		Tools: map[string][]string{
			"list_notes": nil,             // notes:read alone
			"add_note":   {"notes:write"}, // and notes:write
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mcpServer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}) // mcp.NewStreamableHTTPHandler(...)
	mux := http.NewServeMux()
	mux.Handle("GET "+res.MetadataPath(), res.MetadataHandler())
	mux.Handle("/mcp", guard(mcpServer))

	// An agent a person granted notes:read alone.
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	agent, _ := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	token, _ := srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: u.UserID, ClientID: agent.ClientID,
		Scopes: []string{"notes:read"}, Resources: []string{"https://notes.example.com/mcp"}})
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_notes"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_note","arguments":{"title":"Minutes"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add_note","Name":"list_notes"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"drop_notes"}}`,
	} {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		if challenge := rec.Header().Get("WWW-Authenticate"); challenge != "" {
			fmt.Println(rec.Code, challenge)
		} else {
			fmt.Println(rec.Code)
		}
	}
	// Output:
	// 200
	// 403 Bearer realm="stytchguard", error="insufficient_scope", error_description="the access token lacks scope notes:write", scope="notes:read notes:write", resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp"
	// 400 Bearer realm="stytchguard", error="invalid_request", error_description="the body is not one JSON-RPC message, or a batch of them, read strictly"
	// 403
}

// A route that people and agents share: a person's session as
// Authenticate takes it, and a Connected Apps access token only when the
// resource would take it (its own: here, requested for its URL). Put the
// authz guards after it to decide the person by roles and the token by
// scopes. On a route behind mw.Authenticate alone, an access token is
// refused.
func ExampleResource_Authenticate() {
	srv := stytchtest.NewServer()
	defer srv.Close()
	user := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	person, _ := srv.StartSession(user.UserID, stytchtest.SessionParams{})
	agent, _ := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	token, _ := srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: user.UserID, ClientID: agent.ClientID,
		Scopes: []string{"notes:read"}, Resources: []string{"https://notes.example.com/api"}})

	mw, _ := middleware.New(middleware.Config{Client: srv.Client()})
	defer mw.Close()
	res, err := mw.Resource(middleware.ProtectedResource{URL: "https://notes.example.com/api", Audiences: []string{"https://notes.example.com/api"}})
	if err != nil {
		log.Fatal(err)
	}
	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if at, ok := stytchguard.AccessTokenFromContext(r.Context()); ok {
			fmt.Fprintln(w, "notes for an agent of", at.Subject == user.UserID)
			return
		}
		u, ok := stytchguard.ConsumerFromContext(r.Context())
		fmt.Fprintln(w, "notes for the person", ok && u.Session.UserID == user.UserID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/notes", res.Authenticate(notes)) // people and agents
	mux.Handle("GET /app/notes", mw.Authenticate(notes))  // people only

	for _, c := range []struct{ path, bearer string }{
		{"/api/notes", person.SessionJWT},
		{"/api/notes", token},
		{"/app/notes", token},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		r.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			var refusal struct {
				ErrorType string `json:"error_type"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &refusal)
			fmt.Println(rec.Code, refusal.ErrorType)
			continue
		}
		fmt.Print(rec.Code, " ", rec.Body)
	}
	// Output:
	// 200 notes for the person true
	// 200 notes for an agent of true
	// 401 invalid_token
}
