package session

import (
	"context"
	"net/http"
	"net/url"
)

// B2BClient calls the B2B member Sessions and RBAC endpoints. Get one from
// New; its zero value is not usable.
type B2BClient struct {
	t *transport
}

// B2BAuthenticateParams is the body of POST /v1/b2b/sessions/authenticate.
// Set exactly one of SessionToken and SessionJWT.
type B2BAuthenticateParams struct {
	SessionToken string `json:"session_token,omitempty"`
	SessionJWT   string `json:"session_jwt,omitempty"`
	// SessionDurationMinutes, when non-zero, extends the session to now plus
	// this many minutes (5 to 527040).
	SessionDurationMinutes int `json:"session_duration_minutes,omitempty"`
	// SessionCustomClaims are merged into the session's claims; a nil value
	// deletes that claim.
	SessionCustomClaims map[string]any `json:"session_custom_claims,omitempty"`
	// AuthorizationCheck, with OrganizationID set, also asks whether the
	// member may act in that organization.
	AuthorizationCheck *AuthorizationCheck `json:"authorization_check,omitempty"`
}

// B2BAuthenticateResponse is the answer to a successful B2B authenticate.
type B2BAuthenticateResponse struct {
	RequestID     string        `json:"request_id"`
	MemberSession MemberSession `json:"member_session"`
	// SessionToken is "" when the call authenticated a JWT only.
	SessionToken string       `json:"session_token"`
	SessionJWT   string       `json:"session_jwt"`
	Member       Member       `json:"member"`
	Organization Organization `json:"organization"`
	StatusCode   int          `json:"status_code"`
	Verdict      *Verdict     `json:"verdict,omitempty"`
}

// B2BListResponse lists a member's active sessions.
type B2BListResponse struct {
	RequestID      string          `json:"request_id"`
	MemberSessions []MemberSession `json:"member_sessions"`
	StatusCode     int             `json:"status_code"`
}

// B2BRevokeParams is the body of POST /v1/b2b/sessions/revoke. Set exactly one
// field; MemberID revokes every session of that member.
type B2BRevokeParams struct {
	MemberSessionID string `json:"member_session_id,omitempty"`
	SessionToken    string `json:"session_token,omitempty"`
	SessionJWT      string `json:"session_jwt,omitempty"`
	MemberID        string `json:"member_id,omitempty"`
}

// B2BExchangeParams moves a member's session into another organization the
// same person belongs to. Set one of SessionToken and SessionJWT.
type B2BExchangeParams struct {
	OrganizationID         string         `json:"organization_id"`
	SessionToken           string         `json:"session_token,omitempty"`
	SessionJWT             string         `json:"session_jwt,omitempty"`
	SessionDurationMinutes int            `json:"session_duration_minutes,omitempty"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims,omitempty"`
	Locale                 string         `json:"locale,omitempty"`
	TelemetryID            string         `json:"telemetry_id,omitempty"`
}

// B2BExchangeResponse is the answer to an exchange. When the target
// organization requires MFA, MemberAuthenticated is false,
// IntermediateSessionToken is set, and there is no session: MemberSession is
// nil and SessionToken and SessionJWT are "".
type B2BExchangeResponse struct {
	RequestID                string           `json:"request_id"`
	MemberID                 string           `json:"member_id"`
	SessionToken             string           `json:"session_token"`
	SessionJWT               string           `json:"session_jwt"`
	Member                   Member           `json:"member"`
	Organization             Organization     `json:"organization"`
	MemberAuthenticated      bool             `json:"member_authenticated"`
	IntermediateSessionToken string           `json:"intermediate_session_token"`
	StatusCode               int              `json:"status_code"`
	MemberSession            *MemberSession   `json:"member_session,omitempty"`
	MFARequired              *MFARequired     `json:"mfa_required,omitempty"`
	PrimaryRequired          *PrimaryRequired `json:"primary_required,omitempty"`
	MemberDevice             *DeviceInfo      `json:"member_device,omitempty"`
	// IntermediateSessionTokenExpiresAt is when IntermediateSessionToken
	// stops being good for the MFA step; null when there is none.
	IntermediateSessionTokenExpiresAt Time `json:"intermediate_session_token_expires_at"`
}

// B2BSessionResponse is the answer of the B2B endpoints that start a member
// session from another credential: exchange_access_token, attest and migrate.
type B2BSessionResponse struct {
	RequestID     string         `json:"request_id"`
	MemberID      string         `json:"member_id"`
	MemberSession *MemberSession `json:"member_session,omitempty"`
	SessionToken  string         `json:"session_token"`
	SessionJWT    string         `json:"session_jwt"`
	Member        Member         `json:"member"`
	Organization  Organization   `json:"organization"`
	StatusCode    int            `json:"status_code"`
	MemberDevice  *DeviceInfo    `json:"member_device,omitempty"`
}

// orgPolicyResponse carries one organization's custom roles.
type orgPolicyResponse struct {
	RequestID  string    `json:"request_id"`
	OrgPolicy  OrgPolicy `json:"org_policy"`
	StatusCode int       `json:"status_code"`
}

// Authenticate checks a member session token or JWT with Stytch and, on
// success, returns the session, member, organization and a fresh JWT.
func (c *B2BClient) Authenticate(ctx context.Context, p B2BAuthenticateParams) (*B2BAuthenticateResponse, error) {
	return doJSON[B2BAuthenticateResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/sessions/authenticate", body: p, idempotent: true})
}

// List returns a member's active sessions.
func (c *B2BClient) List(ctx context.Context, organizationID, memberID string) (*B2BListResponse, error) {
	q := url.Values{"organization_id": {organizationID}, "member_id": {memberID}}
	return doJSON[B2BListResponse](ctx, c.t, call{method: http.MethodGet, path: "/v1/b2b/sessions", query: q, idempotent: true})
}

// Revoke ends one member session, or all of a member's sessions.
func (c *B2BClient) Revoke(ctx context.Context, p B2BRevokeParams) error {
	_, err := doJSON[revokeResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/sessions/revoke", body: p, idempotent: true})
	return err
}

// Exchange moves the member's session into another organization.
func (c *B2BClient) Exchange(ctx context.Context, p B2BExchangeParams) (*B2BExchangeResponse, error) {
	return doJSON[B2BExchangeResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/sessions/exchange", body: p})
}

// JWKS fetches the project's B2B session JWT signing keys.
func (c *B2BClient) JWKS(ctx context.Context) ([]JWK, error) {
	return jwks(ctx, c.t, "/v1/b2b/sessions/jwks/")
}

// Policy fetches the project's B2B RBAC policy.
func (c *B2BClient) Policy(ctx context.Context) (*Policy, error) {
	return policy(ctx, c.t, "/v1/b2b/rbac/policy")
}

// OrgPolicy fetches one organization's custom roles.
func (c *B2BClient) OrgPolicy(ctx context.Context, organizationID string) (*OrgPolicy, error) {
	path := "/v1/b2b/rbac/organizations/" + url.PathEscape(organizationID)
	res, err := doJSON[orgPolicyResponse](ctx, c.t, call{method: http.MethodGet, path: path, idempotent: true})
	if err != nil {
		return nil, err
	}
	return &res.OrgPolicy, nil
}
