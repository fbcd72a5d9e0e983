package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
)

// ProtectedResource describes an API or MCP server that takes Connected
// Apps access tokens: the resource an OAuth client asks Stytch, the
// authorization server, for access to. See Middleware.Resource.
type ProtectedResource struct {
	// URL identifies the resource (RFC 9728's resource): the absolute
	// https URL its clients call, "https://notes.example.com/mcp"; http
	// only for localhost. Required.
	URL string
	// AuthorizationServers are the issuers of its access tokens: the
	// project's domain ("https://<noun>-<verb>-<n>.customers.stytch.dev")
	// or custom domain, each accepted by the middleware's Verifier
	// (Verification.Issuers). Empty means the Client's BaseURL, when it is
	// not Stytch's own API host (the emulator plays the domain).
	AuthorizationServers []string
	// Scopes are the scopes the resource knows, advertised as
	// scopes_supported; a client asks for them. Include offline_access for
	// clients to get refresh tokens.
	Scopes []string
	// Name is a name for people (resource_name). Optional.
	Name string
}

// Resource guards a protected resource's routes with Connected Apps access
// tokens and serves its metadata (RFC 9728). Build one with
// Middleware.Resource.
type Resource struct {
	m           *Middleware
	cfg         ProtectedResource
	metadataURL string
	metadata    []byte
}

// Resource returns the guard and metadata of a protected resource: an API
// or MCP server that third-party apps and AI agents call with access
// tokens Stytch issued through Connected Apps, acting for one of the
// project's users with the scopes the user granted. The tokens are
// verified locally, with the same key set, cache and rules as session
// JWTs: a token seen before costs a cache lookup, and a forged one, or one
// signed by a key not in the set, costs no call to Stytch.
func (m *Middleware) Resource(cfg ProtectedResource) (*Resource, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("middleware: ProtectedResource.URL: required: the URL clients call")
	case err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.RawQuery != "":
		return nil, fmt.Errorf("middleware: ProtectedResource.URL: %q is not an absolute URL without query or fragment", cfg.URL)
	case u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1")):
		return nil, fmt.Errorf("middleware: ProtectedResource.URL: %q: https is required, but on localhost", cfg.URL)
	}
	cfg.AuthorizationServers = slices.Clone(cfg.AuthorizationServers)
	if len(cfg.AuthorizationServers) == 0 {
		base := m.cfg.Client.BaseURL()
		if base == "https://api.stytch.com" || base == "https://test.stytch.com" {
			return nil, errors.New("middleware: ProtectedResource.AuthorizationServers: required with Stytch's API host: the project's domain, from the dashboard's Project overview")
		}
		cfg.AuthorizationServers = []string{base}
	}
	for i, s := range cfg.AuthorizationServers {
		cfg.AuthorizationServers[i] = strings.TrimRight(s, "/")
		if !m.verifier.AcceptsIssuer(cfg.AuthorizationServers[i]) {
			return nil, fmt.Errorf("middleware: ProtectedResource.AuthorizationServers[%d]: %q is not an issuer the Verifier accepts: add it to Verification.Issuers", i, s)
		}
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	r := &Resource{m: m, cfg: cfg}
	// RFC 9728 3.1: the well-known path goes between the host and the
	// resource's own path.
	r.metadataURL = u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + strings.TrimRight(u.EscapedPath(), "/")
	r.metadata, err = json.Marshal(struct {
		Resource               string   `json:"resource"`
		AuthorizationServers   []string `json:"authorization_servers"`
		ScopesSupported        []string `json:"scopes_supported,omitempty"`
		BearerMethodsSupported []string `json:"bearer_methods_supported"`
		ResourceName           string   `json:"resource_name,omitempty"`
	}{cfg.URL, cfg.AuthorizationServers, cfg.Scopes, []string{"header"}, cfg.Name})
	if err != nil {
		return nil, fmt.Errorf("middleware: ProtectedResource: %w", err)
	}
	return r, nil
}

// MetadataURL is where the resource's metadata is served, as the
// refusals' challenges name it (resource_metadata): the resource's host,
// then /.well-known/oauth-protected-resource, then the resource's path.
func (r *Resource) MetadataURL() string { return r.metadataURL }

// MetadataPath is MetadataURL's path, to route MetadataHandler at.
func (r *Resource) MetadataPath() string {
	u, _ := url.Parse(r.metadataURL) // built by Resource
	return u.Path
}

// MetadataHandler serves the resource's metadata (RFC 9728): its URL, the
// authorization servers, the scopes and the bearer method, to any origin
// (clients discover it from browsers too). Route it at MetadataPath.
func (r *Resource) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch req.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "GET, HEAD")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(r.metadata)
	})
}

// Require returns a guard for the resource's routes: the request must carry,
// as "Authorization: Bearer", a Connected Apps access token of the project,
// from one of the AuthorizationServers, granting every one of scopes (by
// name: stytchguard.AccessTokenAuth.HasScopes). The token is put in the
// context (stytchguard.AccessTokenFromContext). Refusals carry RFC 6750
// challenges naming the metadata (resource_metadata) and the scopes:
//   - no credential: 401, from which a client discovers the authorization
//     server;
//   - a token that is not a valid access token (forged, expired, another
//     project's, a session JWT, an M2M token, an opaque token, a cookie):
//     401 invalid_token, decided here without asking Stytch;
//   - a valid token without the scopes: 403 insufficient_scope;
//   - no key set held yet to verify with: 503, with Retry-After.
//
// With no scopes, any valid access token will do. Permissions beyond scopes
// are the app's: a token acts for its subject with at most what the
// subject's roles allow, since Stytch lets a person grant only the scopes
// whose permissions their roles hold (scope_results' is_grantable), but a
// role taken away later stays in an issued token's scopes until its exp.
func (r *Resource) Require(scopes ...string) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	m := r.m
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !m.cfg.CrossOrigin.RefusePreflights && isPreflight(req) {
				next.ServeHTTP(w, req)
				return
			}
			// The token's auth is written here, on this stack: the
			// request's one context value is its only copy on the heap.
			var local auth
			a, e := r.resolve(req, scopes, &local)
			if m.cfg.Hooks.Decided != nil {
				m.decided(req.Context(), time.Time{}, a, e) // never asks Stytch
			}
			if e != nil {
				m.refuse(w, req, e)
				return
			}
			next.ServeHTTP(w, req.WithContext(m.context(req.Context(), a)))
		})
	}
}

// resolve is the pipeline for the resource's routes: only an access token
// that verifies locally, as a Bearer credential, from one of the
// authorization servers, with scopes, is let through, written to dst;
// nothing is asked of Stytch.
func (r *Resource) resolve(req *http.Request, scopes []string, dst *auth) (*auth, *stytchguard.Refusal) {
	refuse := func(status int, code, msg, why string, err error) (*auth, *stytchguard.Refusal) {
		return nil, &stytchguard.Refusal{Status: status, Code: code, Message: msg, Diagnosis: why, Err: err,
			TokenPresented: code != stytchguard.CodeUnauthenticated, Scopes: scopes, ResourceMetadata: r.metadataURL}
	}
	cred, e := r.m.extract(req)
	switch {
	case e != nil:
		e.ResourceMetadata = r.metadataURL
		return nil, e
	case cred.Empty():
		return refuse(http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "an access token is required",
			"no Authorization: Bearer header", nil)
	case cred.From != fromHeader:
		return refuse(http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "an access token is required",
			"a session cookie came; an access token comes as Authorization: Bearer", nil)
	case cred.JWT == "":
		return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"an opaque token came; Connected Apps access tokens are JWTs", nil)
	}
	j := r.m.judge(req.Context(), cred)
	switch {
	case j.accessToken() && j.outcome == nil:
		a := j.verified.AccessToken
		if !slices.Contains(r.cfg.AuthorizationServers, a.Issuer) {
			return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
				fmt.Sprintf("issuer %q is not an authorization server of this resource (%s)", a.Issuer, strings.Join(r.cfg.AuthorizationServers, ", ")), nil)
		}
		if !a.HasScopes(scopes...) {
			return refuse(http.StatusForbidden, stytchguard.CodeInsufficientScope, "the access token lacks scope "+strings.Join(scopes, " and "),
				"the token of client "+a.ClientID+" grants "+strings.Join(a.Scopes, " "), nil)
		}
		if r.m.cfg.Hooks.Local != nil {
			r.m.cfg.Hooks.Local()
		}
		*dst = auth{access: a, expires: a.ExpiresAt}
		return dst, nil
	case j.accessToken() && j.outcome == jwtlocal.ErrIssuerUnknown:
		return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid", j.err.Error(), j.err)
	case j.accessToken():
		return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is expired or not valid yet", j.err.Error(), j.err)
	case j.outcome == jwtlocal.ErrKeyUnknown:
		e := r.m.errNoKeys(j.err)
		e.ResourceMetadata = r.metadataURL
		return nil, e
	case j.machine():
		return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"an M2M access token came; this resource takes a Connected App's access token, acting for a person", nil)
	case j.session():
		return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid",
			"a session JWT came; this resource takes a Connected App's access token", nil)
	}
	return refuse(http.StatusUnauthorized, stytchguard.CodeInvalidToken, "the access token is not valid", errString(j.err), j.err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// accessToken admits, on the session routes (Authenticate), a Connected
// Apps access token that verified as a Bearer credential: it goes on in
// stytchguard.AccessTokenFromContext, never as a person's session (Require
// refuses it with 403). Anything else about one is a 401: Stytch's
// authenticate takes no access token.
func (m *Middleware) accessToken(cred credential, v *jwtlocal.Verified, err error) (*auth, *stytchguard.Refusal) {
	if err == nil && cred.From == fromHeader {
		return &auth{access: v.AccessToken, expires: v.AccessToken.ExpiresAt}, nil
	}
	return nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the access token is not valid here", TokenPresented: true, Err: err}
}
