package stytchtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
)

// Connected Apps: the project as an OAuth 2.1 authorization server for
// third-party apps and AI agents acting for its users. The emulator keeps
// what Stytch keeps: the clients (a confidential client's secret as a
// digest), each user's consent per client, authorization codes and refresh
// tokens (as digests, one use each), and the grants revoked.

// Lifetimes of what the authorization server issues, as Stytch's defaults.
const (
	// AccessTokenLifetime is a Connected Apps access token's: exp = iat +
	// 3600 s (the client's access_token_expiry_minutes, 60 by default).
	AccessTokenLifetime = time.Hour
	// RefreshTokenLifetime is a refresh token's, from its issue; each use
	// rotates it.
	RefreshTokenLifetime = 30 * 24 * time.Hour
	// AuthorizationCodeLifetime is how long a code may wait for the token
	// endpoint.
	AuthorizationCodeLifetime = 5 * time.Minute
)

// OAuth2 error codes of the authorization server's endpoints (RFC 6749
// 5.2, RFC 7591 3.2.2), besides those of the M2M token endpoint.
const (
	OAuthInvalidGrant          = "invalid_grant"
	OAuthInvalidRedirectURI    = "invalid_redirect_uri"
	OAuthInvalidClientMetadata = "invalid_client_metadata"
	OAuthAccessDenied          = "access_denied"
)

// The Connected Apps endpoints, for Calls and faults.
const (
	OAuthMetadata   Endpoint = "oauth2.metadata" // RFC 8414 and OpenID discovery
	OAuthRegister   Endpoint = "oauth2.register"
	OAuthAuthorize  Endpoint = "idp.oauth.authorize" // start and submit
	OAuthToken      Endpoint = "oauth2.token"        // the domain's token endpoint, /v1/oauth2/token
	OAuthIntrospect Endpoint = "oauth2.introspect"
	OAuthRevoke     Endpoint = "oauth2.revoke"
	// ConnectedAppClients is the clients API: create, get, update, delete, search.
	ConnectedAppClients Endpoint = "connected_apps.clients"
)

// standardScopes are the OpenID scopes every project supports.
const standardScopes = "openid email profile phone offline_access"

// ConnectedApp is a Connected Apps client as the emulator returns it.
type ConnectedApp struct {
	ClientID     string
	ClientName   string
	ClientType   string // "third_party_public" or "third_party"
	RedirectURIs []string
	// ClientSecret is set once, when a confidential client is registered.
	ClientSecret string
}

// caClient is a Connected Apps client. A confidential client's secret is
// kept only as a digest.
type caClient struct {
	id, name, description, uri, logo, clientType string
	creationMethod                               string // "API", CreationDynamicClientRegistration, CreationClientIDMetadataDocument
	confidential                                 bool
	secret                                       [32]byte
	lastFour                                     string
	redirectURIs                                 []string
	createdAt                                    time.Time
	lifetime                                     time.Duration // of its access tokens; zero: AccessTokenLifetime
	customAudience                               string        // access_token_custom_audience: added to aud
	metadataURL                                  string        // a Client ID Metadata Document's URL, its id
}

// accessTokenLifetime is how long c's access tokens live.
func (c *caClient) accessTokenLifetime() time.Duration {
	return cmp.Or(c.lifetime, AccessTokenLifetime)
}

// firstParty reports whether c is the project's own: no consent is asked.
func (c *caClient) firstParty() bool {
	return c.clientType == ClientFirstParty || c.clientType == ClientFirstPartyPublic
}

func (c *caClient) public() map[string]any {
	return map[string]any{"client_id": c.id, "client_name": c.name, "client_description": c.description, "client_type": c.clientType, "logo_url": c.logo}
}

// caCode is an authorization code waiting for the token endpoint.
type caCode struct {
	clientID, subject, redirectURI, challenge string
	scopes                                    []string
	resources                                 []string // RFC 8707: what the grant is for
	expires                                   time.Time
}

// caRefresh is a refresh token. A rotated one is kept as used: presenting it
// again means it leaked, and ends the grant (OAuth 2.1, 4.3.1). It keeps
// the grant's scopes and resources, whatever a refresh narrowed them to.
type caRefresh struct {
	clientID, subject string
	scopes, resources []string
	expires           time.Time
	used              bool
}

// grantKey names a user's grant to a client.
func grantKey(subject, clientID string) string { return subject + "\x00" + clientID }

// cutGrantKey splits a grantKey.
func cutGrantKey(key string) (subject, clientID string, ok bool) { return strings.Cut(key, "\x00") }

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// RegisterConnectedApp registers a client as Dynamic Client Registration
// does: a public one (PKCE, no secret) unless confidential, when its
// secret is returned once.
func (e *Emulator) RegisterConnectedApp(name string, confidential bool, redirectURIs ...string) (ConnectedApp, error) {
	method := "none"
	if confidential {
		method = "client_secret_basic"
	}
	out, apiErr := e.register(registration{ClientName: name, RedirectURIs: redirectURIs, TokenEndpointAuthMethod: method})
	if apiErr != nil {
		return ConnectedApp{}, fmt.Errorf("stytchtest: %s: %s", apiErr.ErrorType, apiErr.ErrorMessage)
	}
	return ConnectedApp{ClientID: out.ClientID, ClientName: out.ClientName, ClientType: out.clientType, RedirectURIs: out.RedirectURIs, ClientSecret: out.ClientSecret}, nil
}

// SetAuthorizationURL sets the authorization endpoint the metadata
// advertises: the app's own consent page, which signs the person in and
// calls authorize/start and authorize, as a Stytch project's Connected Apps
// settings name it. Empty means the emulator's own /v1/oauth2/authorize,
// which only explains that none is set.
func (e *Emulator) SetAuthorizationURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.authorizationURL = u
}

// RevokeConnectedApp ends a user's grant to a client, as the user's
// connected_apps revoke endpoint does: its refresh tokens stop working at
// once, and introspection calls its access tokens inactive. Access tokens
// verified locally stay valid until their exp, as with Stytch.
func (e *Emulator) RevokeConnectedApp(subjectID, clientID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.knownClient(clientID) {
		return fmt.Errorf("connected app %s: %w", clientID, ErrNotFound)
	}
	e.revokeGrant(subjectID, clientID)
	return nil
}

// revokeGrant ends a grant. The caller holds e.mu.
func (e *Emulator) revokeGrant(subject, clientID string) {
	key := grantKey(subject, clientID)
	delete(e.caConsents, key)
	e.caRevoked[key] = e.now()
	for d, rt := range e.caRefresh {
		if rt.subject == subject && rt.clientID == clientID {
			delete(e.caRefresh, d)
		}
	}
	for d, c := range e.caCodes { // a code not yet exchanged is part of the grant
		if c.subject == subject && c.clientID == clientID {
			delete(e.caCodes, d)
		}
	}
}

// origin is the scheme and host a request came to: the project domain it
// used, which issues what it answers.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// issuerFor is the iss of what the authorization server issues for r: the
// domain it came to, or, through Stytch's own API host
// (/v1/public/{project_id}/...), the project's issuer.
func (e *Emulator) issuerFor(r *http.Request) string {
	if r.PathValue("project_id") != "" {
		return e.issuer
	}
	return origin(r)
}

// scopesSupported lists the OpenID scopes and the policy's own. The caller
// holds e.mu.
func (e *Emulator) scopesSupported() []string {
	out := strings.Fields(standardScopes)
	for _, s := range e.policy.Scopes {
		if !slices.Contains(out, s.Scope) {
			out = append(out, s.Scope)
		}
	}
	return out
}

func (e *Emulator) handleMetadata(r *http.Request, _ string) (any, *session.APIError) {
	base := origin(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	authorize := e.authorizationURL
	if authorize == "" {
		authorize = base + "/v1/oauth2/authorize"
	}
	meta := map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                authorize,
		"token_endpoint":                        base + "/v1/oauth2/token",
		"introspection_endpoint":                base + "/v1/oauth2/introspect",
		"revocation_endpoint":                   base + "/v1/oauth2/revoke",
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                      e.scopesSupported(),
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		// A client_id may be the URL of its metadata document
		// (draft-ietf-oauth-client-id-metadata-document-00, section 5).
		"client_id_metadata_document_supported": true,
		// Every authorization response carries iss (RFC 9207, 2.3).
		"authorization_response_iss_parameter_supported": true,
	}
	if e.dcr {
		meta["registration_endpoint"] = base + "/v1/oauth2/register"
	}
	return meta, nil
}

func (e *Emulator) handleDomainJWKS(_ *http.Request, _ string) (any, *session.APIError) {
	return map[string]any{"keys": e.JWKS()}, nil
}

// noAuthorizationURL answers the placeholder authorization endpoint.
func noAuthorizationURL(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "stytchtest: no authorization URL is set: it is the app's own consent page "+
		"(stytch-emulator -authorization-url, or Emulator.SetAuthorizationURL)", http.StatusNotImplemented)
}

// Bounds of Dynamic Client Registration, so that an unauthenticated caller
// cannot grow the emulator's memory without end (Stytch publishes none).
const (
	// MaxDynamicClients is how many clients registration keeps at once;
	// past it, registering answers 400 too_many_clients until a client is
	// deleted.
	MaxDynamicClients = 1000
	// maxRegistrationBytes bounds a registration request's body; a larger
	// one is 400 invalid_client_metadata, and nothing is kept.
	maxRegistrationBytes = 64 << 10
	// maxRedirectURIs bounds a client's redirect URIs.
	maxRedirectURIs = 10
	// maxClientNameLength bounds client_name.
	maxClientNameLength = 256
	// maxScopeLength bounds a registration's scope.
	maxScopeLength = 1024
)

// OAuthTooManyClients is registration's error once MaxDynamicClients are
// registered (RFC 7591 3.2.2 allows codes of its own).
const OAuthTooManyClients = "too_many_clients"

// CreationDynamicClientRegistration is the creation_method of a client
// Dynamic Client Registration created.
const CreationDynamicClientRegistration = "DYNAMIC_CLIENT_REGISTRATION"

// registration is RFC 7591's client metadata, as far as Stytch reads it.
type registration struct {
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
}

// check says what is wrong with the metadata, "" if nothing, with the RFC
// 7591 error code that says it: the redirect URIs (1 to maxRedirectURIs,
// each checkRedirectURI's), the grant and response types Connected Apps
// support, and the size of every field.
func (p *registration) check() (code, msg string) {
	switch {
	case len(p.RedirectURIs) == 0:
		return OAuthInvalidRedirectURI, "redirect_uris must list at least one URI."
	case len(p.RedirectURIs) > maxRedirectURIs:
		return OAuthInvalidRedirectURI, fmt.Sprintf("redirect_uris lists more than %d URIs.", maxRedirectURIs)
	}
	for _, u := range p.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			return OAuthInvalidRedirectURI, msg
		}
	}
	if len(p.GrantTypes) > 4 || len(p.ResponseTypes) > 4 {
		return OAuthInvalidClientMetadata, "grant_types and response_types list at most 4 values."
	}
	for _, g := range p.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return OAuthInvalidClientMetadata, fmt.Sprintf("grant_type %.40q is not supported: authorization_code and refresh_token are.", g)
		}
	}
	for _, t := range p.ResponseTypes {
		if t != "code" {
			return OAuthInvalidClientMetadata, fmt.Sprintf("response_type %.40q is not supported: code is.", t)
		}
	}
	switch {
	case len(p.ClientName) > maxClientNameLength:
		return OAuthInvalidClientMetadata, fmt.Sprintf("client_name is longer than %d characters.", maxClientNameLength)
	case len(p.Scope) > maxScopeLength:
		return OAuthInvalidClientMetadata, fmt.Sprintf("scope is longer than %d characters.", maxScopeLength)
	}
	for name, u := range map[string]string{"client_uri": p.ClientURI, "logo_uri": p.LogoURI} {
		if msg := checkWebURL(u); u != "" && msg != "" {
			return OAuthInvalidClientMetadata, name + ": " + msg
		}
	}
	return "", ""
}

// checkWebURL says what is wrong with a URL shown to people (client_uri,
// logo_uri), "" if nothing: absolute http or https, with a host, bounded.
func checkWebURL(raw string) string {
	if len(raw) > maxURILength {
		return fmt.Sprintf("the URL is longer than %d characters.", maxURILength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "the URL is not an absolute http or https URL."
	}
	return ""
}

type registered struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	clientType              string
}

// httpStatus makes the endpoint answer 201 Created, as RFC 7591 asks.
func (registered) httpStatus() int { return http.StatusCreated }

// SetDynamicClientRegistration turns Dynamic Client Registration on or off,
// as a project's Connected Apps settings do. Off, /v1/oauth2/register
// answers 403 and the metadata names no registration_endpoint; clients
// already registered keep working. RegisterConnectedApp works either way.
func (e *Emulator) SetDynamicClientRegistration(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dcr = on
}

// WithDynamicClientRegistration turns Dynamic Client Registration on from
// the start: Stytch's is off until the project enables it.
func WithDynamicClientRegistration() Option { return func(o *options) { o.dcr = true } }

func (e *Emulator) handleRegister(r *http.Request, _ string) (any, *session.APIError) {
	e.mu.Lock()
	on := e.dcr
	e.mu.Unlock()
	if !on {
		return nil, apiError(http.StatusForbidden, OAuthAccessDenied, "Dynamic Client Registration is not enabled for this project "+
			"(the Connected Apps settings; the emulator: WithDynamicClientRegistration, stytch-emulator -dcr).")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBytes+1))
	switch {
	case err != nil:
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClientMetadata, "The registration could not be read.")
	case len(body) > maxRegistrationBytes:
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClientMetadata, fmt.Sprintf("The registration is larger than %d bytes.", maxRegistrationBytes))
	}
	var p registration
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClientMetadata, "The registration is not valid JSON client metadata.")
	}
	out, apiErr := e.register(p)
	if apiErr != nil {
		return nil, apiErr
	}
	return out, nil
}

func (e *Emulator) register(p registration) (*registered, *session.APIError) {
	if code, msg := p.check(); code != "" {
		return nil, apiError(http.StatusBadRequest, code, msg)
	}
	method := p.TokenEndpointAuthMethod
	switch method {
	case "":
		method = "none"
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClientMetadata, fmt.Sprintf("token_endpoint_auth_method %.40q is not supported.", method))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dynamicClients >= MaxDynamicClients {
		return nil, apiError(http.StatusBadRequest, OAuthTooManyClients, fmt.Sprintf("The project has %d dynamically registered clients, "+
			"the emulator's limit: delete one (DELETE /v1/connected_apps/clients/{client_id}), or use a Client ID Metadata Document.", MaxDynamicClients))
	}
	c := &caClient{
		id: e.id("connected-app"), name: p.ClientName, uri: p.ClientURI, logo: p.LogoURI, confidential: method != "none",
		redirectURIs: slices.Clone(p.RedirectURIs), createdAt: e.now(), clientType: ClientThirdPartyPublic, creationMethod: CreationDynamicClientRegistration,
	}
	out := &registered{
		ClientID: c.id, ClientIDIssuedAt: c.createdAt.Unix(), ClientName: c.name, ClientURI: c.uri, LogoURI: c.logo, RedirectURIs: c.redirectURIs,
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: method,
	}
	if c.confidential {
		c.clientType = ClientThirdParty
		out.ClientSecret = randomToken(32)
		c.secret, c.lastFour = digest(out.ClientSecret), out.ClientSecret[len(out.ClientSecret)-4:]
		never := int64(0)
		out.ClientSecretExpiresAt = &never
	}
	out.clientType = c.clientType
	e.caClients[c.id] = c
	e.caOrder = append(e.caOrder, c.id)
	e.dynamicClients++
	return out, nil
}

// checkRedirectURI says what is wrong with a redirect URI, "" if nothing:
// https anywhere, http only to the loopback host (RFC 8252 7.3), or an app's
// private-use scheme (RFC 8252 7.1); never a fragment, never a scheme a
// browser would run.
func checkRedirectURI(raw string) string {
	if len(raw) > maxURILength {
		return fmt.Sprintf("redirect URI %.60q... is longer than %d characters.", raw, maxURILength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Sprintf("redirect URI %q is not an absolute URI.", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Sprintf("redirect URI %q has a fragment.", raw)
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
		if u.Host == "" {
			return fmt.Sprintf("redirect URI %q has no host.", raw)
		}
	case "http":
		if h := u.Hostname(); h != "localhost" && !isLoopbackIP(h) {
			return fmt.Sprintf("redirect URI %q uses http to a host other than the loopback one.", raw)
		}
	case "javascript", "data", "file", "vbscript", "blob", "about":
		return fmt.Sprintf("redirect URI %q has scheme %s.", raw, scheme)
	}
	return ""
}

func isLoopbackIP(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// authorizeParams are authorize/start's and authorize's body.
type authorizeParams struct {
	ClientID       string   `json:"client_id"`
	RedirectURI    string   `json:"redirect_uri"`
	ResponseType   string   `json:"response_type"`
	Scopes         []string `json:"scopes"`
	UserID         string   `json:"user_id"`
	OrganizationID string   `json:"organization_id"`
	MemberID       string   `json:"member_id"`
	SessionToken   string   `json:"session_token"`
	SessionJWT     string   `json:"session_jwt"`
	Prompt         string   `json:"prompt"`
	ConsentGranted bool     `json:"consent_granted"`
	State          string   `json:"state"`
	Nonce          string   `json:"nonce"`
	CodeChallenge  string   `json:"code_challenge"`
	// Resources are RFC 8707's resource indicators: authorize takes them
	// (stytch-go v18 sends them there only); authorize/start ignores them.
	Resources []string `json:"resources"`
}

type scopeResult struct {
	Scope       string `json:"scope"`
	Description string `json:"description"`
	IsGrantable bool   `json:"is_grantable"`
}

// grantee is who a grant acts for: a user, or (B2B) a member of an
// organization.
type grantee struct {
	id    string
	user  *user
	mem   *member
	roles []string
}

// org is the member's organization, nil for a user.
func (e *Emulator) org(g grantee) *organization {
	if g.mem == nil {
		return nil
	}
	return e.orgs[g.mem.orgID]
}

// granteeOf finds who subject is: a user, or a member. The caller holds
// e.mu.
func (e *Emulator) granteeOf(subject string) (grantee, bool) {
	if u := e.users[subject]; u != nil {
		return grantee{id: u.id, user: u, roles: u.allRoles()}, true
	}
	if m := e.members[subject]; m != nil {
		return grantee{id: m.id, mem: m, roles: m.allRoles()}, true
	}
	return grantee{}, false
}

// authorizeRequest checks what authorize/start and authorize share: the
// client (resolved, when its id is a metadata document's URL), the
// redirect URI, the response type and the person (a user, or for b2b a
// member). The caller holds e.mu.
func (e *Emulator) authorizeRequest(p *authorizeParams, b2b bool, resolved *caClient) (*caClient, grantee, *session.APIError) {
	var none grantee
	c := e.lookupClient(p.ClientID, resolved)
	switch {
	case c == nil:
		return nil, none, apiError(http.StatusNotFound, "connected_app_not_found", "No Connected App client matches client_id.")
	case !slices.Contains(c.redirectURIs, p.RedirectURI):
		return nil, none, apiError(http.StatusBadRequest, "invalid_redirect_uri", "redirect_uri is not one of the client's redirect URIs.")
	case p.ResponseType != "code":
		return nil, none, apiError(http.StatusBadRequest, "unsupported_response_type", "response_type must be code.")
	}
	named := p.UserID
	if b2b {
		named = p.MemberID
		if named != "" && (p.OrganizationID == "" || e.members[named] == nil || e.members[named].orgID != p.OrganizationID) {
			return nil, none, apiError(http.StatusNotFound, "member_not_found", "Member could not be found in that organization.")
		}
	}
	var subject string
	switch {
	case named != "" && (p.SessionToken != "" || p.SessionJWT != ""):
		return nil, none, apiError(http.StatusBadRequest, "too_many_identifiers", "Name the person one way: an id, session_token or session_jwt.")
	case named != "":
		subject = named
	default:
		s, apiErr := e.findSession(p.SessionToken, p.SessionJWT, b2b)
		if apiErr != nil {
			return nil, none, apiErr
		}
		subject = s.subject
	}
	g, ok := e.granteeOf(subject)
	if !ok || (g.mem != nil) != b2b {
		if b2b {
			return nil, none, apiError(http.StatusNotFound, "member_not_found", "Member could not be found.")
		}
		return nil, none, apiError(http.StatusNotFound, "user_not_found", "User could not be found.")
	}
	return c, g, nil
}

// policyOf is the policy g's grants are decided by. The caller holds e.mu.
func (e *Emulator) policyOf(g grantee) *session.Policy {
	if g.mem != nil {
		return &e.b2bPolicy
	}
	return &e.policy
}

// scopeResults says, for each scope asked for, whether g may grant it: an
// OpenID scope always; a scope of the policy when g's roles hold every
// permission it carries.
func (e *Emulator) scopeResults(g grantee, scopes []string) ([]scopeResult, *session.APIError) {
	policy := e.policyOf(g)
	out := make([]scopeResult, 0, len(scopes))
	for _, s := range scopes {
		if slices.Contains(strings.Fields(standardScopes), s) {
			out = append(out, scopeResult{Scope: s, IsGrantable: true})
			continue
		}
		i := slices.IndexFunc(policy.Scopes, func(ps session.Scope) bool { return ps.Scope == s })
		if i < 0 {
			return nil, apiError(http.StatusBadRequest, OAuthInvalidScope, fmt.Sprintf("Scope %q is not in the project's RBAC policy.", s))
		}
		ps := policy.Scopes[i]
		out = append(out, scopeResult{Scope: s, Description: ps.Description, IsGrantable: holds(policy, g.roles, ps.Permissions)})
	}
	return out, nil
}

// holds reports whether roles grant every one of perms under policy.
func holds(policy *session.Policy, roles []string, perms []session.Permission) bool {
	for _, p := range perms {
		for _, action := range p.Actions {
			if !policyGrants(policy, roles, p.ResourceID, action) {
				return false
			}
		}
	}
	return true
}

func policyGrants(policy *session.Policy, roles []string, resource, action string) bool {
	for _, r := range policy.Roles {
		if !slices.Contains(roles, r.RoleID) {
			continue
		}
		for _, p := range r.Permissions {
			if p.ResourceID == resource && (slices.Contains(p.Actions, "*") || slices.Contains(p.Actions, action)) {
				return true
			}
		}
	}
	return false
}

// authorizing decodes an authorization request, checks what authorize/start
// and authorize share, and runs f with e.mu held.
func (e *Emulator) authorizing(r *http.Request, b2b bool, f func(p *authorizeParams, c *caClient, g grantee) (any, *session.APIError)) (any, *session.APIError) {
	var p authorizeParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	resolved, err := e.resolveClient(r.Context(), p.ClientID)
	if err != nil {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClient, fmt.Sprintf("The client's metadata document cannot be used (%v).", err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, g, apiErr := e.authorizeRequest(&p, b2b, resolved)
	if apiErr != nil {
		return nil, apiErr
	}
	return f(&p, c, g)
}

// handleAuthorizeStart is authorize/start, consumer (b2b false) or B2B.
func (e *Emulator) handleAuthorizeStart(b2b bool) apiHandler {
	return func(r *http.Request, reqID string) (any, *session.APIError) {
		return e.authorizing(r, b2b, func(p *authorizeParams, c *caClient, g grantee) (any, *session.APIError) {
			results, apiErr := e.scopeResults(g, p.Scopes)
			if apiErr != nil {
				return nil, apiErr
			}
			// Granted before, these scopes or broader ones: no consent.
			granted, policy := e.caConsents[grantKey(g.id, c.id)], e.policyOf(g)
			consent := p.Prompt == "consent" || !c.firstParty() && slices.ContainsFunc(p.Scopes, func(s string) bool { return !scopeSatisfied(policy, granted, s) })
			out := map[string]any{"request_id": reqID, "status_code": http.StatusOK, "client": c.public(), "consent_required": consent, "scope_results": results}
			if g.mem != nil {
				out["member_id"], out["member"], out["organization"] = g.id, e.memberModel(g.mem), e.orgModel(e.org(g))
			} else {
				out["user_id"], out["user"] = g.id, e.userModel(g.user)
			}
			return out, nil
		})
	}
}

// handleAuthorize is authorize, consumer (b2b false) or B2B.
func (e *Emulator) handleAuthorize(b2b bool) apiHandler {
	return func(r *http.Request, reqID string) (any, *session.APIError) {
		return e.authorizing(r, b2b, func(p *authorizeParams, c *caClient, g grantee) (any, *session.APIError) {
			return e.decideAuthorization(p, c, g, reqID, e.issuerFor(r))
		})
	}
}

// decideAuthorization records a decision and answers the redirect: the
// authorization response, which carries issuer as iss whether it grants or
// refuses (RFC 9207, 2). The caller holds e.mu.
func (e *Emulator) decideAuthorization(p *authorizeParams, c *caClient, g grantee, reqID, issuer string) (any, *session.APIError) {
	redirect := func(q url.Values) map[string]any {
		if p.State != "" {
			q.Set("state", p.State)
		}
		q.Set("iss", issuer)
		sep := "?"
		if strings.Contains(p.RedirectURI, "?") {
			sep = "&"
		}
		return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "redirect_uri": p.RedirectURI + sep + q.Encode(), "authorization_code": q.Get("code")}
	}
	if !p.ConsentGranted {
		return redirect(url.Values{"error": {OAuthAccessDenied}, "error_description": {"The user denied the request."}}), nil
	}
	if p.CodeChallenge == "" {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidRequest, "code_challenge is required: PKCE (S256) is required of every client.")
	}
	resources, msg := checkResources(p.Resources)
	if msg != "" {
		return redirect(url.Values{"error": {OAuthInvalidTarget}, "error_description": {msg}}), nil
	}
	results, apiErr := e.scopeResults(g, p.Scopes)
	if apiErr != nil {
		return nil, apiErr
	}
	var scopes []string
	for _, s := range results {
		if s.IsGrantable {
			scopes = append(scopes, s.Scope) // a scope the person may not grant is left out
		}
	}
	key := grantKey(g.id, c.id)
	e.caConsents[key] = appendUnique(e.caConsents[key], scopes...)
	delete(e.caRevoked, key)
	e.sweep()
	code := randomToken(32)
	e.caCodes[digest(code)] = &caCode{clientID: c.id, subject: g.id, redirectURI: p.RedirectURI, challenge: p.CodeChallenge, scopes: scopes,
		resources: resources, expires: e.now().Add(AuthorizationCodeLifetime)}
	return redirect(url.Values{"code": {code}}), nil
}

// clientAuth is a token, introspection or revocation request's client
// credentials, from the body or Basic auth (RFC 6749 2.3.1).
func clientAuth(r *http.Request, form url.Values) (id, secret string) {
	id, secret = form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && secret == "" {
		id, secret = u, p
	}
	return id, secret
}

// authenticateClient checks a Connected Apps client's credentials: a
// confidential client's secret, or none for a public one (every client of
// a metadata document, resolved beforehand). The caller holds e.mu.
func (e *Emulator) authenticateClient(id, secret string, resolved *caClient) (*caClient, *session.APIError) {
	c := e.lookupClient(id, resolved)
	switch {
	case c == nil:
		return nil, apiError(http.StatusUnauthorized, OAuthInvalidClient, "No Connected App client matches client_id.")
	case c.confidential:
		d := digest(secret)
		if subtle.ConstantTimeCompare(d[:], c.secret[:]) != 1 {
			return nil, apiError(http.StatusUnauthorized, OAuthInvalidClient, "The client_secret is not valid.")
		}
	case secret != "":
		return nil, apiError(http.StatusUnauthorized, OAuthInvalidClient, "A public client has no client_secret.")
	}
	return c, nil
}

// readForm reads a form-encoded (or JSON) OAuth request body.
func readForm(r *http.Request) (url.Values, *session.APIError) {
	if err := r.ParseForm(); err != nil {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidRequest, "The request body is not a valid form.")
	}
	return r.PostForm, nil
}

// handleToken is the token endpoint: M2M's client_credentials, and
// Connected Apps' authorization_code and refresh_token.
func (e *Emulator) handleToken(r *http.Request, reqID string) (any, *session.APIError) {
	if p := r.PathValue("project_id"); p != "" && p != e.projectID {
		return nil, apiError(http.StatusNotFound, OAuthInvalidRequest, "No project matches the project_id in the path.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidRequest, "The request body could not be read.")
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		if form, err := url.ParseQuery(string(body)); err == nil {
			switch form.Get("grant_type") {
			case "authorization_code", "refresh_token":
				return e.connectedAppToken(r, form, reqID)
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // client_credentials: M2M's, which reads it again
	return e.handleM2MToken(r, reqID)
}

type caTokenResponse struct {
	RequestID    string `json:"request_id"`
	StatusCode   int    `json:"status_code"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (e *Emulator) connectedAppToken(r *http.Request, form url.Values, reqID string) (any, *session.APIError) {
	id, secret := clientAuth(r, form)
	resolved, err := e.resolveClient(r.Context(), id)
	if err != nil {
		return nil, apiError(http.StatusUnauthorized, OAuthInvalidClient, fmt.Sprintf("The client's metadata document cannot be used (%v).", err))
	}
	asked, msg := checkResources(form["resource"])
	if msg != "" {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidTarget, msg)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, apiErr := e.authenticateClient(id, secret, resolved)
	if apiErr != nil {
		return nil, apiErr
	}
	invalid := func(msg string) (any, *session.APIError) {
		return nil, apiError(http.StatusBadRequest, OAuthInvalidGrant, msg)
	}
	// RFC 8707, 2.2: a token request may name some of the resources the
	// grant is for, never another; without any, the token is for all of them.
	target := func(granted []string) ([]string, *session.APIError) {
		for _, res := range asked {
			if !slices.Contains(granted, res) {
				return nil, apiError(http.StatusBadRequest, OAuthInvalidTarget, fmt.Sprintf("resource %.80q was not authorized for this grant.", res))
			}
		}
		if len(asked) > 0 {
			return asked, nil
		}
		return granted, nil
	}
	now := e.now()
	var subject string
	var scopes, resources []string // of this access token
	grant := &caRefresh{clientID: c.id}
	if form.Get("grant_type") == "authorization_code" {
		d := digest(form.Get("code"))
		code := e.caCodes[d]
		delete(e.caCodes, d) // one use, whatever comes of it
		verifier := form.Get("code_verifier")
		switch {
		case code == nil || code.clientID != c.id || !now.Before(code.expires):
			return invalid("The authorization code is not valid, or was used, or has expired.")
		case form.Get("redirect_uri") != code.redirectURI:
			return invalid("redirect_uri is not the one the code was issued for.")
		case len(verifier) < 43 || len(verifier) > 128:
			return invalid("code_verifier must be 43 to 128 characters (RFC 7636).")
		}
		sum := sha256.Sum256([]byte(verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.challenge)) != 1 {
			return invalid("code_verifier does not match the code_challenge (S256).")
		}
		if resources, apiErr = target(code.resources); apiErr != nil {
			return nil, apiErr
		}
		subject, scopes = code.subject, code.scopes
		grant.subject, grant.scopes, grant.resources = code.subject, code.scopes, code.resources
	} else {
		d := digest(form.Get("refresh_token"))
		rt := e.caRefresh[d]
		switch {
		case rt == nil || rt.clientID != c.id:
			return invalid("The refresh token is not valid.")
		case rt.used:
			e.revokeGrant(rt.subject, rt.clientID) // a rotated token came back: it leaked
			return invalid("The refresh token was used already; the grant is revoked.")
		case !now.Before(rt.expires):
			delete(e.caRefresh, d)
			return invalid("The refresh token has expired.")
		}
		// A narrower request, checked before the token is spent: scopes
		// the grant holds, or that a scope it holds implies.
		scopes = rt.scopes
		if want := strings.Fields(form.Get("scope")); len(want) > 0 {
			g, _ := e.granteeOf(rt.subject)
			for _, s := range want {
				if !scopeSatisfied(e.policyOf(g), rt.scopes, s) {
					return nil, apiError(http.StatusBadRequest, OAuthInvalidScope, fmt.Sprintf("Scope %.80q was not granted.", s))
				}
			}
			scopes = want
		}
		if resources, apiErr = target(rt.resources); apiErr != nil {
			return nil, apiErr
		}
		rt.used = true
		subject = rt.subject
		grant.subject, grant.scopes, grant.resources = rt.subject, rt.scopes, rt.resources
	}
	g, ok := e.granteeOf(subject)
	if !ok {
		return invalid("The user or member is gone.")
	}
	tok, apiErr := e.signAccessToken(e.issuerFor(r), g, c, scopes, resources)
	if apiErr != nil {
		return nil, apiErr
	}
	out := &caTokenResponse{RequestID: reqID, StatusCode: http.StatusOK, AccessToken: tok, TokenType: "bearer",
		ExpiresIn: int(c.accessTokenLifetime() / time.Second), Scope: strings.Join(scopes, " ")}
	if slices.Contains(grant.scopes, "offline_access") {
		// The next refresh token holds the grant as it was (RFC 6749, 6).
		out.RefreshToken = randomToken(32)
		grant.expires = now.Add(RefreshTokenLifetime)
		e.caRefresh[digest(out.RefreshToken)] = grant
	}
	return out, nil
}

// signAccessToken signs a Connected Apps access token for resources. The
// caller holds e.mu.
func (e *Emulator) signAccessToken(issuer string, g grantee, c *caClient, scopes, resources []string) (string, *session.APIError) {
	now, clientID, subject := e.now(), c.id, g.id
	claims := jwt.MapClaims{
		"iss": issuer, "sub": subject, "aud": e.audience(c, resources), "client_id": clientID,
		"scope": strings.Join(scopes, " "), "jti": newUUID(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(c.accessTokenLifetime()).Unix(),
	}
	if o := e.org(g); o != nil {
		claims[ClaimOrganization] = map[string]any{"organization_id": o.id, "slug": o.slug}
	}
	tok, err := sign(claims, e.keys[len(e.keys)-1])
	if err != nil {
		return "", apiError(http.StatusInternalServerError, "internal_server_error", "The token could not be signed.")
	}
	return tok, nil
}

// activeAccessToken returns the claims of an access token the project
// signed, unexpired, whose grant stands. The caller holds e.mu.
func (e *Emulator) activeAccessToken(tok string) jwt.MapClaims {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, e.publicKey, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(e.now),
		jwt.WithAudience(e.projectID), jwt.WithExpirationRequired())
	if err != nil {
		return nil
	}
	sub, _ := claims["sub"].(string)
	client, _ := claims["client_id"].(string)
	if client == "" || client == sub || e.caRevokedJTI[fmt.Sprint(claims["jti"])] {
		return nil
	}
	if revoked, ok := e.caRevoked[grantKey(sub, client)]; ok {
		if iat, err := claims.GetIssuedAt(); err == nil && !iat.After(revoked) {
			return nil
		}
	}
	return claims
}

// accessGrant finds whom an access token exchange_access_token receives
// acts for: an opaque one IssueAccessToken registered, or an active
// Connected Apps access token. The caller holds e.mu.
func (e *Emulator) accessGrant(tok string) (subjectRef, bool) {
	if ref, ok := e.accessToks[tok]; ok {
		return ref, true
	}
	claims := e.activeAccessToken(tok)
	if claims == nil {
		return subjectRef{}, false
	}
	sub, _ := claims["sub"].(string)
	client, _ := claims["client_id"].(string)
	return subjectRef{id: sub, clientID: client}, true
}

// sweep drops the codes and refresh tokens past their expiry, so that a
// long-running emulator keeps only live ones. The caller holds e.mu.
func (e *Emulator) sweep() {
	now := e.now()
	for d, c := range e.caCodes {
		if !now.Before(c.expires) {
			delete(e.caCodes, d)
		}
	}
	for d, rt := range e.caRefresh {
		if !now.Before(rt.expires) {
			delete(e.caRefresh, d)
		}
	}
}

// publicKey is a jwt.Keyfunc of the project's keys, retired ones included.
// The caller holds e.mu.
func (e *Emulator) publicKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if k := e.keyByID(kid); k != nil {
		return &k.priv.PublicKey, nil
	}
	return nil, errors.New("unknown kid")
}

// handleIntrospect is RFC 7662's introspection, for a Connected Apps
// client: active and the token's claims, or active false alone.
func (e *Emulator) handleIntrospect(r *http.Request, reqID string) (any, *session.APIError) {
	return e.clientRequest(r, func(form url.Values, _ *caClient) (any, *session.APIError) {
		claims := e.activeAccessToken(form.Get("token"))
		if claims == nil {
			return map[string]any{"active": false, "request_id": reqID, "status_code": http.StatusOK}, nil
		}
		out := map[string]any{"active": true, "token_type": "access_token", "request_id": reqID, "status_code": http.StatusOK}
		maps.Copy(out, claims)
		return out, nil
	})
}

// clientRequest reads a form a Connected Apps client sends with its
// credentials, authenticates the client, and runs f with e.mu held.
func (e *Emulator) clientRequest(r *http.Request, f func(form url.Values, c *caClient) (any, *session.APIError)) (any, *session.APIError) {
	form, apiErr := readForm(r)
	if apiErr != nil {
		return nil, apiErr
	}
	id, secret := clientAuth(r, form)
	resolved, err := e.resolveClient(r.Context(), id)
	if err != nil {
		return nil, apiError(http.StatusUnauthorized, OAuthInvalidClient, fmt.Sprintf("The client's metadata document cannot be used (%v).", err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, apiErr := e.authenticateClient(id, secret, resolved)
	if apiErr != nil {
		return nil, apiErr
	}
	return f(form, c)
}

// handleOAuthRevoke is RFC 7009's revocation: a refresh token ends its grant; an
// access token is inactive from then on to introspection. An unknown token
// is no error.
func (e *Emulator) handleOAuthRevoke(r *http.Request, reqID string) (any, *session.APIError) {
	return e.clientRequest(r, func(form url.Values, c *caClient) (any, *session.APIError) {
		tok := form.Get("token")
		if rt := e.caRefresh[digest(tok)]; rt != nil && rt.clientID == c.id {
			e.revokeGrant(rt.subject, c.id)
		} else if claims := e.activeAccessToken(tok); claims != nil && claims["client_id"] == c.id {
			e.caRevokedJTI[fmt.Sprint(claims["jti"])] = true
		}
		return map[string]any{"request_id": reqID, "status_code": http.StatusOK}, nil
	})
}

// handleUserConnectedAppRevoke is /v1/users/{user_id}/connected_apps/{connected_app_id}/revoke,
// and the B2B member's under /v1/b2b/organizations/{organization_id}/members/{member_id}/.
func (e *Emulator) handleUserConnectedAppRevoke(r *http.Request, reqID string) (any, *session.APIError) {
	subject := r.PathValue("user_id")
	if subject == "" {
		subject = r.PathValue("member_id")
		e.mu.Lock()
		m := e.members[subject]
		e.mu.Unlock()
		if m == nil || m.orgID != r.PathValue("organization_id") {
			return nil, apiError(http.StatusNotFound, "member_not_found", "Member could not be found in that organization.")
		}
	}
	if err := e.RevokeConnectedApp(subject, r.PathValue("connected_app_id")); err != nil {
		return nil, apiError(http.StatusNotFound, "connected_app_not_found", "No Connected App client matches connected_app_id.")
	}
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK}, nil
}

// IssueConnectedAppTokenAs returns an access token issued to clientID for
// the user subjectID with scopes, as the token endpoint would after the
// user consented, the domain at issuer ("" means the project's issuer;
// Server.IssueConnectedAppToken uses the server's URL). The consent is
// recorded. IssueConnectedAppTokenWith also names resources.
func (e *Emulator) IssueConnectedAppTokenAs(issuer, subjectID, clientID string, scopes ...string) (string, error) {
	return e.IssueConnectedAppTokenWith(ConnectedAppTokenParams{Issuer: issuer, SubjectID: subjectID, ClientID: clientID, Scopes: scopes})
}

// ConnectedAppTokenParams is an access token IssueConnectedAppTokenWith
// mints: what a grant would hold.
type ConnectedAppTokenParams struct {
	// Issuer is the token's iss, the project domain it came through; ""
	// means the project's issuer (Emulator.Issuer).
	Issuer string
	// SubjectID is the user or member the token acts for.
	SubjectID string
	// ClientID is the Connected Apps client it was issued to: a registered
	// one, or the URL of a Client ID Metadata Document (fetched if not
	// held).
	ClientID string
	// Scopes are the scopes granted.
	Scopes []string
	// Resources are the RFC 8707 resources the token is for: aud holds
	// them after the project id (and the client's custom audience).
	Resources []string
}

// IssueConnectedAppTokenWith returns an access token as the token endpoint
// would issue it after the person consented to p.Scopes for p.Resources.
// The consent is recorded.
func (e *Emulator) IssueConnectedAppTokenWith(p ConnectedAppTokenParams) (string, error) {
	resources, msg := checkResources(p.Resources)
	if msg != "" {
		return "", fmt.Errorf("stytchtest: %s", msg)
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cimd.cfg.Timeout)
	defer cancel()
	resolved, err := e.resolveClient(ctx, p.ClientID)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupClient(p.ClientID, resolved)
	g, ok := e.granteeOf(p.SubjectID)
	switch {
	case c == nil:
		return "", fmt.Errorf("connected app %s: %w", p.ClientID, ErrNotFound)
	case !ok:
		return "", fmt.Errorf("user or member %s: %w", p.SubjectID, ErrNotFound)
	}
	issuer := cmp.Or(p.Issuer, e.issuer)
	key := grantKey(p.SubjectID, c.id)
	e.caConsents[key] = appendUnique(e.caConsents[key], p.Scopes...)
	delete(e.caRevoked, key)
	tok, apiErr := e.signAccessToken(issuer, g, c, p.Scopes, resources)
	if apiErr != nil {
		return "", fmt.Errorf("stytchtest: %s", apiErr.ErrorMessage)
	}
	return tok, nil
}
