package session

import (
	"context"
	"net/http"
	"net/url"
)

// ConsumerClient calls the consumer Sessions and RBAC endpoints. Get one from
// New; its zero value is not usable.
type ConsumerClient struct {
	t *transport
}

// AuthenticateParams is the body of POST /v1/sessions/authenticate. Set
// exactly one of SessionToken and SessionJWT.
type AuthenticateParams struct {
	SessionToken string `json:"session_token,omitempty"`
	SessionJWT   string `json:"session_jwt,omitempty"`
	// SessionDurationMinutes, when non-zero, extends the session to now plus
	// this many minutes (5 to 527040). Zero leaves the expiry alone.
	SessionDurationMinutes int `json:"session_duration_minutes,omitempty"`
	// SessionCustomClaims are merged into the session's claims; a nil value
	// deletes that claim.
	SessionCustomClaims map[string]any `json:"session_custom_claims,omitempty"`
	// AuthorizationCheck, when set, also asks whether the session may act;
	// a denial is a 403 (kindForbidden).
	AuthorizationCheck *AuthorizationCheck `json:"authorization_check,omitempty"`
}

// AuthenticateResponse is the answer to a successful authenticate.
type AuthenticateResponse struct {
	RequestID  string  `json:"request_id"`
	StatusCode int     `json:"status_code"`
	Session    Session `json:"session"`
	// SessionToken is "" when the call authenticated a JWT only.
	SessionToken string `json:"session_token"`
	// SessionJWT is a freshly minted JWT for the session.
	SessionJWT string   `json:"session_jwt"`
	User       User     `json:"user"`
	Verdict    *Verdict `json:"verdict,omitempty"`
}

// ListResponse lists a user's active sessions.
type ListResponse struct {
	RequestID  string    `json:"request_id"`
	Sessions   []Session `json:"sessions"`
	StatusCode int       `json:"status_code"`
}

// RevokeParams is the body of POST /v1/sessions/revoke. Set exactly one field.
type RevokeParams struct {
	SessionID    string `json:"session_id,omitempty"`
	SessionToken string `json:"session_token,omitempty"`
	SessionJWT   string `json:"session_jwt,omitempty"`
}

// revokeResponse is the answer to a successful revoke.
type revokeResponse struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// jwksResponse is a project's JSON Web Key Set.
type jwksResponse struct {
	Keys       []JWK  `json:"keys"`
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// policyResponse carries a project's RBAC policy (consumer or B2B).
type policyResponse struct {
	RequestID  string  `json:"request_id"`
	StatusCode int     `json:"status_code"`
	Policy     *Policy `json:"policy,omitempty"`
}

// Authenticate checks a session token or JWT with Stytch and, on success,
// returns the session, its user and a fresh JWT.
func (c *ConsumerClient) Authenticate(ctx context.Context, p AuthenticateParams) (*AuthenticateResponse, error) {
	return doJSON[AuthenticateResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/sessions/authenticate", body: p, idempotent: true})
}

// List returns the user's active sessions (Stytch's "get sessions").
func (c *ConsumerClient) List(ctx context.Context, userID string) (*ListResponse, error) {
	q := url.Values{"user_id": {userID}}
	return doJSON[ListResponse](ctx, c.t, call{method: http.MethodGet, path: "/v1/sessions", query: q, idempotent: true})
}

// Revoke ends a session at once: every token and JWT of it stops
// authenticating at Stytch.
func (c *ConsumerClient) Revoke(ctx context.Context, p RevokeParams) error {
	_, err := doJSON[revokeResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/sessions/revoke", body: p, idempotent: true})
	return err
}

// JWKS fetches the project's consumer session JWT signing keys.
func (c *ConsumerClient) JWKS(ctx context.Context) ([]JWK, error) {
	return jwks(ctx, c.t, "/v1/sessions/jwks/")
}

// jwks fetches the keys served under prefix, without credentials.
func jwks(ctx context.Context, t *transport, prefix string) ([]JWK, error) {
	res, err := doJSON[jwksResponse](ctx, t, call{method: http.MethodGet, path: prefix + url.PathEscape(t.projectID), idempotent: true, noAuth: true})
	if err != nil {
		return nil, err
	}
	return res.Keys, nil
}

// Policy fetches the project's consumer RBAC policy.
func (c *ConsumerClient) Policy(ctx context.Context) (*Policy, error) {
	return policy(ctx, c.t, "/v1/rbac/policy")
}

// policy fetches a project's RBAC policy from path.
func policy(ctx context.Context, t *transport, path string) (*Policy, error) {
	res, err := doJSON[policyResponse](ctx, t, call{method: http.MethodGet, path: path, idempotent: true})
	if err != nil {
		return nil, err
	}
	return res.Policy, nil
}
