package session

import (
	"errors"
	"fmt"
)

// ErrInvalidAnswer marks a 2xx answer that Stytch would never give: no
// request id, a status_code that is not a success, or a session answer
// without the session it promises (an empty body, empty ids, no expiry).
// Something other than Stytch answered: a proxy, a captive portal, a DNS
// entry pointing elsewhere. Such an error is also an unavailable error
// (kindUnavailable): it says nothing about the session, and is never read as
// a sign-in nor as a sign-out.
var ErrInvalidAnswer = errors.New("stytch: a success answer Stytch would not give")

// answer is a success body that can tell whether Stytch could have given it.
// problem names what is missing or wrong, "" when nothing is.
type answer interface {
	problem() string
}

// invalidAnswer is the error of an answer whose problem is p.
func invalidAnswer(p string) error {
	return fmt.Errorf("%w: %s", ErrInvalidAnswer, p)
}

// envelope checks what every Stytch success body carries: a request id, and
// its HTTP status mirrored in status_code.
func envelope(requestID string, statusCode int) string {
	switch {
	case statusCode < 200 || statusCode > 299:
		return "status_code is not a success"
	case requestID == "":
		return "no request_id"
	}
	return ""
}

// firstProblem returns the first non-empty problem.
func firstProblem(ps ...string) string {
	for _, p := range ps {
		if p != "" {
			return p
		}
	}
	return ""
}

// problem checks a consumer session: ids and an end. Whether that end has
// passed is the caller's to judge, by its own clock.
func (s *Session) problem(userID string) string {
	switch {
	case s.SessionID == "":
		return "session.session_id is empty"
	case s.UserID == "":
		return "session.user_id is empty"
	case userID != s.UserID:
		return "user.user_id is not the session's user"
	case s.ExpiresAt.IsZero():
		return "session.expires_at is missing"
	}
	return ""
}

// problem checks a member session: ids and an end, and that the member and
// organization given with it are the session's.
func (s *MemberSession) problem(memberID, organizationID string) string {
	switch {
	case s.MemberSessionID == "":
		return "member_session.member_session_id is empty"
	case s.MemberID == "":
		return "member_session.member_id is empty"
	case s.OrganizationID == "":
		return "member_session.organization_id is empty"
	case memberID != s.MemberID:
		return "member.member_id is not the session's member"
	case organizationID != s.OrganizationID:
		return "organization.organization_id is not the session's organization"
	case s.ExpiresAt.IsZero():
		return "member_session.expires_at is missing"
	}
	return ""
}

func (r *AuthenticateResponse) problem() string {
	return firstProblem(envelope(r.RequestID, r.StatusCode), r.Session.problem(r.User.UserID))
}

func (r *B2BAuthenticateResponse) problem() string {
	return firstProblem(envelope(r.RequestID, r.StatusCode),
		r.MemberSession.problem(r.Member.MemberID, r.Organization.OrganizationID))
}

func (r *B2BSessionResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.MemberSession == nil {
		return "no member_session"
	}
	return r.MemberSession.problem(r.Member.MemberID, r.Organization.OrganizationID)
}

func (r *B2BExchangeResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if !r.MemberAuthenticated {
		if r.IntermediateSessionToken == "" {
			return "neither a member session nor an intermediate session token"
		}
		return ""
	}
	if r.MemberSession == nil {
		return "member_authenticated without a member_session"
	}
	return r.MemberSession.problem(r.Member.MemberID, r.Organization.OrganizationID)
}

func (r *ListResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.Sessions == nil {
		return "no sessions list"
	}
	for i := range r.Sessions {
		if p := r.Sessions[i].problem(r.Sessions[0].UserID); p != "" {
			return "sessions: " + p
		}
	}
	return ""
}

func (r *B2BListResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.MemberSessions == nil {
		return "no member_sessions list"
	}
	for i := range r.MemberSessions {
		if p := r.MemberSessions[i].problem(r.MemberSessions[0].MemberID, r.MemberSessions[0].OrganizationID); p != "" {
			return "member_sessions: " + p
		}
	}
	return ""
}

func (r *revokeResponse) problem() string { return envelope(r.RequestID, r.StatusCode) }

func (r *jwksResponse) problem() string { return envelope(r.RequestID, r.StatusCode) }

func (r *smsOTPSendResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.MemberID == "" {
		return "member_id is empty"
	}
	return ""
}

// problem refuses a policy that would replace a good one with nothing: a
// project's policy always holds Stytch's predefined roles.
func (r *policyResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.Policy == nil {
		return "no policy"
	}
	if len(r.Policy.Roles) == 0 {
		return "a policy without roles"
	}
	return rolesProblem("policy.roles", r.Policy.Roles)
}

func (r *orgPolicyResponse) problem() string {
	if p := envelope(r.RequestID, r.StatusCode); p != "" {
		return p
	}
	if r.OrgPolicy.Roles == nil {
		return "no org_policy.roles"
	}
	return rolesProblem("org_policy.roles", r.OrgPolicy.Roles)
}

func rolesProblem(where string, roles []Role) string {
	for _, role := range roles {
		if role.RoleID == "" {
			return where + ": a role without a role_id"
		}
		for _, p := range role.Permissions {
			if p.ResourceID == "" {
				return where + ": a permission without a resource_id"
			}
		}
	}
	return ""
}
