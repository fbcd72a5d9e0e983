package stytchtest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// maxRequestBytes caps request bodies, as any API gateway does.
const maxRequestBytes = 1 << 20

// apiHandler handles one request whose call was counted, whose faults were
// played and whose credentials were checked. It returns the response body,
// whose request_id and status_code it has set from reqID, or an error.
type apiHandler func(r *http.Request, reqID string) (any, *session.APIError)

// How an endpoint authenticates its caller, and the shape of its errors.
type access int

const (
	projectAuth access = iota // the project's Basic credentials; Stytch's error JSON
	public                    // no credentials; Stytch's error JSON
	oauthClient               // an M2M client's credentials in the body; OAuth2's error JSON
)

func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, ep Endpoint, auth bool, h apiHandler) {
		a := public
		if auth {
			a = projectAuth
		}
		mux.Handle(pattern, e.endpoint(ep, a, h))
	}
	handle("POST /v1/sessions/authenticate", Authenticate, true, e.handleAuthenticate)
	handle("GET /v1/sessions", List, true, e.handleList)
	handle("POST /v1/sessions/revoke", Revoke, true, e.handleRevoke)
	handle("GET /v1/sessions/jwks/{project_id}", JWKS, false, e.handleJWKS)
	handle("POST /v1/sessions/exchange_access_token", ExchangeAccessToken, true, e.handleExchangeAccessToken)
	handle("POST /v1/sessions/migrate", Migrate, true, e.handleMigrate)
	handle("POST /v1/sessions/attest", Attest, true, e.handleAttest)
	handle("GET /v1/rbac/policy", Policy, true, e.handlePolicy)

	handle("POST /v1/b2b/sessions/authenticate", B2BAuthenticate, true, e.handleB2BAuthenticate)
	handle("GET /v1/b2b/sessions", B2BList, true, e.handleB2BList)
	handle("POST /v1/b2b/sessions/revoke", B2BRevoke, true, e.handleB2BRevoke)
	handle("POST /v1/b2b/sessions/exchange", B2BExchange, true, e.handleB2BExchange)
	handle("GET /v1/b2b/sessions/jwks/{project_id}", B2BJWKS, false, e.handleJWKS)
	handle("POST /v1/b2b/sessions/exchange_access_token", B2BExchangeAccessToken, true, e.handleB2BExchangeAccessToken)
	handle("POST /v1/b2b/sessions/migrate", B2BMigrate, true, e.handleB2BMigrate)
	handle("POST /v1/b2b/sessions/attest", B2BAttest, true, e.handleB2BAttest)
	handle("GET /v1/b2b/rbac/policy", B2BPolicy, true, e.handleB2BPolicy)
	handle("GET /v1/b2b/rbac/organizations/{organization_id}", B2BOrgPolicy, true, e.handleB2BOrgPolicy)
	handle("POST /v1/b2b/otps/sms/send", B2BSMSSend, true, e.handleSMSSend)
	handle("POST /v1/b2b/otps/sms/authenticate", B2BSMSAuthenticate, true, e.handleSMSAuthenticate)

	handle("POST /v1/m2m/clients", M2MClients, true, e.handleM2MCreate)
	handle("GET /v1/m2m/clients/{client_id}", M2MClients, true, e.handleM2MGet)
	handle("PUT /v1/m2m/clients/{client_id}", M2MClients, true, e.handleM2MUpdate)
	handle("POST /v1/m2m/clients/search", M2MClients, true, e.handleM2MSearch)
	mux.Handle("POST /v1/public/{project_id}/oauth2/token", e.endpoint(M2MToken, oauthClient, e.handleToken))

	// Connected Apps: the project domain's endpoints (this server's own
	// origin plays the domain), and those under Stytch's API host.
	for _, p := range []string{"GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration"} {
		mux.Handle(p, e.endpoint(OAuthMetadata, oauthClient, e.handleMetadata))
	}
	mux.Handle("GET /.well-known/jwks.json", e.endpoint(JWKS, public, e.handleDomainJWKS))
	mux.HandleFunc("GET /v1/oauth2/authorize", noAuthorizationURL)
	mux.Handle("POST /v1/oauth2/register", e.endpoint(OAuthRegister, oauthClient, e.handleRegister))
	mux.Handle("POST /v1/oauth2/token", e.endpoint(OAuthToken, oauthClient, e.handleToken))
	for _, prefix := range []string{"POST /v1/oauth2/", "POST /v1/public/{project_id}/oauth2/"} {
		mux.Handle(prefix+"introspect", e.endpoint(OAuthIntrospect, oauthClient, e.handleIntrospect))
		mux.Handle(prefix+"revoke", e.endpoint(OAuthRevoke, oauthClient, e.handleOAuthRevoke))
	}
	handle("POST /v1/connected_apps/clients", ConnectedAppClients, true, e.handleClientCreate)
	handle("GET /v1/connected_apps/clients/{client_id}", ConnectedAppClients, true, e.handleClientGet)
	handle("PUT /v1/connected_apps/clients/{client_id}", ConnectedAppClients, true, e.handleClientUpdate)
	handle("DELETE /v1/connected_apps/clients/{client_id}", ConnectedAppClients, true, e.handleClientDelete)
	handle("POST /v1/connected_apps/clients/search", ConnectedAppClients, true, e.handleClientSearch)
	handle("POST /v1/idp/oauth/authorize/start", OAuthAuthorize, true, e.handleAuthorizeStart(false))
	handle("POST /v1/idp/oauth/authorize", OAuthAuthorize, true, e.handleAuthorize(false))
	handle("POST /v1/b2b/idp/oauth/authorize/start", OAuthAuthorize, true, e.handleAuthorizeStart(true))
	handle("POST /v1/b2b/idp/oauth/authorize", OAuthAuthorize, true, e.handleAuthorize(true))
	handle("POST /v1/users/{user_id}/connected_apps/{connected_app_id}/revoke", Admin, true, e.handleUserConnectedAppRevoke)
	handle("POST /v1/b2b/organizations/{organization_id}/members/{member_id}/connected_apps/{connected_app_id}/revoke", Admin, true, e.handleUserConnectedAppRevoke)

	e.adminRoutes(func(pattern string, h apiHandler) { handle(pattern, Admin, true, h) })

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeError(w, apiError(http.StatusNotFound, "route_not_found", "No API endpoint matches "+r.Method+" "+r.URL.Path+"."))
	})
	return mux
}

// endpoint wraps h with what every endpoint does first: count the call, play
// any injected fault, check Basic credentials.
func (e *Emulator) endpoint(ep Endpoint, auth access, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := e.admit(ep); ok && e.serveFault(w, r, f) {
			return
		}
		if auth == projectAuth && !e.authorized(r) {
			e.writeError(w, apiError(http.StatusUnauthorized, "unauthorized_credentials", "Unauthorized credentials."))
			return
		}
		e.mu.Lock()
		refusal := e.limits.refuse(ep, e.clock())
		e.mu.Unlock()
		if refusal != nil {
			e.writeError(w, refusal)
			return
		}
		reqID := e.id("request-id")
		body, apiErr := h(r, reqID)
		if isAuthenticate(ep) {
			e.mu.Lock()
			e.limits.record(ep, e.clock(), apiErr)
			e.mu.Unlock()
		}
		switch {
		case apiErr != nil && auth == oauthClient:
			apiErr.RequestID = reqID
			writeJSON(w, apiErr.StatusCode, oauthError(apiErr))
			return
		case apiErr != nil:
			apiErr.RequestID = reqID
			e.writeError(w, apiErr)
			return
		}
		status := http.StatusOK
		if s, ok := body.(interface{ httpStatus() int }); ok {
			status = s.httpStatus()
		}
		writeJSON(w, status, body)
	})
}

func (e *Emulator) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(e.projectID))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(e.secret))
	return u&p == 1
}

func apiError(status int, errorType, message string) *session.APIError {
	return &session.APIError{
		StatusCode:   status,
		ErrorType:    errorType,
		ErrorMessage: message,
		ErrorURL:     "https://stytch.com/docs/api/errors/" + strconv.Itoa(status),
	}
}

func errSessionNotFound() *session.APIError {
	return apiError(http.StatusNotFound, "session_not_found", "Session could not be found.")
}

func (e *Emulator) writeError(w http.ResponseWriter, err *session.APIError) {
	if err.RequestID == "" {
		err.RequestID = e.id("request-id")
	}
	if err.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((err.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, err.StatusCode, err)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, `{"error_type":"internal_server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode reads a JSON request body into v.
func decode(r *http.Request, v any) *session.APIError {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return apiError(http.StatusBadRequest, "bad_request", "The request body could not be read.")
	}
	if len(body) > maxRequestBytes {
		return apiError(http.StatusRequestEntityTooLarge, "request_too_large", "The request body is too large.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return apiError(http.StatusBadRequest, "bad_request", "Field "+typeErr.Field+" has the wrong type.")
		}
		return apiError(http.StatusBadRequest, "bad_request", "The request body is not valid JSON.")
	}
	return nil
}
