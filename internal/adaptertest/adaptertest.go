package adaptertest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// WebhookSecret is the endpoint secret the emulator signs deliveries with.
const WebhookSecret = "whsec_c3R5dGNoZ3VhcmQtYWRhcHRlci10ZXN0LXNlY3JldA=="

// Route is one route an adapter's test mounts: either Handler, one of the
// middleware's handlers, served as is (gin.WrapH, echo.WrapHandler), or
// Guards in front of the framework's own handler, which answers Who.
type Route struct {
	Method string
	// Path uses ":name" for parameters, as gin and Echo do.
	Path    string
	Guards  []func(http.Handler) http.Handler
	Handler http.Handler
}

// Fixture is an emulator with a consumer and a B2B project's middleware
// and authorizers in front of it, and the people and machines of the story.
type Fixture struct {
	Server        *stytchtest.Server
	Consumer, B2B *middleware.Middleware
	// ConsumerRBAC and B2BRBAC are the projects' authorizers, with a
	// policy of viewer (documents: read) and editor (read, write).
	ConsumerRBAC, B2BRBAC *authz.Authorizer
	// EditorID and ViewerID are consumer users with those roles.
	EditorID, ViewerID string
	// MachineToken is an M2M access token with scope read:reports.
	MachineToken string

	deleted, stepper   string // user ids
	orgA, orgB, member string
}

// New starts the emulator and builds the middlewares.
func New(t testing.TB) *Fixture {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	policy := session.Policy{Roles: []session.Role{
		{RoleID: "viewer", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
	}}
	srv.SetPolicy(policy)
	srv.SetB2BPolicy(policy)
	f := &Fixture{Server: srv}
	var err error
	retry := &session.RetryPolicy{MaxAttempts: 1}
	consumer, b2b := srv.Config(), srv.Config()
	consumer.Retry, b2b.Retry = retry, retry
	b2b.B2B = true
	cc, err := session.New(consumer)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := session.New(b2b)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil)) // shown with -v or a failure
	if f.Consumer, err = middleware.New(middleware.Config{Client: cc, Now: srv.Now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Consumer.Close)
	if f.B2B, err = middleware.New(middleware.Config{Client: bc, Now: srv.Now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.B2B.Close)
	if f.ConsumerRBAC, err = authz.New(authz.Config{Client: cc, Now: srv.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.ConsumerRBAC.Close)
	if f.B2BRBAC, err = authz.New(authz.Config{Client: bc, Now: srv.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.B2BRBAC.Close)

	f.EditorID = srv.CreateUser(stytchtest.UserParams{Email: "editor@example.com", Roles: []string{"editor"}}).UserID
	f.ViewerID = srv.CreateUser(stytchtest.UserParams{Email: "viewer@example.com", Roles: []string{"viewer"}}).UserID
	f.deleted = srv.CreateUser(stytchtest.UserParams{Email: "leaving@example.com", Roles: []string{"viewer"}}).UserID
	f.stepper = srv.CreateUser(stytchtest.UserParams{Email: "sms@example.com", PhoneNumber: "+12025550123"}).UserID
	f.orgA = srv.CreateOrganization(stytchtest.OrganizationParams{}).OrganizationID
	f.orgB = srv.CreateOrganization(stytchtest.OrganizationParams{}).OrganizationID
	m, err := srv.CreateMember(f.orgA, stytchtest.MemberParams{Email: "member@example.com", Roles: []string{"viewer"}})
	if err != nil {
		t.Fatal(err)
	}
	f.member = m.MemberID
	client, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: []string{"read:reports"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.MachineToken, err = srv.IssueM2MToken(client.ClientID, "read:reports"); err != nil {
		t.Fatal(err)
	}
	return f
}

// Routes are what an adapter's test mounts, each guard through the
// adapter.
func (f *Fixture) Routes() []Route {
	c, b := f.Consumer, f.B2B
	org := authz.PathValue("org")
	routes := []Route{
		{Method: "GET", Path: "/optional", Guards: g(c.Authenticate)},
		{Method: "GET", Path: "/me", Guards: g(c.Require)},
		{Method: "GET", Path: "/documents", Guards: g(c.Require, f.ConsumerRBAC.Require("documents", "read"))},
		{Method: "POST", Path: "/documents", Guards: g(c.Require, f.ConsumerRBAC.Require("documents", "write"))},
		{Method: "GET", Path: "/reports", Guards: g(c.RequireMachine("read:reports"))},
		{Method: "GET", Path: "/either", Guards: g(c.RequireSessionOrMachine("read:reports"))},
		{Method: "POST", Path: "/transfer", Guards: g(c.Require, c.RequireFactor(10*time.Minute, middleware.Factor{Type: "otp", DeliveryMethod: "sms"}))},
		{Method: "POST", Path: "/logout", Handler: c.LogoutHandler()},
		{Method: "POST", Path: "/logout/all", Handler: c.LogoutAllHandler()},
		{Method: "POST", Path: "/webhooks", Handler: must(c.WebhookHandler(WebhookSecret))},
		{Method: "GET", Path: "/orgs/:org/documents", Guards: g(b.Require, authz.RequireOrganization(org), f.B2BRBAC.Require("documents", "read"))},
	}
	// A CORS preflight to each guarded path, through the same guards: each
	// answers it (204), and the framework's handler never runs.
	seen := map[string]bool{}
	for _, r := range routes[1:] {
		if r.Guards != nil && !seen[r.Path] {
			seen[r.Path] = true
			routes = append(routes, Route{Method: http.MethodOptions, Path: r.Path, Guards: r.Guards})
		}
	}
	return routes
}

// preflightPaths are the paths Routes guards, with a parameter filled in.
func (f *Fixture) preflightPaths() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range f.Routes() {
		if r.Method == http.MethodOptions && !seen[r.Path] {
			seen[r.Path] = true
			out = append(out, strings.ReplaceAll(r.Path, ":org", f.orgA))
		}
	}
	return out
}

func g(guards ...func(http.Handler) http.Handler) []func(http.Handler) http.Handler { return guards }

func must(h http.Handler, err error) http.Handler {
	if err != nil {
		panic(err)
	}
	return h
}

// Who is what the framework's handler behind Guards answers: the subject
// its adapter's accessors found, from a ConsumerAuth, MemberAuth or
// MachineAuth (nil when none).
func Who(c *stytchguard.ConsumerAuth, m *stytchguard.MemberAuth, machine *stytchguard.MachineAuth) string {
	switch {
	case c != nil:
		return "user " + c.Session.UserID
	case m != nil:
		return "member " + m.Session.MemberID + " of " + m.Session.OrganizationID
	case machine != nil:
		return "machine " + machine.ClientID
	}
	return "anonymous"
}

// request is one step of the story.
type request struct {
	name         string
	method, path string
	bearer       string
	cookies      map[string]string
	header       map[string]string
	want         int
	body         string // a substring the body holds
	check        func(t *testing.T, res *http.Response)
}

// Run tells the story to the adapter's app h: every case of the issue (no
// credential, cookie, Bearer, revoked, outage, wrong organization, missing
// permission, a machine on a person's route, logout clearing cookies,
// step-up, cross-origin, webhooks), each checked for the status, body and
// headers net/http's middleware gives.
func (f *Fixture) Run(t *testing.T, h http.Handler) {
	srv := f.Server
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	editor := f.Start(t, f.EditorID)
	viewer := f.Start(t, f.ViewerID)
	revoked := f.Start(t, f.ViewerID)
	if err := srv.RevokeSession(revoked.SessionID); err != nil {
		t.Fatal(err)
	}
	member, err := srv.StartMemberSession(f.member, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	now := session.NewTime(srv.Now())
	sms := session.AuthenticationFactor{Type: "otp", DeliveryMethod: "sms", LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
	stepped, err := srv.StartSession(f.stepper, stytchtest.SessionParams{Factors: []session.AuthenticationFactor{sms}})
	if err != nil {
		t.Fatal(err)
	}
	unstepped := f.Start(t, f.stepper)
	cookie := func(tok stytchtest.Tokens) map[string]string {
		return map[string]string{"stytch_session_jwt": tok.SessionJWT, "stytch_session": tok.SessionToken}
	}
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	steps := []request{
		{name: "no credential, optional", method: "GET", path: "/optional", want: 200, body: "anonymous"},
		{name: "no credential", method: "GET", path: "/me", want: 401, body: `"unauthenticated"`, check: header("Www-Authenticate", "Bearer")},
		{name: "cookie", method: "GET", path: "/me", cookies: cookie(editor), want: 200, body: "user " + f.EditorID},
		{name: "Bearer JWT", method: "GET", path: "/me", bearer: editor.SessionJWT, want: 200, body: "user " + f.EditorID},
		{name: "Bearer token", method: "GET", path: "/me", bearer: editor.SessionToken, want: 200, body: "user " + f.EditorID},
		{name: "garbage", method: "GET", path: "/me", bearer: "a.b.c", want: 401, body: "invalid_token"},
		{name: "revoked", method: "GET", path: "/me", bearer: revoked.SessionToken, want: 401, body: "invalid_token"},
		{name: "permission", method: "GET", path: "/documents", bearer: viewer.SessionJWT, want: 200, body: "user " + f.ViewerID},
		{name: "missing permission", method: "POST", path: "/documents", bearer: viewer.SessionJWT, want: 403},
		{name: "editor writes", method: "POST", path: "/documents", cookies: cookie(editor), header: same, want: 200, body: "user " + f.EditorID},
		{name: "cross-origin cookie write", method: "POST", path: "/documents", cookies: cookie(editor), header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, want: 403},
		{name: "machine on a person's route", method: "GET", path: "/me", bearer: f.MachineToken, want: 403, body: "session_required"},
		{name: "machine route", method: "GET", path: "/reports", bearer: f.MachineToken, want: 200, body: "machine "},
		{name: "person on a machine route", method: "GET", path: "/reports", bearer: editor.SessionJWT, want: 403, body: "insufficient_scope"},
		{name: "shared route, machine", method: "GET", path: "/either", bearer: f.MachineToken, want: 200, body: "machine "},
		{name: "shared route, person", method: "GET", path: "/either", bearer: editor.SessionJWT, want: 200, body: "user " + f.EditorID},
		{name: "step-up done", method: "POST", path: "/transfer", bearer: stepped.SessionJWT, want: 200, body: "user " + f.stepper},
		{name: "step-up needed", method: "POST", path: "/transfer", bearer: unstepped.SessionJWT, want: 403, body: "step_up_required", check: header("Www-Authenticate", "insufficient_user_authentication")},
		{name: "own organization", method: "GET", path: "/orgs/" + f.orgA + "/documents", bearer: member.SessionJWT, want: 200, body: "member " + f.member + " of " + f.orgA},
		{name: "wrong organization", method: "GET", path: "/orgs/" + f.orgB + "/documents", bearer: member.SessionJWT, want: 403},
	}
	for _, p := range f.preflightPaths() {
		steps = append(steps, request{name: "preflight", method: http.MethodOptions, path: p,
			header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}, want: 204})
	}
	for _, s := range steps {
		f.do(t, app.URL, s)
	}

	// An outage: Stytch answers 503 to everything. A token that must be
	// asked about is a 503 with Retry-After, never a sign-out.
	outage := f.Start(t, f.ViewerID)
	srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
	f.do(t, app.URL, request{name: "outage", method: "GET", path: "/me", bearer: outage.SessionToken, want: 503, body: "unavailable", check: header("Retry-After", "")})
	f.do(t, app.URL, request{name: "outage, cookie", method: "GET", path: "/me", cookies: map[string]string{"stytch_session": outage.SessionToken}, want: 503, check: noClearedCookie})
	srv.ClearFaults()

	// Logout clears the cookies and ends the session everywhere: the same
	// JWT is refused afterwards, though it has not expired.
	out := f.Start(t, f.ViewerID)
	f.do(t, app.URL, request{name: "logout", method: "POST", path: "/logout", cookies: cookie(out), header: same, want: 0, check: clearsCookies})
	f.do(t, app.URL, request{name: "after logout", method: "GET", path: "/me", bearer: out.SessionJWT, want: 401})
	if srv.SessionAlive(out.SessionID) {
		t.Fatal("logout: the session is still alive at Stytch")
	}
	a1, a2 := f.Start(t, f.ViewerID), f.Start(t, f.ViewerID)
	f.do(t, app.URL, request{name: "logout everywhere", method: "POST", path: "/logout/all", cookies: cookie(a1), header: same, want: 0, check: clearsCookies})
	f.do(t, app.URL, request{name: "the other device", method: "GET", path: "/me", bearer: a2.SessionJWT, want: 401})

	// A webhook: the user is deleted in Stytch's dashboard; the delivery
	// reaches the adapter's webhook route, and their fresh JWT stops
	// working at once.
	gone := f.Start(t, f.deleted)
	f.do(t, app.URL, request{name: "before deletion", method: "GET", path: "/me", bearer: gone.SessionJWT, want: 200})
	srv.SetWebhooks(stytchtest.WebhookConfig{Secret: WebhookSecret, URLs: []string{app.URL + "/webhooks"}})
	if err := srv.DeleteUser(f.deleted); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.WebhookStats().Delivered == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook was never delivered: %+v", srv.WebhookStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Advance(time.Second)
	f.do(t, app.URL, request{name: "after deletion", method: "GET", path: "/me", bearer: gone.SessionJWT, want: 401})
	f.do(t, app.URL, request{name: "unsigned delivery", method: "POST", path: "/webhooks", want: 400})
}

// Start starts a session for the user userID.
func (f *Fixture) Start(t testing.TB, userID string) stytchtest.Tokens {
	t.Helper()
	tok, err := f.Server.StartSession(userID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends s and checks the answer; want 0 is any 2xx or 3xx.
func (f *Fixture) do(t *testing.T, base string, s request) {
	t.Helper()
	req, err := http.NewRequest(s.method, base+s.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+s.bearer)
	}
	for name, value := range s.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if s.want == 0 && res.StatusCode >= 400 || s.want != 0 && res.StatusCode != s.want {
		t.Fatalf("%s: %s %s: %d %s, want %d", s.name, s.method, s.path, res.StatusCode, body, s.want)
	}
	if !strings.Contains(string(body), s.body) {
		t.Fatalf("%s: body %q does not hold %q", s.name, body, s.body)
	}
	if s.want == http.StatusNoContent && len(body) != 0 {
		t.Fatalf("%s: %s %s: a body after 204, the next handler ran: %q", s.name, s.method, s.path, body)
	}
	if res.StatusCode >= 400 && json.Valid(body) {
		var e struct {
			StatusCode int    `json:"status_code"`
			ErrorType  string `json:"error_type"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.StatusCode != res.StatusCode || e.ErrorType == "" {
			t.Fatalf("%s: the refusal's body is not the middleware's: %s", s.name, body)
		}
	}
	if s.check != nil {
		s.check(t, res)
	}
}

// header checks that the answer has header name holding substring sub.
func header(name, sub string) func(*testing.T, *http.Response) {
	return func(t *testing.T, res *http.Response) {
		t.Helper()
		v := res.Header.Get(name)
		if v == "" || !strings.Contains(v, sub) {
			t.Fatalf("header %s = %q, want one holding %q", name, v, sub)
		}
	}
}

func clearsCookies(t *testing.T, res *http.Response) {
	t.Helper()
	cleared := map[string]bool{}
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 && c.Value == "" {
			cleared[c.Name] = true
		}
	}
	for _, name := range []string{"stytch_session", "stytch_session_jwt"} {
		if !cleared[name] {
			t.Fatalf("logout did not clear %s: %v", name, res.Header["Set-Cookie"])
		}
	}
}

func noClearedCookie(t *testing.T, res *http.Response) {
	t.Helper()
	if sc := res.Header["Set-Cookie"]; len(sc) > 0 {
		t.Fatalf("an outage touched the cookies: %v", sc)
	}
}

// Token starts a session for the story's editor and returns its JWT.
func (f *Fixture) Token(t testing.TB) string {
	t.Helper()
	tok, err := f.Server.StartSession(f.EditorID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.SessionJWT
}

// Serve answers one request with h, as the frameworks' own tests do (an
// httptest.ResponseRecorder handed to the engine's ServeHTTP).
func (f *Fixture) Serve(h http.Handler, method, path, bearer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Bench serves GET path with a fresh session JWT of the editor's as Bearer,
// b.N times through h, after one request that puts the token in the
// cache: the cached request every adapter's benchmark measures. Every
// answer must be 200.
func (f *Fixture) Bench(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+f.Token(b))
	w := &sink{h: make(http.Header)}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.code = 0
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, w.code)
	}
}

// sink is a ResponseWriter that keeps only the status, so that a benchmark
// measures the handler rather than a recorder.
type sink struct {
	h    http.Header
	code int
}

func (s *sink) Header() http.Header { return s.h }
func (s *sink) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return len(p), nil
}
func (s *sink) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
