package jwtlocal_test

import (
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, never
// accept a token for another session than the one the emulator issued, and
// never repeat its input in an error.
func FuzzVerify(f *testing.F) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		f.Fatal(err)
	}
	v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), Now: srv.Now, CacheSize: 64})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()

	parts := strings.Split(tok.SessionJWT, ".")
	f.Add(tok.SessionJWT)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".e30." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(bg(), token)
		if err == nil && (got == nil || got.SessionID != tok.SessionID || got.Subject != u.UserID) {
			t.Fatalf("accepted a token of another session: %+v", got)
		}
		if err != nil && len(token) >= 16 && strings.Contains(err.Error(), token) {
			t.Fatalf("error repeats the token: %v", err)
		}
		if o := jwtlocal.OutcomeOf(err); o == jwtlocal.KeyUnknown {
			t.Fatalf("outcome %v while a current key set is held", o)
		}
	})
}

// FuzzStringEnd holds the payload scanner's quote-to-quote jump to the plain
// reading: from an opening quote, step over each escaped byte until an
// unescaped quote.
func FuzzStringEnd(f *testing.F) {
	for _, s := range []string{`""`, `"abc"`, `"a\"b"`, `"a\\"`, `"a\\\"b"`, `"\\\\"x`, `"unterminated`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || s[0] != '"' {
			return
		}
		want := 1
		for ; want < len(s) && s[want] != '"'; want++ {
			if s[want] == '\\' {
				want++
			}
		}
		want = min(want, len(s))
		if got := jwtlocal.StringEnd([]byte(s), 0); got != want {
			t.Fatalf("StringEnd(%q) = %d, want %d", s, got, want)
		}
	})
}
