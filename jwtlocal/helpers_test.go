package jwtlocal_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is an emulator with a user session and a verifier whose clock is
// the emulator's.
type fixture struct {
	srv  *stytchtest.Server
	user session.User
	tok  stytchtest.Tokens
	v    *jwtlocal.Verifier
}

func newFixture(t *testing.T, mod func(*jwtlocal.Config)) *fixture {
	t.Helper()
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := jwtlocal.Config{Client: srv.Client(), Now: srv.Now}
	if mod != nil {
		mod(&cfg)
	}
	v, err := jwtlocal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return &fixture{srv: srv, user: u, tok: tok, v: v}
}

// verifierWithoutKeys returns a Verifier of srv started while srv's JWKS
// answers 503, so that it holds no key set; the fault stays until cleared.
func verifierWithoutKeys(t *testing.T, srv *stytchtest.Server) *jwtlocal.Verifier {
	t.Helper()
	srv.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 503})
	v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: srv.Now, InitialFetchWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// claimsOf returns a JWT's claims without checking anything.
func claimsOf(t *testing.T, raw string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// sign signs claims with method and key, setting kid when given.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tk := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tk.Header["kid"] = kid
	}
	s, err := tk.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resign returns the fixture's JWT with claims changed by mod, re-signed
// with the emulator's current key.
func (f *fixture) resign(t *testing.T, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := claimsOf(t, f.tok.SessionJWT)
	mod(c)
	tok, err := f.srv.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicDER(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func bg() context.Context { return context.Background() }
