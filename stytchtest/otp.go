package stytchtest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

const (
	// SMSOTPLifetime is how long a code sent by the B2B SMS OTP send call
	// can be authenticated: 2 minutes, the default of Stytch's OTPs.
	SMSOTPLifetime = 2 * time.Minute
	// SMSOTPAttempts is how many wrong codes a sent code survives; the next
	// wrong one discards it, so that its million values cannot be tried.
	SMSOTPAttempts = 5
	// SMSSendsPerIntermediateSession is how many codes one intermediate
	// session token may have sent; the next send is a 429
	// too_many_requests. With SMSOTPAttempts, it bounds the guesses one
	// sign-in step allows (25 of a million codes).
	SMSSendsPerIntermediateSession = 5
	// SMSSendsPerMember is how many codes a member may be sent within
	// SMSSendWindow, whatever asks; the next send is a 429
	// too_many_requests. Stytch limits SMS sends per phone number and does
	// not publish its numbers; these are the emulator's.
	SMSSendsPerMember = 10
	// SMSSendWindow is the window of SMSSendsPerMember.
	SMSSendWindow = time.Hour
	// maxPending bounds the intermediate sessions and codes kept: past it,
	// expired ones are dropped before a new one is kept.
	maxPending = 10_000
)

// pendingMFA is a B2B exchange into an organization that requires MFA:
// what the session will be once the member completes the MFA step.
type pendingMFA struct {
	memberID, orgID string
	factors         []session.AuthenticationFactor
	args            grantArgs
	expires         time.Time
	sends           int // SMS codes sent for it
}

// smsCode is the SMS OTP last sent to a member.
type smsCode struct {
	code, phone, orgID string
	expires            time.Time
	wrong              int
}

// prune drops m's expired entries once it holds maxPending, before one more
// is kept: what a flood of exchanges or sends leaves behind stays bounded.
func prune[V any](m map[string]V, now time.Time, expires func(V) time.Time) {
	if len(m) < maxPending {
		return
	}
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
}

// pendMFA keeps an intermediate session for m with the factors carried
// over, and returns its token. The caller holds e.mu.
func (e *Emulator) pendMFA(m *member, factors []session.AuthenticationFactor, args grantArgs) string {
	now := e.now()
	prune(e.pendingMFA, now, func(p *pendingMFA) time.Time { return p.expires })
	tok := randomToken(33)
	e.pendingMFA[tok] = &pendingMFA{memberID: m.id, orgID: m.orgID, factors: factors, args: args, expires: now.Add(IntermediateSessionLifetime)}
	return tok
}

// pending returns the live intermediate session tok of member in org. The
// caller holds e.mu.
func (e *Emulator) pending(tok, memberID, orgID string) (*pendingMFA, *session.APIError) {
	p := e.pendingMFA[tok]
	if p == nil || !e.now().Before(p.expires) || p.memberID != memberID || p.orgID != orgID {
		return nil, apiError(http.StatusNotFound, "intermediate_session_not_found", "Intermediate session could not be found.")
	}
	return p, nil
}

// IntermediateSession returns the member and organization an intermediate
// session token is for, while it is live: what an app's MFA page shows
// without taking the member from the request.
func (e *Emulator) IntermediateSession(token string) (memberID, organizationID string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pendingMFA[token]
	if p == nil || !e.now().Before(p.expires) {
		return "", "", false
	}
	return p.memberID, p.orgID, true
}

// smsSendAllowed counts one send for the member (and the intermediate
// session pend, when given) or refuses it past the limits. The caller
// holds e.mu.
func (e *Emulator) smsSendAllowed(memberID string, pend *pendingMFA) *session.APIError {
	now := e.now()
	prune(e.smsSends, now, func(sent []time.Time) time.Time { return sent[len(sent)-1].Add(SMSSendWindow) })
	recent := slices.DeleteFunc(e.smsSends[memberID], func(at time.Time) bool { return !now.Before(at.Add(SMSSendWindow)) })
	switch {
	case pend != nil && pend.sends >= SMSSendsPerIntermediateSession:
		return apiError(http.StatusTooManyRequests, "too_many_requests", "Too many one-time passcodes were sent for this intermediate session.")
	case len(recent) >= SMSSendsPerMember:
		e.smsSends[memberID] = recent
		return apiError(http.StatusTooManyRequests, "too_many_requests", "Too many one-time passcodes were sent to this member; try again later.")
	}
	if pend != nil {
		pend.sends++
	}
	e.smsSends[memberID] = append(recent, now)
	return nil
}

// SMSCode returns the code the B2B SMS OTP send call last sent to the member
// and whether one is outstanding: what the member would read on their phone.
// Demos show it; tests type it in.
func (e *Emulator) SMSCode(memberID string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.smsCodes[memberID]
	if c == nil || !e.now().Before(c.expires) {
		return "", false
	}
	return c.code, true
}

// orgMember finds the member of org, with Stytch's not-found errors. The
// caller holds e.mu.
func (e *Emulator) orgMember(orgID, memberID string) (*member, *session.APIError) {
	if orgID == "" || memberID == "" {
		return nil, apiError(http.StatusBadRequest, "bad_request", "organization_id and member_id are required.")
	}
	if e.orgs[orgID] == nil {
		return nil, apiError(http.StatusNotFound, "organization_not_found", "Organization could not be found.")
	}
	m := e.members[memberID]
	if m == nil || m.orgID != orgID {
		return nil, errMemberNotFound()
	}
	return m, nil
}

// handleSMSSend sends a member a 6-digit code for the MFA step: to their
// MFA phone number, or, for a member with none, to mfa_phone_number (which
// the authenticate call then enrolls). A new code replaces the last one.
func (e *Emulator) handleSMSSend(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OrganizationID           string `json:"organization_id"`
		MemberID                 string `json:"member_id"`
		MFAPhoneNumber           string `json:"mfa_phone_number"`
		Locale                   string `json:"locale"`
		IntermediateSessionToken string `json:"intermediate_session_token"`
		SessionToken             string `json:"session_token"`
		SessionJWT               string `json:"session_jwt"`
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, apiErr := e.orgMember(p.OrganizationID, p.MemberID)
	if apiErr != nil {
		return nil, apiErr
	}
	var pend *pendingMFA
	if p.IntermediateSessionToken != "" {
		if pend, apiErr = e.pending(p.IntermediateSessionToken, m.id, m.orgID); apiErr != nil {
			return nil, apiErr
		}
	}
	phone := m.phone
	switch {
	case phone == "" && p.MFAPhoneNumber == "":
		return nil, apiError(http.StatusBadRequest, "mfa_phone_number_required", "The member has no MFA phone number: pass mfa_phone_number.")
	case phone == "":
		if !e164(p.MFAPhoneNumber) {
			return nil, apiError(http.StatusBadRequest, "invalid_phone_number", "mfa_phone_number must be an E.164 phone number.")
		}
		phone = p.MFAPhoneNumber
	case p.MFAPhoneNumber != "" && p.MFAPhoneNumber != phone:
		return nil, apiError(http.StatusBadRequest, "member_phone_number_already_set", "The member already has another MFA phone number.")
	}
	if apiErr := e.smsSendAllowed(m.id, pend); apiErr != nil {
		return nil, apiErr
	}
	prune(e.smsCodes, e.now(), func(c *smsCode) time.Time { return c.expires })
	e.smsCodes[m.id] = &smsCode{code: fmt.Sprintf("%06d", e.rng.IntN(1_000_000)), phone: phone, orgID: m.orgID, expires: e.now().Add(SMSOTPLifetime)}
	return &smsOTPSendResponse{
		RequestID:    reqID,
		MemberID:     m.id,
		Member:       e.memberModel(m),
		Organization: e.orgModel(e.orgs[m.orgID]),
		StatusCode:   http.StatusOK,
	}, nil
}

// e164 reports whether s looks like an E.164 number: + and 8 to 15 digits.
func e164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// handleSMSAuthenticate checks a code sent by handleSMSSend. With an
// intermediate session token it completes that exchange: a new member
// session with the factors carried over and the SMS OTP. With a session
// token or JWT it adds the SMS OTP factor to that session (step-up).
func (e *Emulator) handleSMSAuthenticate(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		OrganizationID           string `json:"organization_id"`
		MemberID                 string `json:"member_id"`
		Code                     string `json:"code"`
		IntermediateSessionToken string `json:"intermediate_session_token"`
		SessionToken             string `json:"session_token"`
		SessionJWT               string `json:"session_jwt"`
		SetMFAEnrollment         string `json:"set_mfa_enrollment"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	given := 0
	for _, v := range []string{p.IntermediateSessionToken, p.SessionToken, p.SessionJWT} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return nil, apiError(http.StatusBadRequest, "bad_request", "Pass exactly one of intermediate_session_token, session_token and session_jwt.")
	}
	e.mu.Lock()
	m, apiErr := e.orgMember(p.OrganizationID, p.MemberID)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	var pend *pendingMFA
	var existing *sess
	if p.IntermediateSessionToken != "" {
		pend, apiErr = e.pending(p.IntermediateSessionToken, m.id, m.orgID)
	} else if existing, apiErr = e.findSession(p.SessionToken, p.SessionJWT, true); apiErr == nil && existing.subject != m.id {
		apiErr = errSessionNotFound()
	}
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	c := e.smsCodes[m.id]
	if c == nil || !e.now().Before(c.expires) || subtle.ConstantTimeCompare([]byte(c.code), []byte(p.Code)) != 1 {
		if c != nil {
			if c.wrong++; c.wrong >= SMSOTPAttempts {
				delete(e.smsCodes, m.id)
			}
		}
		e.mu.Unlock()
		return nil, apiError(http.StatusNotFound, "otp_code_not_found", "The OTP code is wrong or has expired.")
	}
	delete(e.smsCodes, m.id)
	if m.phone == "" && p.SetMFAEnrollment != "unenroll" {
		m.phone = c.phone
	}
	factor := session.AuthenticationFactor{
		Type:              "otp",
		DeliveryMethod:    "sms",
		PhoneNumberFactor: &session.PhoneNumberFactor{PhoneID: e.id("phone-number"), PhoneNumber: c.phone},
	}
	s := existing
	if pend != nil {
		delete(e.pendingMFA, p.IntermediateSessionToken)
		args := pend.args
		if p.SessionDurationMinutes != nil || p.SessionCustomClaims != nil {
			args = p.grantArgs
		}
		if s, apiErr = e.startGranted(true, m.id, m.orgID, args, factor); apiErr != nil {
			e.mu.Unlock()
			return nil, apiErr
		}
		s.factors = append(stampFactors(pend.factors, e.now()), s.factors...)
	} else {
		s.factors = append(s.factors, stampFactors([]session.AuthenticationFactor{factor}, e.now())...)
	}
	return e.b2bGrantResponse(s, reqID)
}
