package middleware_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The hostile-upstream suite: a fake Stytch that answers what a
// misconfigured proxy, a captive portal or a wrong DNS entry would, for one
// endpoint at a time, and forwards the rest to the emulator. No anomaly may
// let a request in, sign anyone out, or send anything to a redirect's
// target.

// anomaly is one way of answering that Stytch never would.
type anomaly struct {
	name string
	// serve answers the request; target is a server that must receive
	// nothing (redirects point at it).
	serve func(w http.ResponseWriter, r *http.Request, target *httptest.Server)
	// session marks an anomaly that is a session-shaped body: it applies
	// to the endpoints that answer a session only.
	session bool
}

// sessionBody is a consumer authenticate body with the ids given (the
// session's, and the user's it is answered with) and an expiry; memberBody
// is its B2B counterpart.
func sessionBody(sessionID, userID, answeredUserID, expires string) string {
	return fmt.Sprintf(`{"request_id":"request-id-test-1","status_code":200,"session":{"session_id":%q,"user_id":%q,"expires_at":%q,"roles":[],"authentication_factors":[]},"user":{"user_id":%q},"session_jwt":"","session_token":""}`,
		sessionID, userID, expires, answeredUserID)
}

func memberBody(sessionID, memberID, orgID, expires string) string {
	return fmt.Sprintf(`{"request_id":"request-id-test-1","status_code":200,"member_session":{"member_session_id":%q,"member_id":%q,"organization_id":%q,"expires_at":%q,"roles":[]},"member":{"member_id":%q,"organization_id":%q},"organization":{"organization_id":%q},"member_authenticated":true,"session_jwt":"","session_token":""}`,
		sessionID, memberID, orgID, expires, memberID, orgID, orgID)
}

func reply(status int, contentType, body string) func(http.ResponseWriter, *http.Request, *httptest.Server) {
	return func(w http.ResponseWriter, _ *http.Request, _ *httptest.Server) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func redirect(status int, where func(r *http.Request, target *httptest.Server) string) func(http.ResponseWriter, *http.Request, *httptest.Server) {
	return func(w http.ResponseWriter, r *http.Request, target *httptest.Server) {
		http.Redirect(w, r, where(r, target), status)
	}
}

// anomalies are the classes of answer the suite sends, each for the
// product line b2b.
// stytchError is the body of an error answer in Stytch's shape.
func stytchError(status int, errorType string) string {
	return fmt.Sprintf(`{"status_code":%d,"request_id":"request-id-test-1","error_type":%q,"error_message":"refused"}`, status, errorType)
}

func anomalies(b2b bool) []anomaly {
	const past, future = "2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
	live := func(expires string) string {
		if b2b {
			return memberBody("session-test-1", "member-test-1", "organization-test-1", expires)
		}
		return sessionBody("session-test-1", "user-test-1", "user-test-1", expires)
	}
	emptyIDs := sessionBody("", "", "", future)
	otherUser := sessionBody("session-test-1", "user-test-1", "user-test-2", future)
	if b2b {
		emptyIDs = memberBody("", "", "", future)
		otherUser = strings.Replace(live(future), `"member":{"member_id":"member-test-1"`, `"member":{"member_id":"member-test-2"`, 1)
	}
	ct := "application/json"
	return []anomaly{
		{"200 {}", reply(200, ct, `{}`), false},
		{"200 status_code only", reply(200, ct, `{"status_code":200}`), false},
		{"201 {}", reply(201, ct, `{}`), false},
		{"204 no body", reply(204, ct, ``), false},
		{"200 invalid JSON", reply(200, ct, `{"session":`), false},
		{"200 an HTML page (captive portal)", reply(200, "text/html", `<html><body>Sign in to the hotel Wi-Fi</body></html>`), false},
		{"500 an HTML page", reply(500, "text/html", `<html><body>Bad gateway</body></html>`), false},
		{"404 an HTML page", reply(404, "text/html", `<html><body>Not found</body></html>`), false},
		// Stytch-shaped refusals that are not about the session: a base
		// URL with a path meets Stytch's route_not_found; the others are a
		// request Stytch (or what answers for it) will not take.
		{"404 route_not_found (a base URL with a path)", reply(404, ct, stytchError(404, "route_not_found")), false},
		{"400 invalid_session_duration_minutes", reply(400, ct, stytchError(400, "invalid_session_duration_minutes")), false},
		{"405 method_not_allowed", reply(405, ct, stytchError(405, "method_not_allowed")), false},
		{"409 conflict", reply(409, ct, stytchError(409, "conflict")), false},
		{"422 unprocessable", reply(422, ct, stytchError(422, "unprocessable_entity")), false},
		{"200 a body over the limit", reply(200, ct, `{"x":"`+strings.Repeat("a", 2<<20)+`"}`), false},
		{"200 a body that never ends", func(w http.ResponseWriter, r *http.Request, _ *httptest.Server) {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"request_id":"`))
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
					_, _ = w.Write([]byte("a"))
				}
			}
		}, false},
		{"307 to the same host, another port", redirect(307, func(r *http.Request, t *httptest.Server) string { return t.URL + r.URL.Path }), false},
		{"302 to another host name", redirect(302, func(r *http.Request, t *httptest.Server) string {
			return strings.Replace(t.URL, "127.0.0.1", "localhost", 1) + r.URL.Path
		}), false},
		{"308 to another scheme's port", redirect(308, func(r *http.Request, t *httptest.Server) string { return t.URL + "/v1/elsewhere" }), false},
		{"301 to a relative path", redirect(301, func(*http.Request, *httptest.Server) string { return "/login" }), false},
		{"200 a session with empty ids", reply(200, ct, emptyIDs), true},
		{"200 a session of another person than the answer's", reply(200, ct, otherUser), true},
		{"200 a session without an expiry", reply(200, ct, strings.Replace(live(future), `"expires_at":"`+future+`"`, `"expires_at":null`, 1)), true},
		{"200 a session that has ended", reply(200, ct, live(past)), true},
	}
}

// hostile is an app in front of a fake Stytch: anomalous on one path,
// the emulator everywhere else.
type hostile struct {
	*app
	mu      sync.Mutex
	path    string // the endpoint that answers the anomaly
	serve   func(http.ResponseWriter, *http.Request, *httptest.Server)
	target  *httptest.Server
	reached atomic.Int32 // requests the redirect target received
}

func (h *hostile) set(path string, serve func(http.ResponseWriter, *http.Request, *httptest.Server)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.path, h.serve = path, serve
}

func newHostile(t *testing.T, b2b bool) *hostile {
	t.Helper()
	emu := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(emu.Close)
	return newHostileOn(t, emu, b2b, nil)
}

// newHostileOn is newHostile on a given emulator; preset, when given, runs
// before the middleware starts (and fetches the JWKS).
func newHostileOn(t *testing.T, emu *stytchtest.Server, b2b bool, preset func(*hostile)) *hostile {
	t.Helper()
	policy := session.Policy{Roles: []session.Role{
		{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		{RoleID: "stytch_member", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
	}}
	if b2b {
		emu.SetB2BPolicy(policy)
	} else {
		emu.SetPolicy(policy)
	}
	h := &hostile{}
	h.target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.reached.Add(1)
		w.WriteHeader(200)
	}))
	t.Cleanup(h.target.Close)
	upstream, _ := url.Parse(emu.URL)
	forward := httputil.NewSingleHostReverseProxy(upstream)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		path, serve := h.path, h.serve
		h.mu.Unlock()
		if serve != nil && r.URL.Path == path {
			serve(w, r, h.target)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(fake.Close)
	if preset != nil {
		preset(h)
	}
	cfg := emu.Config()
	cfg.BaseURL = fake.URL
	cfg.Timeout = time.Second
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
	cfg.B2B = b2b
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	h.app = newAppWith(t, emu, client, logs, func(c *middleware.Config) {
		c.Upstream.BreakerFailures = -1 // every case reaches the fake
	})
	az, err := authz.New(authz.Config{Client: client, Now: emu.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	guarded := h.mw.Require(az.Require("documents", "read")(whoami))
	inner := h.h
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/documents" {
			guarded.ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return h
}

// credentials starts a person's session for the product line: a JWT the
// project signed, and the opaque token.
func (h *hostile) credentials(t *testing.T, b2b bool) stytchtest.Tokens {
	t.Helper()
	if !b2b {
		_, tok := h.user(t)
		return tok
	}
	org := h.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, err := h.srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	h.remember(tok)
	return tok
}

// TestHostileUpstream sends every anomaly through every decision the
// middleware builds on a Stytch answer, for both product lines. Each must
// be an outage: 503 with Retry-After, never a 2xx or a 401, no cookie
// cleared, and the redirect target reached by nothing.
func TestHostileUpstream(t *testing.T) {
	for _, b2b := range []bool{false, true} {
		line := "consumer"
		if b2b {
			line = "b2b"
		}
		prefix := "/v1"
		if b2b {
			prefix = "/v1/b2b"
		}
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, b2b)
			var other string
			if b2b {
				other = h.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Globex"}).OrganizationID
			}
			type probe struct {
				name     string
				path     string // the endpoint that answers the anomaly
				sessions bool   // it answers a session
				run      func(tok stytchtest.Tokens) *httptest.ResponseRecorder
			}
			probes := []probe{
				{"authenticate a stale JWT and its token", prefix + "/sessions/authenticate", true, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					h.srv.Advance(6 * time.Minute) // the JWT is stale: Stytch must be asked
					defer h.srv.Advance(-6 * time.Minute)
					return h.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
				}},
				{"authenticate an opaque token", prefix + "/sessions/authenticate", true, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					return h.do(req("GET", "/me", "token:"+tok.SessionToken))
				}},
				{"logout's revoke", prefix + "/sessions/revoke", false, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					return h.do(req("POST", "/logout", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
				}},
				{"logout-all's list", prefix + "/sessions", false, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					return h.do(req("POST", "/logout-all", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
				}},
				{"the sessions page's list", prefix + "/sessions", false, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					return h.do(req("GET", "/sessions", "jwt:"+tok.SessionJWT))
				}},
				{"a guard's policy", prefix + "/rbac/policy", false, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					return h.do(req("GET", "/documents", "jwt:"+tok.SessionJWT))
				}},
			}
			if b2b {
				probes = append(probes, probe{"an exchange", "/v1/b2b/sessions/exchange", true, func(tok stytchtest.Tokens) *httptest.ResponseRecorder {
					r := req("POST", "/exchange?organization_id="+url.QueryEscape(other), "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken)
					r.Header.Set("Sec-Fetch-Site", "same-origin")
					return h.do(r)
				}})
			}
			var last stytchtest.Tokens
			for _, p := range probes {
				for _, a := range anomalies(b2b) {
					if a.session && !p.sessions {
						continue
					}
					t.Run(p.name+"/"+a.name, func(t *testing.T) {
						tok := h.credentials(t, b2b) // each case its own session
						last = tok
						h.set(p.path, a.serve)
						defer h.set("", nil)
						before := h.reached.Load()
						start := time.Now()
						rec := p.run(tok)
						if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
							t.Fatalf("answered %d (Retry-After %q), want 503: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
						}
						for _, c := range rec.Result().Cookies() {
							if c.MaxAge < 0 {
								t.Fatalf("cookie %s cleared on an outage", c.Name)
							}
						}
						if n := h.reached.Load() - before; n != 0 {
							t.Fatalf("the redirect's target received %d requests", n)
						}
						// Two attempts of at most the 1 s timeout each; an
						// answer the timeout did not bound (a body that
						// never ends) would take forever. The bound is
						// generous for a loaded machine, where even a 2 MB
						// body read twice under -race took over 3 s.
						if took := time.Since(start); took > 20*time.Second {
							t.Fatalf("took %v: the call's timeout did not bound it", took)
						}
					})
				}
			}
			// Nothing above ended the session: it still works, and the
			// answers Stytch would not give were logged, naming what was
			// wrong, a bounded number of times.
			if rec := h.do(req("GET", "/me", "jwt:"+last.SessionJWT)); rec.Code != 200 {
				t.Fatalf("after the suite the session is refused: %d %s", rec.Code, rec.Body)
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "a success answer Stytch would not give: status_code is not a success") {
				t.Fatalf("the first invalid answer was not logged with what was wrong: %s", logs)
			}
			if n := strings.Count(logs, "never as signed in"); n != 1 {
				t.Fatalf("the invalid-answer line was written %d times: it is rate-limited", n)
			}
		})
	}
}

// jwkOf is a JWKS entry for an RSA public key.
func jwkOf(kid string, pub *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

// TestHostileKeySets serves key sets Stytch would not: a weak key of
// someone else's, a kid shared by two keys, keys of other kinds beside the
// project's, nothing usable. A person's real session is never signed out
// (at worst Stytch is asked, within the budget), and a token signed by a key
// that is not the project's is never let in.
func TestHostileKeySets(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// keys returns the set served, given the project's own key.
		keys func(kid string, pub *rsa.PublicKey) []any
		// calls is how many authenticate calls the real session costs.
		calls int
	}{
		{"only a weak key", func(string, *rsa.PublicKey) []any { return []any{jwkOf("weak", &weak.PublicKey)} }, 1},
		{"the project's kid on two keys", func(kid string, pub *rsa.PublicKey) []any {
			return []any{jwkOf(kid, pub), jwkOf(kid, &other.PublicKey)}
		}, 1},
		{"odd keys beside the project's", func(kid string, pub *rsa.PublicKey) []any {
			return []any{
				map[string]string{"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"},
				map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
				map[string]string{"kty": "RSA", "use": "enc", "kid": "enc", "n": jwkOf("", &other.PublicKey)["n"], "e": "AQAB"},
				map[string]string{"kty": "RSA", "alg": "RS512", "kid": "rs512", "n": jwkOf("", &other.PublicKey)["n"], "e": "AQAB"},
				jwkOf("", &other.PublicKey), // no kid
				jwkOf("weak", &weak.PublicKey),
				jwkOf(kid, pub),
			}
		}, 0},
		{"no keys", func(string, *rsa.PublicKey) []any { return []any{} }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
			t.Cleanup(emu.Close)
			kid, key := emu.SigningKey()
			set, _ := json.Marshal(map[string]any{"keys": tt.keys(kid, &key.PublicKey), "request_id": "request-id-test-1", "status_code": 200})
			h := newHostileOn(t, emu, false, func(h *hostile) {
				h.set("/v1/sessions/jwks/"+emu.ProjectID(), reply(200, "application/json", string(set)))
			})
			_, tok := h.user(t)
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(tok.SessionJWT, claims); err != nil {
				t.Fatal(err)
			}
			forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			forged.Header["kid"] = "weak"
			forgedWeak, _ := forged.SignedString(weak)
			forged.Header["kid"] = kid
			forgedShared, _ := forged.SignedString(other)

			h.srv.ResetCalls()
			if rec := h.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 200 {
				t.Fatalf("the project's own fresh JWT: %d %s", rec.Code, rec.Body)
			}
			if n := h.srv.Calls(stytchtest.Authenticate); n != tt.calls {
				t.Fatalf("%d calls to Stytch for a real session, want %d", n, tt.calls)
			}
			for name, forged := range map[string]string{"the weak key": forgedWeak, "the other key of the shared kid": forgedShared} {
				rec := h.do(req("GET", "/me", "bearer:"+forged))
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("a token signed by %s: %d %s", name, rec.Code, rec.Body)
				}
			}
		})
	}
}

// TestOnlySessionAnswersSignOut: Stytch signs a person out here only by
// saying the credential is no session (session_not_found, or a JWT it
// cannot parse): 401, cookies cleared. Any other refusal in Stytch's shape
// (a base URL with a path meets route_not_found on every call; a request
// Stytch will not take) is about the request: 503, cookies kept, one error
// log line naming it; and a logout it refuses is not a logout.
func TestOnlySessionAnswersSignOut(t *testing.T) {
	for _, tt := range []struct {
		status    int
		errorType string
		want      int
	}{
		{404, "session_not_found", 401},
		{400, "unable_to_parse_session_jwt", 401},
		{404, "route_not_found", 503},
		{403, "forbidden", 503},
		{400, "invalid_session_duration_minutes", 503},
		{405, "method_not_allowed", 503},
		{422, "unprocessable_entity", 503},
	} {
		t.Run(tt.errorType, func(t *testing.T) {
			a := newApp(t, nil)
			_, tok := a.user(t)
			body := stytchError(tt.status, tt.errorType)
			a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: tt.status, Body: body})
			rec := a.do(req("GET", "/me", "token:"+tok.SessionToken))
			if rec.Code != tt.want {
				t.Fatalf("authenticate answered %d %s: %d %s, want %d", tt.status, tt.errorType, rec.Code, rec.Body, tt.want)
			}
			cleared := false
			for _, c := range rec.Result().Cookies() {
				cleared = cleared || c.MaxAge < 0
			}
			if cleared != (tt.want == 401) {
				t.Fatalf("cookies cleared: %v, want %v", cleared, tt.want == 401)
			}
			if tt.want == 503 {
				if n := strings.Count(a.logs.String(), "not the session's"); n != 1 {
					t.Fatalf("the refusal was logged %d times, want once: %s", n, a.logs)
				}
				a.srv.ClearFaults()
				a.srv.InjectFault(stytchtest.Revoke, stytchtest.Fault{Status: tt.status, Body: body})
				r := req("POST", "/logout", "token:"+tok.SessionToken, "header:Sec-Fetch-Site:same-origin")
				if rec := a.do(r); rec.Code != 503 {
					t.Fatalf("a logout Stytch refused with %s: %d, want 503", tt.errorType, rec.Code)
				}
				if !a.srv.SessionAlive(tok.SessionID) {
					t.Fatal("the session ended")
				}
			}
		})
	}
}
