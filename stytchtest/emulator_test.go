package stytchtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestBasicAuthOnEveryEndpointButJWKS(t *testing.T) {
	e := newEnv(t)
	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	endpoints := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/sessions/authenticate", map[string]any{"session_token": "x"}},
		{"GET", "/v1/sessions?user_id=user-test-x", nil},
		{"POST", "/v1/sessions/revoke", map[string]any{"session_id": "x"}},
		{"POST", "/v1/sessions/exchange_access_token", map[string]any{"access_token": "x"}},
		{"POST", "/v1/sessions/migrate", map[string]any{"session_token": "x"}},
		{"POST", "/v1/sessions/attest", map[string]any{"profile_id": "p", "token": "x"}},
		{"GET", "/v1/rbac/policy", nil},
		{"POST", "/v1/b2b/sessions/authenticate", map[string]any{"session_token": "x"}},
		{"GET", "/v1/b2b/sessions?organization_id=o&member_id=m", nil},
		{"POST", "/v1/b2b/sessions/revoke", map[string]any{"member_id": "x"}},
		{"POST", "/v1/b2b/sessions/exchange", map[string]any{"organization_id": "x", "session_token": "x"}},
		{"POST", "/v1/b2b/sessions/exchange_access_token", map[string]any{"access_token": "x"}},
		{"POST", "/v1/b2b/sessions/migrate", map[string]any{"session_token": "x", "organization_id": "o"}},
		{"POST", "/v1/b2b/sessions/attest", map[string]any{"profile_id": "p", "token": "x"}},
		{"GET", "/v1/b2b/rbac/policy", nil},
		{"GET", "/v1/b2b/rbac/organizations/" + org.OrganizationID, nil},
	}
	for _, ep := range endpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			status, body := e.do(t, ep.method, ep.path, ep.body, false)
			if status != 401 || body["error_type"] != "unauthorized_credentials" {
				t.Fatalf("without credentials: %d %v, want 401 unauthorized_credentials", status, body["error_type"])
			}
		})
	}
	for _, path := range []string{"/v1/sessions/jwks/", "/v1/b2b/sessions/jwks/"} {
		status, body := e.do(t, "GET", path+e.ProjectID(), nil, false)
		if status != 200 || len(body["keys"].([]any)) != 1 {
			t.Fatalf("JWKS %s without credentials: %d %v", path, status, body)
		}
	}
	// A wrong secret is refused like a missing one.
	c := e.Config()
	c.Secret = "wrong"
	bad, _ := session.New(c)
	_, err := bad.Consumer.Policy(ctx(t))
	wantAPIError(t, err, 401, "unauthorized_credentials")
}

func TestAuthenticateArguments(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	_, revoked := e.consumer(t, stytchtest.SessionParams{})
	if err := e.RevokeSession(revoked.SessionID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		params    session.AuthenticateParams
		status    int
		errorType string
	}{
		{"both", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionJWT: tok.SessionJWT}, 400, "too_many_session_arguments"},
		{"neither", session.AuthenticateParams{}, 400, "no_session_arguments"},
		{"unknown token", session.AuthenticateParams{SessionToken: strings.Repeat("a", 44)}, 404, "session_not_found"},
		{"revoked token", session.AuthenticateParams{SessionToken: revoked.SessionToken}, 404, "session_not_found"},
		{"revoked JWT", session.AuthenticateParams{SessionJWT: revoked.SessionJWT}, 404, "session_not_found"},
		{"garbage JWT", session.AuthenticateParams{SessionJWT: "not.a.jwt"}, 400, "unable_to_parse_session_jwt"},
		{"duration too short", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: 4}, 400, "invalid_session_duration_minutes"},
		{"duration too long", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: 527041}, 400, "invalid_session_duration_minutes"},
		{"reserved claim", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionCustomClaims: map[string]any{"sub": "x"}}, 400, "reserved_claims_in_custom_claims"},
		{"stytch claim", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionCustomClaims: map[string]any{"https://stytch.com/session": 1}}, 400, "reserved_claims_in_custom_claims"},
		{"claims over 4 KB", session.AuthenticateParams{SessionToken: tok.SessionToken, SessionCustomClaims: map[string]any{"big": strings.Repeat("x", 4100)}}, 400, "custom_claims_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Consumer.Authenticate(ctx(t), tt.params)
			wantAPIError(t, err, tt.status, tt.errorType)
		})
	}
	// A failed update changed nothing.
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Session.ExpiresAt.Equal(tok.ExpiresAt) || len(res.Session.CustomClaims) != 0 {
		t.Fatalf("refused updates leaked: expires %v (want %v), claims %v", res.Session.ExpiresAt, tok.ExpiresAt, res.Session.CustomClaims)
	}
}

func TestSessionExpiresByTheClock(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{Duration: 10 * time.Minute})
	e.Advance(9 * time.Minute)
	if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	e.Advance(2 * time.Minute)
	_, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	wantAPIError(t, err, 404, "session_not_found")
}

func TestExpiredJWTOfLiveSessionGetsFreshJWT(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	e.Advance(10 * time.Minute) // the JWT lived 5
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionJWT: tok.SessionJWT})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionToken != "" {
		t.Errorf("authenticating a JWT only returned a session_token")
	}
	if res.SessionJWT == "" || res.SessionJWT == tok.SessionJWT {
		t.Fatalf("no fresh JWT")
	}
	claims := parseJWT(t, e, res.SessionJWT)
	iat, _ := claims.GetIssuedAt()
	if got := iat.Time; !got.Equal(e.Now()) {
		t.Errorf("fresh JWT iat %v, want the emulator's now %v", got, e.Now())
	}
}

func TestSlidingExpiryAndLastAccessed(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{Duration: 43200 * time.Minute})
	start := e.Now()
	for i := 1; i <= 3; i++ {
		e.Advance(24 * time.Hour)
		res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: 43200})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.Now().Add(30 * 24 * time.Hour); !res.Session.ExpiresAt.Equal(want) {
			t.Fatalf("day %d: expires_at %v, want %v", i, res.Session.ExpiresAt, want)
		}
		if !res.Session.LastAccessedAt.Equal(e.Now()) || !res.Session.StartedAt.Equal(start) {
			t.Fatalf("day %d: last_accessed_at %v started_at %v", i, res.Session.LastAccessedAt, res.Session.StartedAt)
		}
	}
	// Without session_duration_minutes the expiry stays.
	before, _ := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	e.Advance(time.Hour)
	after, _ := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	if !after.Session.ExpiresAt.Equal(before.Session.ExpiresAt.Time) {
		t.Fatalf("expiry moved without session_duration_minutes")
	}
}

func TestCustomClaimsMergeDeleteAndReachTheJWT(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "free", "team": "a"}})
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{
		SessionToken:        tok.SessionToken,
		SessionCustomClaims: map[string]any{"plan": "pro", "team": nil, "seats": 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"plan": "pro", "seats": float64(3)}
	if len(res.Session.CustomClaims) != 2 || res.Session.CustomClaims["plan"] != "pro" || res.Session.CustomClaims["seats"] != float64(3) {
		t.Fatalf("claims %v, want %v", res.Session.CustomClaims, want)
	}
	claims := parseJWT(t, e, res.SessionJWT)
	if claims["plan"] != "pro" || claims["seats"] != float64(3) || claims["team"] != nil {
		t.Fatalf("JWT custom claims %v", claims)
	}
}

func TestJWTClaimsAreStytchs(t *testing.T) {
	e := newEnv(t)
	u, tok := e.consumer(t, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "pro"}}, "editor")
	tokn, claims := parseJWTToken(t, e, tok.SessionJWT)
	if tokn.Header["alg"] != "RS256" || tokn.Header["typ"] != "JWT" || tokn.Header["kid"] != e.KeyIDs()[0] {
		t.Fatalf("header %v", tokn.Header)
	}
	if claims["iss"] != "stytch.com/"+e.ProjectID() || claims["sub"] != u.UserID {
		t.Fatalf("iss %v sub %v", claims["iss"], claims["sub"])
	}
	if aud, ok := claims["aud"].([]any); !ok || len(aud) != 1 || aud[0] != e.ProjectID() {
		t.Fatalf("aud %v, want an array of the project id", claims["aud"])
	}
	if claims["iat"] != claims["nbf"] || claims["exp"].(float64)-claims["iat"].(float64) != 300 {
		t.Fatalf("iat %v nbf %v exp %v", claims["iat"], claims["nbf"], claims["exp"])
	}
	sc := claims[stytchtest.ClaimSession].(map[string]any)
	for _, k := range []string{"id", "started_at", "last_accessed_at", "expires_at", "attributes", "authentication_factors", "roles"} {
		if _, ok := sc[k]; !ok {
			t.Errorf("session claim lacks %s", k)
		}
	}
	if sc["id"] != tok.SessionID || !slices.Equal(toStrings(sc["roles"]), []string{"stytch_user", "editor"}) {
		t.Fatalf("session claim %v", sc)
	}
	if claims["plan"] != "pro" || claims[stytchtest.ClaimOrganization] != nil {
		t.Fatalf("custom claim or stray organization claim: %v", claims)
	}

	org, m, mtok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme Corp"})
	mc := parseJWT(t, e, mtok.SessionJWT)
	oc, ok := mc[stytchtest.ClaimOrganization].(map[string]any)
	if !ok || oc["organization_id"] != org.OrganizationID || oc["slug"] != "acme-corp" || mc["sub"] != m.MemberID {
		t.Fatalf("B2B claims %v", mc)
	}
	if _, ok := mc[stytchtest.ClaimSession].(map[string]any)["attributes"]; ok {
		t.Errorf("B2B session claim has attributes")
	}
}

func TestCustomIssuer(t *testing.T) {
	e := newEnv(t, stytchtest.WithIssuer("https://login.example.com/"))
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	if iss := parseJWT(t, e, tok.SessionJWT)["iss"]; iss != "https://login.example.com" {
		t.Fatalf("iss %v", iss)
	}
}

func TestKeyRotationOverlapThenRetire(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{Duration: 24 * time.Hour})
	oldKID := e.KeyIDs()[0]
	newKID := e.RotateKey(time.Hour)
	jwks, err := e.client.Consumer.JWKS(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(jwks) != 2 || jwks[0].KID != oldKID || jwks[1].KID != newKID {
		t.Fatalf("during overlap JWKS %v", kids(jwks))
	}
	for _, k := range jwks {
		if k.KTY != "RSA" || k.Alg != "RS256" || k.Use != "sig" || len(k.X5C) != 1 {
			t.Fatalf("key %+v", k)
		}
	}
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := parseJWTToken(t, e, res.SessionJWT); tk.Header["kid"] != newKID {
		t.Fatalf("new JWT signed by %v, want %v", tk.Header["kid"], newKID)
	}
	e.Advance(61 * time.Minute)
	jwks, _ = e.client.B2B.JWKS(ctx(t))
	if len(jwks) != 1 || jwks[0].KID != newKID {
		t.Fatalf("after overlap JWKS %v", kids(jwks))
	}
	// Stytch itself still accepts the old key's JWT of a live session.
	if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionJWT: tok.SessionJWT}); err != nil {
		t.Fatalf("old-key JWT of a live session: %v", err)
	}
	e.RotateKey(0)
	if got := e.KeyIDs(); len(got) != 1 || got[0] == newKID {
		t.Fatalf("rotation without overlap left %v", got)
	}
}

func TestForgedJWTIsRefused(t *testing.T) {
	e := newEnv(t)
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	other := stytchtest.New() // another project, same kid shape
	kid, _ := e.SigningKey()
	_, foreign := other.SigningKey()
	claims := parseJWT(t, e, tok.SessionJWT)
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	forged.Header["kid"] = kid
	s, err := forged.SignedString(foreign)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionJWT: s})
	wantAPIError(t, err, 404, "session_not_found")
}

func TestListReturnsActiveSessionsOnly(t *testing.T) {
	e := newEnv(t)
	u := e.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	var ids []string
	for _, d := range []time.Duration{time.Hour, time.Hour, 10 * time.Minute} {
		tok, err := e.StartSession(u.UserID, stytchtest.SessionParams{Duration: d})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.SessionID)
	}
	if err := e.client.Consumer.Revoke(ctx(t), session.RevokeParams{SessionID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	e.Advance(11 * time.Minute)
	res, err := e.client.Consumer.List(ctx(t), u.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 1 || res.Sessions[0].SessionID != ids[0] {
		t.Fatalf("listed %d sessions, want only %s", len(res.Sessions), ids[0])
	}
	_, err = e.client.Consumer.List(ctx(t), "user-test-00000000-0000-4000-8000-000000000000")
	wantAPIError(t, err, 404, "user_not_found")
}

func TestRevokeByEachIdentifier(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		params func(stytchtest.Tokens) session.RevokeParams
	}{
		{"session_id", func(t stytchtest.Tokens) session.RevokeParams { return session.RevokeParams{SessionID: t.SessionID} }},
		{"session_token", func(t stytchtest.Tokens) session.RevokeParams {
			return session.RevokeParams{SessionToken: t.SessionToken}
		}},
		{"session_jwt", func(t stytchtest.Tokens) session.RevokeParams { return session.RevokeParams{SessionJWT: t.SessionJWT} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tok := e.consumer(t, stytchtest.SessionParams{})
			if err := e.client.Consumer.Revoke(ctx(t), tt.params(tok)); err != nil {
				t.Fatal(err)
			}
			// Every credential of the session dies at once.
			for _, p := range []session.AuthenticateParams{{SessionToken: tok.SessionToken}, {SessionJWT: tok.SessionJWT}} {
				_, err := e.client.Consumer.Authenticate(ctx(t), p)
				wantAPIError(t, err, 404, "session_not_found")
			}
			err := e.client.Consumer.Revoke(ctx(t), tt.params(tok))
			wantAPIError(t, err, 404, "session_not_found")
		})
	}
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	err := e.client.Consumer.Revoke(ctx(t), session.RevokeParams{})
	wantAPIError(t, err, 400, "no_session_revoke_arguments")
	err = e.client.Consumer.Revoke(ctx(t), session.RevokeParams{SessionID: tok.SessionID, SessionToken: tok.SessionToken})
	wantAPIError(t, err, 400, "too_many_session_revoke_arguments")
}

func TestB2BRevokeByMemberIDEndsAllAndListIsPerMember(t *testing.T) {
	e := newEnv(t)
	org, m, first := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"})
	second, err := e.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "bob@example.com"})
	otherTok, _ := e.StartMemberSession(other.MemberID, stytchtest.SessionParams{})
	list, err := e.client.B2B.List(ctx(t), org.OrganizationID, m.MemberID)
	if err != nil || len(list.MemberSessions) != 2 {
		t.Fatalf("list: %v, %v", err, list)
	}
	if err := e.client.B2B.Revoke(ctx(t), session.B2BRevokeParams{MemberID: m.MemberID}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []stytchtest.Tokens{first, second} {
		_, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: tok.SessionToken})
		wantAPIError(t, err, 404, "session_not_found")
	}
	if _, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: otherTok.SessionToken}); err != nil {
		t.Fatalf("another member's session died too: %v", err)
	}
	list, _ = e.client.B2B.List(ctx(t), org.OrganizationID, m.MemberID)
	if len(list.MemberSessions) != 0 {
		t.Fatalf("revoked sessions still listed")
	}
	err = e.client.B2B.Revoke(ctx(t), session.B2BRevokeParams{MemberID: m.MemberID, MemberSessionID: first.SessionID})
	wantAPIError(t, err, 400, "too_many_session_revoke_arguments")
	// A consumer token means nothing to the B2B API, and the reverse.
	_, ctok := e.consumer(t, stytchtest.SessionParams{})
	_, err = e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: ctok.SessionToken})
	wantAPIError(t, err, 404, "session_not_found")
	_, err = e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionJWT: otherTok.SessionJWT})
	wantAPIError(t, err, 404, "session_not_found")
}

func TestAuthorizationCheck(t *testing.T) {
	e := newEnv(t)
	docs := []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}
	e.SetPolicy(session.Policy{Roles: []session.Role{
		{RoleID: "stytch_user", Description: "everyone"},
		{RoleID: "viewer", Description: "reads", Permissions: docs},
		{RoleID: "admin", Description: "all", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
	}})
	_, viewer := e.consumer(t, stytchtest.SessionParams{}, "viewer")
	_, admin := e.consumer(t, stytchtest.SessionParams{}, "viewer", "admin")
	check := func(tok stytchtest.Tokens, resource, action string) (*session.AuthenticateResponse, error) {
		return e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken, AuthorizationCheck: &session.AuthorizationCheck{ResourceID: resource, Action: action}})
	}
	res, err := check(viewer, "documents", "read")
	if err != nil || res.Verdict == nil || !res.Verdict.Authorized || !slices.Equal(res.Verdict.GrantingRoles, []string{"viewer"}) {
		t.Fatalf("viewer read: %v %+v", err, res)
	}
	_, err = check(viewer, "documents", "write")
	wantAPIError(t, err, 403, "consumer_session_authorization_error")
	_, err = check(viewer, "documents.secret", "read")
	wantAPIError(t, err, 403, "consumer_session_authorization_error")
	res, err = check(admin, "documents", "delete")
	if err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"admin"}) {
		t.Fatalf("admin wildcard: %v %+v", err, res)
	}
	res, err = check(admin, "documents", "read")
	if err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"viewer", "admin"}) {
		t.Fatalf("two granting roles: %v %+v", err, res)
	}

	// B2B: tenancy first, then project roles plus the organization's own.
	org, m, tok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"}, "auditor")
	e.SetB2BPolicy(session.Policy{Roles: []session.Role{{RoleID: "stytch_member", Description: "all", Permissions: []session.Permission{{ResourceID: "wiki", Actions: []string{"read"}}}}}})
	if err := e.SetOrgPolicy(org.OrganizationID, []session.Role{{RoleID: "auditor", Description: "custom", Permissions: []session.Permission{{ResourceID: "ledger", Actions: []string{"read"}}}}}); err != nil {
		t.Fatal(err)
	}
	b2b := func(orgID, resource, action string) (*session.B2BAuthenticateResponse, error) {
		return e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionJWT: tok.SessionJWT, AuthorizationCheck: &session.AuthorizationCheck{OrganizationID: orgID, ResourceID: resource, Action: action}})
	}
	if res, err := b2b(org.OrganizationID, "ledger", "read"); err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"auditor"}) {
		t.Fatalf("org custom role: %v", err)
	}
	if res, err := b2b(org.OrganizationID, "wiki", "read"); err != nil || !slices.Equal(res.Verdict.GrantingRoles, []string{"stytch_member"}) {
		t.Fatalf("project role: %v", err)
	}
	_, err = b2b(org.OrganizationID, "ledger", "write")
	wantAPIError(t, err, 403, "session_authorization_error")
	_, err = b2b("organization-test-00000000-0000-4000-8000-000000000000", "ledger", "read")
	wantAPIError(t, err, 403, "session_authorization_tenancy_error")
	// A refused check does not touch the session.
	list, _ := e.client.B2B.List(ctx(t), org.OrganizationID, m.MemberID)
	if len(list.MemberSessions) != 1 {
		t.Fatalf("sessions: %d", len(list.MemberSessions))
	}
}

func TestPolicyEndpoints(t *testing.T) {
	e := newEnv(t)
	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	e.SetPolicy(session.Policy{
		Roles:     []session.Role{{RoleID: "viewer", Description: "v", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}},
		Resources: []session.Resource{{ResourceID: "documents", Description: "docs", Actions: []string{"read", "write"}}},
	})
	// Stytch's default role stays, though the policy set omits it.
	p, err := e.client.Consumer.Policy(ctx(t))
	if err != nil || !slices.Equal(roleIDs(p.Roles), []string{"stytch_user", "viewer"}) || p.Resources[0].ResourceID != "documents" {
		t.Fatalf("consumer policy: %v %+v", err, p)
	}
	bp, err := e.client.B2B.Policy(ctx(t))
	if err != nil || !slices.Equal(roleIDs(bp.Roles), []string{"stytch_member", "stytch_admin"}) {
		t.Fatalf("B2B policy: %v %+v", err, bp)
	}
	if err := e.SetOrgPolicy(org.OrganizationID, []session.Role{{RoleID: "auditor", Description: "a"}}); err != nil {
		t.Fatal(err)
	}
	op, err := e.client.B2B.OrgPolicy(ctx(t), org.OrganizationID)
	if err != nil || len(op.Roles) != 1 || op.Roles[0].RoleID != "auditor" {
		t.Fatalf("org policy: %v %+v", err, op)
	}
	_, err = e.client.B2B.OrgPolicy(ctx(t), "organization-test-nope")
	wantAPIError(t, err, 404, "organization_not_found")
}

func TestB2BExchange(t *testing.T) {
	e := newEnv(t)
	_, _, tok := e.b2b(t, stytchtest.OrganizationParams{Name: "Home"})
	away := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Away"})
	awayMember, _ := e.CreateMember(away.OrganizationID, stytchtest.MemberParams{Email: "GRACE@example.com"})
	strict := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Strict", MFARequired: true})
	if _, err := e.CreateMember(strict.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", MFAPhoneNumber: "+15555550100"}); err != nil {
		t.Fatal(err)
	}
	stranger := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Stranger"})

	res, err := e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: away.OrganizationID, SessionToken: tok.SessionToken, SessionDurationMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !res.MemberAuthenticated || res.MemberSession == nil || res.MemberSession.OrganizationID != away.OrganizationID || res.MemberID != awayMember.MemberID || res.IntermediateSessionToken != "" {
		t.Fatalf("exchange: %+v", res)
	}
	if got := res.MemberSession.ExpiresAt.Sub(res.MemberSession.StartedAt.Time); got != 30*time.Minute {
		t.Fatalf("exchanged session lives %v", got)
	}
	if a, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionJWT: res.SessionJWT}); err != nil || a.Organization.OrganizationID != away.OrganizationID {
		t.Fatalf("exchanged JWT: %v", err)
	}
	if _, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: tok.SessionToken}); err != nil {
		t.Fatalf("the original session ended: %v", err)
	}

	mfa, err := e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: strict.OrganizationID, SessionJWT: tok.SessionJWT})
	if err != nil {
		t.Fatal(err)
	}
	if mfa.MemberAuthenticated || mfa.IntermediateSessionToken == "" || mfa.MemberSession != nil || mfa.SessionToken != "" || mfa.SessionJWT != "" {
		t.Fatalf("MFA exchange: %+v", mfa)
	}
	if mfa.MFARequired == nil || mfa.MFARequired.MemberOptions == nil || mfa.MFARequired.MemberOptions.MFAPhoneNumber != "+15555550100" {
		t.Fatalf("mfa_required: %+v", mfa.MFARequired)
	}
	_, err = e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: stranger.OrganizationID, SessionToken: tok.SessionToken})
	wantAPIError(t, err, 404, "member_not_found")
	_, err = e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: away.OrganizationID})
	wantAPIError(t, err, 400, "no_session_arguments")
}

func TestExchangeFactorsTransferOnlyEmailOAuthAndSMS(t *testing.T) {
	e := newEnv(t)
	a := e.CreateOrganization(stytchtest.OrganizationParams{Name: "A"})
	b := e.CreateOrganization(stytchtest.OrganizationParams{Name: "B"})
	ma, _ := e.CreateMember(a.OrganizationID, stytchtest.MemberParams{Email: "x@example.com"})
	if _, err := e.CreateMember(b.OrganizationID, stytchtest.MemberParams{Email: "x@example.com"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := e.StartMemberSession(ma.MemberID, stytchtest.SessionParams{Factors: []session.AuthenticationFactor{
		{Type: "password", DeliveryMethod: "knowledge"},
		{Type: "oauth", DeliveryMethod: "oauth_google", GoogleOAuthFactor: &session.OAuthFactor{ID: "g", ProviderSubject: "s"}},
	}})
	res, err := e.client.B2B.Exchange(ctx(t), session.B2BExchangeParams{OrganizationID: b.OrganizationID, SessionToken: tok.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.MemberSession.AuthenticationFactors; len(f) != 1 || f[0].DeliveryMethod != "oauth_google" {
		t.Fatalf("transferred factors %+v", f)
	}
}

func TestGrantsStartSessions(t *testing.T) {
	e := newEnv(t)
	u, tok := e.consumer(t, stytchtest.SessionParams{})
	access, err := e.IssueAccessToken(u.UserID, "connected-app-test-1")
	if err != nil {
		t.Fatal(err)
	}
	// The grants' answers, read as Stytch's SDKs read them.
	type grant struct {
		UserID        string                `json:"user_id"`
		MemberID      string                `json:"member_id"`
		Session       session.Session       `json:"session"`
		MemberSession session.MemberSession `json:"member_session"`
	}
	call := func(path string, body map[string]any) (int, grant) {
		t.Helper()
		status, raw := e.raw(t, "POST", path, body, true)
		var g grant
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %d %s", path, status, raw)
		}
		return status, g
	}
	status, x := call("/v1/sessions/exchange_access_token", map[string]any{"access_token": access, "session_duration_minutes": 15})
	if status != 200 || x.UserID != u.UserID || x.Session.AuthenticationFactors[0].OAuthAccessTokenExchangeFactor.ClientID != "connected-app-test-1" {
		t.Fatalf("exchange_access_token: %d %+v", status, x)
	}
	if status, body := e.do(t, "POST", "/v1/sessions/exchange_access_token", map[string]any{"access_token": "nope"}, true); status != 404 || body["error_type"] != "invalid_token" {
		t.Fatalf("exchange_access_token of a made-up token: %d %v", status, body)
	}

	if err := e.AddMigrationToken("auth0-session-xyz", u.UserID); err != nil {
		t.Fatal(err)
	}
	status, mg := call("/v1/sessions/migrate", map[string]any{"session_token": "auth0-session-xyz"})
	if status != 200 || mg.Session.AuthenticationFactors[0].Type != "imported" {
		t.Fatalf("migrate: %d %+v", status, mg)
	}

	if err := e.AddTrustedAuthToken("profile-1", "idp-token", u.UserID); err != nil {
		t.Fatal(err)
	}
	status, at := call("/v1/sessions/attest", map[string]any{"profile_id": "profile-1", "token": "idp-token", "session_token": tok.SessionToken})
	if status != 200 || at.Session.SessionID != tok.SessionID || len(at.Session.AuthenticationFactors) != 2 {
		t.Fatalf("attest onto a session: %d %+v", status, at)
	}
	if status, body := e.do(t, "POST", "/v1/sessions/attest", map[string]any{"profile_id": "profile-2", "token": "idp-token"}, true); status != 404 || body["error_type"] != "invalid_token" {
		t.Fatalf("attest with another profile: %d %v", status, body)
	}

	org, m, mtok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"})
	maccess, _ := e.IssueAccessToken(m.MemberID, "connected-app-test-2")
	if status, bx := call("/v1/b2b/sessions/exchange_access_token", map[string]any{"access_token": maccess}); status != 200 || bx.MemberSession.OrganizationID != org.OrganizationID {
		t.Fatalf("B2B exchange_access_token: %d %+v", status, bx)
	}
	_ = e.AddMigrationToken("legacy", m.MemberID)
	if status, _ := call("/v1/b2b/sessions/migrate", map[string]any{"session_token": "legacy", "organization_id": org.OrganizationID}); status != 200 {
		t.Fatalf("B2B migrate: %d", status)
	}
	_ = e.AddTrustedAuthToken("profile-b", "t", m.MemberID)
	status, ba := call("/v1/b2b/sessions/attest", map[string]any{"profile_id": "profile-b", "token": "t", "session_jwt": mtok.SessionJWT})
	if status != 200 || ba.MemberSession.MemberSessionID != mtok.SessionID || len(ba.MemberSession.AuthenticationFactors) != 2 {
		t.Fatalf("B2B attest: %d %+v", status, ba)
	}
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, "POST", "/_emulator/users", map[string]any{"email": "demo@example.com", "roles": []string{"viewer"}}, true)
	if status != 200 {
		t.Fatalf("create user: %d %v", status, body)
	}
	userID := body["user"].(map[string]any)["user_id"].(string)
	status, body = e.do(t, "POST", "/_emulator/sessions", map[string]any{"user_id": userID, "session_duration_minutes": 60}, true)
	if status != 200 || body["session_token"] == "" {
		t.Fatalf("start session: %d %v", status, body)
	}
	res, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: body["session_token"].(string)})
	if err != nil || res.User.UserID != userID || !slices.Contains(res.Session.Roles, "viewer") {
		t.Fatalf("admin-started session: %v %+v", err, res)
	}
	if status, body = e.do(t, "POST", "/_emulator/organizations", map[string]any{"organization_name": "Demo"}, true); status != 200 {
		t.Fatalf("create organization: %d %v", status, body)
	}
	orgID := body["organization"].(map[string]any)["organization_id"].(string)
	if status, body = e.do(t, "POST", "/_emulator/members", map[string]any{"organization_id": orgID, "email_address": "m@example.com", "roles": []string{"editor"}}, true); status != 200 {
		t.Fatalf("create member: %d %v", status, body)
	}
	memberID := body["member"].(map[string]any)["member_id"].(string)
	status, body = e.do(t, "POST", "/_emulator/member_sessions", map[string]any{"member_id": memberID}, true)
	if status != 200 {
		t.Fatalf("member session: %d %v", status, body)
	}
	if _, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionJWT: body["session_jwt"].(string)}); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.do(t, "POST", "/_emulator/users", map[string]any{}, false); status != 401 {
		t.Fatalf("admin API without credentials: %d", status)
	}
	if status, _ := e.do(t, "POST", "/_emulator/sessions", map[string]any{"user_id": "user-test-nope"}, true); status != 404 {
		t.Fatalf("session for unknown user: %d", status)
	}
	if status, _ := e.do(t, "PUT", "/_emulator/rbac/policy", map[string]any{"policy": map[string]any{"roles": []any{map[string]any{"role_id": "x", "description": "", "permissions": []any{}}}}}, true); status != 200 {
		t.Fatalf("set policy: %d", status)
	}
	if p, _ := e.client.Consumer.Policy(ctx(t)); !slices.Equal(roleIDs(p.Roles), []string{"stytch_user", "x"}) {
		t.Fatalf("policy not set: %+v", p)
	}
	// The roles without their "policy" key are refused, not read as an
	// empty policy.
	if status, _ := e.do(t, "PUT", "/_emulator/rbac/policy", map[string]any{"roles": []any{}}, true); status != 400 {
		t.Fatalf("a policy body without its policy key: %d", status)
	}
	if p, _ := e.client.Consumer.Policy(ctx(t)); len(p.Roles) != 2 {
		t.Fatalf("a refused policy body changed the policy: %+v", p)
	}
	// Faults and call counts, for apps tested from another process.
	if status, body := e.do(t, "POST", "/_emulator/faults", map[string]any{"endpoint": "sessions.authenticate", "status": 500, "times": 1}, true); status != 200 {
		t.Fatalf("inject fault: %d %v", status, body)
	}
	if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: "x"}); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("injected 500: %v", err)
	}
	if status, _ := e.do(t, "DELETE", "/_emulator/faults", nil, true); status != 200 {
		t.Fatal("clear faults")
	}
	if status, _ := e.do(t, "POST", "/_emulator/faults", map[string]any{"endpoint": "emulator.admin", "status": 500}, true); status != 400 {
		t.Fatal("a fault on the admin API itself was accepted")
	}
	status, body = e.do(t, "GET", "/_emulator/calls", nil, true)
	calls, _ := body["calls"].(map[string]any)
	if status != 200 || calls["sessions.authenticate"] == nil || calls["sessions.authenticate"].(float64) < 2 {
		t.Fatalf("calls: %d %v", status, body)
	}
}

func TestLiveProjectIDsAreLive(t *testing.T) {
	e := stytchtest.New(stytchtest.WithProjectID("project-live-00000000-0000-4000-8000-000000000000"))
	u := e.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	if !strings.HasPrefix(u.UserID, "user-live-") {
		t.Fatalf("user id %s", u.UserID)
	}
	tok, _ := e.StartSession(u.UserID, stytchtest.SessionParams{})
	if !strings.HasPrefix(tok.SessionID, "session-live-") || len(tok.SessionToken) != 44 {
		t.Fatalf("session id %s token length %d", tok.SessionID, len(tok.SessionToken))
	}
}

func TestUnknownRouteIsStytchShaped(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.URL+"/v1/nope", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func parseJWTToken(t *testing.T, e *env, raw string) (*jwt.Token, jwt.MapClaims) {
	t.Helper()
	claims := jwt.MapClaims{}
	tk, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(e.Now)).ParseWithClaims(raw, claims, func(tk *jwt.Token) (any, error) {
		for _, k := range e.JWKS() {
			if k.KID == tk.Header["kid"] {
				return jwkPublicKey(t, k), nil
			}
		}
		t.Fatalf("kid %v not in the JWKS", tk.Header["kid"])
		return nil, nil
	})
	if err != nil {
		t.Fatalf("JWT does not verify against the JWKS: %v", err)
	}
	return tk, claims
}

func parseJWT(t *testing.T, e *env, raw string) jwt.MapClaims {
	t.Helper()
	_, c := parseJWTToken(t, e, raw)
	return c
}

func kids(keys []session.JWK) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.KID)
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestB2BRevokeByEachIdentifier(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		params func(stytchtest.Tokens) session.B2BRevokeParams
	}{
		{"member_session_id", func(t stytchtest.Tokens) session.B2BRevokeParams {
			return session.B2BRevokeParams{MemberSessionID: t.SessionID}
		}},
		{"session_token", func(t stytchtest.Tokens) session.B2BRevokeParams {
			return session.B2BRevokeParams{SessionToken: t.SessionToken}
		}},
		{"session_jwt", func(t stytchtest.Tokens) session.B2BRevokeParams {
			return session.B2BRevokeParams{SessionJWT: t.SessionJWT}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, m, tok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"})
			keep, _ := e.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
			if err := e.client.B2B.Revoke(ctx(t), tt.params(tok)); err != nil {
				t.Fatal(err)
			}
			_, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionJWT: tok.SessionJWT})
			wantAPIError(t, err, 404, "session_not_found")
			if _, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: keep.SessionToken}); err != nil {
				t.Fatalf("the member's other session died: %v", err)
			}
		})
	}
	err := e.client.B2B.Revoke(ctx(t), session.B2BRevokeParams{})
	wantAPIError(t, err, 400, "no_session_revoke_arguments")
	err = e.client.B2B.Revoke(ctx(t), session.B2BRevokeParams{MemberID: "member-test-nope"})
	wantAPIError(t, err, 404, "member_not_found")
}

func TestSignUsesTheCurrentKey(t *testing.T) {
	e := newEnv(t)
	newKID := e.RotateKey(time.Hour)
	raw, err := e.Sign(jwt.MapClaims{"sub": "x", "plan": "pro"})
	if err != nil {
		t.Fatal(err)
	}
	tk, claims := parseJWTToken(t, e, raw)
	if tk.Header["kid"] != newKID || claims["plan"] != "pro" {
		t.Fatalf("kid %v, claims %v", tk.Header["kid"], claims)
	}
}

// TestAdminGrantsLocksAndLimits drives, over the admin API, what an app in
// another process needs to make migrate, exchange_access_token and attest
// succeed, to see a lock, to throttle the project and to read the clock.
func TestAdminGrantsLocksAndLimits(t *testing.T) {
	e := newEnv(t)
	u, _ := e.consumer(t, stytchtest.SessionParams{})
	org, m, mtok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"})
	admin := func(path string, body map[string]any) map[string]any {
		t.Helper()
		status, out := e.do(t, "POST", path, body, true)
		if status != 200 {
			t.Fatalf("%s: %d %v", path, status, out)
		}
		return out
	}
	str := func(v any) string { s, _ := v.(string); return s }

	tok := admin("/_emulator/access_tokens", map[string]any{"user_id": u.UserID, "client_id": "connected-app-test-1"})
	if status, res := e.do(t, "POST", "/v1/sessions/exchange_access_token", map[string]any{"access_token": str(tok["access_token"])}, true); status != 200 || res["user_id"] != u.UserID {
		t.Fatalf("exchange_access_token with a minted token: %d %v", status, res)
	}
	mig := admin("/_emulator/migration_tokens", map[string]any{"member_id": m.MemberID})
	if status, res := e.do(t, "POST", "/v1/b2b/sessions/migrate", map[string]any{"session_token": str(mig["session_token"]), "organization_id": org.OrganizationID}, true); status != 200 || res["member_id"] != m.MemberID {
		t.Fatalf("B2B migrate with a minted token: %d %v", status, res)
	}
	tr := admin("/_emulator/trusted_auth_tokens", map[string]any{"user_id": u.UserID})
	if status, res := e.do(t, "POST", "/v1/sessions/attest", map[string]any{"profile_id": str(tr["profile_id"]), "token": str(tr["token"])}, true); status != 200 {
		t.Fatalf("attest with a minted token: %d %v", status, res)
	}

	admin("/_emulator/locks", map[string]any{"member_id": m.MemberID, "seconds": 600})
	auth, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: mtok.SessionToken})
	if err != nil || !auth.Member.IsLocked || !auth.Member.LockExpiresAt.Equal(e.Now().Add(10*time.Minute)) {
		t.Fatalf("locked member: %v %+v", err, auth)
	}

	status, clock := e.do(t, "GET", "/_emulator/clock", nil, true)
	if status != 200 || str(clock["now"]) != e.Now().UTC().Format("2006-01-02T15:04:05Z") {
		t.Fatalf("clock: %d %v, emulator %v", status, clock, e.Now())
	}

	if status, out := e.do(t, "PUT", "/_emulator/rate_limit", map[string]any{"per_second": 0.5, "burst": 1}, true); status != 200 {
		t.Fatalf("rate_limit: %d %v", status, out)
	}
	_, _ = e.client.Consumer.Policy(ctx(t))
	_, err = e.client.Consumer.Policy(ctx(t))
	wantAPIError(t, err, 429, "too_many_requests")
	if status, _ := e.do(t, "PUT", "/_emulator/rate_limit", map[string]any{}, true); status != 200 {
		t.Fatal("turning the rate limit off")
	}
	if _, err := e.client.Consumer.Policy(ctx(t)); err != nil {
		t.Fatalf("after the limit was lifted: %v", err)
	}

	bad := []struct {
		path string
		body map[string]any
		want int
	}{
		{"/_emulator/access_tokens", map[string]any{"user_id": u.UserID, "member_id": m.MemberID}, 400},
		{"/_emulator/access_tokens", map[string]any{}, 400},
		{"/_emulator/migration_tokens", map[string]any{"user_id": "user-test-nope"}, 404},
		{"/_emulator/trusted_auth_tokens", map[string]any{"member_id": "member-test-nope"}, 404},
		{"/_emulator/locks", map[string]any{"user_id": u.UserID}, 400},
	}
	for _, b := range bad {
		if status, out := e.do(t, "POST", b.path, b.body, true); status != b.want {
			t.Errorf("%s %v: %d %v, want %d", b.path, b.body, status, out, b.want)
		}
	}
	if status, _ := e.do(t, "PUT", "/_emulator/rate_limit", map[string]any{"failed_share": 2}, true); status != 400 {
		t.Error("a failed_share above 1 was accepted")
	}
}
