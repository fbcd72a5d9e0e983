package jwtlocal_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// servedKey is one key of a JWKS a test serves.
type servedKey struct {
	kid string
	pub *rsa.PublicKey
}

// jwksOf serves, for project, a JWKS holding keys and nothing else of
// Stytch's API; it returns a client of it.
func jwksOf(t *testing.T, project string, keys ...servedKey) *session.Client {
	t.Helper()
	set := []map[string]string{}
	for _, k := range keys {
		set = append(set, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.pub.E)).Bytes())})
	}
	body, err := json.Marshal(map[string]any{"keys": set, "request_id": "request-id-test-1", "status_code": 200})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/sessions/jwks/"+project {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := session.New(session.Config{ProjectID: project, Secret: "s", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKeySetHygiene holds what a JWKS can do wrong, short of a forged
// key: a weak key is not used, two keys under one kid make that kid
// inconclusive (never a sign-out), the same key twice is one key, and a
// token with a crit header is refused whatever signed it.
func TestKeySetHygiene(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	u := emu.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := emu.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, tok.SessionJWT)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good, dupA, dupB := newRSAKey(t), newRSAKey(t), newRSAKey(t)
	var logs bytes.Buffer
	v, err := jwtlocal.New(jwtlocal.Config{
		Client: jwksOf(t, emu.ProjectID(),
			servedKey{"weak", &weak.PublicKey}, servedKey{"good", &good.PublicKey}, servedKey{"good", &good.PublicKey},
			servedKey{"dup", &dupA.PublicKey}, servedKey{"dup", &dupB.PublicKey}),
		Now: emu.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		UnknownKIDWait: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	crit := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	crit.Header["kid"], crit.Header["crit"] = "good", []string{"exp"}
	critToken, err := crit.SignedString(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		want  jwtlocal.Outcome
	}{
		{"a good key, listed twice", sign(t, jwt.SigningMethodRS256, good, "good", claims), jwtlocal.Valid},
		{"a 1024-bit key", sign(t, jwt.SigningMethodRS256, weak, "weak", claims), jwtlocal.Invalid},
		{"a shared kid, first key", sign(t, jwt.SigningMethodRS256, dupA, "dup", claims), jwtlocal.KeyUnknown},
		{"a shared kid, second key", sign(t, jwt.SigningMethodRS256, dupB, "dup", claims), jwtlocal.KeyUnknown},
		{"a crit header", critToken, jwtlocal.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(bg(), tt.token)
			if got := jwtlocal.OutcomeOf(err); got != tt.want {
				t.Fatalf("outcome %v (%v), want %v", got, err, tt.want)
			}
		})
	}
	var je *jwtlocal.Error
	if _, err := v.Verify(bg(), critToken); !errors.As(err, &je) || !strings.Contains(je.Reason, "crit") {
		t.Fatalf("the refusal does not name the crit header: %v", err)
	}
	for _, want := range []string{"kid=weak", "bits=1024", "kid=dup"} {
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("%q logged %d times, want once: %s", want, n, logs.String())
		}
	}
}

// TestOnlySharedKIDs: a key set whose only keys share one kid holds no key
// to verify with, but its tokens are not the project's to refuse: both
// keys' tokens are inconclusive (KeyUnknown, asked of Stytch within the
// budget), never Invalid, whether or not a key set was held before.
func TestOnlySharedKIDs(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	u := emu.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := emu.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, tok.SessionJWT)
	good, dupA, dupB := newRSAKey(t), newRSAKey(t), newRSAKey(t)
	for _, tc := range []struct {
		name   string
		before []servedKey // the key set at New; nil: the shared kid's alone from the start
	}{
		{"from the start", nil},
		{"after a good key set", []servedKey{{"good", &good.PublicKey}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared := []servedKey{{"dup", &dupA.PublicKey}, {"dup", &dupB.PublicKey}}
			served := &switchableJWKS{}
			served.set(t, emu.ProjectID(), cmpOr(tc.before, shared)...)
			v, err := jwtlocal.New(jwtlocal.Config{Client: served.client(t, emu.ProjectID()), Now: emu.Now, UnknownKIDWait: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if tc.before != nil {
				if _, err := v.Verify(bg(), sign(t, jwt.SigningMethodRS256, good, "good", claims)); err != nil {
					t.Fatalf("the good key's token: %v", err)
				}
				served.set(t, emu.ProjectID(), shared...)
				emu.Advance(2 * time.Minute) // past UnknownKIDRefreshInterval: "dup" refreshes the set
			}
			for _, key := range []*rsa.PrivateKey{dupA, dupB} {
				_, err := v.Verify(bg(), sign(t, jwt.SigningMethodRS256, key, "dup", claims))
				if got := jwtlocal.OutcomeOf(err); got != jwtlocal.KeyUnknown {
					t.Fatalf("a shared kid's token: %v (%v), want KeyUnknown", got, err)
				}
			}
		})
	}
}

// cmpOr returns a unless it is empty, else b.
func cmpOr(a, b []servedKey) []servedKey {
	if len(a) > 0 {
		return a
	}
	return b
}

// switchableJWKS serves a project's JWKS, which the test may change.
type switchableJWKS struct {
	mu   sync.Mutex
	body []byte
}

func (s *switchableJWKS) set(t *testing.T, project string, keys ...servedKey) {
	t.Helper()
	set := []map[string]string{}
	for _, k := range keys {
		set = append(set, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.pub.E)).Bytes())})
	}
	body, err := json.Marshal(map[string]any{"keys": set, "request_id": "request-id-test-1", "status_code": 200})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *switchableJWKS) client(t *testing.T, project string) *session.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/sessions/jwks/"+project {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(srv.Close)
	c, err := session.New(session.Config{ProjectID: project, Secret: "s", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
