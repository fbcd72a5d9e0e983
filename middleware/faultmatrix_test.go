package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// matrixTimeout bounds each call to Stytch in the fault matrix.
const matrixTimeout = 1500 * time.Millisecond

// TestFaultMatrix injects every fault into every upstream call the library
// makes and asserts, per cell: the user-visible answer (an outage is never a
// 401 and never clears cookies), the number of attempts (retries bounded),
// the time taken (bounded by the configured timeout), and recovery once the
// fault lifts, without a restart.
func TestFaultMatrix(t *testing.T) {
	faults := []struct {
		name  string
		fault stytchtest.Fault
		calls int // attempts a call makes against this fault (3 at most)
	}{
		{"500", stytchtest.Fault{Status: 500}, 1},
		{"502", stytchtest.Fault{Status: 502}, 3},
		{"503", stytchtest.Fault{Status: 503}, 3},
		{"429 with Retry-After", stytchtest.Fault{Status: 429, RetryAfter: time.Second}, 2},
		{"latency past the timeout", stytchtest.Fault{Latency: 5 * time.Second}, 1},
		{"dropped connection", stytchtest.Fault{Drop: true}, 3},
		{"malformed body", stytchtest.Fault{Malformed: true}, 1},
		{"JWKS with no keys", stytchtest.Fault{Body: `{"keys":[],"request_id":"r","status_code":200}`}, 1},
	}
	type probe struct {
		endpoint stytchtest.Endpoint
		// run makes the user-level request against the faulty endpoint and
		// returns its answer.
		run  func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder
		want int // the status while the fault lasts
		// after is the status once the fault lifts.
		after int
	}
	probes := map[string]probe{
		"authenticate": {stytchtest.Authenticate, func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder {
			m.srv.Advance(6 * time.Minute) // the JWT is stale: Stytch must be asked
			defer m.srv.Advance(-6 * time.Minute)
			return m.do(req("GET", "/me", "jwt:"+m.tok.SessionJWT, "token:"+m.tok.SessionToken))
		}, 503, 200},
		"list": {stytchtest.List, func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder {
			return m.do(req("GET", "/sessions", "jwt:"+m.tok.SessionJWT))
		}, 503, 200},
		"revoke": {stytchtest.Revoke, func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder {
			return m.do(req("POST", "/logout", "jwt:"+m.tok.SessionJWT, "token:"+m.tok.SessionToken))
		}, 503, 204},
		"jwks": {stytchtest.JWKS, func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder {
			// Keys cannot be loaded: the fresh JWT's kid is unknown, so
			// Stytch's authenticate answers instead.
			return m.do(req("GET", "/me", "jwt:"+m.tok.SessionJWT))
		}, 200, 200},
		"policy": {stytchtest.Policy, func(t *testing.T, m *matrixApp) *httptest.ResponseRecorder {
			return m.do(req("GET", "/documents", "jwt:"+m.tok.SessionJWT))
		}, 503, 200},
	}
	for pname, p := range probes {
		for _, f := range faults {
			if f.name == "JWKS with no keys" && p.endpoint != stytchtest.JWKS {
				continue
			}
			t.Run(pname+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				m := newMatrixApp(t, p.endpoint, f.fault)
				start := time.Now()
				rec := p.run(t, m)
				took := time.Since(start)
				if rec.Code != p.want {
					t.Fatalf("status %d, want %d: %s", rec.Code, p.want, rec.Body)
				}
				if rec.Code == 401 {
					t.Fatalf("an outage answered 401")
				}
				for _, c := range rec.Result().Cookies() {
					if c.MaxAge < 0 || c.Value == "" {
						t.Fatalf("an outage cleared the cookie %s", c.Name)
					}
				}
				if rec.Code == 503 && rec.Header().Get("Retry-After") == "" {
					t.Fatalf("503 without Retry-After")
				}
				// The JWKS is fetched at construction and may be fetched once
				// more for the probe's unknown kid: two fetches at most.
				maxCalls := f.calls
				if p.endpoint == stytchtest.JWKS {
					maxCalls *= 2
				}
				if f.fault.Drop {
					// net/http itself sends an idempotent request once more
					// when a reused connection dies before any answer.
					maxCalls *= 2
				}
				if n := m.srv.Calls(p.endpoint); n > maxCalls || n < 1 {
					t.Fatalf("%d attempts at %s, want 1 to %d", n, p.endpoint, maxCalls)
				}
				if took > matrixTimeout+500*time.Millisecond {
					t.Fatalf("took %v, past the %v timeout", took, matrixTimeout)
				}
				m.srv.ClearFaults()
				// Past the pause after a failed fetch of the keys or the
				// policy (10 to 12.5 s), by their clock.
				m.srv.Advance(13 * time.Second)
				if rec := p.run(t, m); rec.Code != p.after {
					t.Fatalf("after the fault lifted: %d, want %d: %s", rec.Code, p.after, rec.Body)
				}
				if p.endpoint == stytchtest.JWKS {
					// A refresh started during the fault may still be hanging
					// (up to FetchTimeout): the keys load once it ends.
					for deadline := time.Now().Add(2 * matrixTimeout); ; {
						rec := m.do(req("GET", "/me", "jwt:"+m.tok.SessionJWT))
						if body(t, rec)["source"] == "local" {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("keys not loaded after recovery: %v", body(t, rec))
						}
						m.srv.Advance(time.Second)
					}
				}
			})
		}
	}
}

// matrixApp is one cell's app: an emulator whose endpoint is faulty from the
// start, a middleware with a short timeout and fast retries, and a guarded
// route.
type matrixApp struct {
	*app
	tok stytchtest.Tokens
}

func newMatrixApp(t *testing.T, ep stytchtest.Endpoint, f stytchtest.Fault) *matrixApp {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	srv.SetPolicy(session.Policy{Roles: []session.Role{{RoleID: "viewer", Description: "v", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}}})
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com", Roles: []string{"viewer"}})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	cfg := srv.Config()
	cfg.Timeout = matrixTimeout
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second}
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(ep, f) // before the verifier and the policy cache start
	v, err := jwtlocal.New(jwtlocal.Config{Client: client, Now: srv.Now, InitialFetchWait: 2 * matrixTimeout, UnknownKIDRefreshInterval: 100 * time.Millisecond, FetchTimeout: matrixTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	mw, err := middleware.New(middleware.Config{Client: client, Verifier: v, Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(authz.Config{Client: client, Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	mux := http.NewServeMux()
	mux.Handle("GET /me", mw.Require(whoami))
	mux.Handle("GET /documents", mw.Require(az.Require("documents", "read")(whoami)))
	mux.Handle("GET /sessions", mw.SessionsHandler())
	mux.Handle("POST /logout", mw.LogoutHandler())
	return &matrixApp{app: &app{srv: srv, mw: mw, h: mux, logs: &syncBuffer{}}, tok: tok}
}
