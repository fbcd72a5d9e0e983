package jwtlocal_test

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestVerifiedSessionIsWhatStytchReturns(t *testing.T) {
	f := newFixture(t, nil)
	got, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.srv.Client().Consumer.Authenticate(bg(), session.AuthenticateParams{SessionToken: f.tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Session
	s := got.Consumer
	if got.Member != nil || s == nil {
		t.Fatalf("consumer verifier returned %+v", got)
	}
	if s.SessionID != want.SessionID || s.UserID != want.UserID || !slices.Equal(s.Roles, want.Roles) ||
		!s.ExpiresAt.Equal(want.ExpiresAt.Time) || !s.StartedAt.Equal(want.StartedAt.Time) ||
		len(s.AuthenticationFactors) != 1 || s.AuthenticationFactors[0].EmailFactor.EmailAddress != "ada@example.com" ||
		len(s.CustomClaims) != 1 || s.CustomClaims["plan"] != "pro" || s.Attributes == nil {
		t.Fatalf("verified %+v\nStytch   %+v", s, want)
	}
	if got.SessionID != f.tok.SessionID || got.Subject != f.user.UserID || got.Expiry.Sub(got.IssuedAt) != 5*time.Minute {
		t.Fatalf("verified %+v", got)
	}
}

func TestB2BVerifier(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, _ := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "g@example.com", Roles: []string{"auditor"}})
	mtok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	ctok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})

	b2b, err := jwtlocal.New(jwtlocal.Config{Client: srv.B2BClient(), Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b2b.Close()
	consumer, _ := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: srv.Now})
	defer consumer.Close()

	got, err := b2b.Verify(bg(), mtok.SessionJWT)
	if err != nil {
		t.Fatal(err)
	}
	ms := got.Member
	if got.Consumer != nil || ms.MemberSessionID != mtok.SessionID || ms.MemberID != m.MemberID || ms.OrganizationID != org.OrganizationID ||
		ms.OrganizationSlug != "acme" || !slices.Equal(ms.Roles, []string{"stytch_member", "auditor"}) {
		t.Fatalf("member session %+v", ms)
	}
	if _, err := b2b.Verify(bg(), ctok.SessionJWT); !errors.Is(err, jwtlocal.ErrInvalid) {
		t.Fatalf("consumer JWT at a B2B verifier: %v", err)
	}
	if _, err := consumer.Verify(bg(), mtok.SessionJWT); !errors.Is(err, jwtlocal.ErrInvalid) {
		t.Fatalf("B2B JWT at a consumer verifier: %v", err)
	}
}

func TestBadTokens(t *testing.T) {
	f := newFixture(t, func(c *jwtlocal.Config) { c.MaxTokenAge = 120 * time.Second })
	good := f.tok.SessionJWT
	parts := strings.Split(good, ".")
	kid, key := f.srv.SigningKey()
	now := f.srv.Now()
	claims := claimsOf(t, good)
	with := func(k string, v any) string {
		return f.resign(t, func(c jwt.MapClaims) {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		})
	}
	tampered := claimsOf(t, good)
	tampered["sub"] = "user-test-someone-else"
	tamperedJSON, _ := json.Marshal(tampered)
	payload := base64.RawURLEncoding.EncodeToString(tamperedJSON)

	tests := []struct {
		name  string
		token string
		want  jwtlocal.Outcome
	}{
		{"good", good, jwtlocal.Valid},
		{"empty", "", jwtlocal.Invalid},
		{"garbage", "garbage", jwtlocal.Invalid},
		{"invalid base64", "a$b.c$d.e$f", jwtlocal.Invalid},
		{"too long", good + strings.Repeat("A", 9000), jwtlocal.Invalid},
		{"tampered payload", parts[0] + "." + payload + "." + parts[2], jwtlocal.Invalid},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:20], jwtlocal.Invalid},
		// The same signature bytes, spelled otherwise: the last character of
		// a 2048-bit signature carries 2 bits, and 4 it does not use; a
		// lenient decoder gives 16 spellings of one token, each a new key
		// for every cache and for Stytch.
		{"signature's unused bits set", parts[0] + "." + parts[1] + "." + unusedBitsSet(t, parts[2]), jwtlocal.Invalid},
		{"foreign key, same kid", sign(t, jwt.SigningMethodRS256, newRSAKey(t), kid, claims), jwtlocal.Invalid},
		{"alg none", noneToken(t, kid, claims), jwtlocal.Invalid},
		{"HS256 keyed with the public key", sign(t, jwt.SigningMethodHS256, publicDER(t, key), kid, claims), jwtlocal.Invalid},
		{"RS512", sign(t, jwt.SigningMethodRS512, key, kid, claims), jwtlocal.Invalid},
		{"ES256", sign(t, jwt.SigningMethodES256, newECKey(t), kid, claims), jwtlocal.Invalid},
		{"no kid", sign(t, jwt.SigningMethodRS256, key, "", claims), jwtlocal.Invalid},
		{"issuer not configured, signed by the project", with("iss", "https://login.example.com"), jwtlocal.IssuerUnknown},
		{"issuer not configured, wrong audience", f.resign(t, func(c jwt.MapClaims) { c["iss"], c["aud"] = "https://x.example", "project-test-other" }), jwtlocal.Invalid},
		{"wrong audience", with("aud", []string{"project-test-other"}), jwtlocal.Invalid},
		{"audience as a string", with("aud", f.srv.ProjectID()), jwtlocal.Valid},
		{"no iat", with("iat", nil), jwtlocal.Invalid},
		{"no exp", with("exp", nil), jwtlocal.Invalid},
		{"no nbf", with("nbf", nil), jwtlocal.Invalid},
		{"no session claim", with(stytchtest.ClaimSession, nil), jwtlocal.Invalid},
		{"iat as a string", with("iat", "yesterday"), jwtlocal.Invalid},
		{"nbf in the future", with("nbf", now.Add(time.Minute).Unix()), jwtlocal.Stale},
		{"iat in the future", with("iat", now.Add(time.Minute).Unix()), jwtlocal.Stale},
		{"expired", f.resign(t, func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-6*time.Minute).Unix(), now.Add(-6*time.Minute).Unix(), now.Add(-time.Minute).Unix()
		}), jwtlocal.Stale},
		{"older than MaxTokenAge", f.resign(t, func(c jwt.MapClaims) {
			c["iat"], c["nbf"] = now.Add(-150*time.Second).Unix(), now.Add(-150*time.Second).Unix()
		}), jwtlocal.Stale},
		{"kid not in a current key set", sign(t, jwt.SigningMethodRS256, newRSAKey(t), "jwk-test-unknown", claims), jwtlocal.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Verify(bg(), tt.token)
			if got := jwtlocal.OutcomeOf(err); got != tt.want {
				t.Fatalf("outcome %v (%v), want %v", got, err, tt.want)
			}
			if err != nil && tt.token != "" && len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[len(tt.token)-20:]) {
				t.Fatalf("error repeats the token: %v", err)
			}
		})
	}
}

func noneToken(t *testing.T, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tk := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	tk.Header["kid"] = kid
	s, err := tk.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCacheRechecksTime(t *testing.T) {
	f := newFixture(t, nil)
	first, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil || second != first || f.v.CacheLen() != 1 {
		t.Fatalf("second verification was not a cache hit: %v", err)
	}
	f.srv.Advance(5 * time.Minute)
	got, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if !errors.Is(err, jwtlocal.ErrStale) || got == nil || got.SessionID != f.tok.SessionID {
		t.Fatalf("expired token from the cache: %v %v", got, err)
	}
	if f.v.CacheLen() != 0 {
		t.Fatalf("an expired token stayed cached")
	}
}

func TestCacheKeepsTokensNotValidYet(t *testing.T) {
	f := newFixture(t, nil)
	early := f.resign(t, func(c jwt.MapClaims) { c["nbf"] = f.srv.Now().Add(30 * time.Second).Unix() })
	if _, err := f.v.Verify(bg(), early); !errors.Is(err, jwtlocal.ErrStale) {
		t.Fatalf("nbf in the future: %v", err)
	}
	// Not valid yet is not cached (it failed), and time cures it.
	f.srv.Advance(31 * time.Second)
	if _, err := f.v.Verify(bg(), early); err != nil {
		t.Fatalf("after nbf: %v", err)
	}
	f.srv.Advance(-60 * time.Second) // a clock stepped back: the cached entry is kept for later
	if _, err := f.v.Verify(bg(), early); !errors.Is(err, jwtlocal.ErrStale) {
		t.Fatalf("clock stepped back: %v", err)
	}
	if f.v.CacheLen() != 1 {
		t.Fatalf("a token not valid yet was dropped from the cache")
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t, func(c *jwtlocal.Config) { c.UnknownKIDRefreshInterval = time.Millisecond })
	oldKID, oldKey := f.srv.SigningKey()
	if _, err := f.v.Verify(bg(), f.tok.SessionJWT); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetCalls()
	f.srv.RotateKey(10 * time.Minute)
	res, err := f.srv.Client().Consumer.Authenticate(bg(), session.AuthenticateParams{SessionToken: f.tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.v.Verify(bg(), res.SessionJWT); err != nil || got.SessionID != f.tok.SessionID {
		t.Fatalf("new-kid token: %v", err)
	}
	if n := f.srv.Calls(stytchtest.JWKS); n != 1 {
		t.Fatalf("%d JWKS fetches for the new kid, want 1", n)
	}
	// During the overlap the old key's tokens verify.
	fresh := func() string {
		return sign(t, jwt.SigningMethodRS256, oldKey, oldKID, func() jwt.MapClaims {
			c := claimsOf(t, f.tok.SessionJWT)
			now := f.srv.Now().Unix()
			c["iat"], c["nbf"], c["exp"] = now, now, now+300
			return c
		}())
	}
	if _, err := f.v.Verify(bg(), fresh()); err != nil {
		t.Fatalf("old key during the overlap: %v", err)
	}
	// After it, once a refresh has seen the key go, they do not.
	f.srv.Advance(11 * time.Minute)
	third := f.srv.RotateKey(time.Hour)
	res, _ = f.srv.Client().Consumer.Authenticate(bg(), session.AuthenticateParams{SessionToken: f.tok.SessionToken})
	if got, err := f.v.Verify(bg(), res.SessionJWT); err != nil || claimsOf(t, res.SessionJWT)["sub"] != got.Subject {
		t.Fatalf("third key: %v (%s)", err, third)
	}
	if _, err := f.v.Verify(bg(), fresh()); !errors.Is(err, jwtlocal.ErrInvalid) {
		t.Fatalf("retired key: %v", err)
	}
}

func TestKeySetSurvivesBadRefreshes(t *testing.T) {
	f := newFixture(t, nil)
	_, key := f.srv.SigningKey()
	tests := []struct {
		name  string
		fault stytchtest.Fault
	}{
		{"empty set", stytchtest.Fault{Body: `{"keys":[],"request_id":"r","status_code":200}`}},
		{"only a non-RSA key", stytchtest.Fault{Body: `{"keys":[{"kty":"EC","kid":"k","crv":"P-256","x":"x","y":"y"}],"request_id":"r","status_code":200}`}},
		{"broken key", stytchtest.Fault{Body: `{"keys":[{"kty":"RSA","kid":"k","n":"!!","e":"AQAB"}],"request_id":"r","status_code":200}`}},
		{"malformed body", stytchtest.Fault{Malformed: true}},
		{"500", stytchtest.Fault{Status: 500}},
		{"dropped", stytchtest.Fault{Drop: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.Advance(jwtlocal.DefaultUnknownKIDRefreshInterval) // past the pacing of the one before
			f.srv.ClearFaults()
			f.srv.InjectFault(stytchtest.JWKS, tt.fault)
			before := f.srv.Calls(stytchtest.JWKS)
			// An unknown kid forces a refresh, which fails or brings nothing;
			// the key set held is still current, so the kid is not the project's.
			fresh := func(c jwt.MapClaims) {
				now := f.srv.Now().Unix()
				c["iat"], c["nbf"], c["exp"], c["i"] = now, now, now+300, i // not cached
			}
			c := claimsOf(t, f.tok.SessionJWT)
			fresh(c)
			_, err := f.v.Verify(bg(), sign(t, jwt.SigningMethodRS256, key, fmt.Sprintf("jwk-test-unknown-%d", i), c))
			if !errors.Is(err, jwtlocal.ErrInvalid) {
				t.Fatalf("unknown kid: %v", err)
			}
			// One refresh (its attempts: the client, and net/http on a reused
			// connection, retry a dropped one).
			if n := f.srv.Calls(stytchtest.JWKS) - before; n < 1 || n > 2*3 {
				t.Fatalf("%d fetches tried, want one refresh", n)
			}
			tok := f.resign(t, fresh)
			if _, err := f.v.Verify(bg(), tok); err != nil {
				t.Fatalf("the held key was lost: %v", err)
			}
		})
	}
}

func TestJWKSDownAtConstruction(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Latency: 10 * time.Second})
	start := time.Now()
	v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: srv.Now, InitialFetchWait: 200 * time.Millisecond, UnknownKIDRefreshInterval: 50 * time.Millisecond, FetchTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("New blocked %v", took)
	}
	if _, err := v.Verify(bg(), tok.SessionJWT); !errors.Is(err, jwtlocal.ErrKeyUnknown) {
		t.Fatalf("while JWKS is down: %v", err)
	}
	srv.ClearFaults()
	srv.Advance(13 * time.Second) // past the pause after the failed fetch
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(bg(), tok.SessionJWT)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeysLandingDuringAMiss: a key set that loads between a token's key
// lookup and the test of whether the set is current must not make that
// token Invalid. The set that made it current holds the kid.
func TestKeysLandingDuringAMiss(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	v := verifierWithoutKeys(t, srv)
	var once sync.Once
	jwtlocal.OnKeyMiss(v, func() {
		once.Do(func() {
			srv.ClearFaults()
			jwtlocal.RefreshNow(v) // the keys land after the lookup missed
		})
	})
	if _, err := v.Verify(bg(), tok.SessionJWT); err != nil {
		t.Fatalf("keys that landed during the miss: %v", err)
	}
}

func TestKIDStorm(t *testing.T) {
	clk := &clock{now: time.Now()}
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: clk.Now, UnknownKIDWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Latency: 300 * time.Millisecond, Times: 1}) // a slow refresh
	_, key := srv.SigningKey()
	claims := claimsOf(t, tok.SessionJWT)
	claims["iat"], claims["nbf"], claims["exp"] = clk.Now().Unix(), clk.Now().Unix(), clk.Now().Unix()+300
	tokens := make([]string, 2000)
	for i := range tokens {
		tokens[i] = sign(t, jwt.SigningMethodRS256, key, fmt.Sprintf("jwk-test-storm-%d", i), claims)
	}
	storm := func() (map[jwtlocal.Outcome]int, time.Duration) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var slowest time.Duration
		outcomes := map[jwtlocal.Outcome]int{}
		for _, tk := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				_, err := v.Verify(bg(), tk)
				took := time.Since(start)
				mu.Lock()
				outcomes[jwtlocal.OutcomeOf(err)]++
				slowest = max(slowest, took)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return outcomes, slowest
	}
	outcomes, slowest := storm()
	if outcomes[jwtlocal.Invalid] != len(tokens) {
		t.Fatalf("outcomes %v: every made-up kid is Invalid while the key set is current", outcomes)
	}
	// The refresh takes 300 ms; requests wait for it 100 ms at most (the
	// rest is 2000 goroutines' scheduling on a shared machine, under -race).
	if slowest > 2*time.Second {
		t.Fatalf("a request waited %v, bound 100 ms", slowest)
	}
	time.Sleep(400 * time.Millisecond) // the slow refresh ends (pacing is by clk, not by this)
	// One fetch at start, one paced refresh for the whole storm.
	if n := srv.Calls(stytchtest.JWKS); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (start + one paced refresh)", n)
	}
	// Within the pacing interval, another storm fetches nothing.
	clk.Advance(jwtlocal.DefaultUnknownKIDRefreshInterval - time.Second)
	if outcomes, _ := storm(); outcomes[jwtlocal.Invalid] != len(tokens) || srv.Calls(stytchtest.JWKS) != 2 {
		t.Fatalf("second storm within the interval: %v, %d fetches", outcomes, srv.Calls(stytchtest.JWKS))
	}
	// Past it, one more.
	clk.Advance(2 * time.Second)
	if _, err := v.Verify(bg(), tokens[0]); !errors.Is(err, jwtlocal.ErrInvalid) || srv.Calls(stytchtest.JWKS) != 3 {
		t.Fatalf("after the interval: %v, %d fetches", err, srv.Calls(stytchtest.JWKS))
	}
}

func TestTwoProjectsNeverShareKeys(t *testing.T) {
	a, b := newFixture(t, nil), newFixture(t, nil)
	if _, err := a.v.Verify(bg(), b.tok.SessionJWT); jwtlocal.OutcomeOf(err) == jwtlocal.Valid {
		t.Fatal("project A accepted project B's JWT")
	}
	if _, err := b.v.Verify(bg(), a.tok.SessionJWT); jwtlocal.OutcomeOf(err) == jwtlocal.Valid {
		t.Fatal("project B accepted project A's JWT")
	}
	if _, err := a.v.Verify(bg(), a.tok.SessionJWT); err != nil {
		t.Fatal(err)
	}
}

func TestCustomIssuerAndSessionExpiryFallback(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	emu := stytchtest.NewServer(stytchtest.WithIssuer(srv.URL))
	defer emu.Close()
	// The emulator serves at emu.URL; its tokens claim iss = a custom domain.
	cfg := emu.Config()
	client, _ := session.New(cfg)
	v, _ := jwtlocal.New(jwtlocal.Config{Client: client, Now: emu.Now})
	defer v.Close()
	u := emu.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := emu.StartSession(u.UserID, stytchtest.SessionParams{})
	got0, err := v.Verify(bg(), tok.SessionJWT)
	if !errors.Is(err, jwtlocal.ErrIssuerUnknown) || got0 == nil || got0.SessionID != tok.SessionID {
		t.Fatalf("an issuer that is neither stytch.com/<project> nor the base URL: %v", err)
	}
	// Configured, it verifies locally.
	vc, _ := jwtlocal.New(jwtlocal.Config{Client: client, Now: emu.Now, Issuers: []string{srv.URL + "/"}})
	defer vc.Close()
	if _, err := vc.Verify(bg(), tok.SessionJWT); err != nil {
		t.Fatalf("configured issuer: %v", err)
	}
	// iss = the base URL is accepted.
	same := stytchtest.NewServer()
	defer same.Close()
	kid, key := same.SigningKey()
	u2 := same.CreateUser(stytchtest.UserParams{Email: "b@example.com"})
	tok2, _ := same.StartSession(u2.UserID, stytchtest.SessionParams{})
	c := claimsOf(t, tok2.SessionJWT)
	c["iss"] = same.URL
	delete(c[stytchtest.ClaimSession].(map[string]any), "expires_at")
	v2, _ := jwtlocal.New(jwtlocal.Config{Client: same.Client(), Now: same.Now})
	defer v2.Close()
	got, err := v2.Verify(bg(), sign(t, jwt.SigningMethodRS256, key, kid, c))
	if err != nil {
		t.Fatalf("iss = base URL: %v", err)
	}
	if !got.Consumer.ExpiresAt.Equal(got.Expiry) {
		t.Fatalf("expires_at %v, want the exp fallback %v", got.Consumer.ExpiresAt, got.Expiry)
	}
}

func TestCloseEndsGoroutines(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	client, _ := session.New(cfg)
	settle := func() int {
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	var vs []*jwtlocal.Verifier
	for range 20 {
		v, err := jwtlocal.New(jwtlocal.Config{Client: client, RefreshInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	time.Sleep(50 * time.Millisecond)
	for _, v := range vs {
		v.Close()
		v.Close() // idempotent
	}
	// What Close ends may take a moment to return (a fetch's connection,
	// the emulator's side of it): wait for the count, 30 s at most for a
	// loaded machine.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(30 * time.Second); after > before+4; after = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d before, still %d 30 s after Close", before, after)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := jwtlocal.New(jwtlocal.Config{}); err == nil {
		t.Fatal("no client accepted")
	}
	srv := stytchtest.NewServer()
	defer srv.Close()
	if _, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), MaxTokenAge: -time.Second}); err == nil {
		t.Fatal("negative MaxTokenAge accepted")
	}
}

// TestCacheTailCollisionsMatchNothing: the cache hashes a token's last
// bytes only, so forgeries that share a cached token's tail (its signature)
// land in its bucket. They must be refused, never added, and must not push
// the real token out: it is still answered from the cache.
func TestCacheTailCollisionsMatchNothing(t *testing.T) {
	f := newFixture(t, nil)
	real, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(f.tok.SessionJWT, ".")
	forgeries := []string{
		// Another payload under the same signature.
		parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-test-someone-else"}`)) + "." + parts[2],
		// Junk in front of the same tail.
		"x" + f.tok.SessionJWT,
		parts[0] + "." + parts[1] + "x." + parts[2],
	}
	for _, tok := range forgeries {
		if v, err := f.v.Verify(bg(), tok); err == nil || v != nil && v.SessionID != "" {
			t.Fatalf("a forgery sharing the tail verified: %v %v", v, err)
		}
	}
	if f.v.CacheLen() != 1 {
		t.Fatalf("cache holds %d tokens after the forgeries, want 1", f.v.CacheLen())
	}
	again, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil || again != real {
		t.Fatalf("the real token is no longer a cache hit: %v", err)
	}
}

// TestCacheKeepsOnlyTheToken: a token is often a slice of a much larger
// string (the whole Cookie header). The cache must keep the token, not pin
// the string around it: else each cached session could hold up to a
// megabyte of someone's header.
func TestCacheKeepsOnlyTheToken(t *testing.T) {
	f := newFixture(t, nil)
	released := make(chan struct{})
	func() {
		var b strings.Builder
		b.WriteString(strings.Repeat("x", 1<<20))
		b.WriteString(f.tok.SessionJWT)
		header := b.String()
		runtime.AddCleanup(unsafe.StringData(header), func(ch chan struct{}) { close(ch) }, released)
		if _, err := f.v.Verify(bg(), header[1<<20:]); err != nil {
			t.Fatal(err)
		}
	}()
	for range 20 {
		runtime.GC()
		select {
		case <-released:
			if _, err := f.v.Verify(bg(), f.tok.SessionJWT); err != nil || f.v.CacheLen() != 1 {
				t.Fatalf("the token is no longer cached: %v", err)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the cache pins the string its token was sliced from")
}

// TestCacheKeepsATokenInUse: a hit moves its entry to the front only once
// it has fallen out of its shard's newest quarter. A token presented
// between each of ten cache-fulls of new tokens must still never be
// evicted: each of its hits returns the one Verified its first check made.
func TestCacheKeepsATokenInUse(t *testing.T) {
	const size = 64
	f := newFixture(t, func(c *jwtlocal.Config) { c.CacheSize = size })
	hot, err := f.v.Verify(bg(), f.tok.SessionJWT)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 * size {
		tok := f.resign(t, func(c jwt.MapClaims) { c["n"] = i })
		if _, err := f.v.Verify(bg(), tok); err != nil {
			t.Fatal(err)
		}
		if again, err := f.v.Verify(bg(), f.tok.SessionJWT); err != nil || again != hot {
			t.Fatalf("after %d new tokens, the token in use was evicted (err %v)", i+1, err)
		}
	}
	if n := f.v.CacheLen(); n > size {
		t.Fatalf("cache holds %d tokens, bound %d", n, size)
	}
}

// TestHeaderCacheTakesOnlyVerifiedHeaders: decoded headers are remembered
// only for tokens whose signature verified, so garbage with a new header
// each time costs its own decode and fills nothing.
func TestHeaderCacheTakesOnlyVerifiedHeaders(t *testing.T) {
	f := newFixture(t, nil)
	parts := strings.Split(f.tok.SessionJWT, ".")
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(hb, &hdr); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		hdr["n"] = i // a header of its own, under the real token's signature
		b, _ := json.Marshal(hdr)
		forged := base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
		if _, err := f.v.Verify(bg(), forged); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
			t.Fatalf("forged header %d: %v", i, err)
		}
	}
	if n := jwtlocal.HeadersRemembered(f.v); n != 0 {
		t.Fatalf("%d headers remembered from forgeries", n)
	}
	for i := range 3 { // three tokens of one key: one header
		tok := f.resign(t, func(c jwt.MapClaims) { c["n"] = i })
		if _, err := f.v.Verify(bg(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := jwtlocal.HeadersRemembered(f.v); n != 1 {
		t.Fatalf("%d headers remembered after three tokens of one key, want 1", n)
	}
}

// TestCacheWindowAgreesWithCheck: a cache hit inside its entry's validity
// window skips the full check, so the window must be exactly check's rules
// solved for the clock. At every boundary of every case, a nanosecond
// either side, the two must agree.
func TestCacheWindowAgreesWithCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	consumer := func(end time.Time) *jwtlocal.Verified {
		return &jwtlocal.Verified{Consumer: &session.Session{ExpiresAt: session.NewTime(end)}}
	}
	machine := &jwtlocal.Verified{Machine: &stytchguard.MachineAuth{}}
	cases := []struct {
		name          string
		v             *jwtlocal.Verified
		iat, nbf      time.Duration // from t0
		exp, end      time.Duration // end 0: no session end
		tol, maxAge   time.Duration
		machineMaxAge time.Duration
	}{
		{"plain", consumer(time.Time{}), 0, 0, 5 * time.Minute, 0, 0, 0, 0},
		{"tolerance", consumer(time.Time{}), 0, 0, 5 * time.Minute, 0, 30 * time.Second, 0, 0},
		{"nbf after iat", consumer(time.Time{}), 0, time.Minute, 5 * time.Minute, 0, 10 * time.Second, 0, 0},
		{"iat after nbf", consumer(time.Time{}), time.Minute, 0, 5 * time.Minute, 0, 10 * time.Second, 0, 0},
		{"max age first", consumer(time.Time{}), 0, 0, time.Hour, 0, 5 * time.Second, 2 * time.Minute, 0},
		{"session ends first", consumer(t0.Add(3 * time.Minute)), 0, 0, 5 * time.Minute, 3 * time.Minute, 5 * time.Second, time.Hour, 0},
		{"machine max age", machine, 0, 0, time.Hour, 0, 5 * time.Second, time.Minute, 10 * time.Minute},
		{"machine, none", machine, 0, 0, time.Hour, 0, 0, time.Minute, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *jwtlocal.Config) {
				cfg.ClockTolerance, cfg.MaxTokenAge, cfg.MachineMaxTokenAge = c.tol, c.maxAge, c.machineMaxAge
			})
			v := *c.v
			v.IssuedAt, v.NotBefore, v.Expiry = t0.Add(c.iat), t0.Add(c.nbf), t0.Add(c.exp)
			from, until := f.v.Window(&v)
			var marks []time.Time
			for _, d := range []time.Duration{c.iat, c.nbf, c.exp, c.end} {
				maxAge := cmp.Or(c.maxAge, jwtlocal.DefaultMaxTokenAge) // as New reads it
				for _, b := range []time.Duration{d - c.tol, d, d + c.tol, d + maxAge + c.tol, d + c.machineMaxAge + c.tol} {
					for _, e := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond} {
						marks = append(marks, t0.Add(b+e))
					}
				}
			}
			passed := 0
			for _, now := range marks {
				inside := now.UnixNano() >= from && now.UnixNano() < until
				if want := f.v.Passes(&v, now); inside != want {
					t.Fatalf("at t0%+v: window says %v, check says %v", now.Sub(t0), inside, want)
				}
				if inside {
					passed++
				}
			}
			if passed == 0 {
				t.Fatal("no reading passed: the case tests nothing")
			}
		})
	}
}

// TestRolesAsTheJWTSaysThem: a verified session's roles are the JWT's, in
// its order, however many there are; and two requests appending to the
// cached roles do not write into the same storage.
func TestRolesAsTheJWTSaysThem(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
	}{
		{"none", []string{}},
		{"one", []string{"stytch_user"}},
		{"as many as kept inline", []string{"stytch_user", "editor", "viewer", "billing"}},
		{"more", []string{"stytch_user", "editor", "viewer", "billing", "admin", "a-role-with-a-long-name"}},
		{"a role twice", []string{"editor", "editor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			tok := f.resign(t, func(c jwt.MapClaims) {
				c["https://stytch.com/session"].(map[string]any)["roles"] = tt.roles
			})
			first, err := f.v.Verify(bg(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if got := first.Consumer.Roles; !slices.Equal(got, tt.roles) || got == nil {
				t.Fatalf("roles %q, want %q", got, tt.roles)
			}
			mine := append(first.Consumer.Roles, "mine")
			again, err := f.v.Verify(bg(), tok)
			if err != nil || again != first {
				t.Fatalf("not answered from the cache: %v", err)
			}
			theirs := append(again.Consumer.Roles, "theirs")
			if got := again.Consumer.Roles; !slices.Equal(got, tt.roles) {
				t.Fatalf("after readers' appends, the cache answers roles %q, want %q", got, tt.roles)
			}
			if mine[len(tt.roles)] != "mine" || theirs[len(tt.roles)] != "theirs" {
				t.Fatalf("two requests' appends to the cached roles share storage: %q, %q", mine, theirs)
			}
		})
	}
}

// TestReasonsSayWhat: the reasons a developer reads in a diagnosis name
// the issuer seen and those accepted, and when a JWT expired.
func TestReasonsSayWhat(t *testing.T) {
	f := newFixture(t, nil)
	now := f.srv.Now()
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"issuer", f.resign(t, func(c jwt.MapClaims) { c["iss"] = "https://login.example.com" }),
			`issuer "https://login.example.com" not configured (accepted: stytch.com/` + f.srv.ProjectID()},
		{"expired", f.resign(t, func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-6*time.Minute).Unix(), now.Add(-6*time.Minute).Unix(), now.Add(-time.Minute).Unix()
		}), "expired at " + now.Add(-time.Minute).UTC().Format(time.RFC3339)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Verify(bg(), tt.token)
			var je *jwtlocal.Error
			if !errors.As(err, &je) || !strings.Contains(je.Reason, tt.want) {
				t.Fatalf("%v, want a reason holding %q", err, tt.want)
			}
		})
	}
}

// unusedBitsSet returns sig (base64url, unpadded) with the unused low bits
// of its last character changed: the same bytes to a lenient decoder.
func unusedBitsSet(t *testing.T, sig string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 0xF, 3: 0x3}[len(sig)%4] // bits of the last character not decoded
	if unused == 0 {
		t.Fatalf("a signature of %d characters has no unused bits", len(sig))
	}
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	out := sig[:len(sig)-1] + string(alphabet[last^unused])
	if a, b := mustDecode(t, sig), mustDecode(t, out); string(a) != string(b) || out == sig {
		t.Fatal("the variant does not decode, leniently, to the same bytes")
	}
	return out
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
