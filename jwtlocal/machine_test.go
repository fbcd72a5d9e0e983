package jwtlocal_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// machineToken issues an M2M access token for a new client with scopes.
func machineToken(t *testing.T, srv *stytchtest.Server, scopes ...string) (stytchtest.M2MClient, string) {
	t.Helper()
	mc, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: scopes, TrustedMetadata: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.IssueM2MToken(mc.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	return mc, tok
}

func TestMachineTokens(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.srv.SetM2MClaimsTemplate(map[string]any{"plan": "{{ client.trusted_metadata.plan }}"}); err != nil {
		t.Fatal(err)
	}
	mc, tok := machineToken(t, f.srv, "read:reports", "write:reports")

	for name, verify := range map[string]func() (*jwtlocal.Verified, error){
		"VerifyMachine": func() (*jwtlocal.Verified, error) { return f.v.VerifyMachine(bg(), tok) },
		"VerifyAny":     func() (*jwtlocal.Verified, error) { return f.v.Verify(bg(), tok) },
	} {
		got, err := verify()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := got.Machine
		if m == nil || got.Consumer != nil || got.SessionID != "" || m.ClientID != mc.ClientID || len(m.Scopes) != 2 || m.Scopes[1] != "write:reports" ||
			m.CustomClaims["plan"] != "pro" || len(m.CustomClaims) != 1 || m.Source != stytchguard.SourceLocal || m.ExpiresAt.Sub(m.IssuedAt) != time.Hour {
			t.Fatalf("%s: %+v %+v", name, got, m)
		}
	}
	if _, err := f.v.VerifySession(bg(), tok); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
		t.Fatalf("a session-only check took an M2M token: %v", err)
	}
	if _, err := f.v.VerifyMachine(bg(), f.tok.SessionJWT); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
		t.Fatalf("VerifyMachine took a session JWT: %v", err)
	}
	if got, err := f.v.Verify(bg(), f.tok.SessionJWT); err != nil || got.Consumer == nil || got.Machine != nil {
		t.Fatalf("Verify on a session JWT: %+v, %v", got, err)
	}

	claims := claimsOf(t, tok)
	kid, key := f.srv.SigningKey()
	bad := []struct {
		name string
		mod  func(jwt.MapClaims)
		want jwtlocal.Outcome
	}{
		{"another audience", func(c jwt.MapClaims) { c["aud"] = []string{"project-test-other"} }, jwtlocal.Invalid},
		{"no sub", func(c jwt.MapClaims) { delete(c, "sub") }, jwtlocal.Invalid},
		{"an organization claim", func(c jwt.MapClaims) { c[stytchtest.ClaimOrganization] = map[string]any{"organization_id": "o"} }, jwtlocal.Invalid},
		{"expired", func(c jwt.MapClaims) { c["exp"] = f.srv.Now().Add(-time.Second).Unix() }, jwtlocal.Stale},
		{"another issuer", func(c jwt.MapClaims) { c["iss"] = "https://login.example.com" }, jwtlocal.IssuerUnknown},
		{"no scope claim, no session claim", func(c jwt.MapClaims) { delete(c, "scope") }, jwtlocal.Invalid},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := jwt.MapClaims{}
			for k, v := range claims {
				c[k] = v
			}
			tc.mod(c)
			if _, err := f.v.VerifyMachine(bg(), sign(t, jwt.SigningMethodRS256, key, kid, c)); jwtlocal.OutcomeOf(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := f.v.VerifyMachine(bg(), tok[:len(tok)-4]+"AAAA"); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
		t.Fatalf("a forged signature: %v", err)
	}
}

func TestMachineTokenAgeAndCache(t *testing.T) {
	clk := &clock{now: time.Now()}
	decodes := atomic.Int64{}
	f := newFixture(t, func(c *jwtlocal.Config) {
		c.Now = clk.Now
		c.MachineMaxTokenAge = 10 * time.Minute
		c.Claims = func(custom map[string]any) (any, error) {
			decodes.Add(1)
			return stytchguard.ClaimsOf[struct{ Plan string }]()(custom)
		}
	})
	f.srv.SetNow(clk.Now())
	_, tok := machineToken(t, f.srv, "read:reports")
	for range 3 {
		if _, err := f.v.VerifyMachine(bg(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := decodes.Load(); n != 1 {
		t.Fatalf("custom claims decoded %d times for one token, want once", n)
	}
	clk.Advance(11 * time.Minute)
	if _, err := f.v.VerifyMachine(bg(), tok); jwtlocal.OutcomeOf(err) != jwtlocal.Stale {
		t.Fatalf("older than MachineMaxTokenAge: %v", err)
	}
}

// TestMachineTokenWithoutKeys: while no key set is held, an M2M-shaped
// token is KeyUnknown with Machine set, a session JWT without.
func TestMachineTokenWithoutKeys(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	_, tok := machineToken(t, srv, "read:reports")
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	st, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	v := verifierWithoutKeys(t, srv)
	var je *jwtlocal.Error
	if _, err := v.Verify(bg(), tok); !errors.As(err, &je) || jwtlocal.OutcomeOf(je) != jwtlocal.KeyUnknown || !je.MachineShaped {
		t.Fatalf("M2M token without keys: %v", err)
	}
	if _, err := v.Verify(bg(), st.SessionJWT); !errors.As(err, &je) || jwtlocal.OutcomeOf(je) != jwtlocal.KeyUnknown || je.MachineShaped {
		t.Fatalf("session JWT without keys: %v", err)
	}
}
