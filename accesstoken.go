package stytchguard

import (
	"context"
	"slices"
	"time"
)

// AccessTokenAuth is a verified Connected Apps access token as a resource
// server's guard puts it in a request's context: an OAuth 2.1 access token
// that Stytch, as the project's authorization server, issued to a client
// (a third-party app, an AI agent, an MCP client) acting for one of the
// project's users (B2B: members), with the scopes that person granted it.
type AccessTokenAuth struct {
	// Subject is the person the client acts for: a user id, or a B2B
	// member id (the token's sub).
	Subject string
	// ClientID is the Connected App client the token was issued to.
	ClientID string
	// Scopes are the scopes granted, in the order of the token's scope
	// claim.
	Scopes []string
	// OrganizationID is the member's organization on a B2B project, when
	// the token names one; "" otherwise.
	OrganizationID string
	// TokenID is the token's jti.
	TokenID string
	// Issuer is the token's iss: the authorization server (the project's
	// domain) that issued it.
	Issuer string
	// Audience is the token's aud, in its order: the project id, then any
	// audience the token was issued for besides (the client's
	// access_token_custom_audience, the resources it was requested for
	// with RFC 8707's resource). Nil when an introspection answer named
	// none. A protected resource takes only a token whose aud names no
	// other resource (middleware.ProtectedResource.Audiences).
	Audience []string
	// CustomClaims are the token's claims other than the registered ones,
	// scope and client_id. Never nil.
	CustomClaims map[string]any
	// IssuedAt and ExpiresAt are the token's iat and exp.
	IssuedAt, ExpiresAt time.Time
	// Source is how the token was verified: SourceLocal against the key
	// set, SourceStytch by Stytch's introspection endpoint.
	Source Source
}

// HasScopes reports whether the token grants every one of required. A
// Connected Apps scope is granted only by name, as Stytch's authorization
// check takes it: "read:*" does not grant "read:notes" (unlike M2M scopes,
// see MachineAuth.HasScopes).
func (a *AccessTokenAuth) HasScopes(required ...string) bool {
	for _, r := range required {
		if !slices.Contains(a.Scopes, r) {
			return false
		}
	}
	return true
}

// NewAccessTokenContext returns a copy of ctx carrying a.
func NewAccessTokenContext(ctx context.Context, a *AccessTokenAuth) context.Context {
	return with(ctx, func(c *authValue) { c.access = a })
}

// AccessTokenFromContext returns the Connected Apps access token in ctx, if
// the request was authenticated by one.
func AccessTokenFromContext(ctx context.Context) (*AccessTokenAuth, bool) {
	if c := from(ctx); c != nil && c.access != nil {
		return c.access, true
	}
	return nil, false
}
