package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/examples/internal/demotest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// story is the MCP server started against a project (the emulator, over
// HTTP, as a real project would be), and the people its agents act for.
type story struct {
	emu    *stytchtest.Server
	app    *demotest.Started
	mcpURL string
}

func startStory(t *testing.T) *story {
	t.Helper()
	emu := stytchtest.NewServer(stytchtest.WithDynamicClientRegistration(),
		stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true}))
	t.Cleanup(emu.Close)
	emu.SetPolicy(demo.Policy())
	app := demotest.StartAppWith(t, run, map[string]string{
		"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": emu.Secret(), "STYTCH_BASE_URL": emu.URL, "STYTCH_DOMAIN": emu.URL,
	})
	emu.SetAuthorizationURL(app.URL + "/oauth/authorize") // the dashboard's Connected Apps setting
	return &story{emu: emu, app: app, mcpURL: app.URL + "/mcp"}
}

// person is someone signed in to the app in a browser: the consent page
// sees their session cookie.
type person struct {
	userID, jwt string
	// consents are the scopes each consent page showed them, and whether it
	// offered them as grantable.
	consents []string
	// lastRedirect is where the last consent sent the browser back to,
	// without its query.
	lastRedirect string
	// iss are the iss (RFC 9207) of the authorization responses.
	iss []string
}

func (s *story) person(t *testing.T, role string) *person {
	t.Helper()
	u := s.emu.CreateUser(stytchtest.UserParams{Email: role + "@example.com", Roles: []string{role}})
	tok, err := s.emu.StartSession(u.UserID, stytchtest.SessionParams{Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &person{userID: u.UserID, jwt: tok.SessionJWT}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
var scopeItem = regexp.MustCompile(`<li>(?:<strong>([a-z:_]+)</strong>|<s>([a-z:_]+)</s>)`)

// approve is the person in their browser: they open the authorization URL
// the agent gives them, read the consent page, and allow. It returns the
// code and state from the redirect to the agent.
func (p *person) approve(t *testing.T, appURL string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		send := func(method, target string, form url.Values) (*http.Response, string, error) {
			var body io.Reader
			if form != nil {
				body = strings.NewReader(form.Encode())
			}
			req, err := http.NewRequestWithContext(ctx, method, target, body)
			if err != nil {
				return nil, "", err
			}
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", appURL)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			req.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: p.jwt})
			res, err := browser.Do(req)
			if err != nil {
				return nil, "", err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			return res, string(b), err
		}
		if !strings.HasPrefix(args.URL, appURL+"/oauth/authorize?") {
			return nil, fmt.Errorf("the agent sent the browser to %s, not the app's consent page", args.URL)
		}
		res, page, err := send("GET", args.URL, nil)
		if err != nil || res.StatusCode != 200 || !strings.Contains(page, `id="consent"`) {
			return nil, fmt.Errorf("consent page: %v %v %s", err, res.Status, page)
		}
		for _, m := range scopeItem.FindAllStringSubmatch(page, -1) {
			if m[1] != "" {
				p.consents = append(p.consents, m[1])
			} else {
				p.consents = append(p.consents, m[2]+" (not grantable)")
			}
		}
		form := url.Values{"decision": {"approve"}}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Add(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
		res, _, err = send("POST", appURL+"/oauth/authorize", form)
		if err != nil || res.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("approving: %v %v", err, res.Status)
		}
		back, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			return nil, err
		}
		p.lastRedirect = back.Scheme + "://" + back.Host + back.Path
		p.iss = append(p.iss, back.Query().Get("iss"))
		// The SDK checks iss (RFC 9207) against the issuer it discovered.
		q := back.Query()
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

// agent is an MCP client with the Go SDK's own OAuth support: it finds the
// authorization server from the 401, registers itself, has the person
// approve, and exchanges the code with PKCE.
func (s *story) agent(t *testing.T, p *person) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Test agent", RedirectURIs: []string{"http://127.0.0.1:33418/callback"},
			GrantTypes: []string{"authorization_code", "refresh_token"},
		}},
		AuthorizationCodeFetcher: p.approve(t, s.app.URL),
		RequestRefreshToken:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: s.mcpURL, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs, h
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	return cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
}

// TestAgentStory is the whole Connected Apps story, driven by the MCP Go
// SDK's client and its own OAuth support: discovery from a 401,
// registration, consent, token, tool calls, step-up for a scope, a person
// who may not grant it, refresh, a revoked grant, and forged tokens, with
// the calls that reach Stytch counted.
func TestAgentStory(t *testing.T) {
	s := startStory(t)
	editor := s.person(t, demo.RoleEditor)
	cs, h := s.agent(t, editor)
	if got := editor.consents; len(got) != 2 || !slices.Contains(got, "documents:read") || !slices.Contains(got, "offline_access") {
		t.Fatalf("the first consent page asked for %v", got)
	}
	res, err := call(t, cs, "list_documents", nil)
	if err != nil || res.IsError {
		t.Fatalf("list_documents: %v %+v", err, res)
	}
	// The authorization response names its issuer (RFC 9207), which the
	// SDK checks against the one it discovered.
	if len(editor.iss) != 1 || editor.iss[0] != s.emu.URL {
		t.Fatalf("the authorization responses' iss: %q, want %s", editor.iss, s.emu.URL)
	}
	// The resource's metadata does not advertise offline_access (MCP
	// 2026-07-28: SHOULD NOT); the client found it in the authorization
	// server's.
	if md := s.get(t, s.app.URL+"/.well-known/oauth-protected-resource/mcp"); !strings.Contains(md, `"scopes_supported":["documents:read","documents:write"]`) {
		t.Fatalf("the resource's metadata: %s", md)
	}

	// add_document needs documents:write: a 403 insufficient_scope, from
	// which the client steps up, and the person consents again.
	res, err = call(t, cs, "add_document", map[string]any{"title": "Written by an agent"})
	if err != nil || res.IsError {
		t.Fatalf("add_document after step-up: %v %+v", err, res)
	}
	if got := strings.Join(editor.consents[2:], ","); !strings.Contains(got, "documents:write") {
		t.Fatalf("the step-up consent page asked for %s", got)
	}
	res, _ = call(t, cs, "list_documents", nil)
	if text := fmt.Sprint(res.StructuredContent); !strings.Contains(text, "Written by an agent") || !strings.Contains(text, editor.userID) {
		t.Fatalf("the document is not the editor's: %s", text)
	}

	// Once the key set is held, a valid token costs no call to Stytch.
	s.emu.ResetCalls()
	for range 5 {
		if res, err := call(t, cs, "list_documents", nil); err != nil || res.IsError {
			t.Fatalf("list_documents: %v", err)
		}
	}
	if n := s.emu.Calls(stytchtest.Authenticate) + s.emu.Calls(stytchtest.JWKS) + s.emu.Calls(stytchtest.OAuthIntrospect); n != 0 {
		t.Fatalf("%d calls to Stytch for 5 tool calls with a valid token", n)
	}

	// Refresh: the refresh token the agent holds gets a new access token
	// (and a new refresh token) that the server takes.
	ts, err := h.TokenSource(context.Background())
	if err != nil || ts == nil {
		t.Fatal(err)
	}
	held, err := ts.Token()
	if err != nil || held.RefreshToken == "" {
		t.Fatalf("no refresh token: %v %+v", err, held)
	}
	conf := &oauth2.Config{ClientID: clientOf(t, held.AccessToken), Endpoint: oauth2.Endpoint{TokenURL: s.emu.URL + "/v1/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	renewed, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: held.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil || renewed.AccessToken == held.AccessToken || renewed.RefreshToken == held.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if code := s.post(t, renewed.AccessToken); code != http.StatusOK {
		t.Fatalf("a refreshed token: %d", code)
	}

	// The person revokes the agent: its refresh token stops working.
	if err := s.emu.RevokeConnectedApp(editor.userID, conf.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: renewed.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after the grant was revoked: %v", err)
	}

	// Forged tokens and another project's are refused here, for free.
	kid, key := s.emu.SigningKey()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forgeries := map[string]string{
		"another key":     resign(t, held.AccessToken, kid, other, nil),
		"an unknown kid":  resign(t, held.AccessToken, "jwk-test-unknown", other, nil),
		"another project": resign(t, held.AccessToken, kid, key, func(c jwt.MapClaims) { c["aud"] = []string{"project-test-other"} }),
		"not a JWT":       "bm90LWEtand0",
	}
	s.emu.ResetCalls()
	for name, tok := range forgeries {
		for range 20 {
			if code := s.post(t, tok); code != http.StatusUnauthorized {
				t.Fatalf("%s: %d", name, code)
			}
		}
	}
	if n := s.emu.Calls(stytchtest.Authenticate) + s.emu.Calls(stytchtest.OAuthIntrospect); n != 0 {
		t.Fatalf("%d calls to Stytch for 80 forged tokens", n)
	}
	if n := s.emu.Calls(stytchtest.JWKS); n > 1 {
		t.Fatalf("%d JWKS fetches for unknown kids, want at most 1 (paced)", n)
	}
}

// TestBypassPayloads: with a read-only token (a viewer's), every payload
// that once took add_document past the scope check is refused, and nothing
// is written, while list_documents works; a token Stytch issued for
// another resource is refused with 401.
func TestBypassPayloads(t *testing.T) {
	s := startStory(t)
	viewer := s.person(t, demo.RoleViewer)
	app, err := s.emu.RegisterConnectedApp("Reader", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.emu.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: viewer.userID, ClientID: app.ClientID,
		Scopes: []string{demo.ScopeRead}, Resources: []string{s.mcpURL}})
	if err != nil {
		t.Fatal(err)
	}
	checkBypasses(t, (&rawMCP{url: s.mcpURL, token: tok}).open(t))

	t.Run("a token for another resource", func(t *testing.T) {
		other, err := s.emu.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: viewer.userID, ClientID: app.ClientID,
			Scopes: []string{demo.ScopeRead}, Resources: []string{"https://other.example.com/mcp"}})
		if err != nil {
			t.Fatal(err)
		}
		if code := s.post(t, other); code != http.StatusUnauthorized {
			t.Fatalf("a token for https://other.example.com/mcp answered %d, want 401", code)
		}
	})
}

// TestViewerCannotGrantWrite: a person whose roles do not allow writing
// sees documents:write offered as not grantable, and the agent's token
// never gets it: add_document stays refused, 403 insufficient_scope.
func TestViewerCannotGrantWrite(t *testing.T) {
	s := startStory(t)
	viewer := s.person(t, demo.RoleViewer)
	cs, _ := s.agent(t, viewer)
	if res, err := call(t, cs, "list_documents", nil); err != nil || res.IsError {
		t.Fatalf("list_documents: %v", err)
	}
	_, err := call(t, cs, "add_document", map[string]any{"title": "nope"})
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("add_document for a viewer: %v", err)
	}
	if got := strings.Join(viewer.consents, ","); !strings.Contains(got, "documents:write (not grantable)") {
		t.Fatalf("consent pages showed %s", got)
	}
}

// post sends a tools/list JSON-RPC request with a Bearer token and returns
// the status.
func (s *story) post(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (s *story) get(t *testing.T, target string) string {
	t.Helper()
	res, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func clientOf(t *testing.T, tok string) string {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(c["client_id"])
}

func resign(t *testing.T, tok, kid string, key *rsa.PrivateKey, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(c)
	}
	j := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	j.Header["kid"] = kid
	out, err := j.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRevokedGrantRefused: with introspection (here of every token at its
// first use), an access token of a grant the person revoked is refused,
// while one the server checked before the revocation works until the
// answer is a minute old (Upstream.RemoteTTL). A token requested for
// another server is refused before anything is asked of Stytch.
func TestRevokedGrantRefused(t *testing.T) {
	emu := stytchtest.NewServer(stytchtest.WithDynamicClientRegistration())
	t.Cleanup(emu.Close)
	emu.SetPolicy(demo.Policy())
	rs, err := emu.RegisterConnectedApp("Documents MCP server", true, "https://mcp.example.com/unused")
	if err != nil {
		t.Fatal(err)
	}
	app := demotest.StartAppWith(t, run, map[string]string{
		"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": emu.Secret(), "STYTCH_BASE_URL": emu.URL, "STYTCH_DOMAIN": emu.URL,
		"STYTCH_RESOURCE_CLIENT_ID": rs.ClientID, "STYTCH_RESOURCE_CLIENT_SECRET": rs.ClientSecret, "MCP_INTROSPECT_AFTER": "1ns",
	})
	s := &story{emu: emu, app: app, mcpURL: app.URL + "/mcp"}
	u := emu.CreateUser(stytchtest.UserParams{Email: "ann@example.com", Roles: []string{demo.RoleEditor}})
	agent, err := emu.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	var toks [3]string
	for i, resource := range []string{s.mcpURL, s.mcpURL, "https://tasks.example.com/mcp"} {
		if toks[i], err = emu.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{Issuer: emu.URL, SubjectID: u.UserID, ClientID: agent.ClientID,
			Scopes: []string{demo.ScopeRead}, Resources: []string{resource}}); err != nil {
			t.Fatal(err)
		}
	}
	checked, unchecked, another := toks[0], toks[1], toks[2]
	if code := s.post(t, another); code != http.StatusUnauthorized {
		t.Fatalf("a token for another server: %d", code)
	}
	if code := s.post(t, checked); code != http.StatusOK {
		t.Fatalf("before the revocation: %d", code)
	}
	if err := emu.RevokeConnectedApp(u.UserID, agent.ClientID); err != nil {
		t.Fatal(err)
	}
	if code := s.post(t, unchecked); code != http.StatusUnauthorized {
		t.Fatalf("a token of the revoked grant: %d", code)
	}
	if code := s.post(t, checked); code != http.StatusOK {
		t.Fatalf("a token checked a moment before the revocation: %d (its answer is kept a minute)", code)
	}
	if n := emu.Calls(stytchtest.OAuthIntrospect); n != 2 {
		t.Fatalf("%d introspection calls, want 2", n)
	}
}
