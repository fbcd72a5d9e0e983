package stytchtest_test

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The emulator as an authorization server of the MCP 2026-07-28
// authorization spec: clients known by their Client ID Metadata Document,
// RFC 9207's iss on every authorization response, RFC 8707's resources
// binding tokens, Dynamic Client Registration opt-in and bounded, and the
// scope hierarchy.

const (
	mcpRedirect = "http://127.0.0.1:33418/callback"
	mcpVerifier = "a-verifier-of-forty-three-characters-or-more-0123456789"
	mcpServer   = "https://mcp.example.com/mcp"
)

// docServer serves Client ID Metadata Documents on loopback and counts the
// requests for each path.
type docServer struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	routes map[string]http.HandlerFunc
}

func newDocServer(t *testing.T) *docServer {
	d := &docServer{hits: map[string]int{}, routes: map[string]http.HandlerFunc{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.hits[r.URL.Path]++
		h := d.routes[r.URL.Path]
		d.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

// handle serves path with h and returns its URL.
func (d *docServer) handle(path string, h http.HandlerFunc) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[path] = h
	return d.URL + path
}

// document serves a metadata document at path whose client_id is its URL,
// changed by edit, with headers, and returns the URL.
func (d *docServer) document(path string, edit func(doc map[string]any), headers ...string) string {
	id := d.URL + path
	doc := map[string]any{"client_id": id, "client_name": "Agent of " + path, "redirect_uris": []string{mcpRedirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none"}
	if edit != nil {
		edit(doc)
	}
	body, _ := json.Marshal(doc)
	return d.handle(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		_, _ = w.Write(body)
	})
}

func (d *docServer) count(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits[path]
}

// mcpPolicy has scopes in a hierarchy: docs:all carries docs:read's and
// docs:write's permissions; mcp carries none.
func mcpPolicy() session.Policy {
	read := session.Permission{ResourceID: "docs", Actions: []string{"read"}}
	write := session.Permission{ResourceID: "docs", Actions: []string{"write"}}
	return session.Policy{
		Roles:     []session.Role{{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "docs", Actions: []string{"*"}}}}},
		Resources: []session.Resource{{ResourceID: "docs", Actions: []string{"read", "write"}}},
		Scopes: []session.Scope{
			{Scope: "docs:read", Description: "read", Permissions: []session.Permission{read}},
			{Scope: "docs:write", Description: "write", Permissions: []session.Permission{write}},
			{Scope: "docs:all", Description: "read and write", Permissions: []session.Permission{read, write}},
			{Scope: "mcp", Description: "connect"},
		},
	}
}

// grantReq is what a consent page sends authorize for a person.
type grantReq struct {
	client    string
	redirect  string
	scopes    []string
	resources []string
	deny      bool
}

// authorize has the person userID decide req, and returns the status, the
// redirect back to the client, and the answer.
func (e *env) authorize(t *testing.T, userID string, req grantReq) (int, url.Values, map[string]any) {
	t.Helper()
	body := map[string]any{"client_id": req.client, "redirect_uri": cmpOr(req.redirect, mcpRedirect), "response_type": "code",
		"scopes": req.scopes, "user_id": userID, "consent_granted": !req.deny, "state": "st-1", "code_challenge": pkce(mcpVerifier)}
	if req.resources != nil {
		body["resources"] = req.resources
	}
	status, out := e.do(t, "POST", "/v1/idp/oauth/authorize", body, true)
	if status != 200 {
		return status, nil, out
	}
	back, err := url.Parse(fmt.Sprint(out["redirect_uri"]))
	if err != nil || !strings.HasPrefix(back.String(), cmpOr(req.redirect, mcpRedirect)+"?") {
		t.Fatalf("authorize answered a redirect elsewhere: %v", out)
	}
	return status, back.Query(), out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// token exchanges a code for client, naming resources.
func (e *env) token(t *testing.T, client, code string, resources ...string) (int, map[string]any) {
	t.Helper()
	return e.form(t, "/v1/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {mcpRedirect},
		"client_id": {client}, "code_verifier": {mcpVerifier}, "resource": resources}, "", "")
}

// refresh uses a refresh token for client, naming scope and resources.
func (e *env) refresh(t *testing.T, client, refreshToken, scope string, resources ...string) (int, map[string]any) {
	t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {client}, "resource": resources}
	if scope != "" {
		v.Set("scope", scope)
	}
	return e.form(t, "/v1/oauth2/token", v, "", "")
}

func claimsOf(t *testing.T, token any) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fmt.Sprint(token), claims); err != nil {
		t.Fatalf("access token %v: %v", token, err)
	}
	return claims
}

func audOf(t *testing.T, token any) string {
	t.Helper()
	return fmt.Sprint(claimsOf(t, token)["aud"])
}

// TestClientIDMetadataDocumentFlow: an MCP client whose client_id is the
// URL of its metadata document, served on loopback in local mode, goes
// from consent to a token and a refreshed one without registering; the
// document is fetched once while its Cache-Control holds, and again after.
func TestClientIDMetadataDocumentFlow(t *testing.T) {
	docs := newDocServer(t)
	e := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true}))
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	client := docs.document("/agent.json", func(doc map[string]any) {
		doc["client_uri"], doc["logo_uri"] = "https://agent.example", "https://agent.example/logo.png"
	}, "Cache-Control", "max-age=60")

	// Discovery says so.
	if status, meta := e.do(t, "GET", "/.well-known/oauth-authorization-server", nil, false); status != 200 ||
		meta["client_id_metadata_document_supported"] != true || meta["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("metadata: %d %v", status, meta)
	}

	ask := map[string]any{"client_id": client, "redirect_uri": mcpRedirect, "response_type": "code", "scopes": []string{"docs:read", "offline_access"}, "user_id": u.UserID}
	status, start := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true)
	c, _ := start["client"].(map[string]any)
	if status != 200 || c["client_id"] != client || c["client_name"] != "Agent of /agent.json" || c["client_type"] != "third_party_public" ||
		c["logo_url"] != "https://agent.example/logo.png" || start["consent_required"] != true {
		t.Fatalf("start: %d %v", status, start)
	}
	status, back, out := e.authorize(t, u.UserID, grantReq{client: client, scopes: []string{"docs:read", "offline_access"}, resources: []string{mcpServer}})
	if status != 200 || back.Get("code") == "" || back.Get("iss") != e.URL || back.Get("state") != "st-1" {
		t.Fatalf("authorize: %d %v", status, out)
	}
	status, tok := e.token(t, client, back.Get("code"), mcpServer)
	claims := claimsOf(t, tok["access_token"])
	if status != 200 || claims["client_id"] != client || claims["sub"] != u.UserID || claims["scope"] != "docs:read offline_access" ||
		fmt.Sprint(claims["aud"]) != fmt.Sprintf("[%s %s]", e.ProjectID(), mcpServer) || tok["refresh_token"] == nil {
		t.Fatalf("token: %d %v, claims %v", status, tok, claims)
	}
	if n := docs.count("/agent.json"); n != 1 {
		t.Fatalf("the document was fetched %d times for start, authorize and token; once while max-age=60 holds", n)
	}

	// Past max-age, the next use fetches it again.
	e.Advance(61 * time.Second)
	status, renewed := e.refresh(t, client, fmt.Sprint(tok["refresh_token"]), "")
	if status != 200 || audOf(t, renewed["access_token"]) != fmt.Sprintf("[%s %s]", e.ProjectID(), mcpServer) {
		t.Fatalf("refresh: %d %v", status, renewed)
	}
	if n := docs.count("/agent.json"); n != 2 {
		t.Fatalf("fetched %d times after max-age passed, want 2", n)
	}

	// Introspected by the client itself (public: no secret), and the
	// person's revocation by the client's URL.
	if status, got := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {fmt.Sprint(renewed["access_token"])}, "client_id": {client}}, "", ""); status != 200 || got["active"] != true {
		t.Fatalf("introspected: %d %v", status, got)
	}
	if err := e.RevokeConnectedApp(u.UserID, client); err != nil {
		t.Fatal(err)
	}
	if status, got := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {fmt.Sprint(renewed["access_token"])}, "client_id": {client}}, "", ""); status != 200 || got["active"] != false {
		t.Fatalf("introspected after the revocation: %d %v", status, got)
	}

	// A redirect URI the document does not list is refused before any
	// redirect.
	if status, _, out := e.authorize(t, u.UserID, grantReq{client: client, redirect: "http://127.0.0.1:1/elsewhere", scopes: []string{"docs:read"}}); status != 400 {
		t.Fatalf("another redirect URI: %d %v", status, out)
	}
}

// TestClientIDMetadataDocumentRefused: every way a document or its fetch
// can fail is a 400 invalid_client at authorize/start that says why, sends
// the browser nowhere, and is not cached: the same URL works once fixed.
func TestClientIDMetadataDocumentRefused(t *testing.T) {
	docs := newDocServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true, Timeout: 300 * time.Millisecond}))
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	big := strings.Repeat("x", stytchtest.DefaultClientMetadataMaxBytes)

	tests := []struct {
		name  string
		serve func(path string) string // serves the case at path, returns the client_id
		want  string                   // in the error message
	}{
		{"too big", func(p string) string { return docs.document(p, func(d map[string]any) { d["padding"] = big }) }, "larger than 5120 bytes"},
		{"too big, without a length", func(p string) string {
			return docs.handle(p, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				for range 8 {
					_, _ = w.Write([]byte(strings.Repeat(" ", 1024)))
					w.(http.Flusher).Flush() // chunked: no Content-Length
				}
			})
		}, "larger than 5120 bytes"},
		{"too slow", func(p string) string {
			return docs.handle(p, func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
		}, "not fetched within 300ms"},
		{"a redirect", func(p string) string {
			target := docs.document(p+"-target", nil)
			return docs.handle(p, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
		}, "redirect (302), which is not followed"},
		{"not found", func(p string) string { return docs.URL + p }, "answered 404"},
		{"not JSON", func(p string) string {
			return docs.handle(p, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>"))
			})
		}, `content type is "text/html"`},
		{"not an object", func(p string) string {
			return docs.handle(p, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`["x"]`))
			})
		}, "not a JSON object"},
		{"another client_id", func(p string) string {
			return docs.document(p, func(d map[string]any) { d["client_id"] = "https://claude.ai/oauth/mcp-oauth-client-metadata" })
		}, "client_id is not its URL"},
		{"no client_name", func(p string) string { return docs.document(p, func(d map[string]any) { delete(d, "client_name") }) }, "no client_name"},
		{"no redirect_uris", func(p string) string { return docs.document(p, func(d map[string]any) { delete(d, "redirect_uris") }) }, "redirect_uris"},
		{"a script redirect", func(p string) string {
			return docs.document(p, func(d map[string]any) { d["redirect_uris"] = []string{"javascript:alert(1)"} })
		}, "scheme javascript"},
		{"a shared secret", func(p string) string {
			return docs.document(p, func(d map[string]any) { d["token_endpoint_auth_method"] = "client_secret_basic" })
		}, "shared secret"},
		{"a client_secret", func(p string) string {
			return docs.document(p, func(d map[string]any) { d["client_secret"] = "s3cret" })
		}, "client_secret"},
		{"private_key_jwt", func(p string) string {
			return docs.document(p, func(d map[string]any) { d["token_endpoint_auth_method"] = "private_key_jwt" })
		}, "not supported"},
		{"no path", func(string) string { return docs.URL }, "no path"},
		{"a fragment", func(p string) string { return docs.document(p, nil) + "#frag" }, "fragment"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("/case-%d.json", i)
			client := tt.serve(path)
			ask := map[string]any{"client_id": client, "redirect_uri": mcpRedirect, "response_type": "code", "scopes": []string{"docs:read"}, "user_id": u.UserID}
			status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true)
			if status != 400 || body["error_type"] != "invalid_client" || !strings.Contains(fmt.Sprint(body["error_message"]), tt.want) {
				t.Fatalf("%d %v, want 400 invalid_client saying %q", status, body, tt.want)
			}
			if strings.HasPrefix(client, docs.URL+"/case-") && !strings.Contains(client, "#") {
				docs.document(path, nil)
				if tt.name == "too slow" {
					// No answer came: the failure stands for 10 s, and
					// asking again costs no fetch.
					hits := docs.count(path)
					if status, _ := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true); status != 400 || docs.count(path) != hits {
						t.Fatalf("asked again at once: %d, %d more fetches", status, docs.count(path)-hits)
					}
					e.Advance(11 * time.Second)
				}
				// A document that came is not cached when refused: fixed,
				// the same URL works at once.
				if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true); status != 200 {
					t.Fatalf("once fixed: %d %v", status, body)
				}
			}
		})
	}
}

// TestClientIDMetadataDocumentAddresses: without local mode, a document is
// fetched from public addresses only. The address checked is the one
// dialed: "localhost" is refused as 127.0.0.1 is (a name resolving to a
// private address, as in DNS rebinding), and no request reaches the
// server. Local mode allows loopback, over http too, and nothing else.
func TestClientIDMetadataDocumentAddresses(t *testing.T) {
	docs := newDocServer(t)
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": "https://" + r.Host + r.URL.Path, "client_name": "TLS agent", "redirect_uris": []string{mcpRedirect}})
	}))
	t.Cleanup(tls.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(tls.URL, "https://"), ":")
	docs.document("/agent.json", nil)
	_, docsPort, _ := strings.Cut(strings.TrimPrefix(docs.URL, "http://"), ":")
	byName := "http://localhost:" + docsPort + "/by-name.json"
	docs.handle("/by-name.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": byName, "client_name": "Agent by name", "redirect_uris": []string{mcpRedirect}})
	})

	start := func(e *env, client string) (int, map[string]any) {
		u := e.CreateUser(stytchtest.UserParams{})
		return e.do(t, "POST", "/v1/idp/oauth/authorize/start", map[string]any{"client_id": client, "redirect_uri": mcpRedirect,
			"response_type": "code", "scopes": []string{"openid"}, "user_id": u.UserID}, true)
	}
	strict := newEnv(t)
	local := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true, RootCAs: tlsPool(tls), Timeout: 2 * time.Second}))
	// Local mode without RootCAs: https on loopback whatever the
	// certificate, as http is there.
	anyCert := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true, Timeout: 2 * time.Second}))
	tests := []struct {
		name   string
		e      *env
		client string
		want   string // in the error message; "" means accepted
	}{
		{"loopback", strict, tls.URL + "/agent.json", "loopback address"},
		{"a name of a loopback address", strict, "https://localhost:" + port + "/agent.json", "loopback address"},
		{"a private address", strict, "https://10.0.0.1/agent.json", "private address"},
		{"a private address in local mode", local, "https://10.0.0.1/agent.json", "private address"},
		{"the cloud metadata service", local, "https://169.254.169.254/latest/meta-data.json", "link-local"},
		{"a unique local address", local, "https://[fd00::1]/agent.json", "private address"},
		{"http", strict, docs.URL + "/agent.json", "must use https"},
		{"http to a private address in local mode", local, "http://10.0.0.1/agent.json", "other than the loopback one"},
		{"https on loopback in local mode", local, tls.URL + "/agent.json", ""},
		{"a name of a loopback address in local mode", local, byName, ""},
		{"http on loopback in local mode", local, docs.URL + "/agent.json", ""},
		{"https on loopback, any certificate, in local mode without RootCAs", anyCert, tls.URL + "/agent.json", ""},
		{"https on loopback by name, any certificate", anyCert, "https://localhost:" + port + "/agent.json", ""},
		{"a private address without RootCAs", anyCert, "https://10.0.0.1/agent.json", "private address"},
		{"an IPv4-compatible IPv6 address", local, "https://[::a00:1]/agent.json", "special-purpose range"},
		{"nothing listening, in local mode", local, "http://127.0.0.1:1/agent.json", "no connection to its host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := start(tt.e, tt.client)
			msg := fmt.Sprint(body["error_message"])
			switch {
			case tt.want == "" && status != 200:
				t.Fatalf("%d %v, want it accepted", status, body)
			case tt.want != "" && (status != 400 || !strings.Contains(msg, tt.want)):
				t.Fatalf("%d %v, want 400 saying %q", status, body, tt.want)
			}
			// What a name resolved to, and the dial's own words (which
			// name resolvers), stay with the emulator.
			for _, secret := range []string{"127.0.0.1", "::1", "dial", "refused", "lookup"} {
				if tt.want != "" && strings.Contains(msg, secret) && !strings.Contains(tt.client, secret) {
					t.Fatalf("the error names %q: %s", secret, msg)
				}
			}
		})
	}
}

// TestClientIDMetadataDocumentCache: no-store documents are fetched on
// every use; the cache keeps at most CacheSize documents, dropping the one
// that expires first.
func TestClientIDMetadataDocumentCache(t *testing.T) {
	docs := newDocServer(t)
	e := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true, CacheSize: 2}))
	u := e.CreateUser(stytchtest.UserParams{})
	start := func(client string) {
		t.Helper()
		if status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", map[string]any{"client_id": client, "redirect_uri": mcpRedirect,
			"response_type": "code", "scopes": []string{"openid"}, "user_id": u.UserID}, true); status != 200 {
			t.Fatalf("start %s: %d %v", client, status, body)
		}
	}
	fresh := docs.document("/no-store.json", nil, "Cache-Control", "no-store")
	for range 3 {
		start(fresh)
	}
	if n := docs.count("/no-store.json"); n != 3 {
		t.Fatalf("a no-store document fetched %d times for 3 uses", n)
	}
	a := docs.document("/a.json", nil, "Cache-Control", "max-age=100")
	b := docs.document("/b.json", nil, "Cache-Control", "max-age=300")
	c := docs.document("/c.json", nil, "Cache-Control", "max-age=200")
	start(a)
	start(b)
	start(c) // the cache is full: a, the first to expire, goes
	start(b)
	start(c)
	start(a)
	if got := []int{docs.count("/a.json"), docs.count("/b.json"), docs.count("/c.json")}; !slices.Equal(got, []int{2, 1, 1}) {
		t.Fatalf("fetches of a, b, c: %v, want [2 1 1]", got)
	}
}

// TestIssOnEveryAuthorizationResponse: RFC 9207's iss, the issuer of the
// metadata, rides on the code and on every error redirect, with the state.
func TestIssOnEveryAuthorizationResponse(t *testing.T) {
	e := newEnv(t)
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{})
	app, err := e.RegisterConnectedApp("agent", false, mcpRedirect)
	if err != nil {
		t.Fatal(err)
	}
	_, meta := e.do(t, "GET", "/.well-known/oauth-authorization-server", nil, false)
	tests := []struct {
		name  string
		req   grantReq
		error string
	}{
		{"granted", grantReq{client: app.ClientID, scopes: []string{"docs:read"}, resources: []string{mcpServer}}, ""},
		{"denied", grantReq{client: app.ClientID, scopes: []string{"docs:read"}, deny: true}, "access_denied"},
		{"a relative resource", grantReq{client: app.ClientID, scopes: []string{"docs:read"}, resources: []string{"/mcp"}}, "invalid_target"},
		{"a resource with a fragment", grantReq{client: app.ClientID, scopes: []string{"docs:read"}, resources: []string{mcpServer + "#x"}}, "invalid_target"},
	}
	for _, tt := range tests {
		status, back, out := e.authorize(t, u.UserID, tt.req)
		switch {
		case status != 200:
			t.Fatalf("%s: %d %v", tt.name, status, out)
		case back.Get("iss") != meta["issuer"] || back.Get("state") != "st-1":
			t.Fatalf("%s: iss %q state %q, want %v: %v", tt.name, back.Get("iss"), back.Get("state"), meta["issuer"], out)
		case back.Get("error") != tt.error || (tt.error == "") != (back.Get("code") != ""):
			t.Fatalf("%s: error %q code %q, want error %q", tt.name, back.Get("error"), back.Get("code"), tt.error)
		}
	}
}

// TestResourceBoundTokens holds RFC 8707 as the emulator applies it: the
// token's aud is the project id, then the client's custom audience, then
// the resources authorized (or the ones a token request narrows to); a
// token request naming a resource the grant is not for is 400
// invalid_target; a refresh keeps the grant's resources, and a refused
// one does not spend the refresh token.
func TestResourceBoundTokens(t *testing.T) {
	e := newEnv(t)
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{})
	app, err := e.RegisterConnectedApp("agent", false, mcpRedirect)
	if err != nil {
		t.Fatal(err)
	}
	const other = "https://other.example.com/mcp"
	aud := func(extra ...string) string { return fmt.Sprint(append([]string{e.ProjectID()}, extra...)) }
	code := func(resources ...string) string {
		t.Helper()
		status, back, out := e.authorize(t, u.UserID, grantReq{client: app.ClientID, scopes: []string{"docs:read", "offline_access"}, resources: resources})
		if status != 200 || back.Get("code") == "" {
			t.Fatalf("authorize %v: %d %v", resources, status, out)
		}
		return back.Get("code")
	}
	tests := []struct {
		name       string
		authorized []string
		asked      []string
		status     int
		aud        string
	}{
		{"the resource authorized", []string{mcpServer}, []string{mcpServer}, 200, aud(mcpServer)},
		{"no resource asked: all authorized", []string{mcpServer, other}, nil, 200, aud(mcpServer, other)},
		{"one of two", []string{mcpServer, other}, []string{other}, 200, aud(other)},
		{"another resource", []string{mcpServer}, []string{other}, 400, ""},
		{"a resource without one authorized", nil, []string{mcpServer}, 400, ""},
		{"none at all", nil, nil, 200, aud()},
		{"a malformed one", []string{mcpServer}, []string{"mcp.example.com"}, 400, ""},
	}
	for _, tt := range tests {
		status, tok := e.token(t, app.ClientID, code(tt.authorized...), tt.asked...)
		if status != tt.status || tt.status == 400 && tok["error"] != "invalid_target" || tt.status == 200 && audOf(t, tok["access_token"]) != tt.aud {
			t.Fatalf("%s: %d %v, want %d aud %s", tt.name, status, tok, tt.status, tt.aud)
		}
	}

	// Refresh: narrowed per request, never widened; a refused request
	// does not spend the token; the next one still holds both resources.
	_, tok := e.token(t, app.ClientID, code(mcpServer, other), mcpServer)
	rt := fmt.Sprint(tok["refresh_token"])
	if status, body := e.refresh(t, app.ClientID, rt, "", "https://third.example.com/mcp"); status != 400 || body["error"] != "invalid_target" {
		t.Fatalf("refresh for another resource: %d %v", status, body)
	}
	status, renewed := e.refresh(t, app.ClientID, rt, "", other)
	if status != 200 || audOf(t, renewed["access_token"]) != aud(other) {
		t.Fatalf("refresh narrowed to the other resource, with the same token after a refused request: %d %v", status, renewed)
	}
	status, again := e.refresh(t, app.ClientID, fmt.Sprint(renewed["refresh_token"]), "")
	if status != 200 || audOf(t, again["access_token"]) != aud(mcpServer, other) {
		t.Fatalf("the next refresh keeps the grant's resources: %d %v", status, again)
	}

	// A custom audience comes after the project id, before the resources,
	// and introspection reports aud.
	if status, body := e.do(t, "PUT", "/v1/connected_apps/clients/"+app.ClientID, map[string]any{"access_token_custom_audience": "https://api.example.com"}, true); status != 200 ||
		body["connected_app"].(map[string]any)["access_token_custom_audience"] != "https://api.example.com" {
		t.Fatalf("update: %d %v", status, body)
	}
	_, tok = e.token(t, app.ClientID, code(mcpServer))
	if got := audOf(t, tok["access_token"]); got != aud("https://api.example.com", mcpServer) {
		t.Fatalf("aud with a custom audience: %s", got)
	}
	if _, got := e.form(t, "/v1/oauth2/introspect", url.Values{"token": {fmt.Sprint(tok["access_token"])}, "client_id": {app.ClientID}}, "", ""); fmt.Sprint(got["aud"]) != aud("https://api.example.com", mcpServer) {
		t.Fatalf("introspected aud: %v", got)
	}
	minted, err := e.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: u.UserID, ClientID: app.ClientID, Scopes: []string{"docs:read"}, Resources: []string{other}})
	if err != nil || audOf(t, minted) != aud("https://api.example.com", other) {
		t.Fatalf("IssueConnectedAppTokenWith: %v %v", err, minted)
	}
}

// TestScopeHierarchy: a scope whose permissions include another's
// satisfies it: consent given for docs:all covers a later request for
// docs:read, and a refresh may narrow docs:all to docs:read; scopes held
// apart do not add up to a broader one, and a scope without permissions
// is satisfied only by itself.
func TestScopeHierarchy(t *testing.T) {
	e := newEnv(t)
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{})
	app, err := e.RegisterConnectedApp("agent", false, mcpRedirect)
	if err != nil {
		t.Fatal(err)
	}
	consentRequired := func(scopes ...string) bool {
		t.Helper()
		status, start := e.do(t, "POST", "/v1/idp/oauth/authorize/start", map[string]any{"client_id": app.ClientID, "redirect_uri": mcpRedirect,
			"response_type": "code", "scopes": scopes, "user_id": u.UserID}, true)
		if status != 200 {
			t.Fatalf("start: %d %v", status, start)
		}
		return start["consent_required"] == true
	}
	status, back, out := e.authorize(t, u.UserID, grantReq{client: app.ClientID, scopes: []string{"docs:all", "offline_access"}})
	if status != 200 {
		t.Fatalf("authorize: %d %v", status, out)
	}
	for _, tt := range []struct {
		scopes  []string
		consent bool
	}{
		{[]string{"docs:read"}, false},
		{[]string{"docs:read", "docs:write"}, false},
		{[]string{"docs:all", "offline_access"}, false},
		{[]string{"mcp"}, true},
		{[]string{"docs:read", "openid"}, true},
	} {
		if got := consentRequired(tt.scopes...); got != tt.consent {
			t.Fatalf("consent for %v after docs:all was granted: %v, want %v", tt.scopes, got, tt.consent)
		}
	}
	_, tok := e.token(t, app.ClientID, back.Get("code"))
	status, narrowed := e.refresh(t, app.ClientID, fmt.Sprint(tok["refresh_token"]), "docs:read")
	if status != 200 || narrowed["scope"] != "docs:read" || claimsOf(t, narrowed["access_token"])["scope"] != "docs:read" {
		t.Fatalf("docs:all narrowed to docs:read: %d %v", status, narrowed)
	}
	if narrowed["refresh_token"] == nil {
		t.Fatalf("a narrowed refresh keeps the grant's refresh token: %v", narrowed)
	}
	_, back, _ = e.authorize(t, u.UserID, grantReq{client: app.ClientID, scopes: []string{"docs:read", "docs:write", "offline_access"}})
	_, tok = e.token(t, app.ClientID, back.Get("code"))
	if status, body := e.refresh(t, app.ClientID, fmt.Sprint(tok["refresh_token"]), "docs:all"); status != 400 || body["error"] != "invalid_scope" {
		t.Fatalf("docs:read and docs:write widened to docs:all: %d %v", status, body)
	}
}

// TestDynamicClientRegistrationBounds: registration is off until enabled,
// as in a Stytch project; on, a body past 64 KiB is 400 and kept nowhere,
// every field is bounded, and past MaxDynamicClients registration answers
// 400 too_many_clients until a client is deleted.
func TestDynamicClientRegistrationBounds(t *testing.T) {
	e := newEnv(t)
	good := map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}}
	if status, body := e.do(t, "POST", "/v1/oauth2/register", good, false); status != 403 || body["error"] != "access_denied" {
		t.Fatalf("registration before it is enabled: %d %v", status, body)
	}
	if _, meta := e.do(t, "GET", "/.well-known/oauth-authorization-server", nil, false); meta["registration_endpoint"] != nil {
		t.Fatalf("metadata names a registration endpoint while it is off: %v", meta)
	}
	e.SetDynamicClientRegistration(true)
	if _, meta := e.do(t, "GET", "/.well-known/oauth-authorization-server", nil, false); meta["registration_endpoint"] != e.URL+"/v1/oauth2/register" {
		t.Fatalf("metadata once enabled: %v", meta)
	}
	total := func() float64 {
		_, body := e.do(t, "POST", "/v1/connected_apps/clients/search", map[string]any{}, true)
		return body["results_metadata"].(map[string]any)["total"].(float64)
	}
	long := strings.Repeat("a", 2049)
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprintf("http://127.0.0.1:%d/cb", 1000+i)
	}
	tests := []struct {
		name string
		body map[string]any
		code string
	}{
		{"1 MB", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "client_uri": "https://a.example/" + strings.Repeat("a", 1_000_000)}, "invalid_client_metadata"},
		{"past 64 KiB in a field never kept", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "software_statement": strings.Repeat("a", 65<<10)}, "invalid_client_metadata"},
		{"a long name", map[string]any{"client_name": strings.Repeat("n", 257), "redirect_uris": []string{mcpRedirect}}, "invalid_client_metadata"},
		{"11 redirect URIs", map[string]any{"client_name": "Agent", "redirect_uris": many}, "invalid_redirect_uri"},
		{"a long redirect URI", map[string]any{"client_name": "Agent", "redirect_uris": []string{"https://a.example/" + long}}, "invalid_redirect_uri"},
		{"a long client_uri", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "client_uri": "https://a.example/" + long}, "invalid_client_metadata"},
		{"a script logo", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "logo_uri": "javascript:alert(1)"}, "invalid_client_metadata"},
		{"a long scope", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "scope": long}, "invalid_client_metadata"},
		{"many grant types", map[string]any{"client_name": "Agent", "redirect_uris": []string{mcpRedirect}, "grant_types": slices.Repeat([]string{"refresh_token"}, 5)}, "invalid_client_metadata"},
	}
	for _, tt := range tests {
		if status, body := e.do(t, "POST", "/v1/oauth2/register", tt.body, false); status != 400 || body["error"] != tt.code {
			t.Fatalf("%s: %d %v, want 400 %s", tt.name, status, body, tt.code)
		}
	}
	if n := total(); n != 0 {
		t.Fatalf("%v clients kept from refused registrations", n)
	}

	for i := range stytchtest.MaxDynamicClients {
		if _, err := e.RegisterConnectedApp(fmt.Sprint("agent ", i), false, mcpRedirect); err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	status, body := e.do(t, "POST", "/v1/oauth2/register", good, false)
	if status != 400 || body["error"] != stytchtest.OAuthTooManyClients || !strings.Contains(fmt.Sprint(body["error_description"]), "1000") {
		t.Fatalf("registration %d: %d %v", stytchtest.MaxDynamicClients+1, status, body)
	}
	// A client the project creates is not a registration: not limited.
	if status, body := e.do(t, "POST", "/v1/connected_apps/clients", map[string]any{"client_type": "third_party_public", "client_name": "ours"}, true); status != 200 {
		t.Fatalf("the clients API at the registration limit: %d %v", status, body)
	}
	_, search := e.do(t, "POST", "/v1/connected_apps/clients/search", map[string]any{"limit": 1}, true)
	first := search["connected_apps"].([]any)[0].(map[string]any)["client_id"]
	if status, _ := e.do(t, "DELETE", fmt.Sprint("/v1/connected_apps/clients/", first), nil, true); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	if status, body := e.do(t, "POST", "/v1/oauth2/register", good, false); status != 201 {
		t.Fatalf("registration after a deletion: %d %v", status, body)
	}
}

// tlsPool trusts srv's certificate.
func tlsPool(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}

// TestClientIDMetadataDocumentFetchesBounded: strangers naming many slow
// documents at once get at most 16 fetches under way; the asks past them
// fail at once, without a fetch.
func TestClientIDMetadataDocumentFetchesBounded(t *testing.T) {
	docs := newDocServer(t)
	release := make(chan struct{})
	var arrived atomic.Int32
	e := newEnv(t, stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true, Timeout: 10 * time.Second}))
	e.SetPolicy(mcpPolicy())
	u := e.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	const asks = 40
	ids := make([]string, asks)
	for i := range ids {
		ids[i] = docs.handle(fmt.Sprintf("/slow-%d.json", i), func(_ http.ResponseWriter, r *http.Request) {
			arrived.Add(1)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
	}
	var wg sync.WaitGroup
	var refusedAtOnce atomic.Int32
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask := map[string]any{"client_id": id, "redirect_uri": mcpRedirect, "response_type": "code", "scopes": []string{"docs:read"}, "user_id": u.UserID}
			status, body := e.do(t, "POST", "/v1/idp/oauth/authorize/start", ask, true)
			if status == 400 && strings.Contains(fmt.Sprint(body["error_message"]), "being fetched already") {
				refusedAtOnce.Add(1)
			}
		}()
	}
	// The asks past the bound come back while the others still wait.
	deadline := time.Now().Add(30 * time.Second)
	for refusedAtOnce.Load() < asks-16 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, fetched := refusedAtOnce.Load(), arrived.Load()
	close(release)
	wg.Wait()
	if got != asks-16 || fetched > 16 {
		t.Fatalf("%d asks refused at once (want %d), %d fetches under way (want at most 16)", got, asks-16, fetched)
	}
}
