package middleware_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// randomToken is a plausible opaque session token: 44 characters of the
// URL-safe base64 alphabet, as Stytch's are.
func randomToken(t testing.TB) string {
	b := make([]byte, 33)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestUnknownKIDStormCostsNothingUpstream(t *testing.T) {
	a := newApp(t, nil)
	_, tok := a.user(t)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.SessionJWT, claims); err != nil {
		t.Fatal(err)
	}
	a.srv.ResetCalls()
	const n = 2000
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// RS256 with a random kid and a signature no key set holds:
			// 256 random bytes, as an attacker's 2048-bit key would sign
			// (2,000 RSA signatures were most of this test's time).
			jt := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			jt.Header["kid"] = fmt.Sprintf("jwk-test-%08x", i)
			signing, err := jt.SigningString()
			if err != nil {
				t.Error(err)
				return
			}
			sig := make([]byte, 256)
			_, _ = rand.Read(sig)
			s := signing + "." + base64.RawURLEncoding.EncodeToString(sig)
			if rec := a.do(req("GET", "/me", "bearer:"+s)); rec.Code == 401 {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != n {
		t.Fatalf("%d of %d refused with 401", refused.Load(), n)
	}
	if c := a.srv.Calls(stytchtest.Authenticate); c != 0 {
		t.Fatalf("%d calls to authenticate for made-up kids, want 0", c)
	}
	if c := a.srv.Calls(stytchtest.JWKS); c > 1 {
		t.Fatalf("%d JWKS fetches after start for the storm, want at most 1 (2 in all)", c)
	}
}

func TestOpaqueTokenStormIsBudgeted(t *testing.T) {
	var shed, shedBudget atomic.Int64
	up := middleware.Upstream{Rate: 20, Burst: 50}
	// Calls to Stytch get 30 s, not newApp's 2: on a loaded machine a
	// call of the burst can take longer, and its 503 would be an outage's,
	// not one the budget shed.
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	cfg.Timeout = 30 * time.Second
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := newAppWith(t, srv, client, &syncBuffer{}, func(c *middleware.Config) {
		c.Upstream = up
		c.Hooks.Shed = func(reason string) {
			shed.Add(1) // the budget, or, on a loaded machine, calls in flight
			if reason == "budget" {
				shedBudget.Add(1)
			}
		}
	})
	_, tok := a.user(t)
	a.srv.ResetCalls()
	const n = 1000
	start := a.srv.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	stop := make(chan struct{})
	var liveSlowest time.Duration
	var liveBad atomic.Int64
	var liveWG sync.WaitGroup
	liveWG.Add(1)
	go func() { // a signed-in user during the storm
		defer liveWG.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT))
			if d := time.Since(t0); d > liveSlowest {
				liveSlowest = d
			}
			if rec.Code != 200 {
				liveBad.Add(1)
			}
		}
	}()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := a.do(req("GET", "/me", "bearer:"+randomToken(t)))
			mu.Lock()
			codes[rec.Code]++
			mu.Unlock()
			if rec.Code == 503 {
				if rec.Header().Get("Retry-After") == "" || len(rec.Result().Cookies()) != 0 {
					t.Error("a budget 503 without Retry-After, or touching cookies")
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	liveWG.Wait()
	elapsed := a.srv.Now().Sub(start) // the app's clock: frozen in this test
	limit := up.Burst + int(up.Rate*elapsed.Seconds()+1)
	if c := a.srv.Calls(stytchtest.Authenticate); c > limit {
		t.Fatalf("%d calls to authenticate for %d random tokens, budget %d", c, n, limit)
	}
	if codes[401]+codes[503] != n || codes[503] < n-limit {
		t.Fatalf("answers %v", codes)
	}
	if shed.Load() != int64(codes[503]) || shedBudget.Load() < int64(n-limit) {
		t.Fatalf("Shed hook told of %d (%d for the budget), %d 503s", shed.Load(), shedBudget.Load(), codes[503])
	}
	if liveBad.Load() != 0 || liveSlowest > time.Second {
		t.Fatalf("a live JWT during the storm: %d failures, slowest %v", liveBad.Load(), liveSlowest)
	}
	// A stale JWT of the project is not garbage: the budget is spent, yet
	// it is asked about.
	a.srv.Advance(6 * time.Minute)
	if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 200 {
		t.Fatalf("a stale JWT while the budget is spent: %d %s", rec.Code, rec.Body)
	}
}

func TestClientBudget(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.Upstream = middleware.Upstream{Rate: 1000, Burst: 1000, ClientRate: 1, ClientBurst: 5,
			ClientKey: func(r *http.Request) string { return r.Header.Get("X-Client") }}
	})
	_, tok := a.user(t)
	a.srv.ResetCalls()
	for range 20 {
		r := req("GET", "/me", "bearer:"+randomToken(t))
		r.Header.Set("X-Client", "attacker")
		a.do(r)
	}
	if c := a.srv.Calls(stytchtest.Authenticate); c != 5 {
		t.Fatalf("one client cost %d calls, its burst is 5", c)
	}
	r := req("GET", "/me", "bearer:"+tok.SessionToken)
	r.Header.Set("X-Client", "someone-else")
	if rec := a.do(r); rec.Code != 200 {
		t.Fatalf("another client, after the attacker spent its share: %d", rec.Code)
	}
}

func TestHungStytchStaysBounded(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.Timeout = 2 * time.Second
	client, _ := session.New(cfg)
	var shed sync.Map
	var local, notLocal atomic.Int64 // authenticated decisions, by source
	mw, err := middleware.New(middleware.Config{Client: client, Now: srv.Now, Hooks: middleware.Hooks{Shed: func(r string) {
		v, _ := shed.LoadOrStore(r, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}, Decided: func(_ context.Context, d middleware.Decision) {
		switch {
		case d.Outcome != "authenticated":
		case d.Source == "local":
			local.Add(1)
		default:
			notLocal.Add(1)
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	// Sessions whose JWTs are stale: signed by the project, not budgeted,
	// each a distinct call to a Stytch that hangs.
	var stale []string
	for range 500 {
		tk, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		stale = append(stale, tk.SessionJWT)
	}
	srv.Advance(6 * time.Minute)
	fresh, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Latency: time.Minute})
	app := httptest.NewServer(mw.Require(whoami))
	defer app.Close()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 600}}
	defer hc.CloseIdleConnections()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseline := runtime.NumGoroutine()
	sampled := samplePeaks(20 * time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	codes := make([]atomic.Int64, 600)
	for i := range 500 { // 500 clients, each retrying after 100 ms
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				r, _ := http.NewRequest("GET", app.URL, nil)
				r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: stale[i]})
				resp, err := hc.Do(r)
				if err != nil {
					codes[599].Add(1)
					continue
				}
				resp.Body.Close()
				codes[resp.StatusCode].Add(1)
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	// Meanwhile a fresh JWT needs no Stytch: it is answered 200, decided
	// locally, while nothing Stytch is asked answers. (How fast is the
	// machine's: on a loaded one, 500 clients under -race can hold a
	// request for seconds. A request that waited for Stytch would get the
	// 503 of a call timed out, never a 200.)
	freshClient := &http.Client{Timeout: 30 * time.Second}
	defer freshClient.CloseIdleConnections()
	var freshSlowest time.Duration
	var freshAnswered int64
	for time.Now().Before(deadline) {
		r, _ := http.NewRequest("GET", app.URL, nil)
		r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: fresh.SessionJWT})
		t0 := time.Now()
		resp, err := freshClient.Do(r)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a fresh JWT while Stytch hangs: %v %v", err, resp)
		}
		resp.Body.Close()
		freshAnswered++
		freshSlowest = max(freshSlowest, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	sampled.Stop()
	srv.Close() // release the hung calls
	var shedSummary []string
	shed.Range(func(k, v any) bool {
		shedSummary = append(shedSummary, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	inflight := srv.Calls(stytchtest.Authenticate)
	t.Logf("hung Stytch, 500 clients for 3 s: %d answered 503, %d 200, %d errors; %d calls reached Stytch; shed %v; goroutines %d → peak %d; heap %.1f → peak %.1f MiB; a fresh JWT's slowest answer %v",
		codes[503].Load(), codes[200].Load(), codes[599].Load(), inflight, shedSummary, baseline, sampled.goroutines.Load(),
		float64(before.HeapAlloc)/(1<<20), float64(sampled.heap.Load())/(1<<20), freshSlowest)
	if codes[200].Load() != 0 || codes[401].Load() != 0 {
		t.Fatalf("a hung Stytch answered 200 or 401")
	}
	// Each of the 500 clients costs a constant few: its own loop, its
	// connection's two in the client's transport and one in the server, and
	// for at most SlotWait a request waiting for a slot. The middleware adds
	// its 32 calls in flight and nothing that grows with time.
	if g := sampled.goroutines.Load() - int64(baseline); g > 500*7+200 {
		t.Fatalf("goroutines grew by %d", g)
	}
	if c := srv.Calls(stytchtest.Authenticate); c > 32*3 {
		t.Fatalf("%d calls reached a hung Stytch, bound %d in flight", c, 32)
	}
	if local.Load() != freshAnswered || notLocal.Load() != 0 {
		t.Fatalf("%d fresh JWTs answered 200; decided locally %d, with Stytch %d", freshAnswered, local.Load(), notLocal.Load())
	}
}

func TestCircuitBreaker(t *testing.T) {
	var shed sync.Map
	a := newApp(t, func(c *middleware.Config) {
		c.Upstream = middleware.Upstream{BreakerFailures: 3, BreakerCooldown: 10 * time.Second}
		c.Hooks.Shed = func(r string) { shed.Store(r, true) }
	})
	u := a.srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	var toks []stytchtest.Tokens
	for range 6 {
		tk, _ := a.srv.StartSession(u.UserID, stytchtest.SessionParams{})
		toks = append(toks, tk)
	}
	a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 500})
	for i := range 3 {
		if rec := a.do(req("GET", "/me", "bearer:"+toks[i].SessionToken)); rec.Code != 503 {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
	calls := a.srv.Calls(stytchtest.Authenticate)
	rec := a.do(req("GET", "/me", "bearer:"+toks[3].SessionToken))
	if rec.Code != 503 || a.srv.Calls(stytchtest.Authenticate) != calls {
		t.Fatalf("open breaker: %d, %d more calls", rec.Code, a.srv.Calls(stytchtest.Authenticate)-calls)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "10" {
		t.Fatalf("Retry-After %q while the breaker is open for 10 s", ra)
	}
	if _, ok := shed.Load("circuit_open"); !ok {
		t.Fatal("no Shed hook for the open breaker")
	}
	// After the cool-down one call tries; Stytch is back: closed again.
	a.srv.ClearFaults()
	a.srv.Advance(11 * time.Second)
	for i := 4; i < 6; i++ {
		if rec := a.do(req("GET", "/me", "bearer:"+toks[i].SessionToken)); rec.Code != 200 {
			t.Fatalf("after the cool-down: %d", rec.Code)
		}
	}
}

// TestRetryAfterOpensTheBreaker: a 429 that asks to wait 30 s stops calls
// to authenticate for 30 s, at once: no further call in that time,
// whatever the requests, each answered 503 with the wait left; then one
// call tries again.
func TestRetryAfterOpensTheBreaker(t *testing.T) {
	a := newApp(t, nil)
	u := a.srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	var toks []stytchtest.Tokens
	for range 10 {
		tk, _ := a.srv.StartSession(u.UserID, stytchtest.SessionParams{})
		toks = append(toks, tk)
	}
	a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 429, RetryAfter: 30 * time.Second})
	if rec := a.do(req("GET", "/me", "bearer:"+toks[0].SessionToken)); rec.Code != 503 {
		t.Fatalf("the 429: %d", rec.Code)
	}
	calls := a.srv.Calls(stytchtest.Authenticate)
	for i := 1; i < 9; i++ {
		a.srv.Advance(3 * time.Second) // 24 s in all: within the 30
		rec := a.do(req("GET", "/me", "bearer:"+toks[i].SessionToken))
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("request %d within the Retry-After: %d (Retry-After %q)", i, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := a.srv.Calls(stytchtest.Authenticate); n != calls {
		t.Fatalf("%d calls within Stytch's Retry-After of 30 s", n-calls)
	}
	a.srv.ClearFaults()
	a.srv.Advance(7 * time.Second)
	if rec := a.do(req("GET", "/me", "bearer:"+toks[9].SessionToken)); rec.Code != 200 {
		t.Fatalf("after the Retry-After: %d", rec.Code)
	}
}

func TestWrongSecretIsNeverASignOut(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	cfg := srv.Config()
	cfg.Secret = "secret-test-rotated-away-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	client, _ := session.New(cfg)
	if err := client.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	logs := &syncBuffer{}
	a := newAppWith(t, srv, client, logs, nil)
	stale := tok.SessionJWT
	srv.Advance(6 * time.Minute) // the JWT needs Stytch now
	// In order: a logout refuses its session here at once, even when Stytch
	// could not be told.
	for _, c := range []struct {
		name string
		r    *http.Request
	}{
		{"stale JWT cookie", req("GET", "/me", "jwt:"+stale, "token:"+tok.SessionToken)},
		{"token cookie", req("GET", "/me", "token:"+tok.SessionToken)},
		{"optional route", req("GET", "/optional", "token:"+tok.SessionToken)},
		{"logout-all, bearer", req("POST", "/logout-all", "bearer:"+tok.SessionToken)},
		{"logout", req("POST", "/logout", "token:"+tok.SessionToken)},
		{"logout, stale JWT", req("POST", "/logout", "jwt:"+stale)},
	} {
		name, r := c.name, c.r
		rec := a.do(r)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%s with a wrong secret: %d %s", name, rec.Code, rec.Body)
		}
		if len(rec.Result().Cookies()) != 0 {
			t.Fatalf("%s with a wrong secret touched the cookies", name)
		}
	}
	if !srv.SessionAlive(tok.SessionID) {
		t.Fatal("the session was revoked")
	}
	if got := logs.String(); strings.Count(got, "refused this app's project credentials") != 1 || strings.Contains(got, cfg.Secret) {
		t.Fatalf("the misconfiguration is logged once, without the secret: %s", got)
	}
}

func TestCustomDomainIssuer(t *testing.T) {
	const domain = "https://login.example.com"
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()), stytchtest.WithIssuer(domain))
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	for _, tt := range []struct {
		name    string
		issuers []string
		calls   int
	}{
		{"not configured: asked once, then the answer is reused", nil, 1},
		{"configured: verified locally", []string{domain}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			a := newAppWith(t, srv, srv.Client(), logs, func(c *middleware.Config) { c.Verification.Issuers = tt.issuers })
			srv.ResetCalls()
			for range 5 {
				if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			if c := srv.Calls(stytchtest.Authenticate); c != tt.calls {
				t.Fatalf("%d calls to authenticate, want %d", c, tt.calls)
			}
			warned := strings.Count(logs.String(), "issuer="+domain)
			if (tt.issuers == nil) != (warned == 1) {
				t.Fatalf("warnings naming the issuer: %d\n%s", warned, logs)
			}
		})
	}
}

func TestClockToleranceKeepsLogoutsUntilTheJWTCannotVerify(t *testing.T) {
	const tol = 150 * time.Second
	a := newApp(t, func(c *middleware.Config) { c.Verification.ClockTolerance = tol })
	_, tok := a.user(t)
	if rec := a.do(req("POST", "/logout", "jwt:"+tok.SessionJWT)); rec.Code != 204 {
		t.Fatal(rec.Code)
	}
	v, _ := jwtlocal.New(jwtlocal.Config{Client: a.srv.Client(), Now: a.srv.Now, ClockTolerance: tol})
	defer v.Close()
	// Minute by minute, while the JWT would still verify here, it is refused.
	for elapsed := time.Duration(0); ; elapsed += 30 * time.Second {
		_, err := v.Verify(context.Background(), tok.SessionJWT)
		if err != nil {
			if elapsed < 5*time.Minute+tol {
				t.Fatalf("the JWT stopped verifying at +%v", elapsed)
			}
			break
		}
		if rec := a.do(req("GET", "/me", "bearer:"+tok.SessionJWT)); rec.Code != 401 {
			t.Fatalf("+%v: a logged-out JWT answered %d", elapsed, rec.Code)
		}
		a.srv.Advance(30 * time.Second)
	}
}

// TestCrossOriginByDefault: with no setting at all, a request that changes
// state and is authenticated by a session cookie is refused when a browser
// says another site sent it, before any handler runs or Stytch is asked;
// TrustedOrigins opens it to named origins, AllowAll turns the check off,
// and a Bearer credential, which no browser attaches on its own, is never
// affected.
func TestCrossOriginByDefault(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) { c.CrossOrigin.TrustedOrigins = []string{"https://app.example.com"} })
	open := newApp(t, func(c *middleware.Config) { c.CrossOrigin.AllowAll = true })
	_, tok := a.user(t)
	_, otok := open.user(t)
	var reached atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	tests := []struct {
		name   string
		app    *app
		cred   string
		method string
		header map[string]string
		want   int
	}{
		{"same-origin POST", a, "jwt:", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, 204},
		{"cross-origin POST", a, "jwt:", "POST", cross, 403},
		{"cross-origin POST, Origin only", a, "jwt:", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-origin POST, opaque token cookie", a, "token:", "POST", cross, 403},
		{"trusted origin", a, "jwt:", "POST", map[string]string{"Origin": "https://app.example.com", "Sec-Fetch-Site": "cross-site"}, 204},
		{"cross-origin DELETE", a, "jwt:", "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-origin GET reads", a, "jwt:", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 204},
		{"no browser headers (curl)", a, "jwt:", "POST", nil, 204},
		{"cross-origin POST with Bearer", a, "bearer:", "POST", cross, 204},
		{"cross-origin POST, AllowAll", open, "jwt:", "POST", cross, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, calls := reached.Load(), tt.app.srv.Calls(stytchtest.Authenticate)
			jwt, token := tok.SessionJWT, tok.SessionToken
			if tt.app == open {
				jwt, token = otok.SessionJWT, otok.SessionToken
			}
			value := jwt
			if tt.cred == "token:" {
				value = token
			}
			h := tt.app.mw.Require(handler)
			r := req(tt.method, "http://app.local/documents", tt.cred+value)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if (tt.want == 204) != (reached.Load() > before) {
				t.Fatal("the handler ran for a refused request, or not for an allowed one")
			}
			if tt.want == 403 && tt.app.srv.Calls(stytchtest.Authenticate) != calls {
				t.Fatal("a refused cross-origin request reached Stytch")
			}
		})
	}
}

func TestRevocationStoreFailureIsA503(t *testing.T) {
	var failed atomic.Int64
	a := newApp(t, func(c *middleware.Config) {
		c.Stores.Revocations = failingList{memstore.NewList(memstore.Config{})}
		c.Hooks.RevokeFailed = func(error) { failed.Add(1) }
	})
	_, tok := a.user(t)
	rec := a.do(req("POST", "/logout", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
	if rec.Code != 503 || len(rec.Result().Cookies()) != 0 || failed.Load() != 1 {
		t.Fatalf("logout with a store down: %d, cookies %v, hook %d", rec.Code, rec.Result().Cookies(), failed.Load())
	}
	if !strings.Contains(a.logs.String(), "could not be recorded") {
		t.Fatalf("not logged: %s", a.logs)
	}
	if strings.Contains(a.logs.String(), "Stytch unavailable") {
		t.Fatalf("a revocation store failure logged as Stytch being down: %s", a.logs)
	}
	if a.srv.SessionAlive(tok.SessionID) {
		t.Fatal("the session was not revoked at Stytch")
	}
}

// failingList records locally but reports the shared store down.
type failingList struct {
	*memstore.List
}

func (l failingList) Revoke(ctx context.Context, id string, until time.Time) error {
	_ = l.List.Revoke(ctx, id, until)
	return fmt.Errorf("shared store: %w", context.DeadlineExceeded)
}

// TestStytchsOwnLimitsAreAnOutageNotASignOut runs a garbage flood against an
// emulator that limits as Stytch does (a project rate, and 429
// too_few_tokens_authenticated once most recent tokens failed). The budget
// keeps the garbage that reaches Stytch within its bound; what does reach it
// can still trip Stytch's failed-token rule for a small app, and then a
// genuine first-seen token is a 503 with Retry-After: never a 401, never a
// cleared cookie, while locally verified JWTs go on working.
func TestStytchsOwnLimitsAreAnOutageNotASignOut(t *testing.T) {
	up := middleware.Upstream{Rate: 20, Burst: 50}
	a := newApp(t, func(c *middleware.Config) { c.Upstream = up })
	a.srv.SetRateLimit(stytchtest.RateLimit{PerSecond: 100, Burst: 100, FailedShare: 0.5, MinCalls: 20})
	_, live := a.user(t)
	_, late := a.user(t) // signs in during the flood, with an opaque token
	a.srv.ResetCalls()

	const n = 300
	var wg sync.WaitGroup
	var unexpected atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := a.do(req("GET", "/me", "bearer:"+randomToken(t))); rec.Code != 401 && rec.Code != 503 {
				unexpected.Add(1)
			}
		}()
	}
	wg.Wait()
	if unexpected.Load() != 0 {
		t.Fatalf("%d garbage requests answered neither 401 nor 503", unexpected.Load())
	}
	if c := a.srv.Calls(stytchtest.Authenticate); c > up.Burst+5 {
		t.Fatalf("%d garbage calls reached Stytch, budget burst %d", c, up.Burst)
	}

	if rec := a.do(req("GET", "/me", "jwt:"+live.SessionJWT)); rec.Code != 200 {
		t.Fatalf("a fresh JWT while Stytch refuses authenticate: %d", rec.Code)
	}
	// Past the breaker's cooldown and with the budget refilled on the app's
	// (frozen) clock, the token does reach Stytch, whose failed-token window
	// (10 s, on the same clock) still holds the flood.
	a.srv.Advance(3 * time.Second)
	before := a.srv.Calls(stytchtest.Authenticate)
	rec := a.do(req("GET", "/me", "token:"+late.SessionToken))
	if a.srv.Calls(stytchtest.Authenticate) == before {
		t.Fatal("the genuine token never reached Stytch")
	}
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("a genuine token while Stytch answers too_few_tokens_authenticated: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Fatalf("Stytch's rate limit touched cookies: %v", rec.Result().Cookies())
	}

	// Once Stytch answers again, and the breaker's cooldown has passed on
	// the app's (frozen) clock, the same token works.
	a.srv.SetRateLimit(stytchtest.RateLimit{})
	a.srv.Advance(5 * time.Second)
	if rec := a.do(req("GET", "/me", "token:"+late.SessionToken)); rec.Code != 200 {
		t.Fatalf("still %d after Stytch recovered", rec.Code)
	}
}
