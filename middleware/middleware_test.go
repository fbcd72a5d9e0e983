package middleware_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestExtractionAndPaths(t *testing.T) {
	a := newApp(t, nil)
	u, tok := a.user(t)
	stale := func() string {
		// A JWT of the live session, five minutes old: verified by Stytch.
		a.srv.Advance(-6 * time.Minute)
		defer a.srv.Advance(6 * time.Minute)
		res, err := a.srv.Client().Consumer.Authenticate(t.Context(), session.AuthenticateParams{SessionToken: tok.SessionToken})
		if err != nil {
			t.Fatal(err)
		}
		return res.SessionJWT
	}()
	tests := []struct {
		name       string
		path       string
		creds      []string
		status     int
		source     string // "local", "stytch", or "" for anonymous/refused
		code       string
		remoteCall bool
	}{
		{"Bearer JWT", "/me", []string{"bearer:" + tok.SessionJWT}, 200, "local", "", false},
		{"Bearer opaque token", "/me", []string{"bearer:" + tok.SessionToken}, 200, "stytch", "", true},
		{"JWT cookie", "/me", []string{"jwt:" + tok.SessionJWT}, 200, "local", "", false},
		{"token cookie", "/me", []string{"token:" + tok.SessionToken}, 200, "stytch", "", true},
		{"both cookies, fresh JWT", "/me", []string{"jwt:" + tok.SessionJWT, "token:" + tok.SessionToken}, 200, "local", "", false},
		{"stale JWT cookie", "/me", []string{"jwt:" + stale}, 200, "stytch", "", true},
		{"stale JWT and token: the token is asked", "/me", []string{"jwt:" + stale, "token:" + tok.SessionToken}, 200, "stytch", "", true},
		{"header wins over cookies", "/me", []string{"bearer:" + tok.SessionJWT, "jwt:garbage"}, 200, "local", "", false},
		{"non-Bearer Authorization ignored", "/me", []string{"header:Authorization:Basic dXNlcjpwYXNz", "jwt:" + tok.SessionJWT}, 200, "local", "", false},
		{"no credential, required", "/me", nil, 401, "", stytchguard.CodeUnauthenticated, false},
		{"no credential, optional", "/optional", nil, 200, "", "", false},
		{"two Authorization headers", "/me", []string{"bearer:" + tok.SessionJWT, "bearer:" + tok.SessionJWT}, 400, "", stytchguard.CodeInvalidRequest, false},
		{"empty Bearer", "/me", []string{"header:Authorization:Bearer "}, 400, "", stytchguard.CodeInvalidRequest, false},
		{"garbage JWT", "/me", []string{"bearer:a.b.c"}, 401, "", stytchguard.CodeInvalidToken, false},
		{"garbage token", "/me", []string{"bearer:not a token"}, 401, "", stytchguard.CodeInvalidToken, false},
		{"garbage Bearer on an optional route", "/optional", []string{"bearer:a.b.c"}, 401, "", stytchguard.CodeInvalidToken, false},
		{"garbage cookie on an optional route", "/optional", []string{"jwt:a.b.c"}, 200, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.srv.Calls(stytchtest.Authenticate)
			rec := a.do(req("GET", tt.path, tt.creds...))
			b := body(t, rec)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %v", rec.Code, tt.status, b)
			}
			if tt.code != "" && b["error_type"] != tt.code {
				t.Fatalf("error_type %v, want %s", b["error_type"], tt.code)
			}
			if tt.source != "" && (b["source"] != tt.source || b["user_id"] != u.UserID) {
				t.Fatalf("got %v, want user %s verified by %s", b, u.UserID, tt.source)
			}
			if tt.status == 200 && tt.source == "" && b["anonymous"] != true {
				t.Fatalf("want anonymous, got %v", b)
			}
			calls := a.srv.Calls(stytchtest.Authenticate) - before
			if !tt.remoteCall && calls != 0 {
				t.Fatalf("%d calls to Stytch, want none", calls)
			}
			if tt.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge")
			}
		})
	}
}

func TestLogoutTakesEffectAtOnce(t *testing.T) {
	a := newApp(t, nil)
	u, laptop := a.user(t)
	phone, _ := a.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	a.remember(phone)
	for _, tok := range []stytchtest.Tokens{laptop, phone} {
		if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 200 {
			t.Fatalf("before logout: %d", rec.Code)
		}
	}
	rec := a.do(req("POST", "/logout", "jwt:"+laptop.SessionJWT, "token:"+laptop.SessionToken))
	if rec.Code != 204 {
		t.Fatalf("logout: %d %v", rec.Code, body(t, rec))
	}
	if c := cookies(rec); c["stytch_session"] == nil || c["stytch_session"].MaxAge >= 0 || c["stytch_session_jwt"] == nil || c["stytch_session_jwt"].MaxAge >= 0 {
		t.Fatalf("cookies not cleared: %v", rec.Header()["Set-Cookie"])
	}
	// The same still-unexpired JWT is refused at once, locally, with no window.
	before := a.srv.Calls(stytchtest.Authenticate)
	for _, creds := range [][]string{{"jwt:" + laptop.SessionJWT}, {"bearer:" + laptop.SessionJWT}, {"bearer:" + laptop.SessionToken}} {
		if rec := a.do(req("GET", "/me", creds...)); rec.Code != 401 {
			t.Fatalf("after logout with %s...: %d", creds[0][:10], rec.Code)
		}
	}
	if !a.srv.SessionAlive(phone.SessionID) || a.srv.SessionAlive(laptop.SessionID) {
		t.Fatalf("revoked the wrong session at Stytch")
	}
	if rec := a.do(req("GET", "/me", "jwt:"+phone.SessionJWT)); rec.Code != 200 {
		t.Fatalf("the other session: %d", rec.Code)
	}
	if n := a.srv.Calls(stytchtest.Authenticate) - before; n > 1 {
		t.Fatalf("%d calls to Stytch after logout", n)
	}
	// Logging out again, with a dead session, still succeeds and clears.
	if rec := a.do(req("POST", "/logout", "jwt:"+laptop.SessionJWT)); rec.Code != 204 || len(cookies(rec)) != 2 {
		t.Fatalf("second logout: %d", rec.Code)
	}
	if rec := a.do(req("POST", "/logout")); rec.Code != 204 {
		t.Fatalf("logout without a session: %d", rec.Code)
	}
	if rec := a.do(req("GET", "/logout", "jwt:"+phone.SessionJWT)); rec.Code != 405 {
		t.Fatalf("GET /logout: %d", rec.Code)
	}
}

func TestCrossOriginLogoutIsRefused(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) { c.CrossOrigin.TrustedOrigins = []string{"https://app.example.com"} })
	_, tok := a.user(t)
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"another site's form", []string{"header:Sec-Fetch-Site:cross-site", "header:Origin:https://evil.example"}, 403},
		{"another origin, old browser", []string{"header:Origin:https://evil.example"}, 403},
		{"same origin", []string{"header:Sec-Fetch-Site:same-origin", "header:Origin:http://example.com"}, 204},
	}
	for _, tt := range tests[:2] {
		rec := a.do(req("POST", "/logout", append([]string{"jwt:" + tok.SessionJWT}, tt.headers...)...))
		if rec.Code != tt.status || len(cookies(rec)) != 0 {
			t.Fatalf("%s: %d, cookies %v", tt.name, rec.Code, rec.Header()["Set-Cookie"])
		}
		if !a.srv.SessionAlive(tok.SessionID) {
			t.Fatalf("%s revoked the session", tt.name)
		}
		if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 200 {
			t.Fatalf("%s: the session stopped working here", tt.name)
		}
	}
	trusted := a.do(req("POST", "/logout-all", "jwt:"+tok.SessionJWT, "header:Sec-Fetch-Site:cross-site", "header:Origin:https://app.example.com"))
	if trusted.Code != 204 {
		t.Fatalf("trusted origin: %d", trusted.Code)
	}
}

func TestStytchDownIsAnOutageNotALogout(t *testing.T) {
	faults := []struct {
		name  string
		fault stytchtest.Fault
	}{
		{"503", stytchtest.Fault{Status: 503}},
		{"500", stytchtest.Fault{Status: 500}},
		{"429", stytchtest.Fault{Status: 429, RetryAfter: 7 * time.Second}},
		{"dropped", stytchtest.Fault{Drop: true}},
		{"garbage", stytchtest.Fault{Malformed: true}},
		{"slow", stytchtest.Fault{Latency: 5 * time.Second}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			a := newApp(t, nil)
			_, tok := a.user(t)
			a.srv.Advance(6 * time.Minute) // the JWT is stale: Stytch must be asked
			a.srv.InjectFault(stytchtest.Authenticate, f.fault)
			start := time.Now()
			rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
			if rec.Code != 503 || body(t, rec)["error_type"] != stytchguard.CodeUnavailable {
				t.Fatalf("status %d %v, want 503", rec.Code, body(t, rec))
			}
			if ra := rec.Header().Get("Retry-After"); ra == "" || (f.fault.RetryAfter > 0 && ra != "7") {
				t.Fatalf("Retry-After %q", ra)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Fatalf("cookies touched during an outage: %v", rec.Header()["Set-Cookie"])
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("took %v past the 2 s client timeout", took)
			}
			a.srv.ClearFaults()
			if f.fault.RetryAfter > 0 {
				// Stytch asked to wait: nothing is asked until then.
				if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken)); rec.Code != 503 {
					t.Fatalf("within Stytch's Retry-After: %d, want 503", rec.Code)
				}
				a.srv.Advance(f.fault.RetryAfter)
			}
			if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken)); rec.Code != 200 {
				t.Fatalf("after recovery: %d", rec.Code)
			}
		})
	}
}

func TestConcurrentOpaqueTokenIsOneCall(t *testing.T) {
	a := newApp(t, nil)
	_, tok := a.user(t)
	a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	codes := make([]int, 100)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = a.do(req("GET", "/me", "bearer:"+tok.SessionToken)).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if n := a.srv.Calls(stytchtest.Authenticate); n != 1 {
		t.Fatalf("%d upstream calls for 100 concurrent requests with one token", n)
	}
	// Reused for RemoteTTL afterwards.
	a.do(req("GET", "/me", "bearer:"+tok.SessionToken))
	if n := a.srv.Calls(stytchtest.Authenticate); n != 1 {
		t.Fatalf("the answer was not reused: %d calls", n)
	}
}

func TestFreshJWTsNeverCallStytch(t *testing.T) {
	a := newApp(t, nil)
	var toks []stytchtest.Tokens
	for range 10 {
		_, tok := a.user(t)
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := a.do(req("GET", "/me", "jwt:"+toks[i%10].SessionJWT)); rec.Code != 200 {
				t.Errorf("%d", rec.Code)
			}
		}()
	}
	wg.Wait()
	if n := a.srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d upstream calls for 1000 requests with fresh JWTs", n)
	}
}

func TestGarbageStormNeverCallsStytch(t *testing.T) {
	a := newApp(t, nil)
	_, tok := a.user(t)
	kid, _ := a.srv.SigningKey()
	rng := rand.New(rand.NewPCG(3, 4))
	garbage := func(i int) []string {
		b := make([]byte, 10+rng.IntN(200))
		for j := range b {
			b[j] = byte(33 + rng.IntN(94))
		}
		switch i % 5 {
		case 0:
			return []string{"bearer:" + string(b)}
		case 1: // a JWT's shape
			return []string{"bearer:" + strings.ReplaceAll(string(b[:len(b)/3]), ".", "") + "." + strings.ReplaceAll(string(b[len(b)/3:]), ".", "") + ".sig"}
		case 2: // the real header, a forged payload and signature
			parts := strings.Split(tok.SessionJWT, ".")
			return []string{"jwt:" + parts[0] + ".eyJzdWIiOiJ4In0." + parts[2]}
		case 3:
			return []string{"jwt:" + fmt.Sprintf("%x", b)}
		default:
			_ = kid
			return []string{"token:" + strings.Repeat("!", 44)}
		}
	}
	for i := range 2000 {
		if rec := a.do(req("GET", "/me", garbage(i)...)); rec.Code != 401 && rec.Code != 400 {
			t.Fatalf("garbage %d: %d", i, rec.Code)
		}
	}
	if n := a.srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d upstream calls for a garbage storm", n)
	}
}

func TestStaleJWTCookieIsRefreshedThenLocal(t *testing.T) {
	a := newApp(t, nil)
	u, tok := a.user(t)
	a.srv.Advance(6 * time.Minute)
	rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT))
	if rec.Code != 200 || body(t, rec)["source"] != "stytch" {
		t.Fatalf("stale JWT: %d %v", rec.Code, body(t, rec))
	}
	c := cookies(rec)["stytch_session_jwt"]
	if c == nil || c.Value == tok.SessionJWT || c.Path != "/" || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.HttpOnly {
		t.Fatalf("refreshed cookie %+v", c)
	}
	if !c.Expires.Equal(tok.ExpiresAt) {
		t.Fatalf("cookie expires %v, want the session's %v", c.Expires, tok.ExpiresAt)
	}
	before := a.srv.Calls(stytchtest.Authenticate)
	rec = a.do(req("GET", "/me", "jwt:"+c.Value))
	if rec.Code != 200 || body(t, rec)["source"] != "local" || body(t, rec)["user_id"] != u.UserID {
		t.Fatalf("next request: %d %v", rec.Code, body(t, rec))
	}
	if n := a.srv.Calls(stytchtest.Authenticate) - before; n != 0 {
		t.Fatalf("the refreshed JWT cost %d calls", n)
	}
	// A Bearer credential gets no cookie.
	a.srv.Advance(6 * time.Minute)
	if rec := a.do(req("GET", "/me", "bearer:"+c.Value)); rec.Code != 200 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("Bearer: %d, cookies %v", rec.Code, rec.Header()["Set-Cookie"])
	}
}

func TestGoneSessionClearsCookiesAndIsRemembered(t *testing.T) {
	a := newApp(t, nil)
	_, tok := a.user(t)
	if err := a.srv.RevokeSession(tok.SessionID); err != nil { // revoked elsewhere
		t.Fatal(err)
	}
	a.srv.Advance(6 * time.Minute)
	for i := range 5 {
		rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
		if rec.Code != 401 || body(t, rec)["error_type"] != stytchguard.CodeInvalidToken {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
		if c := cookies(rec); len(c) != 2 || c["stytch_session"].MaxAge >= 0 {
			t.Fatalf("cookies not cleared: %v", rec.Header()["Set-Cookie"])
		}
		if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("challenge %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
	if n := a.srv.Calls(stytchtest.Authenticate); n != 1 {
		t.Fatalf("a replayed dead token cost %d calls, want 1", n)
	}
	// On an optional route the request goes on anonymous, cookies cleared.
	rec := a.do(req("GET", "/optional", "token:"+tok.SessionToken))
	if rec.Code != 200 || body(t, rec)["anonymous"] != true || len(cookies(rec)) != 2 {
		t.Fatalf("optional route: %d %v", rec.Code, body(t, rec))
	}
}

func TestSlidingSessions(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.Sessions.DurationMinutes = 60
		c.Sessions.RefreshAfter = 2 * time.Minute
	})
	_, tok := a.user(t)
	start := a.srv.Now()
	// Young JWT: local, no extension.
	if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken)); body(t, rec)["source"] != "local" {
		t.Fatalf("young JWT went remote")
	}
	// Older than RefreshAfter: remote, extended, cookies refreshed.
	a.srv.Advance(3 * time.Minute)
	rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT, "token:"+tok.SessionToken))
	if rec.Code != 200 || body(t, rec)["source"] != "stytch" {
		t.Fatalf("old JWT: %d %v", rec.Code, body(t, rec))
	}
	c := cookies(rec)
	want := start.Add(3*time.Minute + time.Hour)
	if c["stytch_session"] == nil || !c["stytch_session"].Expires.Equal(want) || !c["stytch_session_jwt"].Expires.Equal(want) {
		t.Fatalf("cookies %v, want both to expire at %v", rec.Header()["Set-Cookie"], want)
	}
	// Stytch down then: the locally valid session stands.
	a.srv.Advance(time.Minute)
	a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
	newJWT := c["stytch_session_jwt"].Value
	a.srv.Advance(2 * time.Minute)
	if rec := a.do(req("GET", "/me", "jwt:"+newJWT)); rec.Code != 200 || body(t, rec)["source"] != "local" {
		t.Fatalf("refresh during an outage: %d %v", rec.Code, body(t, rec))
	}
}

func TestLogoutAll(t *testing.T) {
	t.Run("consumer", func(t *testing.T) {
		a := newApp(t, func(c *middleware.Config) { c.Logout.AllConcurrency = 1 })
		u, first := a.user(t)
		var others []stytchtest.Tokens
		for range 5 {
			tok, _ := a.srv.StartSession(u.UserID, stytchtest.SessionParams{})
			others = append(others, tok)
		}
		bystander, btok := a.user(t)
		_ = bystander
		if rec := a.do(req("GET", "/sessions", "jwt:"+first.SessionJWT)); rec.Code != 200 || len(body(t, rec)["sessions"].([]any)) != 6 {
			t.Fatalf("sessions: %d %v", rec.Code, body(t, rec))
		}
		// One at a time, two attempts each: the first two revocations fail.
		a.srv.InjectFault(stytchtest.Revoke, stytchtest.Fault{Status: 503, Times: 4})
		rec := a.do(req("POST", "/logout-all", "jwt:"+first.SessionJWT))
		if rec.Code != 503 || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("partial failure: %d", rec.Code)
		}
		// Every other session is refused here already; the caller's own
		// still works, so that it can repeat the call.
		for _, tok := range others {
			if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 401 {
				t.Fatalf("a session survived logout-all here: %d", rec.Code)
			}
		}
		if list, _ := a.srv.Client().Consumer.List(t.Context(), u.UserID); len(list.Sessions) != 3 {
			t.Fatalf("%d sessions left at Stytch, want the caller's and the 2 whose revocation failed", len(list.Sessions))
		}
		if rec := a.do(req("POST", "/logout-all", "jwt:"+first.SessionJWT)); rec.Code != 204 || len(cookies(rec)) != 2 {
			t.Fatalf("repeat: %d", rec.Code)
		}
		if list, _ := a.srv.Client().Consumer.List(t.Context(), u.UserID); len(list.Sessions) != 0 {
			t.Fatalf("%d sessions left at Stytch after the repeat", len(list.Sessions))
		}
		if rec := a.do(req("GET", "/me", "jwt:"+first.SessionJWT)); rec.Code != 401 {
			t.Fatalf("the caller's session survived: %d", rec.Code)
		}
		if rec := a.do(req("GET", "/me", "jwt:"+btok.SessionJWT)); rec.Code != 200 {
			t.Fatalf("another user's session: %d", rec.Code)
		}
	})
	t.Run("B2B", func(t *testing.T) {
		a := newLineApp(t, true, nil)
		org := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
		m, _ := a.srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
		var toks []stytchtest.Tokens
		for range 3 {
			tok, _ := a.srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
			toks = append(toks, tok)
		}
		a.remember(toks...)
		if rec := a.do(req("GET", "/me", "jwt:"+toks[0].SessionJWT)); rec.Code != 200 || body(t, rec)["organization_id"] != org.OrganizationID {
			t.Fatalf("member: %d %v", rec.Code, body(t, rec))
		}
		if rec := a.do(req("GET", "/sessions", "jwt:"+toks[0].SessionJWT)); len(body(t, rec)["member_sessions"].([]any)) != 3 {
			t.Fatalf("member sessions: %v", body(t, rec))
		}
		if rec := a.do(req("POST", "/logout-all", "jwt:"+toks[0].SessionJWT)); rec.Code != 204 {
			t.Fatalf("logout-all: %d %v", rec.Code, body(t, rec))
		}
		for _, tok := range toks {
			if rec := a.do(req("GET", "/me", "jwt:"+tok.SessionJWT)); rec.Code != 401 {
				t.Fatalf("a member session survived: %d", rec.Code)
			}
			if a.srv.SessionAlive(tok.SessionID) {
				t.Fatalf("alive at Stytch")
			}
		}
	})
}

func TestB2BExchange(t *testing.T) {
	a := newLineApp(t, true, nil)
	home := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Home"})
	away := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Away"})
	strict := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Strict", MFARequired: true})
	stranger := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Stranger"})
	m, _ := a.srv.CreateMember(home.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
	for _, o := range []session.Organization{away, strict} {
		if _, err := a.srv.CreateMember(o.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	tok, _ := a.srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	a.remember(tok)
	creds := []string{"jwt:" + tok.SessionJWT, "token:" + tok.SessionToken}

	rec := a.do(req("POST", "/exchange?organization_id="+away.OrganizationID, creds...))
	b := body(t, rec)
	c := cookies(rec)
	if rec.Code != 200 || b["member_authenticated"] != true || c["stytch_session_jwt"] == nil || c["stytch_session"] == nil || b["session_token"] != nil {
		t.Fatalf("exchange: %d %v %v", rec.Code, b, rec.Header()["Set-Cookie"])
	}
	if rec := a.do(req("GET", "/me", "jwt:"+c["stytch_session_jwt"].Value)); body(t, rec)["organization_id"] != away.OrganizationID {
		t.Fatalf("new session: %v", body(t, rec))
	}
	rec = a.do(req("POST", "/exchange?organization_id="+strict.OrganizationID, creds...))
	b = body(t, rec)
	ist := cookies(rec)["stytch_intermediate_session_token"]
	if rec.Code != 200 || b["member_authenticated"] != false || b["mfa_required"] != true || b["intermediate_session_token"] != nil || len(rec.Result().Cookies()) != 1 ||
		ist == nil || ist.Value == "" || !ist.Expires.After(time.Now()) {
		t.Fatalf("MFA exchange: the intermediate token in its cookie only: %d %v %v", rec.Code, b, rec.Header()["Set-Cookie"])
	}
	// A header caller has no cookie jar: the token comes in the body.
	rec = a.do(req("POST", "/exchange?organization_id="+strict.OrganizationID, "bearer:"+tok.SessionJWT))
	if b = body(t, rec); rec.Code != 200 || b["mfa_required"] != true || b["intermediate_session_token"] == nil || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("MFA exchange with a header: %d %v %v", rec.Code, b, rec.Header()["Set-Cookie"])
	}
	if rec := a.do(req("POST", "/exchange?organization_id="+stranger.OrganizationID, creds...)); rec.Code != 403 {
		t.Fatalf("not a member there: %d %v", rec.Code, body(t, rec))
	}
	if rec := a.do(req("POST", "/exchange", creds...)); rec.Code != 400 {
		t.Fatalf("no organization: %d", rec.Code)
	}
}

func TestHooksAndLogs(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(k string) { mu.Lock(); counts[k]++; mu.Unlock() }
	a := newApp(t, func(c *middleware.Config) {
		c.Hooks = middleware.Hooks{
			Local:   func() { count("local") },
			Reused:  func() { count("reused") },
			Remote:  func(err error) { count(fmt.Sprint("remote:", err == nil)) },
			Refused: func(code string) { count(code) },
		}
	})
	_, tok := a.user(t)
	a.do(req("GET", "/me", "jwt:"+tok.SessionJWT))
	a.do(req("GET", "/me", "bearer:"+tok.SessionToken))
	a.do(req("GET", "/me", "bearer:"+tok.SessionToken))
	a.do(req("GET", "/me"))
	a.srv.InjectFault(stytchtest.Authenticate, stytchtest.Fault{Status: 503})
	a.srv.Advance(6 * time.Minute)
	a.do(req("GET", "/me", "jwt:"+tok.SessionJWT))
	want := map[string]int{"local": 1, "reused": 1, "remote:true": 1, "remote:false": 1, stytchguard.CodeUnauthenticated: 1, stytchguard.CodeUnavailable: 1}
	for k, v := range want {
		if counts[k] != v {
			t.Fatalf("hooks %v, want %v", counts, want)
		}
	}
	if !strings.Contains(a.logs.String(), "Stytch unavailable") {
		t.Fatalf("the outage was not logged: %q", a.logs.String())
	}
}

// TestNewNamesTheInvalidField: each invalid value is refused by New with an
// error that names its field, so that a misconfiguration is fixed from the
// message alone; several invalid values are each reported.
func TestNewNamesTheInvalidField(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := srv.Client()
	tests := []struct {
		field string
		cfg   middleware.Config
	}{
		{"Config.Client", middleware.Config{}},
		{"Config.Sessions.DurationMinutes", middleware.Config{Client: c, Sessions: middleware.Sessions{DurationMinutes: 4}}},
		{"Config.Sessions.DurationMinutes", middleware.Config{Client: c, Sessions: middleware.Sessions{DurationMinutes: 527041}}},
		{"Config.Sessions.RefreshAfter", middleware.Config{Client: c, Sessions: middleware.Sessions{RefreshAfter: -time.Second}}},
		{"Config.Verification.ClockTolerance", middleware.Config{Client: c, Verification: middleware.Verification{ClockTolerance: -1}}},
		{"Config.Verification.MachineMaxTokenAge", middleware.Config{Client: c, Verification: middleware.Verification{MachineMaxTokenAge: -1}}},
		{"Config.Upstream.RemoteTTL", middleware.Config{Client: c, Upstream: middleware.Upstream{RemoteTTL: 10 * time.Minute}}},
		{"Config.Upstream.RemoteTTL", middleware.Config{Client: c, Upstream: middleware.Upstream{RemoteTTL: -1}}},
		{"Config.Upstream.GoneTTL", middleware.Config{Client: c, Upstream: middleware.Upstream{GoneTTL: -1}}},
		{"Config.Upstream.RetryAfter", middleware.Config{Client: c, Upstream: middleware.Upstream{RetryAfter: -1}}},
		{"Config.Upstream.SlotWait", middleware.Config{Client: c, Upstream: middleware.Upstream{SlotWait: -1}}},
		{"Config.Upstream.BreakerCooldown", middleware.Config{Client: c, Upstream: middleware.Upstream{BreakerCooldown: -1}}},
		{"Config.Upstream.Burst", middleware.Config{Client: c, Upstream: middleware.Upstream{Burst: -1}}},
		{"Config.Upstream.ClientRate", middleware.Config{Client: c, Upstream: middleware.Upstream{ClientRate: -1}}},
		{"Config.Upstream.ClientBurst", middleware.Config{Client: c, Upstream: middleware.Upstream{ClientBurst: -1}}},
		{"Config.Upstream.MaxClients", middleware.Config{Client: c, Upstream: middleware.Upstream{MaxClients: -1}}},
		{"Config.Upstream.MaxInFlight", middleware.Config{Client: c, Upstream: middleware.Upstream{MaxInFlight: -1}}},
		{"Config.Logout.AllConcurrency", middleware.Config{Client: c, Logout: middleware.Logout{AllConcurrency: -1}}},
		{"Config.Cookies.Token", middleware.Config{Client: c, Cookies: middleware.Cookies{JWT: "s", Token: "s"}}},
		{"Config.Cookies.Token", middleware.Config{Client: c, Cookies: middleware.Cookies{Token: "stytch_session_jwt"}}},
		{"Config.Cookies.JWT", middleware.Config{Client: c, Cookies: middleware.Cookies{JWT: "bad name;"}}},
		{"Config.Cookies.JWT", middleware.Config{Client: c, Cookies: middleware.Cookies{JWT: "__Host-jwt", Domain: "example.com"}}},
		{"Config.Cookies.Intermediate", middleware.Config{Client: c, Cookies: middleware.Cookies{Intermediate: "__Secure-ist", Insecure: true}}},
		{"Config.CrossOrigin.TrustedOrigins[1]", middleware.Config{Client: c, CrossOrigin: middleware.CrossOrigin{TrustedOrigins: []string{"https://ok.example", "not a url"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := middleware.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), "middleware: "+tt.field+": ") {
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
		})
	}
	_, err := middleware.New(middleware.Config{Client: c, Upstream: middleware.Upstream{GoneTTL: -1, MaxInFlight: -2}})
	if err == nil || !strings.Contains(err.Error(), "Config.Upstream.GoneTTL") || !strings.Contains(err.Error(), "Config.Upstream.MaxInFlight") {
		t.Fatalf("two invalid values: %v, want both named", err)
	}
	if mw, err := middleware.New(middleware.Config{Client: c}); err != nil {
		t.Fatalf("the zero Config with a client: %v", err)
	} else {
		mw.Close()
	}
}

// TestDefaultLoggerReportsAMisconfiguredBaseURL: with no Logger set, a
// base URL where no Stytch answers is reported on slog.Default, with the
// URL and what to check, never silently answered 503.
func TestDefaultLoggerReportsAMisconfiguredBaseURL(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close() // nothing listens there now
	client, err := session.New(session.Config{ProjectID: "project-test-1", Secret: "secret-test-1", BaseURL: base,
		Timeout: time.Second, Retry: &session.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	rec := httptest.NewRecorder()
	mw.Require(whoami).ServeHTTP(rec, req("GET", "/me", "bearer:opaque-session-token-0123456789abcdef0123456789"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if out := logs.String(); !strings.Contains(out, "Stytch unavailable") || !strings.Contains(out, base) || !strings.Contains(out, "STYTCH_BASE_URL") {
		t.Fatalf("the default logger said %q", out)
	}
}
