package jwtlocal_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestAccessTokens: a Connected Apps access token verifies as one (subject,
// client, scopes, jti, issuer), apart from session JWTs and M2M tokens,
// and is taken until its exp, not MaxTokenAge.
func TestAccessTokens(t *testing.T) {
	clk := &clock{now: time.Now()}
	f := newFixture(t, func(c *jwtlocal.Config) { c.Now = clk.Now })
	f.srv.SetNow(clk.Now())
	app, err := f.srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.srv.IssueConnectedAppToken(f.user.UserID, app.ClientID, "notes:read", "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.v.Verify(bg(), tok)
	if err != nil {
		t.Fatal(err)
	}
	a := got.AccessToken
	if a == nil || got.Machine != nil || got.Consumer != nil || got.SessionID != "" || a.Subject != f.user.UserID || a.ClientID != app.ClientID ||
		len(a.Scopes) != 2 || a.Scopes[0] != "notes:read" || a.TokenID == "" || a.Issuer != f.srv.URL || len(a.CustomClaims) != 0 ||
		a.Source != stytchguard.SourceLocal || a.ExpiresAt.Sub(a.IssuedAt) != stytchtest.AccessTokenLifetime {
		t.Fatalf("verified %+v, access token %+v", got, a)
	}
	if len(a.Audience) != 1 || a.Audience[0] != f.srv.ProjectID() {
		t.Fatalf("aud %q, want the project id alone", a.Audience)
	}
	if !a.HasScopes("notes:read") || a.HasScopes("notes:write") || a.HasScopes("notes:*") {
		t.Fatal("HasScopes: scopes are granted by name")
	}
	if !f.v.AcceptsIssuer(f.srv.URL+"/") || f.v.AcceptsIssuer("https://elsewhere.example") {
		t.Fatal("AcceptsIssuer")
	}
	// The whole aud is carried, in its order, for the resource to decide
	// which tokens are its own; a cache hit carries it too. Verify itself
	// checks only that the project id is among it.
	bound, err := f.srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{Issuer: f.srv.URL, SubjectID: f.user.UserID, ClientID: app.ClientID,
		Scopes: []string{"notes:read"}, Resources: []string{"https://notes.example.com/mcp", "https://tasks.example.com/mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"verified", "cached"} {
		got, err := f.v.Verify(bg(), bound)
		if err != nil || fmt.Sprint(got.AccessToken.Audience) != "["+f.srv.ProjectID()+" https://notes.example.com/mcp https://tasks.example.com/mcp]" {
			t.Fatalf("%s: aud %v, %v", pass, got, err)
		}
	}

	clk.Advance(30 * time.Minute) // past MaxTokenAge (5 min), within exp (60 min)
	if _, err := f.v.Verify(bg(), tok); err != nil {
		t.Fatalf("half an hour on: %v", err)
	}
	clk.Advance(31 * time.Minute)
	if _, err := f.v.Verify(bg(), tok); jwtlocal.OutcomeOf(err) != jwtlocal.Stale {
		t.Fatalf("past exp: %v", err)
	}

	// What tells the kinds apart.
	claims := claimsOf(t, tok)
	kid, key := f.srv.SigningKey()
	kinds := []struct {
		name    string
		mod     func(jwt.MapClaims)
		machine bool
		access  bool
		want    jwtlocal.Outcome
	}{
		{"an access token", func(jwt.MapClaims) {}, false, true, jwtlocal.Valid},
		{"client_id is the sub: an M2M token whose template repeats it", func(c jwt.MapClaims) { c["client_id"] = c["sub"] }, true, false, jwtlocal.Valid},
		{"no client_id: an M2M token", func(c jwt.MapClaims) { delete(c, "client_id") }, true, false, jwtlocal.Valid},
		{"an empty client_id", func(c jwt.MapClaims) { c["client_id"] = "" }, false, false, jwtlocal.Invalid},
		{"a session claim: a session JWT with a custom client_id", func(c jwt.MapClaims) {
			sc := claimsOf(t, f.tok.SessionJWT)[stytchtest.ClaimSession].(map[string]any)
			sc["expires_at"] = clk.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			c[stytchtest.ClaimSession] = sc
		}, false, false, jwtlocal.Valid},
		{"another audience", func(c jwt.MapClaims) { c["aud"] = []string{"project-test-other"} }, false, false, jwtlocal.Invalid},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c := jwt.MapClaims{}
			for key, v := range claims {
				c[key] = v
			}
			c["iat"], c["nbf"], c["exp"] = clk.Now().Unix(), clk.Now().Unix(), clk.Now().Add(time.Hour).Unix()
			k.mod(c)
			got, err := f.v.Verify(bg(), sign(t, jwt.SigningMethodRS256, key, kid, c))
			if jwtlocal.OutcomeOf(err) != k.want {
				t.Fatalf("outcome %v, want %v", err, k.want)
			}
			if err == nil && ((got.Machine != nil) != k.machine || (got.AccessToken != nil) != k.access) {
				t.Fatalf("machine %v, access token %v", got.Machine != nil, got.AccessToken != nil)
			}
		})
	}
}
