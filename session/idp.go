package session

import (
	"context"
	"net/http"
	"net/url"
)

// AuthorizeParams is the body of POST /v1/idp/oauth/authorize/start and
// POST /v1/idp/oauth/authorize (B2B: under /v1/b2b/): a Connected Apps
// client's authorization request, as the app's consent page received it,
// for the person signed in. Name the person with exactly one of UserID
// (B2B: OrganizationID and MemberID), SessionToken and SessionJWT.
type AuthorizeParams struct {
	ClientID       string   `json:"client_id"`
	RedirectURI    string   `json:"redirect_uri"`
	ResponseType   string   `json:"response_type"`
	Scopes         []string `json:"scopes"`
	UserID         string   `json:"user_id,omitempty"`
	OrganizationID string   `json:"organization_id,omitempty"`
	MemberID       string   `json:"member_id,omitempty"`
	SessionToken   string   `json:"session_token,omitempty"`
	SessionJWT     string   `json:"session_jwt,omitempty"`
	// Prompt "consent" asks for consent even when it was given before.
	Prompt string `json:"prompt,omitempty"`
	// ConsentGranted, State, Nonce, CodeChallenge and Resources are
	// Authorize's: whether the person approved, and the request's state,
	// nonce, PKCE challenge (S256) and RFC 8707 resources, passed on.
	ConsentGranted bool     `json:"consent_granted"`
	State          string   `json:"state,omitempty"`
	Nonce          string   `json:"nonce,omitempty"`
	CodeChallenge  string   `json:"code_challenge,omitempty"`
	Resources      []string `json:"resources,omitempty"`
}

// AuthorizeStart is Stytch's answer to an authorization request's start:
// who asks, for whom (the user; B2B: the member and their organization),
// and for what.
type AuthorizeStart struct {
	UserID       string        `json:"user_id,omitempty"`
	User         *User         `json:"user,omitempty"`
	MemberID     string        `json:"member_id,omitempty"`
	Member       *Member       `json:"member,omitempty"`
	Organization *Organization `json:"organization,omitempty"`
	Client       struct {
		ClientID          string `json:"client_id"`
		ClientName        string `json:"client_name"`
		ClientDescription string `json:"client_description"`
		ClientType        string `json:"client_type"`
		LogoURL           string `json:"logo_url"`
	} `json:"client"`
	// ConsentRequired: the person has not granted these scopes to this
	// client yet (or Prompt asked again); show them the consent page.
	ConsentRequired bool `json:"consent_required"`
	// ScopeResults say, for each scope asked for, whether the person may
	// grant it: their roles hold the permissions the scope carries.
	ScopeResults []ScopeResult `json:"scope_results"`
	RequestID    string        `json:"request_id"`
	StatusCode   int           `json:"status_code"`
}

// problem fails closed on a start Stytch would not answer: no envelope, no
// client, or no person. Read as consent given before, such an answer would
// send the browser on without asking.
func (a *AuthorizeStart) problem() string {
	switch {
	case a.Client.ClientID == "":
		return firstProblem(envelope(a.RequestID, a.StatusCode), "no client")
	case a.UserID == "" && a.MemberID == "":
		return firstProblem(envelope(a.RequestID, a.StatusCode), "no user_id or member_id")
	}
	return envelope(a.RequestID, a.StatusCode)
}

// ScopeResult is one scope of an authorization request.
type ScopeResult struct {
	Scope       string `json:"scope"`
	Description string `json:"description"`
	IsGrantable bool   `json:"is_grantable"`
}

// Authorization is Stytch's answer to a decided authorization request:
// where to send the person's browser back to the client, with the code
// (or, when consent was refused, the error).
type Authorization struct {
	RedirectURI       string `json:"redirect_uri"`
	AuthorizationCode string `json:"authorization_code"`
	RequestID         string `json:"request_id"`
	StatusCode        int    `json:"status_code"`
}

// problem fails closed on a decision Stytch would not answer: no envelope,
// or no absolute redirect URI to send the browser to.
func (a *Authorization) problem() string {
	if u, err := url.Parse(a.RedirectURI); err != nil || !u.IsAbs() {
		return firstProblem(envelope(a.RequestID, a.StatusCode), "no absolute redirect_uri")
	}
	return envelope(a.RequestID, a.StatusCode)
}

// AuthorizeStart starts a Connected Apps authorization request for a
// consumer project: Stytch checks the client and its redirect URI and says
// what the consent page must show. Show nothing, and redirect nowhere,
// when it fails: the redirect URI is not known to be the client's.
func (c *ConsumerClient) AuthorizeStart(ctx context.Context, p AuthorizeParams) (*AuthorizeStart, error) {
	return doJSON[AuthorizeStart](ctx, c.t, call{method: http.MethodPost, path: "/v1/idp/oauth/authorize/start", body: p})
}

// Authorize completes an authorization request with the person's decision
// (ConsentGranted): the answer's RedirectURI, carrying a one-time code and
// the state, is where to send their browser.
func (c *ConsumerClient) Authorize(ctx context.Context, p AuthorizeParams) (*Authorization, error) {
	return doJSON[Authorization](ctx, c.t, call{method: http.MethodPost, path: "/v1/idp/oauth/authorize", body: p})
}

// AuthorizeStart is ConsumerClient.AuthorizeStart for a B2B project's
// member: name them with OrganizationID and MemberID, or their member
// session.
func (c *B2BClient) AuthorizeStart(ctx context.Context, p AuthorizeParams) (*AuthorizeStart, error) {
	return doJSON[AuthorizeStart](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/idp/oauth/authorize/start", body: p})
}

// Authorize is ConsumerClient.Authorize for a B2B project's member.
func (c *B2BClient) Authorize(ctx context.Context, p AuthorizeParams) (*Authorization, error) {
	return doJSON[Authorization](ctx, c.t, call{method: http.MethodPost, path: "/v1/b2b/idp/oauth/authorize", body: p})
}

// IntrospectParams is the body of POST
// /v1/public/{project_id}/oauth2/introspect (RFC 7662): a token, and the
// credentials of the Connected Apps client asking (a confidential client's
// secret; none for a public one).
type IntrospectParams struct {
	Token        string
	ClientID     string
	ClientSecret string
}

// Introspection is Stytch's answer about an access token. Inactive, only
// Active is set: the token is unknown, expired, or its grant revoked.
type Introspection struct {
	Active   bool
	Subject  string
	ClientID string
	Scope    string // space-separated
	Issuer   string
	TokenID  string
	// Audience is the token's aud (RFC 7662 2.2), a list whether Stytch
	// sent a string or an array: the project id, and any audience the
	// token was issued for besides. Nil when the answer named none.
	Audience []string
	// IssuedAt and ExpiresAt are Unix seconds.
	IssuedAt, ExpiresAt int64
}

// introspection is the wire shape of an Introspection, whose Active is a
// pointer so that an answer without it is told apart.
type introspection struct {
	Active    *bool   `json:"active"`
	Subject   string  `json:"sub"`
	ClientID  string  `json:"client_id"`
	Scope     string  `json:"scope"`
	Issuer    string  `json:"iss"`
	TokenID   string  `json:"jti"`
	IssuedAt  float64 `json:"iat"`
	ExpiresAt float64 `json:"exp"`
	Audience  any     `json:"aud"` // a string or an array of strings
}

// audience returns the answer's aud as a list (nil when absent), and
// whether it was one of the two shapes RFC 7662 allows.
func (i *introspection) audience() ([]string, bool) {
	switch a := i.Audience.(type) {
	case nil:
		return nil, true
	case string:
		return []string{a}, true
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// problem fails closed on an answer Stytch would not give: no active
// field, or an active token without its subject, client or expiry.
func (i *introspection) problem() string {
	switch {
	case i.Active == nil:
		return "no active field"
	case *i.Active && (i.Subject == "" || i.ClientID == "" || i.ExpiresAt == 0):
		return "an active token without sub, client_id or exp"
	}
	if _, ok := i.audience(); !ok {
		return "aud is neither a string nor a list of strings"
	}
	return ""
}

// IntrospectAccessToken asks Stytch whether a Connected Apps access token
// is active, and what it grants (RFC 7662). It is how a resource server
// learns that a token it verified locally has had its grant revoked.
func (c *Client) IntrospectAccessToken(ctx context.Context, p IntrospectParams) (*Introspection, error) {
	form := url.Values{"token": {p.Token}, "client_id": {p.ClientID}, "token_type_hint": {"access_token"}}
	if p.ClientSecret != "" {
		form.Set("client_secret", p.ClientSecret)
	}
	res, err := doJSON[introspection](ctx, c.t, call{method: http.MethodPost, path: "/v1/public/" + url.PathEscape(c.t.projectID) + "/oauth2/introspect",
		form: form, idempotent: true, noAuth: true})
	if err != nil {
		return nil, err
	}
	aud, _ := res.audience() // its shape checked (problem)
	return &Introspection{Active: *res.Active, Subject: res.Subject, ClientID: res.ClientID, Scope: res.Scope, Issuer: res.Issuer, TokenID: res.TokenID,
		Audience: aud, IssuedAt: int64(res.IssuedAt), ExpiresAt: int64(res.ExpiresAt)}, nil
}
