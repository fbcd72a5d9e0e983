package stytchtest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// notesPolicy has a custom scope, notes:write, that only editors may grant.
func notesPolicy() session.Policy {
	return session.Policy{
		Roles: []session.Role{
			{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}},
			{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"*"}}}},
		},
		Resources: []session.Resource{{ResourceID: "notes", Actions: []string{"read", "write"}}},
		Scopes: []session.Scope{
			{Scope: "notes:read", Description: "Read your notes", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}},
			{Scope: "notes:write", Description: "Write your notes", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"write"}}}},
		},
	}
}

// form posts a form to the emulator, with Basic credentials when user is
// set, and decodes the JSON answer.
func (e *env) form(t *testing.T, path string, values url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", e.URL+path, strings.NewReader(values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %d with non-JSON body %q", path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestConnectedAppsAuthorizationServer drives the emulator as a Connected
// Apps authorization server over HTTP, as an MCP client and an app's
// consent page would: discovery, registration, authorize start and submit
// for a signed-in user, the code exchanged with PKCE, the access token's
// claims, refresh rotation and reuse, introspection, revocation, and the
// errors on the way.
func TestConnectedAppsAuthorizationServer(t *testing.T) {
	e := newEnv(t, stytchtest.WithDynamicClientRegistration())
	e.SetPolicy(notesPolicy())
	e.SetAuthorizationURL("http://localhost:8080/oauth/authorize")
	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	sess, err := e.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}

	// Discovery.
	status, meta := e.do(t, "GET", "/.well-known/oauth-authorization-server", nil, false)
	if status != 200 || meta["issuer"] != e.URL || meta["token_endpoint"] != e.URL+"/v1/oauth2/token" ||
		meta["authorization_endpoint"] != "http://localhost:8080/oauth/authorize" || fmt.Sprint(meta["code_challenge_methods_supported"]) != "[S256]" ||
		!strings.Contains(fmt.Sprint(meta["scopes_supported"]), "notes:write") {
		t.Fatalf("metadata: %d %v", status, meta)
	}

	// Registration.
	const redirect = "http://127.0.0.1:33418/callback"
	for _, bad := range []map[string]any{
		{"client_name": "x"},
		{"client_name": "x", "redirect_uris": []string{"http://evil.example/cb"}},
		{"client_name": "x", "redirect_uris": []string{"javascript:alert(1)"}},
		{"client_name": "x", "redirect_uris": []string{redirect}, "grant_types": []string{"client_credentials"}},
	} {
		if status, body := e.do(t, "POST", "/v1/oauth2/register", bad, false); status != 400 || !strings.HasPrefix(fmt.Sprint(body["error"]), "invalid_") {
			t.Fatalf("registering %v: %d %v", bad, status, body)
		}
	}
	status, reg := e.do(t, "POST", "/v1/oauth2/register", map[string]any{"client_name": "Notes agent", "redirect_uris": []string{redirect}}, false)
	clientID := fmt.Sprint(reg["client_id"])
	if status != 201 || !strings.HasPrefix(clientID, "connected-app-test-") || reg["token_endpoint_auth_method"] != "none" || reg["client_secret"] != nil {
		t.Fatalf("registered: %d %v", status, reg)
	}

	// The consent page: start, then submit.
	ask := map[string]any{"client_id": clientID, "redirect_uri": redirect, "response_type": "code", "scopes": []string{"notes:read", "notes:write", "offline_access"}, "session_token": sess.SessionToken}
	status, start := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true)
	if status != 200 || start["consent_required"] != true || start["user_id"] != u.UserID || start["client"].(map[string]any)["client_name"] != "Notes agent" {
		t.Fatalf("start: %d %v", status, start)
	}
	if results := fmt.Sprint(start["scope_results"]); !strings.Contains(results, "is_grantable:true scope:notes:read") || !strings.Contains(results, "is_grantable:false scope:notes:write") {
		t.Fatalf("scope results: %s (ann, no editor, may grant notes:read only)", results)
	}
	if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, false); status != 401 {
		t.Fatalf("start without the project's credentials: %d %v", status, body)
	}
	for name, mod := range map[string]func(map[string]any){
		"another redirect": func(p map[string]any) { p["redirect_uri"] = "http://127.0.0.1:1/elsewhere" },
		"no session":       func(p map[string]any) { p["session_token"] = "nope" },
		"unknown client":   func(p map[string]any) { p["client_id"] = "connected-app-test-nope" },
	} {
		p := map[string]any{}
		for k, v := range ask {
			p[k] = v
		}
		mod(p)
		if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", p, true); status < 400 {
			t.Fatalf("%s: %d %v", name, status, body)
		}
	}
	denied := map[string]any{"consent_granted": false, "state": "s1"}
	for k, v := range ask {
		denied[k] = v
	}
	if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize", denied, true); status != 200 || !strings.Contains(fmt.Sprint(body["redirect_uri"]), "error=access_denied") {
		t.Fatalf("denied: %d %v", status, body)
	}
	const verifier = "a-verifier-of-forty-three-characters-or-more-0123456789"
	grant := map[string]any{"consent_granted": true, "state": "s2", "code_challenge": pkce(verifier)}
	for k, v := range ask {
		grant[k] = v
	}
	status, authorized := e.do(t, "POST", "/v1/idp/oauth/authorize", grant, true)
	back, err := url.Parse(fmt.Sprint(authorized["redirect_uri"]))
	if status != 200 || err != nil || back.Query().Get("state") != "s2" || back.Query().Get("code") == "" {
		t.Fatalf("authorized: %d %v", status, authorized)
	}
	code := back.Query().Get("code")

	// The token endpoint.
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {clientID}, "code_verifier": {verifier}}
	wrong := url.Values{}
	for k, v := range exchange {
		wrong[k] = v
	}
	wrong.Set("code_verifier", verifier+"x")
	if status, body := e.form(t, "/v1/oauth2/token", wrong, "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("a wrong verifier: %d %v", status, body)
	}
	if status, body := e.form(t, "/v1/oauth2/token", exchange, "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the code after a failed exchange: %d %v (a code is used once, whatever comes of it)", status, body)
	}
	_, authorized = e.do(t, "POST", "/v1/idp/oauth/authorize", grant, true)
	back, _ = url.Parse(fmt.Sprint(authorized["redirect_uri"]))
	exchange.Set("code", back.Query().Get("code"))
	status, tok := e.form(t, "/v1/oauth2/token", exchange, "", "")
	if status != 200 || tok["scope"] != "notes:read offline_access" || tok["refresh_token"] == nil || tok["expires_in"] != float64(3600) {
		t.Fatalf("token: %d %v", status, tok)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fmt.Sprint(tok["access_token"]), claims); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != e.URL || claims["sub"] != u.UserID || claims["client_id"] != clientID || claims["scope"] != "notes:read offline_access" ||
		fmt.Sprint(claims["aud"]) != "["+e.ProjectID()+"]" || claims["jti"] == nil {
		t.Fatalf("access token claims: %v", claims)
	}

	// Introspection, refresh and revocation.
	introspect := func(token string) map[string]any {
		_, body := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {token}, "client_id": {clientID}}, "", "")
		return body
	}
	if got := introspect(fmt.Sprint(tok["access_token"])); got["active"] != true || got["sub"] != u.UserID || got["token_type"] != "access_token" {
		t.Fatalf("introspected: %v", got)
	}
	if got := introspect("not-a-token"); got["active"] != false || len(got) > 3 {
		t.Fatalf("introspected garbage: %v", got)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint(tok["refresh_token"])}, "client_id": {clientID}}
	status, renewed := e.form(t, "/v1/oauth2/token", refresh, "", "")
	if status != 200 || renewed["refresh_token"] == tok["refresh_token"] || renewed["access_token"] == nil {
		t.Fatalf("refreshed: %d %v", status, renewed)
	}
	if status, body := e.form(t, "/v1/oauth2/token", refresh, "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("a rotated refresh token again: %d %v", status, body)
	}
	next := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint(renewed["refresh_token"])}, "client_id": {clientID}}
	if status, body := e.form(t, "/v1/oauth2/token", next, "", ""); status != 400 {
		t.Fatalf("the newest refresh token after a rotated one came back: %d %v (the grant ends)", status, body)
	}
	if got := introspect(fmt.Sprint(renewed["access_token"])); got["active"] != false {
		t.Fatalf("an access token of the revoked grant: %v", got)
	}
	if got := introspect(fmt.Sprint(tok["access_token"])); got["active"] != false {
		t.Fatalf("the first access token of the revoked grant: %v", got)
	}

	// A confidential client, and a revocation by the user.
	app, err := e.RegisterConnectedApp("Reports", true, "https://reports.example.com/cb")
	if err != nil || app.ClientSecret == "" || app.ClientType != "third_party" {
		t.Fatalf("%+v %v", app, err)
	}
	if status, body := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {"x"}}, app.ClientID, "wrong"); status != 401 || body["error"] != "invalid_client" {
		t.Fatalf("a wrong client secret: %d %v", status, body)
	}
	if status, _ := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {"x"}}, app.ClientID, app.ClientSecret); status != 200 {
		t.Fatalf("the right one: %d", status)
	}
	e.Advance(time.Second)
	_, authorized = e.do(t, "POST", "/v1/idp/oauth/authorize", grant, true)
	back, _ = url.Parse(fmt.Sprint(authorized["redirect_uri"]))
	exchange.Set("code", back.Query().Get("code"))
	_, tok = e.form(t, "/v1/oauth2/token", exchange, "", "")
	if got := introspect(fmt.Sprint(tok["access_token"])); got["active"] != true {
		t.Fatalf("a new grant after the revoked one: %v", got)
	}
	e.Advance(time.Second)
	if status, body := e.do(t, "POST", "/v1/users/"+u.UserID+"/connected_apps/"+clientID+"/revoke", map[string]any{}, true); status != 200 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if got := introspect(fmt.Sprint(tok["access_token"])); got["active"] != false {
		t.Fatalf("after the user revoked the app: %v", got)
	}
	refresh.Set("refresh_token", fmt.Sprint(tok["refresh_token"]))
	if status, _ := e.form(t, "/v1/oauth2/token", refresh, "", ""); status != 400 {
		t.Fatalf("a refresh token of the revoked grant: %d", status)
	}
}

// TestConnectedAppClients drives the clients API as the dashboard and the
// backend SDKs do: create (a secret once, for a confidential client), get,
// update, search by pages, delete, and the errors; a first-party client
// needs no consent, and its tokens live as long as it says.
func TestConnectedAppClients(t *testing.T) {
	e := newEnv(t)
	status, created := e.do(t, "POST", "/v1/connected_apps/clients", map[string]any{
		"client_type": "first_party", "client_name": "Our CLI", "redirect_urls": []string{"http://127.0.0.1:7/cb"}, "access_token_expiry_minutes": 30,
	}, true)
	app, _ := created["connected_app"].(map[string]any)
	id, secret := fmt.Sprint(app["client_id"]), fmt.Sprint(app["client_secret"])
	if status != 200 || !strings.HasPrefix(id, "connected-app-test-") || len(secret) < 40 || app["client_secret_last_four"] != secret[len(secret)-4:] ||
		app["access_token_expiry_minutes"] != float64(30) || app["status"] != "active" {
		t.Fatalf("created %d %v", status, created)
	}
	for _, bad := range []map[string]any{
		{"client_type": "second_party"},
		{"client_type": "third_party", "redirect_urls": []string{"http://evil.example/cb"}},
		{"client_type": "third_party", "access_token_expiry_minutes": 2},
	} {
		if status, body := e.do(t, "POST", "/v1/connected_apps/clients", bad, true); status != 400 {
			t.Fatalf("creating %v: %d %v", bad, status, body)
		}
	}
	_, other := e.do(t, "POST", "/v1/connected_apps/clients", map[string]any{"client_type": "third_party_public", "client_name": "Agent"}, true)
	if a := other["connected_app"].(map[string]any); a["client_secret"] != nil || a["client_secret_last_four"] != "" {
		t.Fatalf("a public client with a secret: %v", a)
	}
	if status, got := e.do(t, "GET", "/v1/connected_apps/clients/"+id, nil, true); status != 200 || got["connected_app"].(map[string]any)["client_secret"] != nil {
		t.Fatalf("get: %d %v (the secret is shown only at creation)", status, got)
	}
	if status, got := e.do(t, "PUT", "/v1/connected_apps/clients/"+id, map[string]any{"client_description": "the CLI"}, true); status != 200 ||
		got["connected_app"].(map[string]any)["client_description"] != "the CLI" || got["connected_app"].(map[string]any)["client_name"] != "Our CLI" {
		t.Fatalf("update: %d %v", status, got)
	}
	_, page := e.do(t, "POST", "/v1/connected_apps/clients/search", map[string]any{"limit": 1}, true)
	meta := page["results_metadata"].(map[string]any)
	_, next := e.do(t, "POST", "/v1/connected_apps/clients/search", map[string]any{"limit": 1, "cursor": meta["next_cursor"]}, true)
	if len(page["connected_apps"].([]any)) != 1 || meta["total"] != float64(2) || len(next["connected_apps"].([]any)) != 1 || next["results_metadata"].(map[string]any)["next_cursor"] != nil {
		t.Fatalf("search: %v then %v", page, next)
	}

	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	_, start := e.do(t, "POST", "/v1/idp/oauth/authorize/start", map[string]any{"client_id": id, "redirect_uri": "http://127.0.0.1:7/cb", "response_type": "code",
		"scopes": []string{"openid"}, "user_id": u.UserID}, true)
	if start["consent_required"] != false {
		t.Fatalf("a first-party client asked for consent: %v", start)
	}
	tok, err := e.IssueConnectedAppToken(u.UserID, id, "openid")
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil || c["exp"].(float64)-c["iat"].(float64) != 1800 {
		t.Fatalf("a 30-minute client's token: %v %v", c, err)
	}
	if status, _ := e.do(t, "DELETE", "/v1/connected_apps/clients/"+id, nil, true); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := e.do(t, "GET", "/v1/connected_apps/clients/"+id, nil, true); status != 404 {
		t.Fatalf("get after delete: %d", status)
	}
	if status, _ := e.do(t, "GET", "/v1/connected_apps/clients/"+id, nil, false); status != 401 {
		t.Fatalf("without the project's credentials: %d", status)
	}
}

// TestConnectedAppsForMembers: on a B2B project, the person is a member of
// an organization: authorize/start and authorize under /v1/b2b/ name them
// by organization and member (or their member session), scope results
// follow the B2B policy and their roles, the access token carries their
// organization, and their own revocation ends the grant.
func TestConnectedAppsForMembers(t *testing.T) {
	e := newEnv(t)
	e.SetB2BPolicy(notesPolicy())
	org := e.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme", Slug: "acme"})
	m, err := e.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "mia@acme.example", Roles: []string{"editor"}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := e.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.RegisterConnectedApp("Agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	ask := map[string]any{"client_id": app.ClientID, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code", "scopes": []string{"notes:read", "notes:write"},
		"organization_id": org.OrganizationID, "member_id": m.MemberID}
	status, start := e.do(t, "POST", "/v1/b2b/idp/oauth/authorize/start", ask, true)
	if status != 200 || start["member_id"] != m.MemberID || start["organization"].(map[string]any)["organization_id"] != org.OrganizationID ||
		!strings.Contains(fmt.Sprint(start["scope_results"]), "is_grantable:true scope:notes:write") {
		t.Fatalf("start: %d %v", status, start)
	}
	for name, mod := range map[string]func(map[string]any){
		"another organization":          func(p map[string]any) { p["organization_id"] = "organization-test-nope" },
		"a member session on /v1/b2b/":  func(p map[string]any) { delete(p, "member_id"); p["session_token"] = ms.SessionToken },
		"a consumer session on /v1/b2b": func(p map[string]any) { delete(p, "member_id"); p["session_token"] = "nope" },
	} {
		p := map[string]any{}
		for k, v := range ask {
			p[k] = v
		}
		mod(p)
		status, body := e.do(t, "POST", "/v1/b2b/idp/oauth/authorize/start", p, true)
		if want := name == "a member session on /v1/b2b/"; (status == 200) != want {
			t.Fatalf("%s: %d %v", name, status, body)
		}
	}
	if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", map[string]any{"client_id": app.ClientID, "redirect_uri": "http://127.0.0.1:9/cb",
		"response_type": "code", "scopes": []string{"notes:read"}, "user_id": m.MemberID}, true); status != 404 {
		t.Fatalf("a member on the consumer endpoint: %d %v", status, body)
	}
	ask["consent_granted"], ask["code_challenge"] = true, pkce("a-verifier-of-forty-three-characters-or-more-0123456789")
	_, done := e.do(t, "POST", "/v1/b2b/idp/oauth/authorize", ask, true)
	back, _ := url.Parse(fmt.Sprint(done["redirect_uri"]))
	status, tok := e.form(t, "/v1/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"client_id": {app.ClientID}, "code_verifier": {"a-verifier-of-forty-three-characters-or-more-0123456789"}}, "", "")
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fmt.Sprint(tok["access_token"]), claims); status != 200 || err != nil {
		t.Fatalf("token: %d %v %v", status, tok, err)
	}
	if claims["sub"] != m.MemberID || fmt.Sprint(claims[stytchtest.ClaimOrganization]) != "map[organization_id:"+org.OrganizationID+" slug:acme]" || claims["scope"] != "notes:read notes:write" {
		t.Fatalf("claims %v", claims)
	}
	rs, _ := e.RegisterConnectedApp("server", true, "https://api.example.com/unused")
	introspect := func() any {
		_, got := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {fmt.Sprint(tok["access_token"])}}, rs.ClientID, rs.ClientSecret)
		return got["active"]
	}
	if introspect() != true {
		t.Fatal("not active")
	}
	e.Advance(time.Second)
	if status, body := e.do(t, "POST", "/v1/b2b/organizations/"+org.OrganizationID+"/members/"+m.MemberID+"/connected_apps/"+app.ClientID+"/revoke", map[string]any{}, true); status != 200 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if introspect() != false {
		t.Fatal("active after the member revoked the app")
	}
}

// TestConnectedAppsGrantEdges: exchange_access_token takes a Connected
// Apps access token for a session of its person; a code not yet exchanged
// when the person revokes the app is dead with the grant.
func TestConnectedAppsGrantEdges(t *testing.T) {
	e := newEnv(t)
	e.SetPolicy(notesPolicy())
	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	app, _ := e.RegisterConnectedApp("Agent", false, "http://127.0.0.1:9/cb")
	tok, err := e.IssueConnectedAppToken(u.UserID, app.ClientID, "notes:read")
	if err != nil {
		t.Fatal(err)
	}
	status, got := e.do(t, "POST", "/v1/sessions/exchange_access_token", map[string]any{"access_token": tok}, true)
	if status != 200 || got["user_id"] != u.UserID {
		t.Fatalf("exchange_access_token: %d %v", status, got)
	}
	const verifier = "a-verifier-of-forty-three-characters-or-more-0123456789"
	_, done := e.do(t, "POST", "/v1/idp/oauth/authorize", map[string]any{"client_id": app.ClientID, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
		"scopes": []string{"notes:read"}, "user_id": u.UserID, "consent_granted": true, "code_challenge": pkce(verifier)}, true)
	back, _ := url.Parse(fmt.Sprint(done["redirect_uri"]))
	if err := e.RevokeConnectedApp(u.UserID, app.ClientID); err != nil {
		t.Fatal(err)
	}
	if status, body := e.form(t, "/v1/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "client_id": {app.ClientID}, "code_verifier": {verifier}}, "", ""); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("a code of a revoked grant: %d %v", status, body)
	}
}
