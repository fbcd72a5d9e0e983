package stytchtest

// M2MClient is an M2M client as Stytch describes it (m2m_client), the
// emulator's own record of one: a
// machine identity with scopes. ClientSecret is set only in the answer that
// created it; afterwards Stytch shows its last four characters.
type M2MClient struct {
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
	M2MClientActive   = "active"
	M2MClientInactive = "inactive"
)

// M2MClientParams describes an M2M client to create: CreateM2MClient's
// argument, and the body of POST /v1/m2m/clients. Every field is optional:
// the id and secret are picked when they are empty.
type M2MClientParams struct {
	ClientID          string         `json:"client_id,omitempty"`
	ClientSecret      string         `json:"client_secret,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// m2mUpdateParams is the body of PUT /v1/m2m/clients/{client_id}:
// the fields set are changed, the others kept, Scopes included: an empty
// Scopes keeps the client's scopes.
type m2mUpdateParams struct {
	ClientID          string         `json:"-"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Status            string         `json:"status,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// m2mClientResponse carries one M2M client.
type m2mClientResponse struct {
	RequestID  string    `json:"request_id"`
	StatusCode int       `json:"status_code"`
	M2MClient  M2MClient `json:"m2m_client"`
}

// m2mSearchParams is the body of POST /v1/m2m/clients/search. The
// zero value lists the first page of every client.
type m2mSearchParams struct {
	Cursor string          `json:"cursor,omitempty"`
	Limit  int             `json:"limit,omitempty"` // zero: Stytch's 100; at most 1000
	Query  *m2mSearchQuery `json:"query,omitempty"`
}

// m2mSearchQuery filters a search: Operator "AND" or "OR" over Operands,
// each {"filter_name": "client_id" | "client_name" | "scopes", "filter_value": [...]}.
type m2mSearchQuery struct {
	Operator string           `json:"operator"`
	Operands []map[string]any `json:"operands"`
}

// m2mSearchResponse is one page of M2M clients.
type m2mSearchResponse struct {
	RequestID       string          `json:"request_id"`
	StatusCode      int             `json:"status_code"`
	M2MClients      []M2MClient     `json:"m2m_clients"`
	ResultsMetadata resultsMetadata `json:"results_metadata"`
}

// resultsMetadata says how many results a search has in all, and where the
// next page starts (NextCursor nil: none).
type resultsMetadata struct {
	Total      int     `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

// m2mTokenResponse is an issued access token: a JWT signed with the
// project's key set, for ExpiresIn seconds (3600 by default).
type m2mTokenResponse struct {
	RequestID   string `json:"request_id"`
	StatusCode  int    `json:"status_code"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"` // "bearer"
}
