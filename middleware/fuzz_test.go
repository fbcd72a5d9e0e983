package middleware_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzExtract sends arbitrary Authorization and Cookie headers through the
// full middleware: it must never panic, answer anything but 400, 401 or (for
// a token Stytch is asked about) 503, or repeat the input in its answer.
func FuzzExtract(f *testing.F) {
	a := newApp(f, nil)
	_, tok := a.user(f)
	f.Add("Bearer "+tok.SessionJWT, "")
	f.Add("", "stytch_session_jwt="+tok.SessionJWT+"; stytch_session="+tok.SessionToken)
	f.Add("Bearer ", "")
	f.Add("Basic dTpw", "stytch_session=\"quoted\"")
	f.Add("Bearer a.b.c", "stytch_session_jwt=; stytch_session=;;;=")
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		r := httptest.NewRequest("GET", "/me", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		rec := a.do(r)
		switch rec.Code {
		case 200:
			if !strings.Contains(authorization+cookie, tok.SessionJWT[:40]) && !strings.Contains(authorization+cookie, tok.SessionToken) {
				t.Fatalf("200 without the real credential")
			}
		case 400, 401, 503:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		out := rec.Body.String() + rec.Header().Get("WWW-Authenticate")
		for _, in := range []string{authorization, cookie} {
			if len(in) >= 16 && strings.Contains(out, in) {
				t.Fatalf("the answer repeats the input")
			}
		}
	})
}
