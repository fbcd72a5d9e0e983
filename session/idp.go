package session

import (
	"context"
	"net/http"
)

// AuthorizeParams is the body of POST /v1/idp/oauth/authorize/start and
// POST /v1/idp/oauth/authorize: a Connected Apps client's authorization
// request, as the app's consent page received it, for the person signed in.
// Name the person with exactly one of UserID, SessionToken and SessionJWT.
type AuthorizeParams struct {
	ClientID     string   `json:"client_id"`
	RedirectURI  string   `json:"redirect_uri"`
	ResponseType string   `json:"response_type"`
	Scopes       []string `json:"scopes"`
	UserID       string   `json:"user_id,omitempty"`
	SessionToken string   `json:"session_token,omitempty"`
	SessionJWT   string   `json:"session_jwt,omitempty"`
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
// who asks, for whom, and for what.
type AuthorizeStart struct {
	UserID string `json:"user_id"`
	User   User   `json:"user"`
	Client struct {
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
