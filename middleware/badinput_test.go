package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestBadInputCorpus sends hostile and malformed credentials through the
// full middleware, each with the status it must get and the most calls to
// Stytch it may cost. Every log line written meanwhile is scanned for the
// credentials used (newApp's cleanup).
func TestBadInputCorpus(t *testing.T) {
	a := newApp(t, nil)
	u, tok := a.user(t)
	other, tok2 := a.user(t)
	deadUser, dead := a.user(t)
	if err := a.srv.RevokeSession(dead.SessionID); err != nil {
		t.Fatal(err)
	}
	kid, key := a.srv.SigningKey()
	now := a.srv.Now()
	base := claimsOfJWT(t, tok.SessionJWT)
	mint := func(method jwt.SigningMethod, signKey any, header map[string]any, mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range base {
			c[k] = v
		}
		if mod != nil {
			mod(c)
		}
		tk := jwt.NewWithClaims(method, c)
		tk.Header["kid"] = kid
		for k, v := range header {
			if v == nil {
				delete(tk.Header, k)
			} else {
				tk.Header[k] = v
			}
		}
		s, err := tk.SignedString(signKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rs := func(mod func(jwt.MapClaims)) string { return mint(jwt.SigningMethodRS256, key, nil, mod) }
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	none := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodNone, base)
		tk.Header["kid"] = kid
		s, _ := tk.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	parts := strings.Split(tok.SessionJWT, ".")
	seg := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tampered := func() string {
		c := claimsOfJWT(t, tok.SessionJWT)
		c["sub"] = other.UserID
		return parts[0] + "." + seg(c) + "." + parts[2]
	}()
	bomb := strings.Repeat("[", 3000) + strings.Repeat("]", 3000)
	otherProject := stytchtest.NewServer()
	defer otherProject.Close()
	ou := otherProject.CreateUser(stytchtest.UserParams{Email: "x@example.com"})
	otok, _ := otherProject.StartSession(ou.UserID, stytchtest.SessionParams{})
	a.remember(otok)
	b2b := func() stytchtest.Tokens {
		o := a.srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
		m, _ := a.srv.CreateMember(o.OrganizationID, stytchtest.MemberParams{Email: "m@example.com"})
		t2, _ := a.srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
		a.remember(t2)
		return t2
	}()

	tests := []struct {
		name   string
		path   string
		creds  []string
		status int
		calls  int // the most calls to Stytch's authenticate it may cost
		user   string
	}{
		{"no credential", "/me", nil, 401, 0, ""},
		{"empty Bearer", "/me", []string{"header:Authorization:Bearer "}, 400, 0, ""},
		{"Bearer without a value", "/me", []string{"header:Authorization:Bearer"}, 400, 0, ""},
		{"duplicate Authorization", "/me", []string{"bearer:" + tok.SessionJWT, "bearer:" + tok.SessionJWT}, 400, 0, ""},
		{"Basic only", "/me", []string{"header:Authorization:Basic dTpw"}, 401, 0, ""},
		{"lower-case scheme", "/me", []string{"header:Authorization:bearer " + tok.SessionJWT}, 200, 0, u.UserID},
		{"upper-case scheme", "/me", []string{"header:Authorization:BEARER " + tok.SessionJWT}, 200, 0, u.UserID},
		{"spaces around the token", "/me", []string{"header:Authorization:Bearer    " + tok.SessionJWT + "  "}, 200, 0, u.UserID},
		{"oversized header", "/me", []string{"bearer:" + strings.Repeat("a", 6000) + "." + strings.Repeat("b", 6000) + ".c"}, 401, 0, ""},
		{"oversized cookie", "/me", []string{"jwt:" + strings.Repeat("a", 5000) + "." + strings.Repeat("b", 5000) + ".c"}, 401, 0, ""},
		{"invalid base64", "/me", []string{"bearer:a$b.c$d.e$f"}, 401, 0, ""},
		{"base64 with padding", "/me", []string{"bearer:" + parts[0] + "==." + parts[1] + "." + parts[2]}, 401, 0, ""},
		{"whitespace inside", "/me", []string{"bearer:" + parts[0] + ". " + parts[1] + "." + parts[2]}, 401, 0, ""},
		{"two segments", "/me", []string{"bearer:" + parts[0] + "." + parts[1]}, 401, 0, ""},
		{"four segments", "/me", []string{"bearer:" + tok.SessionJWT + ".x"}, 401, 0, ""},
		{"alg none", "/me", []string{"bearer:" + none}, 401, 0, ""},
		{"HS256 keyed with the public key", "/me", []string{"bearer:" + mint(jwt.SigningMethodHS256, pubDER, nil, nil)}, 401, 0, ""},
		{"RS512", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS512, key, nil, nil)}, 401, 0, ""},
		{"PS256", "/me", []string{"bearer:" + mint(jwt.SigningMethodPS256, key, nil, nil)}, 401, 0, ""},
		{"ES256", "/me", []string{"bearer:" + mint(jwt.SigningMethodES256, ec, nil, nil)}, 401, 0, ""},
		{"RS256 signed by a foreign key, same kid", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, foreign, nil, nil)}, 401, 0, ""},
		{"no kid", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, key, map[string]any{"kid": nil}, nil)}, 401, 0, ""},
		{"kid a number", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, key, map[string]any{"kid": 7}, nil)}, 401, 0, ""},
		{"alg with a space", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, key, map[string]any{"alg": "RS256 "}, nil)}, 401, 0, ""},
		{"unknown kid: refused without asking Stytch", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, foreign, map[string]any{"kid": "jwk-test-unknown"}, nil)}, 401, 0, ""},
		{"another project's JWT", "/me", []string{"bearer:" + otok.SessionJWT}, 401, 0, ""},
		{"issuer not configured, signed by the project: Stytch is asked", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["iss"] = "stytch.com/project-test-other" })}, 401, 1, ""},
		{"wrong audience", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["aud"] = []string{"project-test-other"} })}, 401, 0, ""},
		{"audience as a string", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["aud"] = a.srv.ProjectID() })}, 200, 0, u.UserID},
		{"no iat", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { delete(c, "iat") })}, 401, 0, ""},
		{"exp a string", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["exp"] = "soon" })}, 401, 0, ""},
		{"no session claim", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { delete(c, stytchtest.ClaimSession) })}, 401, 0, ""},
		{"nbf in the future: Stytch decides", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })}, 200, 1, u.UserID},
		{"expired, session live: Stytch renews", "/me", []string{"bearer:" + rs(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })}, 200, 1, u.UserID},
		{"revoked elsewhere, JWT still fresh: the documented window", "/me", []string{"bearer:" + dead.SessionJWT}, 200, 0, deadUser.UserID},
		{"expired, session revoked", "/me", []string{"bearer:" + mint(jwt.SigningMethodRS256, key, nil, func(c jwt.MapClaims) {
			for k, v := range claimsOfJWT(t, dead.SessionJWT) {
				c[k] = v
			}
			c["exp"] = now.Add(-time.Minute).Unix()
		})}, 401, 1, ""},
		{"tampered claims", "/me", []string{"bearer:" + tampered}, 401, 0, ""},
		{"JSON bomb in the payload", "/me", []string{"bearer:" + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(bomb)) + "." + parts[2]}, 401, 0, ""},
		{"JSON bomb in the header", "/me", []string{"bearer:" + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":`+bomb+`}`)) + "." + parts[1] + "." + parts[2]}, 401, 0, ""},
		{"non-UTF-8 in a cookie", "/me", []string{"header:Cookie:stytch_session_jwt=\xff\xfe" + tok.SessionJWT[2:]}, 401, 0, ""},
		{"non-UTF-8 in Bearer", "/me", []string{"bearer:\xff\xfe.\xfd.\xfc"}, 401, 0, ""},
		{"control characters in a cookie", "/me", []string{"header:Cookie:stytch_session=" + strings.Repeat("\x01", 44)}, 401, 0, ""},
		{"header and cookie name different users: the header wins", "/me", []string{"bearer:" + tok.SessionJWT, "jwt:" + tok2.SessionJWT}, 200, 0, u.UserID},
		{"B2B JWT at a consumer app", "/me", []string{"bearer:" + b2b.SessionJWT}, 401, 0, ""},
		{"B2B token at a consumer app", "/me", []string{"bearer:" + b2b.SessionToken}, 401, 1, ""},
		{"opaque token too short", "/me", []string{"bearer:abc"}, 401, 0, ""},
		{"opaque token with bad characters", "/me", []string{"bearer:" + strings.Repeat("!", 44)}, 401, 0, ""},
		{"opaque token too long", "/me", []string{"bearer:" + strings.Repeat("a", 500)}, 401, 0, ""},
		{"plausible unknown opaque token", "/me", []string{"bearer:" + strings.Repeat("A", 44)}, 401, 1, ""},
		{"revoked opaque token", "/me", []string{"bearer:" + dead.SessionToken}, 401, 1, ""},
		{"valid opaque token", "/me", []string{"bearer:" + tok.SessionToken}, 200, 1, u.UserID},
		{"valid JWT cookie, garbage token cookie", "/me", []string{"jwt:" + tok.SessionJWT, "token:garbage"}, 200, 0, u.UserID},
		{"garbage JWT cookie, valid token cookie", "/me", []string{"jwt:a.b.c", "token:" + tok.SessionToken}, 200, 1, u.UserID},
		{"spaces inside a Bearer token", "/me", []string{"header:Authorization:Bearer a b c"}, 401, 0, ""},
		{"empty cookies", "/me", []string{"header:Cookie:stytch_session_jwt=; stytch_session="}, 401, 0, ""},
		{"quoted cookie value", "/me", []string{`header:Cookie:stytch_session_jwt="` + tok.SessionJWT + `"`}, 200, 0, u.UserID},
		{"two JWT cookies: each is tried", "/me", []string{"header:Cookie:stytch_session_jwt=a.b.c; stytch_session_jwt=" + tok.SessionJWT}, 200, 0, u.UserID},
		{"many cookies around a valid one", "/me", []string{"header:Cookie:" + strings.Repeat("x=y; ", 100) + "stytch_session_jwt=" + tok.SessionJWT}, 200, 0, u.UserID},
		{"garbage Bearer on an optional route", "/optional", []string{"bearer:a.b.c"}, 401, 0, ""},
		{"garbage cookie on an optional route", "/optional", []string{"jwt:a.b.c"}, 200, 0, ""},
		{"garbage on logout", "/logout", []string{"jwt:a.b.c"}, 204, 0, ""},
		{"forged JWT and garbage token on logout", "/logout", []string{"jwt:" + tampered, "token:short"}, 204, 0, ""},
	}
	if len(tests) < 50 {
		t.Fatalf("the corpus has %d cases, fewer than 50", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeRevoke := a.srv.Calls(stytchtest.Authenticate), a.srv.Calls(stytchtest.Revoke)
			method := "GET"
			if tt.path == "/logout" {
				method = "POST"
			}
			rec := a.do(req(method, tt.path, tt.creds...))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if n := a.srv.Calls(stytchtest.Authenticate) - before; n > tt.calls {
				t.Fatalf("%d calls to Stytch, at most %d", n, tt.calls)
			}
			if n := a.srv.Calls(stytchtest.Revoke) - beforeRevoke; n > 0 {
				t.Fatalf("garbage cost %d revoke calls", n)
			}
			if tt.user != "" {
				if got := body(t, rec)["user_id"]; got != tt.user {
					t.Fatalf("authenticated as %v, want %s", got, tt.user)
				}
			}
			if rec.Code >= 400 {
				b := body(t, rec)
				if b["error_type"] == nil || b["status_code"] != float64(rec.Code) {
					t.Fatalf("error body %v", b)
				}
				for _, c := range tt.creds {
					if _, v, _ := strings.Cut(c, ":"); len(v) > 16 && strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), v) {
						t.Fatalf("the answer repeats the credential")
					}
				}
			}
		})
	}
}

func claimsOfJWT(t *testing.T, raw string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, c); err != nil {
		t.Fatal(err)
	}
	return c
}
