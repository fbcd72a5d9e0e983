package stytchtest_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"testing"

	"github.com/stytchguard/stytchguard/session"
)

// jwkPublicKey decodes a JWK's n and e, and checks that its x5c certificate
// holds the same key.
func jwkPublicKey(t *testing.T, k session.JWK) *rsa.PublicKey {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatal(err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	der, err := base64.StdEncoding.DecodeString(k.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(cert.PublicKey) {
		t.Fatalf("x5c certificate holds another key than n/e")
	}
	return pub
}
