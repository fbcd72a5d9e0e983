package stytchtest

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
)

// M2MTokenLifetime is how long the access tokens the emulator issues are
// valid: exp = iat + 3600 s, as Stytch's default.
const M2MTokenLifetime = time.Hour

// OAuth2 error codes the token endpoint answers with (RFC 6749, 5.2).
const (
	OAuthInvalidRequest       = "invalid_request"
	OAuthInvalidClient        = "invalid_client"
	OAuthInvalidScope         = "invalid_scope"
	OAuthUnsupportedGrantType = "unsupported_grant_type"
)

// m2mClient is an M2M client: its secret is kept only as a digest.
type m2mClient struct {
	id, name, description, status string
	secret                        [32]byte
	lastFour                      string
	scopes                        []string
	metadata                      map[string]any
}

func (c *m2mClient) model() M2MClient {
	return M2MClient{
		ClientID:             c.id,
		ClientName:           c.name,
		ClientDescription:    c.description,
		Status:               c.status,
		Scopes:               slices.Clone(c.scopes),
		ClientSecretLastFour: c.lastFour,
		TrustedMetadata:      metadata(c.metadata),
	}
}

// CreateM2MClient creates an M2M client, as POST /v1/m2m/clients does, and
// returns it with its secret (the only time it is shown). Empty ClientID and
// ClientSecret are generated; a given secret must be at least 8 characters.
func (e *Emulator) CreateM2MClient(p M2MClientParams) (M2MClient, error) {
	m, apiErr := e.createM2MClient(p)
	if apiErr != nil {
		return m, apiErr
	}
	return m, nil
}

func (e *Emulator) createM2MClient(p M2MClientParams) (M2MClient, *session.APIError) {
	if apiErr := checkScopes(p.Scopes); apiErr != nil {
		return M2MClient{}, apiErr
	}
	if p.ClientSecret == "" {
		p.ClientSecret = randomToken(33)
	} else if len(p.ClientSecret) < 8 {
		return M2MClient{}, apiError(http.StatusBadRequest, "invalid_client_secret", "client_secret must be at least 8 characters long.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.ClientID == "" {
		p.ClientID = e.id("m2m-client")
	}
	if _, dup := e.m2m[p.ClientID]; dup {
		return M2MClient{}, apiError(http.StatusBadRequest, "m2m_client_id_already_exists", "An M2M client with this client_id already exists.")
	}
	c := &m2mClient{
		id: p.ClientID, name: p.ClientName, description: p.ClientDescription, status: M2MClientActive,
		secret: sha256.Sum256([]byte(p.ClientSecret)), lastFour: p.ClientSecret[len(p.ClientSecret)-4:],
		scopes: slices.Clone(p.Scopes), metadata: maps.Clone(p.TrustedMetadata),
	}
	if c.scopes == nil {
		c.scopes = []string{}
	}
	e.m2m[c.id] = c
	e.m2mOrder = append(e.m2mOrder, c.id)
	m := c.model()
	m.ClientSecret = p.ClientSecret
	return m, nil
}

// checkScopes refuses a scope that is empty or holds whitespace: a token's
// scope claim is space-separated.
func checkScopes(scopes []string) *session.APIError {
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return apiError(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("Scope %q is not valid: scopes are non-empty and hold no whitespace.", s))
		}
	}
	return nil
}

// SetM2MClientStatus makes an M2M client active or inactive: an inactive
// client gets no new tokens, but those it holds stay valid until they
// expire, as at Stytch.
func (e *Emulator) SetM2MClientStatus(clientID, status string) error {
	if status != M2MClientActive && status != M2MClientInactive {
		return fmt.Errorf("stytchtest: status %q is neither active nor inactive", status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.m2m[clientID]
	if !ok {
		return fmt.Errorf("M2M client %s: %w", clientID, ErrNotFound)
	}
	c.status = status
	return nil
}

// SetM2MClaimsTemplate sets the project's custom claims template for M2M
// access tokens, as Stytch's dashboard does: a JSON object copied into every
// token, where a string value "{{ client.trusted_metadata.KEY }}" is replaced
// by that key of the client's trusted metadata (and dropped when the client
// has none) and "{{ client.client_id }}" by the client's id. Nil removes it.
// Registered claim names and scope may not be used.
func (e *Emulator) SetM2MClaimsTemplate(template map[string]any) error {
	for k := range template {
		if reservedClaim(k) || k == "scope" {
			return fmt.Errorf("stytchtest: %q is a reserved claim", k)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m2mTemplate = maps.Clone(template)
	return nil
}

// expand fills the template for client c; the caller holds e.mu.
func (e *Emulator) expand(template map[string]any, c *m2mClient) map[string]any {
	out := map[string]any{}
	for k, v := range template {
		switch v := v.(type) {
		case string:
			ref, ok := strings.CutPrefix(strings.TrimSpace(v), "{{")
			if !ok {
				out[k] = v
				continue
			}
			ref, ok = strings.CutSuffix(ref, "}}")
			if !ok {
				out[k] = v
				continue
			}
			switch ref = strings.TrimSpace(ref); {
			case ref == "client.client_id":
				out[k] = c.id
			case strings.HasPrefix(ref, "client.trusted_metadata."):
				if mv, ok := c.metadata[strings.TrimPrefix(ref, "client.trusted_metadata.")]; ok {
					out[k] = mv
				}
			default:
				out[k] = v
			}
		case map[string]any:
			out[k] = e.expand(v, c)
		default:
			out[k] = v
		}
	}
	return out
}

// IssueM2MToken issues an access token to an active client, as the token
// endpoint does after checking the client's secret: scopes empty means all
// of the client's scopes; each one asked for must be the client's.
func (e *Emulator) IssueM2MToken(clientID string, scopes ...string) (string, error) {
	e.mu.Lock()
	c, ok := e.m2m[clientID]
	if !ok {
		e.mu.Unlock()
		return "", fmt.Errorf("M2M client %s: %w", clientID, ErrNotFound)
	}
	claims, k, oerr := e.m2mClaims(c, scopes)
	e.mu.Unlock()
	if oerr != nil {
		return "", fmt.Errorf("stytchtest: %s: %s", oerr.ErrorType, oerr.ErrorMessage)
	}
	return sign(claims, k)
}

// m2mClaims builds an access token's claims for c and picks the signing key.
// The caller holds e.mu.
func (e *Emulator) m2mClaims(c *m2mClient, scopes []string) (jwt.MapClaims, *signingKey, *session.APIError) {
	if c.status != M2MClientActive {
		return nil, nil, apiError(http.StatusBadRequest, OAuthInvalidClient, "The M2M client is not active.")
	}
	if len(scopes) == 0 {
		scopes = c.scopes
	}
	for _, s := range scopes {
		if !slices.Contains(c.scopes, s) {
			return nil, nil, apiError(http.StatusBadRequest, OAuthInvalidScope, fmt.Sprintf("Scope %q is not granted to this client.", s))
		}
	}
	now := e.now()
	claims := jwt.MapClaims{}
	maps.Copy(claims, e.expand(e.m2mTemplate, c))
	claims["iss"] = e.issuer
	claims["aud"] = []string{e.projectID}
	claims["sub"] = c.id
	claims["scope"] = strings.Join(scopes, " ")
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(M2MTokenLifetime).Unix()
	return claims, e.keys[len(e.keys)-1], nil
}

func (e *Emulator) handleM2MCreate(r *http.Request, reqID string) (any, *session.APIError) {
	var p M2MClientParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	m, apiErr := e.createM2MClient(p)
	if apiErr != nil {
		return nil, apiErr
	}
	return &m2mClientResponse{RequestID: reqID, StatusCode: http.StatusOK, M2MClient: m}, nil
}

func errM2MClientNotFound() *session.APIError {
	return apiError(http.StatusNotFound, "m2m_client_not_found", "M2M client could not be found.")
}

func (e *Emulator) handleM2MGet(r *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.m2m[r.PathValue("client_id")]
	if !ok {
		return nil, errM2MClientNotFound()
	}
	return &m2mClientResponse{RequestID: reqID, StatusCode: http.StatusOK, M2MClient: c.model()}, nil
}

func (e *Emulator) handleM2MUpdate(r *http.Request, reqID string) (any, *session.APIError) {
	var p m2mUpdateParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if p.Status != "" && p.Status != M2MClientActive && p.Status != M2MClientInactive {
		return nil, apiError(http.StatusBadRequest, "invalid_status", "status must be active or inactive.")
	}
	if apiErr := checkScopes(p.Scopes); apiErr != nil {
		return nil, apiErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.m2m[r.PathValue("client_id")]
	if !ok {
		return nil, errM2MClientNotFound()
	}
	c.name = cmp.Or(p.ClientName, c.name)
	c.description = cmp.Or(p.ClientDescription, c.description)
	c.status = cmp.Or(p.Status, c.status)
	if p.Scopes != nil {
		c.scopes = slices.Clone(p.Scopes)
	}
	if p.TrustedMetadata != nil {
		c.metadata = maps.Clone(p.TrustedMetadata)
	}
	return &m2mClientResponse{RequestID: reqID, StatusCode: http.StatusOK, M2MClient: c.model()}, nil
}

func (e *Emulator) handleM2MSearch(r *http.Request, reqID string) (any, *session.APIError) {
	var p m2mSearchParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	limit := cmp.Or(p.Limit, 100)
	if limit < 1 || limit > 1000 {
		return nil, apiError(http.StatusBadRequest, "invalid_limit", "limit must be between 1 and 1000.")
	}
	start := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 {
			return nil, apiError(http.StatusBadRequest, "invalid_cursor", "The cursor is not valid.")
		}
		start = n
	}
	match, apiErr := m2mFilter(p.Query)
	if apiErr != nil {
		return nil, apiErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []M2MClient
	for _, id := range e.m2mOrder {
		if c := e.m2m[id]; match(c) {
			all = append(all, c.model())
		}
	}
	out := &m2mSearchResponse{RequestID: reqID, StatusCode: http.StatusOK, M2MClients: []M2MClient{}}
	out.ResultsMetadata.Total = len(all)
	if start < len(all) {
		end := min(len(all), start+limit)
		out.M2MClients = all[start:end]
		if end < len(all) {
			next := strconv.Itoa(end)
			out.ResultsMetadata.NextCursor = &next
		}
	}
	return out, nil
}

// m2mFilter turns a search query into a predicate: operands filter by
// client_id, client_name or scopes (any of the values), joined by AND or OR.
func m2mFilter(q *m2mSearchQuery) (func(*m2mClient) bool, *session.APIError) {
	if q == nil || len(q.Operands) == 0 {
		return func(*m2mClient) bool { return true }, nil
	}
	if q.Operator != "AND" && q.Operator != "OR" {
		return nil, apiError(http.StatusBadRequest, "invalid_query_operator", "operator must be AND or OR.")
	}
	var preds []func(*m2mClient) bool
	for _, op := range q.Operands {
		name, _ := op["filter_name"].(string)
		raw, _ := op["filter_value"].([]any)
		var values []string
		for _, v := range raw {
			if s, ok := v.(string); ok {
				values = append(values, s)
			}
		}
		switch name {
		case "client_id":
			preds = append(preds, func(c *m2mClient) bool { return slices.Contains(values, c.id) })
		case "client_name":
			preds = append(preds, func(c *m2mClient) bool { return slices.Contains(values, c.name) })
		case "scopes":
			preds = append(preds, func(c *m2mClient) bool {
				return slices.ContainsFunc(values, func(s string) bool { return slices.Contains(c.scopes, s) })
			})
		default:
			return nil, apiError(http.StatusBadRequest, "invalid_query_filter", fmt.Sprintf("Filter %q is not supported.", name))
		}
	}
	and := q.Operator == "AND"
	return func(c *m2mClient) bool {
		for _, p := range preds {
			if p(c) != and {
				return !and
			}
		}
		return and
	}, nil
}

// tokenRequest is the token endpoint's body, form-encoded or JSON.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Scope        string `json:"scope"`
}

func readTokenRequest(r *http.Request) (tokenRequest, *session.APIError) {
	var p tokenRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		return p, apiError(http.StatusBadRequest, OAuthInvalidRequest, "The request body could not be read.")
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		if err := json.Unmarshal(body, &p); err != nil {
			return p, apiError(http.StatusBadRequest, OAuthInvalidRequest, "The request body is not valid JSON.")
		}
		return p, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return p, apiError(http.StatusBadRequest, OAuthInvalidRequest, "The request body is not a valid form.")
	}
	p = tokenRequest{GrantType: form.Get("grant_type"), ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret"), Scope: form.Get("scope")}
	if p.ClientID == "" && p.ClientSecret == "" {
		// RFC 6749 2.3.1: the client's credentials may come as Basic auth.
		p.ClientID, p.ClientSecret, _ = r.BasicAuth()
	}
	return p, nil
}

// handleM2MToken is the OAuth2 token endpoint (client-credentials grant).
// Its errors are written in OAuth2's shape by the endpoint wrapper.
func (e *Emulator) handleM2MToken(r *http.Request, reqID string) (any, *session.APIError) {
	if r.PathValue("project_id") != e.projectID {
		return nil, apiError(http.StatusNotFound, OAuthInvalidRequest, "No project matches the project_id in the path.")
	}
	p, apiErr := readTokenRequest(r)
	switch {
	case apiErr != nil:
		return nil, apiErr
	case p.GrantType != "client_credentials":
		return nil, apiError(http.StatusBadRequest, OAuthUnsupportedGrantType, "grant_type must be client_credentials.")
	case p.ClientID == "" || p.ClientSecret == "":
		return nil, apiError(http.StatusBadRequest, OAuthInvalidRequest, "client_id and client_secret are required.")
	}
	e.mu.Lock()
	c, ok := e.m2m[p.ClientID]
	digest := sha256.Sum256([]byte(p.ClientSecret))
	if !ok || subtle.ConstantTimeCompare(digest[:], c.secret[:]) != 1 {
		e.mu.Unlock()
		return nil, apiError(http.StatusBadRequest, OAuthInvalidClient, "The client_id or client_secret is not valid.")
	}
	claims, k, oerr := e.m2mClaims(c, strings.Fields(p.Scope))
	e.mu.Unlock()
	if oerr != nil {
		return nil, oerr
	}
	tok, err := sign(claims, k)
	if err != nil {
		return nil, apiError(http.StatusInternalServerError, "internal_server_error", "The token could not be signed.")
	}
	return &m2mTokenResponse{RequestID: reqID, StatusCode: http.StatusOK, AccessToken: tok, TokenType: "bearer", ExpiresIn: int(M2MTokenLifetime / time.Second)}, nil
}

// oauthBody is an error in the shape of OAuth2's token endpoint.
type oauthBody struct {
	StatusCode  int    `json:"status_code"`
	RequestID   string `json:"request_id"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
}

func oauthError(err *session.APIError) oauthBody {
	return oauthBody{StatusCode: err.StatusCode, RequestID: err.RequestID, Error: err.ErrorType, Description: err.ErrorMessage, URI: err.ErrorURL}
}
