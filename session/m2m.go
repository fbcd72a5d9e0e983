package session

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// M2MClient calls Stytch's machine-to-machine endpoints: the M2M clients
// API (authenticated with the project's secret) and the OAuth2 token
// endpoint (authenticated with an M2M client's own id and secret). Get one
// from New (Client.M2M); its zero value is not usable.
type M2MClient struct {
	t *transport
}

// MachineClient is an M2M client as Stytch describes it (m2m_client): a
// machine identity with scopes. ClientSecret is set only in the answer that
// created it; afterwards Stytch shows its last four characters.
type MachineClient struct {
	ClientID                 string         `json:"client_id"`
	ClientSecret             string         `json:"client_secret,omitempty"`
	ClientName               string         `json:"client_name"`
	ClientDescription        string         `json:"client_description"`
	Status                   string         `json:"status"` // "active" or "inactive"
	Scopes                   []string       `json:"scopes"`
	ClientSecretLastFour     string         `json:"client_secret_last_four"`
	NextClientSecretLastFour *string        `json:"next_client_secret_last_four"`
	TrustedMetadata          map[string]any `json:"trusted_metadata"`
}

// M2M client statuses.
const (
	MachineClientActive   = "active"
	MachineClientInactive = "inactive"
)

// CreateMachineClientParams is the body of POST /v1/m2m/clients. Every field
// is optional: Stytch picks the id and secret when they are empty.
type CreateMachineClientParams struct {
	ClientID          string         `json:"client_id,omitempty"`
	ClientSecret      string         `json:"client_secret,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// UpdateMachineClientParams is the body of PUT /v1/m2m/clients/{client_id}:
// the fields set are changed, the others kept, Scopes included: an empty
// Scopes keeps the client's scopes.
type UpdateMachineClientParams struct {
	ClientID          string         `json:"-"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Status            string         `json:"status,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// MachineClientResponse carries one M2M client.
type MachineClientResponse struct {
	RequestID  string        `json:"request_id"`
	StatusCode int           `json:"status_code"`
	M2MClient  MachineClient `json:"m2m_client"`
}

// SearchMachineClientsParams is the body of POST /v1/m2m/clients/search. The
// zero value lists the first page of every client.
type SearchMachineClientsParams struct {
	Cursor string          `json:"cursor,omitempty"`
	Limit  int             `json:"limit,omitempty"` // zero: Stytch's 100; at most 1000
	Query  *M2MSearchQuery `json:"query,omitempty"`
}

// M2MSearchQuery filters a search: Operator "AND" or "OR" over Operands,
// each {"filter_name": "client_id" | "client_name" | "scopes", "filter_value": [...]}.
type M2MSearchQuery struct {
	Operator string           `json:"operator"`
	Operands []map[string]any `json:"operands"`
}

// SearchMachineClientsResponse is one page of M2M clients.
type SearchMachineClientsResponse struct {
	RequestID       string          `json:"request_id"`
	StatusCode      int             `json:"status_code"`
	M2MClients      []MachineClient `json:"m2m_clients"`
	ResultsMetadata ResultsMetadata `json:"results_metadata"`
}

// ResultsMetadata says how many results a search has in all, and where the
// next page starts (NextCursor nil: none).
type ResultsMetadata struct {
	Total      int     `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

// M2MTokenParams asks for an access token with the client-credentials grant.
// Scopes empty means every scope the client holds.
type M2MTokenParams struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// M2MTokenResponse is an issued access token: a JWT signed with the
// project's key set, for ExpiresIn seconds (3600 by default).
type M2MTokenResponse struct {
	RequestID   string `json:"request_id"`
	StatusCode  int    `json:"status_code"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"` // "bearer"
}

// CreateClient creates an M2M client. The answer is the only one that
// carries its secret.
func (c *M2MClient) CreateClient(ctx context.Context, p CreateMachineClientParams) (*MachineClientResponse, error) {
	return doJSON[MachineClientResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/m2m/clients", body: p})
}

// GetClient fetches one M2M client (without its secret).
func (c *M2MClient) GetClient(ctx context.Context, clientID string) (*MachineClientResponse, error) {
	return doJSON[MachineClientResponse](ctx, c.t, call{method: http.MethodGet, path: "/v1/m2m/clients/" + url.PathEscape(clientID), idempotent: true})
}

// UpdateClient changes an M2M client: its name, description, scopes,
// metadata or status. An inactive client gets no new tokens; tokens it
// already holds stay valid until they expire.
func (c *M2MClient) UpdateClient(ctx context.Context, p UpdateMachineClientParams) (*MachineClientResponse, error) {
	return doJSON[MachineClientResponse](ctx, c.t, call{method: http.MethodPut, path: "/v1/m2m/clients/" + url.PathEscape(p.ClientID), body: p, idempotent: true})
}

// SearchClients lists M2M clients, a page at a time.
func (c *M2MClient) SearchClients(ctx context.Context, p SearchMachineClientsParams) (*SearchMachineClientsResponse, error) {
	return doJSON[SearchMachineClientsResponse](ctx, c.t, call{method: http.MethodPost, path: "/v1/m2m/clients/search", body: p, idempotent: true})
}

// Token gets an access token for an M2M client with the OAuth2
// client-credentials grant (POST /v1/public/{project_id}/oauth2/token,
// form-encoded, authenticated by the client's own id and secret, not the
// project's). Stytch's OAuth2-shaped errors come back as *APIError, error in
// ErrorType: 400 invalid_client for an unknown client or a wrong secret
// (kindBadRequest), 400 invalid_scope for a scope the client lacks. The
// secret never appears in an error.
func (c *M2MClient) Token(ctx context.Context, p M2MTokenParams) (*M2MTokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.ClientID}, "client_secret": {p.ClientSecret}}
	if len(p.Scopes) > 0 {
		form.Set("scope", strings.Join(p.Scopes, " "))
	}
	path := "/v1/public/" + url.PathEscape(c.t.projectID) + "/oauth2/token"
	// Retried like a read: a second token for the same client harms nothing.
	return doJSON[M2MTokenResponse](ctx, c.t, call{method: http.MethodPost, path: path, form: form, idempotent: true, noAuth: true})
}
