package stytchtest

import (
	"net/http"
	"strings"

	"github.com/stytchguard/stytchguard/session"
)

func errMemberNotFound() *session.APIError {
	return apiError(http.StatusNotFound, "member_not_found", "Member could not be found.")
}

// b2bAuthResponse builds the answer of a B2B call that yields a member session,
// releasing e.mu (held on entry) before signing the JWT.
func (e *Emulator) b2bAuthResponse(s *sess, reqID string, withToken bool, verdict *session.Verdict) (*session.B2BAuthenticateResponse, *session.APIError) {
	out := &session.B2BAuthenticateResponse{
		RequestID:     reqID,
		MemberSession: e.memberSession(s),
		Member:        e.memberModel(e.members[s.subject]),
		Organization:  e.orgModel(e.orgs[s.orgID]),
		StatusCode:    http.StatusOK,
		Verdict:       verdict,
	}
	if withToken {
		out.SessionToken = s.token
	}
	var apiErr *session.APIError
	out.SessionJWT, apiErr = e.signUnlock(s)
	return out, apiErr
}

func (e *Emulator) handleB2BAuthenticate(r *http.Request, reqID string) (any, *session.APIError) {
	a, s, verdict, apiErr := e.authenticateLocked(r, true)
	if apiErr != nil {
		return nil, apiErr
	}
	return e.b2bAuthResponse(s, reqID, a.SessionToken != "", verdict)
}

func (e *Emulator) handleB2BList(r *http.Request, reqID string) (any, *session.APIError) {
	orgID, memberID := r.URL.Query().Get("organization_id"), r.URL.Query().Get("member_id")
	if orgID == "" || memberID == "" {
		return nil, apiError(http.StatusBadRequest, "bad_request", "organization_id and member_id are required.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.members[memberID]; m == nil || m.orgID != orgID {
		return nil, errMemberNotFound()
	}
	out := &session.B2BListResponse{RequestID: reqID, StatusCode: http.StatusOK, MemberSessions: []session.MemberSession{}}
	for _, s := range e.liveSessionsOf(memberID, true) {
		out.MemberSessions = append(out.MemberSessions, e.memberSession(s))
	}
	return out, nil
}

func (e *Emulator) handleB2BRevoke(r *http.Request, reqID string) (any, *session.APIError) {
	var p session.B2BRevokeParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if n := countSet(p.MemberSessionID, p.SessionToken, p.SessionJWT, p.MemberID); n != 1 {
		return nil, errRevokeArgs(n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case p.MemberID != "":
		if e.members[p.MemberID] == nil {
			return nil, errMemberNotFound()
		}
		for _, s := range e.liveSessionsOf(p.MemberID, true) {
			s.revoked = true
		}
	case p.MemberSessionID != "":
		s := e.sessions[p.MemberSessionID]
		if s == nil || !s.b2b || !s.alive(e.now()) {
			return nil, errSessionNotFound()
		}
		s.revoked = true
	default:
		s, apiErr := e.findSession(p.SessionToken, p.SessionJWT, true)
		if apiErr != nil {
			return nil, apiErr
		}
		s.revoked = true
	}
	return &revokeResponse{RequestID: reqID, StatusCode: http.StatusOK}, nil
}

// transferable reports whether a factor carries over in an exchange: only
// email magic links, OAuth and SMS OTPs do, as at Stytch.
func transferable(f session.AuthenticationFactor) bool {
	switch {
	case f.Type == "magic_link" && f.DeliveryMethod == "email":
		return true
	case f.Type == "oauth" && strings.HasPrefix(f.DeliveryMethod, "oauth_") && !strings.HasPrefix(f.DeliveryMethod, "oauth_exchange_") && f.DeliveryMethod != "oauth_access_token_exchange":
		return true
	case f.Type == "otp" && f.DeliveryMethod == "sms":
		return true
	}
	return false
}

func (e *Emulator) handleB2BExchange(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OrganizationID string `json:"organization_id"`
		SessionToken   string `json:"session_token"`
		SessionJWT     string `json:"session_jwt"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if p.OrganizationID == "" {
		return nil, apiError(http.StatusBadRequest, "bad_request", "organization_id is required.")
	}
	d, apiErr := duration(p.SessionDurationMinutes)
	if apiErr != nil {
		return nil, apiErr
	}
	if _, apiErr := mergeClaims(nil, p.SessionCustomClaims); apiErr != nil {
		return nil, apiErr
	}
	e.mu.Lock()
	src, apiErr := e.findSession(p.SessionToken, p.SessionJWT, true)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	org := e.orgs[p.OrganizationID]
	if org == nil {
		e.mu.Unlock()
		return nil, apiError(http.StatusNotFound, "organization_not_found", "Organization could not be found.")
	}
	srcMember := e.members[src.subject]
	var target *member
	for _, m := range e.members {
		if m.orgID == org.id && srcMember != nil && strings.EqualFold(m.email, srcMember.email) {
			target = m
			break
		}
	}
	if target == nil {
		e.mu.Unlock()
		return nil, errMemberNotFound()
	}
	out := &session.B2BExchangeResponse{
		RequestID:    reqID,
		MemberID:     target.id,
		Member:       e.memberModel(target),
		Organization: e.orgModel(org),
		StatusCode:   http.StatusOK,
	}
	var factors []session.AuthenticationFactor
	for _, f := range src.factors {
		if transferable(f) {
			factors = append(factors, f)
		}
	}
	if org.mfaRequired && len(factors) > 0 {
		out.IntermediateSessionToken = e.pendMFA(target, factors, p.grantArgs)
		out.IntermediateSessionTokenExpiresAt = session.NewTime(e.now().Add(IntermediateSessionLifetime))
		out.MFARequired = &session.MFARequired{}
		if target.phone != "" {
			out.MFARequired.MemberOptions = &session.MemberOptions{MFAPhoneNumber: target.phone}
		}
		e.mu.Unlock()
		return out, nil
	}
	if len(factors) == 0 {
		e.mu.Unlock()
		out.PrimaryRequired = &session.PrimaryRequired{AllowedAuthMethods: []string{"magic_link", "oauth"}}
		return out, nil
	}
	s, err := e.newSession(true, target.id, org.id, SessionParams{Duration: d, Factors: factors, CustomClaims: p.SessionCustomClaims})
	if err != nil {
		e.mu.Unlock()
		return nil, apiError(http.StatusBadRequest, "bad_request", err.Error())
	}
	ms := e.memberSession(s)
	out.MemberSession = &ms
	out.MemberAuthenticated = true
	out.SessionToken = s.token
	out.SessionJWT, apiErr = e.signUnlock(s)
	return out, apiErr
}

// b2bGrantResponse answers the B2B exchange_access_token, migrate and attest
// calls for s, releasing e.mu (held on entry).
func (e *Emulator) b2bGrantResponse(s *sess, reqID string) (any, *session.APIError) {
	auth, apiErr := e.b2bAuthResponse(s, reqID, true, nil)
	if apiErr != nil {
		return nil, apiErr
	}
	return &session.B2BSessionResponse{
		RequestID:     reqID,
		MemberID:      s.subject,
		MemberSession: &auth.MemberSession,
		SessionToken:  auth.SessionToken,
		SessionJWT:    auth.SessionJWT,
		Member:        auth.Member,
		Organization:  auth.Organization,
		StatusCode:    http.StatusOK,
	}, nil
}

func (e *Emulator) handleB2BExchangeAccessToken(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		AccessToken string `json:"access_token"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	e.mu.Lock()
	ref, ok := e.accessGrant(p.AccessToken)
	m := e.members[ref.id]
	if !ok || m == nil {
		e.mu.Unlock()
		return nil, errInvalidGrant("access token")
	}
	f := session.AuthenticationFactor{
		Type:                           "oauth",
		DeliveryMethod:                 "oauth_access_token_exchange",
		OAuthAccessTokenExchangeFactor: &session.OAuthAccessTokenExchangeFactor{ClientID: ref.clientID},
	}
	s, apiErr := e.startGranted(true, m.id, m.orgID, p.grantArgs, f)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.b2bGrantResponse(s, reqID)
}

func (e *Emulator) handleB2BMigrate(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		SessionToken   string `json:"session_token"`
		OrganizationID string `json:"organization_id"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if p.OrganizationID == "" {
		return nil, apiError(http.StatusBadRequest, "bad_request", "organization_id is required.")
	}
	e.mu.Lock()
	ref, ok := e.migrations[p.SessionToken]
	if !ok {
		e.mu.Unlock()
		return nil, errInvalidGrant("external session token")
	}
	m := e.members[ref.id]
	if m == nil || m.orgID != p.OrganizationID {
		e.mu.Unlock()
		return nil, errMemberNotFound()
	}
	f := session.AuthenticationFactor{Type: "imported", DeliveryMethod: "imported_auth0"}
	s, apiErr := e.startGranted(true, m.id, m.orgID, p.grantArgs, f)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.b2bGrantResponse(s, reqID)
}

func (e *Emulator) handleB2BAttest(r *http.Request, reqID string) (any, *session.APIError) {
	var a attestArgs
	if err := decode(r, &a); err != nil {
		return nil, err
	}
	e.mu.Lock()
	s, apiErr := e.attest(a, true)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.b2bGrantResponse(s, reqID)
}

func (e *Emulator) handleB2BPolicy(_ *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := clonePolicy(e.b2bPolicy)
	return &policyResponse{RequestID: reqID, StatusCode: http.StatusOK, Policy: &p}, nil
}

func (e *Emulator) handleB2BOrgPolicy(r *http.Request, reqID string) (any, *session.APIError) {
	orgID := r.PathValue("organization_id")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.orgs[orgID] == nil {
		return nil, apiError(http.StatusNotFound, "organization_not_found", "Organization could not be found.")
	}
	return &orgPolicyResponse{
		RequestID:  reqID,
		OrgPolicy:  session.OrgPolicy{Roles: cloneRoles(e.orgPolicies[orgID])},
		StatusCode: http.StatusOK,
	}, nil
}
