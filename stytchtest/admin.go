package stytchtest

import (
	"errors"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard/internal/svix"
	"github.com/stytchguard/stytchguard/session"
)

// AdminPrefix is where the emulator's own API lives: a path Stytch does not
// use, behind the same Basic credentials as the rest.
const AdminPrefix = "/_emulator/"

// adminSessionRequest is the body of POST /_emulator/sessions and
// /_emulator/member_sessions.
type adminSessionRequest struct {
	UserID                 string         `json:"user_id"`
	MemberID               string         `json:"member_id"`
	SessionDurationMinutes int            `json:"session_duration_minutes"`
	Roles                  []string       `json:"roles"`
	CustomClaims           map[string]any `json:"custom_claims"`
}

// AdminSessionResponse is the answer of the admin API's session starts.
type AdminSessionResponse struct {
	RequestID     string                 `json:"request_id"`
	StatusCode    int                    `json:"status_code"`
	Session       *session.Session       `json:"session,omitempty"`
	MemberSession *session.MemberSession `json:"member_session,omitempty"`
	SessionToken  string                 `json:"session_token"`
	SessionJWT    string                 `json:"session_jwt"`
}

func (e *Emulator) adminRoutes(handle func(pattern string, h apiHandler)) {
	handle("POST "+AdminPrefix+"users", e.adminCreateUser)
	handle("POST "+AdminPrefix+"sessions", e.adminStartSession)
	handle("POST "+AdminPrefix+"organizations", e.adminCreateOrganization)
	handle("POST "+AdminPrefix+"members", e.adminCreateMember)
	handle("POST "+AdminPrefix+"member_sessions", e.adminStartMemberSession)
	handle("PUT "+AdminPrefix+"rbac/policy", e.adminSetPolicy(false))
	handle("PUT "+AdminPrefix+"b2b/rbac/policy", e.adminSetPolicy(true))
	handle("PUT "+AdminPrefix+"b2b/rbac/organizations/{organization_id}", e.adminSetOrgPolicy)
	handle("POST "+AdminPrefix+"keys/rotate", e.adminRotateKey)
	handle("POST "+AdminPrefix+"clock/advance", e.adminAdvance)
	handle("GET "+AdminPrefix+"clock", e.adminClock)
	handle("POST "+AdminPrefix+"locks", e.adminLock)
	handle("POST "+AdminPrefix+"access_tokens", e.adminAccessToken)
	handle("POST "+AdminPrefix+"migration_tokens", e.adminMigrationToken)
	handle("POST "+AdminPrefix+"trusted_auth_tokens", e.adminTrustedAuthToken)
	handle("PUT "+AdminPrefix+"rate_limit", e.adminSetRateLimit)
	handle("PUT "+AdminPrefix+"webhooks", e.adminSetWebhooks)
	handle("PUT "+AdminPrefix+"users/{user_id}", e.adminUpdateRoles(false))
	handle("PUT "+AdminPrefix+"members/{member_id}", e.adminUpdateRoles(true))
	handle("DELETE "+AdminPrefix+"users/{user_id}", e.adminDelete(false))
	handle("DELETE "+AdminPrefix+"members/{member_id}", e.adminDelete(true))
	handle("GET "+AdminPrefix+"otps/sms/{member_id}", e.adminSMSCode)
	handle("GET "+AdminPrefix+"calls", e.adminCalls)
	handle("POST "+AdminPrefix+"faults", e.adminInjectFault)
	handle("DELETE "+AdminPrefix+"faults", e.adminClearFaults)
}

func adminOK(reqID string, fields map[string]any) map[string]any {
	fields["request_id"] = reqID
	fields["status_code"] = http.StatusOK
	return fields
}

func adminErr(err error) *session.APIError {
	if errors.Is(err, ErrNotFound) {
		return apiError(http.StatusNotFound, "not_found", err.Error())
	}
	return apiError(http.StatusBadRequest, "bad_request", err.Error())
}

func (e *Emulator) adminCreateUser(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		Email           string         `json:"email"`
		PhoneNumber     string         `json:"phone_number"`
		Name            session.Name   `json:"name"`
		Roles           []string       `json:"roles"`
		TrustedMetadata map[string]any `json:"trusted_metadata"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	u := e.CreateUser(UserParams{Email: p.Email, PhoneNumber: p.PhoneNumber, Name: p.Name, Roles: p.Roles, TrustedMetadata: p.TrustedMetadata})
	return adminOK(reqID, map[string]any{"user": u}), nil
}

func (e *Emulator) adminStartSession(r *http.Request, reqID string) (any, *session.APIError) {
	var p adminSessionRequest
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	t, err := e.StartSession(p.UserID, SessionParams{
		Duration:     time.Duration(p.SessionDurationMinutes) * time.Minute,
		Roles:        p.Roles,
		CustomClaims: p.CustomClaims,
		Attributes:   session.Attributes{IPAddress: r.RemoteAddr, UserAgent: r.UserAgent()},
	})
	if err != nil {
		return nil, adminErr(err)
	}
	e.mu.Lock()
	s := e.consumerSession(e.sessions[t.SessionID])
	e.mu.Unlock()
	return &AdminSessionResponse{RequestID: reqID, StatusCode: http.StatusOK, Session: &s, SessionToken: t.SessionToken, SessionJWT: t.SessionJWT}, nil
}

func (e *Emulator) adminCreateOrganization(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OrganizationName string `json:"organization_name"`
		OrganizationSlug string `json:"organization_slug"`
		MFARequired      bool   `json:"mfa_required"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	o := e.CreateOrganization(OrganizationParams{Name: p.OrganizationName, Slug: p.OrganizationSlug, MFARequired: p.MFARequired})
	return adminOK(reqID, map[string]any{"organization": o}), nil
}

func (e *Emulator) adminCreateMember(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OrganizationID string   `json:"organization_id"`
		EmailAddress   string   `json:"email_address"`
		Name           string   `json:"name"`
		Roles          []string `json:"roles"`
		IsAdmin        bool     `json:"is_admin"`
		MFAPhoneNumber string   `json:"mfa_phone_number"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	m, err := e.CreateMember(p.OrganizationID, MemberParams{Email: p.EmailAddress, Name: p.Name, Roles: p.Roles, IsAdmin: p.IsAdmin, MFAPhoneNumber: p.MFAPhoneNumber})
	if err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{"member": m}), nil
}

func (e *Emulator) adminStartMemberSession(r *http.Request, reqID string) (any, *session.APIError) {
	var p adminSessionRequest
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	t, err := e.StartMemberSession(p.MemberID, SessionParams{
		Duration:     time.Duration(p.SessionDurationMinutes) * time.Minute,
		Roles:        p.Roles,
		CustomClaims: p.CustomClaims,
	})
	if err != nil {
		return nil, adminErr(err)
	}
	e.mu.Lock()
	s := e.memberSession(e.sessions[t.SessionID])
	e.mu.Unlock()
	return &AdminSessionResponse{RequestID: reqID, StatusCode: http.StatusOK, MemberSession: &s, SessionToken: t.SessionToken, SessionJWT: t.SessionJWT}, nil
}

func (e *Emulator) adminSetPolicy(b2b bool) apiHandler {
	return func(r *http.Request, reqID string) (any, *session.APIError) {
		var p struct {
			Policy *session.Policy `json:"policy"`
		}
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		if p.Policy == nil { // a body of roles alone would otherwise empty the policy
			return nil, apiError(http.StatusBadRequest, "bad_request", `The body must hold the policy under "policy": {"policy": {"roles": [...]}}.`)
		}
		if b2b {
			e.SetB2BPolicy(*p.Policy)
		} else {
			e.SetPolicy(*p.Policy)
		}
		return adminOK(reqID, map[string]any{}), nil
	}
}

func (e *Emulator) adminSetOrgPolicy(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		Roles []session.Role `json:"roles"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if err := e.SetOrgPolicy(r.PathValue("organization_id"), p.Roles); err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{}), nil
}

func (e *Emulator) adminRotateKey(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OverlapSeconds int `json:"overlap_seconds"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	kid := e.RotateKey(time.Duration(p.OverlapSeconds) * time.Second)
	return adminOK(reqID, map[string]any{"kid": kid}), nil
}

func (e *Emulator) adminAdvance(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		Seconds int `json:"seconds"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	e.Advance(time.Duration(p.Seconds) * time.Second)
	return adminOK(reqID, map[string]any{"now": session.NewTime(e.Now())}), nil
}

// adminCalls answers the call count of every endpoint called so far, as
// {"calls": {"sessions.authenticate": 3, ...}}: what reached "Stytch", for
// tests of apps that run in another process.
func (e *Emulator) adminCalls(_ *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	calls := make(map[Endpoint]int, len(e.calls))
	for ep, n := range e.calls {
		calls[ep] = n
	}
	e.mu.Unlock()
	return adminOK(reqID, map[string]any{"calls": calls}), nil
}

// adminFault is the body of POST /_emulator/faults: Fault's fields, with
// durations in milliseconds.
type adminFault struct {
	Endpoint     Endpoint `json:"endpoint"`
	Status       int      `json:"status"`
	RetryAfterMS int      `json:"retry_after_ms"`
	LatencyMS    int      `json:"latency_ms"`
	Drop         bool     `json:"drop"`
	Malformed    bool     `json:"malformed"`
	Body         string   `json:"body"`
	Times        int      `json:"times"`
	Fraction     float64  `json:"fraction"`
}

// adminInjectFault adds a fault to an endpoint (InjectFault).
func (e *Emulator) adminInjectFault(r *http.Request, reqID string) (any, *session.APIError) {
	var f adminFault
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if f.Endpoint == "" || f.Endpoint == Admin {
		return nil, apiError(http.StatusBadRequest, "bad_request", "endpoint names an API endpoint, such as sessions.authenticate")
	}
	e.InjectFault(f.Endpoint, Fault{
		Status: f.Status, RetryAfter: time.Duration(f.RetryAfterMS) * time.Millisecond,
		Latency: time.Duration(f.LatencyMS) * time.Millisecond, Drop: f.Drop, Malformed: f.Malformed,
		Body: f.Body, Times: f.Times, Fraction: f.Fraction,
	})
	return adminOK(reqID, map[string]any{}), nil
}

// adminClearFaults removes every fault (ClearFaults).
func (e *Emulator) adminClearFaults(_ *http.Request, reqID string) (any, *session.APIError) {
	e.ClearFaults()
	return adminOK(reqID, map[string]any{}), nil
}

// adminClock answers the emulator's clock, for apps in other processes that
// verify JWTs by it (see docs/emulator.md, "Clock").
func (e *Emulator) adminClock(_ *http.Request, reqID string) (any, *session.APIError) {
	return adminOK(reqID, map[string]any{"now": session.NewTime(e.Now())}), nil
}

// adminSMSCode answers the SMS OTP last sent to a member: what their phone
// would show.
func (e *Emulator) adminSMSCode(r *http.Request, reqID string) (any, *session.APIError) {
	code, ok := e.SMSCode(r.PathValue("member_id"))
	if !ok {
		return nil, apiError(http.StatusNotFound, "not_found", "No code is outstanding for that member.")
	}
	return adminOK(reqID, map[string]any{"code": code}), nil
}

// subjectArgs names a user or a member, exactly one.
type subjectArgs struct {
	UserID   string `json:"user_id"`
	MemberID string `json:"member_id"`
}

func (a subjectArgs) subject() (string, *session.APIError) {
	if (a.UserID == "") == (a.MemberID == "") {
		return "", apiError(http.StatusBadRequest, "bad_request", "Pass exactly one of user_id and member_id.")
	}
	return a.UserID + a.MemberID, nil
}

// adminLock locks a user or member for seconds (LockUser, LockMember).
func (e *Emulator) adminLock(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		subjectArgs
		Seconds int `json:"seconds"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	id, apiErr := p.subject()
	if apiErr != nil {
		return nil, apiErr
	}
	if p.Seconds <= 0 {
		return nil, apiError(http.StatusBadRequest, "bad_request", "seconds must be positive.")
	}
	if err := e.setLock(id, p.MemberID != "", time.Duration(p.Seconds)*time.Second); err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{}), nil
}

// adminAccessToken issues a Connected Apps access token that
// exchange_access_token accepts (IssueAccessToken).
func (e *Emulator) adminAccessToken(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		subjectArgs
		ClientID string `json:"client_id"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	id, apiErr := p.subject()
	if apiErr != nil {
		return nil, apiErr
	}
	if p.ClientID == "" {
		p.ClientID = e.id("connected-app")
	}
	tok, err := e.IssueAccessToken(id, p.ClientID)
	if err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{"access_token": tok, "client_id": p.ClientID}), nil
}

// adminMigrationToken registers an external provider's session token that
// migrate trades for a session (AddMigrationToken); the emulator picks one
// when session_token is empty.
func (e *Emulator) adminMigrationToken(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		subjectArgs
		SessionToken string `json:"session_token"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	id, apiErr := p.subject()
	if apiErr != nil {
		return nil, apiErr
	}
	if p.SessionToken == "" {
		p.SessionToken = "external-" + randomToken(24)
	}
	if err := e.AddMigrationToken(p.SessionToken, id); err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{"session_token": p.SessionToken}), nil
}

// adminTrustedAuthToken registers a token that attest, with profile_id,
// trades for a session (AddTrustedAuthToken); the emulator picks the token
// and the profile id when they are empty.
func (e *Emulator) adminTrustedAuthToken(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		subjectArgs
		ProfileID string `json:"profile_id"`
		Token     string `json:"token"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	id, apiErr := p.subject()
	if apiErr != nil {
		return nil, apiErr
	}
	if p.ProfileID == "" {
		p.ProfileID = e.id("trusted-auth-profile")
	}
	if p.Token == "" {
		p.Token = randomToken(32)
	}
	if err := e.AddTrustedAuthToken(p.ProfileID, p.Token, id); err != nil {
		return nil, adminErr(err)
	}
	return adminOK(reqID, map[string]any{"profile_id": p.ProfileID, "token": p.Token}), nil
}

// adminSetRateLimit replaces the rate limiting (SetRateLimit); all zero
// turns it off.
func (e *Emulator) adminSetRateLimit(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		PerSecond     float64 `json:"per_second"`
		Burst         int     `json:"burst"`
		FailedShare   float64 `json:"failed_share"`
		MinCalls      int     `json:"min_calls"`
		WindowSeconds int     `json:"window_seconds"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if p.PerSecond < 0 || p.Burst < 0 || p.FailedShare < 0 || p.FailedShare > 1 || p.MinCalls < 0 || p.WindowSeconds < 0 {
		return nil, apiError(http.StatusBadRequest, "bad_request", "Rates, counts and the window must not be negative; failed_share is at most 1.")
	}
	e.SetRateLimit(RateLimit{PerSecond: p.PerSecond, Burst: p.Burst, FailedShare: p.FailedShare, MinCalls: p.MinCalls, Window: time.Duration(p.WindowSeconds) * time.Second})
	return adminOK(reqID, map[string]any{}), nil
}

// adminSetWebhooks configures webhook deliveries (SetWebhooks).
func (e *Emulator) adminSetWebhooks(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		Secret string   `json:"secret"`
		URLs   []string `json:"urls"`
		Fault  struct {
			BadSignature   bool `json:"bad_signature"`
			StaleTimestamp bool `json:"stale_timestamp"`
			Duplicate      bool `json:"duplicate"`
		} `json:"fault"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if len(p.URLs) > 0 {
		if _, err := svix.Sign(p.Secret, "msg_check", time.Now(), nil); err != nil {
			return nil, apiError(http.StatusBadRequest, "bad_request", "secret must be whsec_ and base64.")
		}
	}
	e.SetWebhooks(WebhookConfig{Secret: p.Secret, URLs: p.URLs, Fault: WebhookFault(p.Fault)})
	return adminOK(reqID, map[string]any{}), nil
}

// adminUpdateRoles replaces a user's or member's roles, as the dashboard
// does, and sends the update webhook.
func (e *Emulator) adminUpdateRoles(b2b bool) apiHandler {
	return func(r *http.Request, reqID string) (any, *session.APIError) {
		var p struct {
			Roles []string `json:"roles"`
		}
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		var err error
		if b2b {
			err = e.SetMemberRoles(r.PathValue("member_id"), p.Roles)
		} else {
			err = e.SetUserRoles(r.PathValue("user_id"), p.Roles)
		}
		if err != nil {
			return nil, adminErr(err)
		}
		return adminOK(reqID, map[string]any{}), nil
	}
}

// adminDelete deletes a user or member, ending its sessions, and sends the
// delete webhook.
func (e *Emulator) adminDelete(b2b bool) apiHandler {
	return func(r *http.Request, reqID string) (any, *session.APIError) {
		var err error
		if b2b {
			err = e.DeleteMember(r.PathValue("member_id"))
		} else {
			err = e.DeleteUser(r.PathValue("user_id"))
		}
		if err != nil {
			return nil, adminErr(err)
		}
		return adminOK(reqID, map[string]any{}), nil
	}
}
