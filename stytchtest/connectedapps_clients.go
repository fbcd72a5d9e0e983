package stytchtest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// The Connected Apps clients API, /v1/connected_apps/clients: what the
// dashboard and the backend SDKs manage clients with.

// Client types of the Connected Apps clients API.
const (
	ClientFirstParty       = "first_party"
	ClientFirstPartyPublic = "first_party_public"
	ClientThirdParty       = "third_party"
	ClientThirdPartyPublic = "third_party_public"
)

// clientModel is a client as the clients API answers it; the secret only
// at creation.
func (e *Emulator) clientModel(c *caClient, secret string) map[string]any {
	out := map[string]any{
		"client_id": c.id, "client_name": c.name, "client_description": c.description, "status": "active",
		"full_access_allowed": false, "client_type": c.clientType, "redirect_urls": slices.Clone(c.redirectURIs),
		"access_token_expiry_minutes": int(c.accessTokenLifetime() / time.Minute), "access_token_template_content": "",
		"post_logout_redirect_urls": []string{}, "bypass_consent_for_offline_access": false, "creation_method": c.creationMethod,
		"id_token_template_content": "", "client_secret_last_four": "", "next_client_secret_last_four": nil,
		"access_token_custom_audience": c.customAudience, "logo_url": c.logo, "client_id_metadata_url": c.metadataURL,
	}
	if c.confidential {
		out["client_secret_last_four"] = c.lastFour
	}
	if secret != "" {
		out["client_secret"] = secret
	}
	return out
}

type clientParams struct {
	ClientType                string   `json:"client_type"`
	ClientName                *string  `json:"client_name"`
	ClientDescription         *string  `json:"client_description"`
	RedirectURLs              []string `json:"redirect_urls"`
	AccessTokenExpiryMinutes  int      `json:"access_token_expiry_minutes"`
	AccessTokenCustomAudience *string  `json:"access_token_custom_audience"`
}

// maxClientDescriptionLength bounds client_description.
const maxClientDescriptionLength = 1024

// check validates the redirect URLs, the token lifetime and the size of
// every field.
func (p *clientParams) check() *session.APIError {
	bad := func(code, msg string) *session.APIError { return apiError(http.StatusBadRequest, code, msg) }
	if len(p.RedirectURLs) > maxRedirectURIs {
		return bad("invalid_redirect_url", fmt.Sprintf("redirect_urls lists more than %d URLs.", maxRedirectURIs))
	}
	for _, u := range p.RedirectURLs {
		if msg := checkRedirectURI(u); msg != "" {
			return bad("invalid_redirect_url", msg)
		}
	}
	switch {
	case p.ClientName != nil && len(*p.ClientName) > maxClientNameLength:
		return bad("invalid_client_name", fmt.Sprintf("client_name is longer than %d characters.", maxClientNameLength))
	case p.ClientDescription != nil && len(*p.ClientDescription) > maxClientDescriptionLength:
		return bad("invalid_client_description", fmt.Sprintf("client_description is longer than %d characters.", maxClientDescriptionLength))
	case p.AccessTokenCustomAudience != nil && len(*p.AccessTokenCustomAudience) > maxURILength:
		return bad("invalid_access_token_custom_audience", fmt.Sprintf("access_token_custom_audience is longer than %d characters.", maxURILength))
	}
	if m := p.AccessTokenExpiryMinutes; m != 0 && (m < 5 || m > 1440) {
		return bad("invalid_access_token_expiry_minutes", "access_token_expiry_minutes must be between 5 and 1440.")
	}
	return nil
}

func (e *Emulator) handleClientCreate(r *http.Request, reqID string) (any, *session.APIError) {
	var p clientParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if !slices.Contains([]string{ClientFirstParty, ClientFirstPartyPublic, ClientThirdParty, ClientThirdPartyPublic}, p.ClientType) {
		return nil, apiError(http.StatusBadRequest, "invalid_client_type", "client_type must be first_party, first_party_public, third_party or third_party_public.")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &caClient{id: e.id("connected-app"), clientType: p.ClientType, redirectURIs: slices.Clone(p.RedirectURLs), createdAt: e.now(),
		confidential: p.ClientType == ClientFirstParty || p.ClientType == ClientThirdParty, creationMethod: "API",
		lifetime: time.Duration(p.AccessTokenExpiryMinutes) * time.Minute}
	if c.redirectURIs == nil {
		c.redirectURIs = []string{}
	}
	if p.ClientName != nil {
		c.name = *p.ClientName
	}
	if p.ClientDescription != nil {
		c.description = *p.ClientDescription
	}
	if p.AccessTokenCustomAudience != nil {
		c.customAudience = *p.AccessTokenCustomAudience
	}
	var secret string
	if c.confidential {
		secret = randomToken(32)
		c.secret, c.lastFour = digest(secret), secret[len(secret)-4:]
	}
	e.caClients[c.id] = c
	e.caOrder = append(e.caOrder, c.id)
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "connected_app": e.clientModel(c, secret)}, nil
}

func errConnectedAppNotFound() *session.APIError {
	return apiError(http.StatusNotFound, "connected_app_not_found", "No Connected App client matches client_id.")
}

func (e *Emulator) handleClientGet(r *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.caClients[r.PathValue("client_id")]
	if c == nil {
		return nil, errConnectedAppNotFound()
	}
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "connected_app": e.clientModel(c, "")}, nil
}

func (e *Emulator) handleClientUpdate(r *http.Request, reqID string) (any, *session.APIError) {
	var p clientParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.caClients[r.PathValue("client_id")]
	if c == nil {
		return nil, errConnectedAppNotFound()
	}
	if p.ClientName != nil {
		c.name = *p.ClientName
	}
	if p.ClientDescription != nil {
		c.description = *p.ClientDescription
	}
	if p.RedirectURLs != nil {
		c.redirectURIs = slices.Clone(p.RedirectURLs)
	}
	if p.AccessTokenExpiryMinutes != 0 {
		c.lifetime = time.Duration(p.AccessTokenExpiryMinutes) * time.Minute
	}
	if p.AccessTokenCustomAudience != nil {
		c.customAudience = *p.AccessTokenCustomAudience
	}
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "connected_app": e.clientModel(c, "")}, nil
}

// handleClientDelete deletes a client, and with it every grant to it.
func (e *Emulator) handleClientDelete(r *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := r.PathValue("client_id")
	if e.caClients[id] == nil {
		return nil, errConnectedAppNotFound()
	}
	for key := range e.caConsents {
		if _, client, _ := cutGrantKey(key); client == id {
			subject, _, _ := cutGrantKey(key)
			e.revokeGrant(subject, id)
		}
	}
	for d, rt := range e.caRefresh {
		if rt.clientID == id {
			delete(e.caRefresh, d)
		}
	}
	if e.caClients[id].creationMethod == CreationDynamicClientRegistration {
		e.dynamicClients--
	}
	delete(e.caClients, id)
	e.caOrder = slices.DeleteFunc(e.caOrder, func(s string) bool { return s == id })
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "client_id": id}, nil
}

// handleClientSearch lists the clients in creation order, limit (at most
// 1000, 100 by default) at a time from cursor.
func (e *Emulator) handleClientSearch(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		Cursor string `json:"cursor"`
		Limit  int    `json:"limit"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	e.mu.Lock()
	defer e.mu.Unlock()
	start := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 || n > len(e.caOrder) {
			return nil, apiError(http.StatusBadRequest, "invalid_cursor", "The cursor is not valid.")
		}
		start = n
	}
	end := min(start+limit, len(e.caOrder))
	apps := make([]map[string]any, 0, end-start)
	for _, id := range e.caOrder[start:end] {
		apps = append(apps, e.clientModel(e.caClients[id], ""))
	}
	meta := map[string]any{"total": len(e.caOrder), "next_cursor": nil}
	if end < len(e.caOrder) {
		meta["next_cursor"] = strconv.Itoa(end)
	}
	return map[string]any{"request_id": reqID, "status_code": http.StatusOK, "connected_apps": apps, "results_metadata": meta}, nil
}
