package conformance_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The Connected Apps answers, as stytch-go v18.1.0's
// stytch/consumer/{connectedapps,connectedapps/clients,idp,idp/oauth} types
// read them (ConnectedApp, ConnectedAppWithClientSecret,
// ConnectedAppPublic, ScopeResult, AuthorizeStartResponse,
// AuthorizeResponse, IntrospectTokenResponse), with the request_id and
// status_code of every answer; discovery, registration and the token
// endpoint as RFC 8414, RFC 7591 and RFC 6749 give them (stytch-go has no
// call for those). Checked by shape only: the OpenAPI subset in ../shared
// has no Connected Apps paths.

type wConnectedApp struct {
	ClientID                      string   `json:"client_id"`
	ClientSecret                  string   `json:"client_secret" wire:"optional"` // at creation only
	ClientName                    string   `json:"client_name"`
	ClientDescription             string   `json:"client_description"`
	Status                        string   `json:"status"`
	FullAccessAllowed             bool     `json:"full_access_allowed"`
	ClientType                    string   `json:"client_type"`
	RedirectURLs                  []string `json:"redirect_urls"`
	AccessTokenExpiryMinutes      int      `json:"access_token_expiry_minutes"`
	AccessTokenTemplateContent    string   `json:"access_token_template_content"`
	PostLogoutRedirectURLs        []string `json:"post_logout_redirect_urls"`
	BypassConsentForOfflineAccess bool     `json:"bypass_consent_for_offline_access"`
	CreationMethod                string   `json:"creation_method"`
	IDTokenTemplateContent        string   `json:"id_token_template_content"`
	ClientSecretLastFour          string   `json:"client_secret_last_four"`
	NextClientSecretLastFour      *string  `json:"next_client_secret_last_four"`
	AccessTokenCustomAudience     string   `json:"access_token_custom_audience"`
	LogoURL                       string   `json:"logo_url"`
	ClientIDMetadataURL           string   `json:"client_id_metadata_url"`
}

type wConnectedAppAnswer struct {
	RequestID    string        `json:"request_id"`
	StatusCode   int           `json:"status_code"`
	ConnectedApp wConnectedApp `json:"connected_app"`
}

type wConnectedAppSearch struct {
	RequestID       string          `json:"request_id"`
	StatusCode      int             `json:"status_code"`
	ConnectedApps   []wConnectedApp `json:"connected_apps"`
	ResultsMetadata struct {
		Total      int     `json:"total"`
		NextCursor *string `json:"next_cursor"`
	} `json:"results_metadata"`
}

type wConnectedAppDeleted struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
	ClientID   string `json:"client_id"`
}

type wAuthorizeStart struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
	UserID     string `json:"user_id"`
	User       wUser  `json:"user"`
	Client     struct {
		ClientID          string `json:"client_id"`
		ClientName        string `json:"client_name"`
		ClientDescription string `json:"client_description"`
		ClientType        string `json:"client_type"`
		LogoURL           string `json:"logo_url"`
	} `json:"client"`
	ConsentRequired bool `json:"consent_required"`
	ScopeResults    []struct {
		Scope       string `json:"scope"`
		Description string `json:"description"`
		IsGrantable bool   `json:"is_grantable"`
	} `json:"scope_results"`
}

type wAuthorize struct {
	RequestID         string `json:"request_id"`
	StatusCode        int    `json:"status_code"`
	RedirectURI       string `json:"redirect_uri"`
	AuthorizationCode string `json:"authorization_code"`
}

type wRegistered struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret" wire:"optional"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at" wire:"optional"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri" wire:"optional"`
	LogoURI                 string   `json:"logo_uri" wire:"optional"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// wASMetadata is RFC 8414's metadata with what the MCP 2026-07-28
// authorization spec reads: client_id_metadata_document_supported
// (draft-ietf-oauth-client-id-metadata-document-00, 5) and
// authorization_response_iss_parameter_supported (RFC 9207, 2.3). The
// registration endpoint is named only while registration is on.
type wASMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint" wire:"optional"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
}

type wCAToken struct {
	RequestID    string `json:"request_id"`
	StatusCode   int    `json:"status_code"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token" wire:"optional"` // with offline_access only
}

type wIntrospected struct {
	RequestID  string   `json:"request_id"`
	StatusCode int      `json:"status_code"`
	Active     bool     `json:"active"`
	TokenType  string   `json:"token_type"`
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   []string `json:"aud"`
	Scope      string   `json:"scope"`
	ClientID   string   `json:"client_id"`
	Expiry     int64    `json:"exp"`
	IssuedAt   int64    `json:"iat"`
	NotBefore  int64    `json:"nbf"`
	TokenID    string   `json:"jti"`
}

type wInactive struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
	Active     bool   `json:"active"`
}

// TestConnectedAppsAnswersConformToStytchsShapes sends every Connected
// Apps endpoint a realistic request, in the order of an agent's story, and
// decodes each answer strictly.
func TestConnectedAppsAnswersConformToStytchsShapes(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.WithDynamicClientRegistration())
	t.Cleanup(srv.Close)
	srv.SetPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Description: "read notes", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
	})
	srv.SetAuthorizationURL("https://notes.example.com/oauth/authorize")
	hc := &http.Client{}
	u := srv.CreateUser(stytchtest.UserParams{Email: "ann@example.com", Name: session.Name{FirstName: "Ann"}})
	const redirect = "http://127.0.0.1:33418/callback"
	const verifier = "a-verifier-of-forty-three-characters-or-more-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	step := func(name, method, path string, body any, auth bool, want int, into any) []byte {
		t.Helper()
		status, raw := send(t, srv, hc, method, path, body, auth)
		if status != want {
			t.Fatalf("%s: status %d, want %d: %s", name, status, want, raw)
		}
		if err := conform(reflect.TypeOf(into), raw); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
		return raw
	}
	form := func(name, path string, values url.Values, want int, into any) []byte {
		t.Helper()
		resp, err := hc.PostForm(srv.URL+path, values)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw := readAll(t, resp)
		if resp.StatusCode != want {
			t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, want, raw)
		}
		if err := conform(reflect.TypeOf(into), raw); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
		return raw
	}
	field := func(raw []byte, keys ...string) string {
		var v any
		_ = json.Unmarshal(raw, &v)
		for _, k := range keys {
			v = v.(map[string]any)[k]
		}
		s, _ := v.(string)
		return s
	}

	var meta wASMetadata
	_ = json.Unmarshal(step("metadata", "GET", "/.well-known/oauth-authorization-server", nil, false, 200, wASMetadata{}), &meta)
	if meta.RegistrationEndpoint != srv.URL+"/v1/oauth2/register" || !meta.ClientIDMetadataDocumentSupported || !meta.AuthorizationResponseIssParameterSupported {
		t.Fatalf("metadata: %+v", meta)
	}
	step("openid configuration", "GET", "/.well-known/openid-configuration", nil, false, 200, wASMetadata{})
	created := step("create a client", "POST", "/v1/connected_apps/clients", map[string]any{"client_type": "first_party", "client_name": "Notes server"}, true, 200, wConnectedAppAnswer{})
	server, secret := field(created, "connected_app", "client_id"), field(created, "connected_app", "client_secret")
	step("get a client", "GET", "/v1/connected_apps/clients/"+server, nil, true, 200, wConnectedAppAnswer{})
	step("update a client", "PUT", "/v1/connected_apps/clients/"+server, map[string]any{"client_description": "the API"}, true, 200, wConnectedAppAnswer{})
	step("an unknown client", "GET", "/v1/connected_apps/clients/connected-app-test-nope", nil, true, 404, wError{})
	registered := step("register", "POST", "/v1/oauth2/register", map[string]any{"client_name": "Agent", "redirect_uris": []string{redirect}}, false, 201, wRegistered{})
	agent := field(registered, "client_id")
	step("register a bad redirect", "POST", "/v1/oauth2/register", map[string]any{"client_name": "Agent", "redirect_uris": []string{"http://evil.example/cb"}}, false, 400, wOAuth2Error{})
	step("search clients", "POST", "/v1/connected_apps/clients/search", map[string]any{"limit": 1}, true, 200, wConnectedAppSearch{})

	ask := map[string]any{"client_id": agent, "redirect_uri": redirect, "response_type": "code", "scopes": []string{"notes:read", "offline_access"}, "user_id": u.UserID}
	step("authorize start", "POST", "/v1/idp/oauth/authorize/start", ask, true, 200, wAuthorizeStart{})
	ask["consent_granted"], ask["state"], ask["code_challenge"] = true, "s", challenge
	authorized := step("authorize", "POST", "/v1/idp/oauth/authorize", ask, true, 200, wAuthorize{})
	code := field(authorized, "authorization_code")
	if q := authorizationResponse(t, field(authorized, "redirect_uri"), redirect, meta.Issuer, ""); q.Get("code") != code || q.Get("state") != "s" {
		t.Fatalf("authorization response %v, answer %s", q, authorized)
	}
	ask["redirect_uri"] = "https://evil.example/cb"
	step("authorize, another redirect", "POST", "/v1/idp/oauth/authorize", ask, true, 400, wError{})

	tok := form("token", "/v1/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {agent}, "code_verifier": {verifier}}, 200, wCAToken{})
	form("token, the code again", "/v1/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {agent}, "code_verifier": {verifier}}, 400, wOAuth2Error{})
	access, refresh := field(tok, "access_token"), field(tok, "refresh_token")
	form("introspect", "/v1/oauth2/introspect", url.Values{"token": {access}, "client_id": {server}, "client_secret": {secret}}, 200, wIntrospected{})
	form("introspect, under the API host", "/v1/public/"+srv.ProjectID()+"/oauth2/introspect", url.Values{"token": {access}, "client_id": {server}, "client_secret": {secret}}, 200, wIntrospected{})
	form("introspect, a wrong secret", "/v1/oauth2/introspect", url.Values{"token": {access}, "client_id": {server}, "client_secret": {"wrong"}}, 401, wOAuth2Error{})
	renewed := form("refresh", "/v1/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {agent}}, 200, wCAToken{})
	form("revoke", "/v1/oauth2/revoke", url.Values{"token": {field(renewed, "refresh_token")}, "client_id": {agent}}, 200, wEnvelope{})
	form("introspect a revoked grant's token", "/v1/oauth2/introspect", url.Values{"token": {field(renewed, "access_token")}, "client_id": {server}, "client_secret": {secret}}, 200, wInactive{})
	step("a user revokes a client", "POST", "/v1/users/"+u.UserID+"/connected_apps/"+agent+"/revoke", map[string]any{}, true, 200, wEnvelope{})
	step("delete a client", "DELETE", "/v1/connected_apps/clients/"+server, nil, true, 200, wConnectedAppDeleted{})
	if !strings.HasPrefix(agent, "connected-app-test-") {
		t.Fatalf("client id %q", agent)
	}
}

// wEnvelope is an answer that carries nothing but its envelope.
type wEnvelope struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// authorizationResponse checks the query of an authorization response, the
// redirect back to the client: only the keys RFC 6749 (4.1.2, 4.1.2.1) and
// RFC 9207 (2) define, each once, the code or the error wantErr, and iss
// equal to the metadata's issuer.
func authorizationResponse(t *testing.T, redirectURI, base, issuer, wantErr string) url.Values {
	t.Helper()
	u, err := url.Parse(redirectURI)
	if err != nil || !strings.HasPrefix(redirectURI, base+"?") {
		t.Fatalf("authorization response %q is not a redirect to %s", redirectURI, base)
	}
	q := u.Query()
	allowed := []string{"code", "state", "iss"}
	if wantErr != "" {
		allowed = []string{"error", "error_description", "error_uri", "state", "iss"}
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) || len(v) != 1 {
			t.Fatalf("authorization response %q: %s is not one of %v, once", redirectURI, k, allowed)
		}
	}
	switch {
	case q.Get("iss") != issuer:
		t.Fatalf("authorization response %q: iss %q, want the metadata's issuer %q (RFC 9207)", redirectURI, q.Get("iss"), issuer)
	case wantErr == "" && q.Get("code") == "":
		t.Fatalf("authorization response %q: no code", redirectURI)
	case wantErr != "" && q.Get("error") != wantErr:
		t.Fatalf("authorization response %q: error %q, want %q", redirectURI, q.Get("error"), wantErr)
	}
	return q
}

// TestConnectedAppsAuthorizationServer2026WireShapes holds what the MCP
// 2026-07-28 authorization spec adds to the wire: the metadata without a
// registration endpoint while registration is off (as in a Stytch project
// until it is enabled), a client known by its Client ID Metadata Document
// through start, authorize, token and introspection, iss on the code and on
// the error redirects, RFC 8707's invalid_target, and registration's
// refusals in OAuth's shape.
func TestConnectedAppsAuthorizationServer2026WireShapes(t *testing.T) {
	docs := httptest.NewServer(nil)
	t.Cleanup(docs.Close)
	const redirect = "http://127.0.0.1:33418/callback"
	const resource = "https://notes.example.com/mcp"
	client := docs.URL + "/agent.json"
	docs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/agent.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": client, "client_name": "Notes agent", "client_uri": "https://agent.example",
			"redirect_uris": []string{redirect}, "grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none"})
	})
	srv := stytchtest.NewServer(stytchtest.WithClientMetadataFetch(stytchtest.ClientMetadataFetch{AllowLoopback: true}))
	t.Cleanup(srv.Close)
	srv.SetPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Description: "read notes", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
	})
	hc := &http.Client{}
	u := srv.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	const verifier = "a-verifier-of-forty-three-characters-or-more-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	step := func(name, method, path string, body any, auth bool, want int, into any) []byte {
		t.Helper()
		status, raw := send(t, srv, hc, method, path, body, auth)
		if status != want {
			t.Fatalf("%s: status %d, want %d: %s", name, status, want, raw)
		}
		if err := conform(reflect.TypeOf(into), raw); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
		return raw
	}
	form := func(name string, values url.Values, want int, into any) []byte {
		t.Helper()
		resp, err := hc.PostForm(srv.URL+"/v1/oauth2/token", values)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw := readAll(t, resp)
		if resp.StatusCode != want {
			t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, want, raw)
		}
		if err := conform(reflect.TypeOf(into), raw); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
		return raw
	}

	var meta wASMetadata
	raw := step("metadata, registration off", "GET", "/.well-known/oauth-authorization-server", nil, false, 200, wASMetadata{})
	if strings.Contains(string(raw), "registration_endpoint") {
		t.Fatalf("metadata names a registration endpoint while registration is off: %s", raw)
	}
	_ = json.Unmarshal(raw, &meta)
	step("register, while off", "POST", "/v1/oauth2/register", map[string]any{"client_name": "Agent", "redirect_uris": []string{redirect}}, false, 403, wOAuth2Error{})
	srv.SetDynamicClientRegistration(true)
	big := map[string]any{"client_name": "Agent", "redirect_uris": []string{redirect}, "client_uri": "https://a.example/" + strings.Repeat("a", 1_000_000)}
	step("register 1 MB", "POST", "/v1/oauth2/register", big, false, 400, wOAuth2Error{})

	ask := map[string]any{"client_id": client, "redirect_uri": redirect, "response_type": "code", "scopes": []string{"notes:read", "offline_access"}, "user_id": u.UserID}
	var start wAuthorizeStart
	_ = json.Unmarshal(step("authorize start, by metadata document", "POST", "/v1/idp/oauth/authorize/start", ask, true, 200, wAuthorizeStart{}), &start)
	if start.Client.ClientID != client || start.Client.ClientName != "Notes agent" || start.Client.ClientType != "third_party_public" {
		t.Fatalf("start: %+v", start)
	}
	bad := map[string]any{}
	for k, v := range ask {
		bad[k] = v
	}
	bad["client_id"] = docs.URL + "/missing.json"
	step("authorize start, a document not found", "POST", "/v1/idp/oauth/authorize/start", bad, true, 400, wError{})

	ask["consent_granted"], ask["state"], ask["code_challenge"], ask["resources"] = true, "s", challenge, []string{resource}
	var authorized wAuthorize
	_ = json.Unmarshal(step("authorize, by metadata document", "POST", "/v1/idp/oauth/authorize", ask, true, 200, wAuthorize{}), &authorized)
	authorizationResponse(t, authorized.RedirectURI, redirect, meta.Issuer, "")
	ask["consent_granted"] = false
	_ = json.Unmarshal(step("authorize, denied", "POST", "/v1/idp/oauth/authorize", ask, true, 200, wAuthorize{}), &authorized)
	authorizationResponse(t, authorized.RedirectURI, redirect, meta.Issuer, "access_denied")
	ask["consent_granted"], ask["resources"] = true, []string{"notes.example.com/mcp"}
	_ = json.Unmarshal(step("authorize, a malformed resource", "POST", "/v1/idp/oauth/authorize", ask, true, 200, wAuthorize{}), &authorized)
	authorizationResponse(t, authorized.RedirectURI, redirect, meta.Issuer, "invalid_target")

	ask["resources"] = []string{resource}
	code := func() string {
		_ = json.Unmarshal(step("authorize", "POST", "/v1/idp/oauth/authorize", ask, true, 200, wAuthorize{}), &authorized)
		return authorizationResponse(t, authorized.RedirectURI, redirect, meta.Issuer, "").Get("code")
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {redirect}, "client_id": {client}, "code_verifier": {verifier}}
	exchange.Set("code", code())
	exchange.Set("resource", "https://other.example.com/mcp")
	form("token, another resource", exchange, 400, wOAuth2Error{})
	exchange.Set("code", code())
	exchange.Set("resource", resource)
	var tok wCAToken
	_ = json.Unmarshal(form("token, by metadata document", exchange, 200, wCAToken{}), &tok)
	resp, err := hc.PostForm(srv.URL+"/v1/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {client}})
	if err != nil {
		t.Fatal(err)
	}
	raw = readAll(t, resp)
	resp.Body.Close()
	var in wIntrospected
	if err := conform(reflect.TypeOf(in), raw); err != nil {
		t.Fatalf("introspect: %v\n%s", err, raw)
	}
	_ = json.Unmarshal(raw, &in)
	if !in.Active || in.ClientID != client || !slices.Equal(in.Audience, []string{srv.ProjectID(), resource}) || in.Issuer != meta.Issuer {
		t.Fatalf("introspected: %+v", in)
	}
}
