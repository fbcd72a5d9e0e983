package stytchtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
)

// keyBits is the size of the RSA keys the emulator signs with, as Stytch's.
const keyBits = 2048

type signingKey struct {
	kid      string
	priv     *rsa.PrivateKey
	cert     []byte    // self-signed certificate, DER, for x5c
	retireAt time.Time // zero while the key is current or overlapping without end
	retired  bool
}

func (e *Emulator) newSigningKey() *signingKey {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		panic(fmt.Sprintf("stytchtest: generating RSA key: %v", err))
	}
	kid := e.id("jwk")
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: kid},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		panic(fmt.Sprintf("stytchtest: self-signing key certificate: %v", err))
	}
	return &signingKey{kid: kid, priv: priv, cert: cert}
}

// live reports whether k is still published in the JWKS at now.
func (k *signingKey) live(now time.Time) bool {
	return !k.retired && (k.retireAt.IsZero() || now.Before(k.retireAt))
}

func (k *signingKey) jwk() session.JWK {
	sum := sha256.Sum256(k.cert)
	return session.JWK{
		KTY:     "RSA",
		Use:     "sig",
		KeyOps:  []string{"verify"},
		Alg:     "RS256",
		KID:     k.kid,
		X5C:     []string{base64.StdEncoding.EncodeToString(k.cert)},
		X5TS256: base64.RawURLEncoding.EncodeToString(sum[:]),
		N:       base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
		E:       base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()),
	}
}

// RotateKey makes a new key the signing key and returns its kid. The key it
// replaces stays in the JWKS for overlap (by the emulator's clock), as Stytch
// keeps an old key published for about a month; an overlap of zero or less
// retires it at once. Tokens it signed stop being served a key to verify with
// once it is retired, but Stytch's authenticate still accepts them while their
// session lives.
func (e *Emulator) RotateKey(overlap time.Duration) string {
	k := e.newSigningKey() // slow: outside the lock
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for _, old := range e.keys {
		if old.live(now) && old.retireAt.IsZero() {
			if overlap > 0 {
				old.retireAt = now.Add(overlap)
			} else {
				old.retired = true
			}
		}
	}
	e.keys = append(e.keys, k)
	return k.kid
}

// RetireOldKeys removes every key but the signing key from the JWKS now.
func (e *Emulator) RetireOldKeys() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range e.keys[:len(e.keys)-1] {
		k.retired = true
	}
}

// KeyIDs returns the kids the JWKS serves now, the signing key last.
func (e *Emulator) KeyIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, k := range e.liveKeys() {
		out = append(out, k.kid)
	}
	return out
}

// SigningKey returns the current signing key and its kid, so that tests can
// craft tokens of their own: tampered, with odd claims, or re-signed.
func (e *Emulator) SigningKey() (kid string, key *rsa.PrivateKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.keys[len(e.keys)-1]
	return k.kid, k.priv
}

// JWKS returns the key set the JWKS endpoints serve now.
func (e *Emulator) JWKS() []session.JWK {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []session.JWK{}
	for _, k := range e.liveKeys() {
		out = append(out, k.jwk())
	}
	return out
}

func (e *Emulator) liveKeys() []*signingKey {
	now := e.now()
	var out []*signingKey
	for _, k := range e.keys {
		if k.live(now) {
			out = append(out, k)
		}
	}
	return out
}

// keyByID finds any key the project ever signed with, retired or not.
func (e *Emulator) keyByID(kid string) *signingKey {
	for _, k := range e.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// Sign signs claims as a session JWT with the current signing key and its
// kid, so that tests can mint tokens with claims of their own: re-dated,
// tampered, or one of many for a benchmark.
func (e *Emulator) Sign(claims jwt.MapClaims) (string, error) {
	e.mu.Lock()
	k := e.keys[len(e.keys)-1]
	e.mu.Unlock()
	return sign(claims, k)
}
