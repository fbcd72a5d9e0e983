package middleware

import (
	"context"
	"net/http"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// b2bLine is a B2B project's line: members' sessions, in organizations.
type b2bLine struct {
	c      *session.B2BClient
	claims func(map[string]any) any
}

func (l b2bLine) authenticate(ctx context.Context, p session.AuthenticateParams) (*auth, error) {
	res, err := l.c.Authenticate(ctx, session.B2BAuthenticateParams{
		SessionToken: p.SessionToken, SessionJWT: p.SessionJWT, SessionDurationMinutes: p.SessionDurationMinutes,
	})
	if err != nil {
		return nil, err
	}
	// Copies, not &res.Member: a pointer into res would keep the whole
	// answer, its session JWT and token too, in every remembered entry.
	member, org := res.Member, res.Organization
	ms := res.MemberSession
	ms.Roles, ms.AuthenticationFactors = shareable(ms.Roles, ms.AuthenticationFactors)
	return &auth{
		member: &stytchguard.MemberAuth{Session: ms, Member: &member, Organization: &org, Source: stytchguard.SourceStytch,
			Claims: l.claims(res.MemberSession.CustomClaims)},
		sessionID: res.MemberSession.MemberSessionID, expires: res.MemberSession.ExpiresAt.Time,
		jwt: res.SessionJWT, token: res.SessionToken,
	}, nil
}

func (l b2bLine) list(ctx context.Context, a *auth) ([]string, any, error) {
	s := a.member.Session
	res, err := l.c.List(ctx, s.OrganizationID, s.MemberID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(res.MemberSessions))
	for i, ms := range res.MemberSessions {
		ids[i] = ms.MemberSessionID
	}
	return ids, map[string]any{"member_sessions": res.MemberSessions}, nil
}

func (l b2bLine) revoke(ctx context.Context, sessionID string, cred credential) error {
	p := session.B2BRevokeParams{MemberSessionID: sessionID}
	if sessionID == "" {
		p.SessionToken, p.SessionJWT = cred.Token, tokenOr(cred.Token, cred.JWT)
	}
	return l.c.Revoke(ctx, p)
}

// revokesAll: Stytch's B2B revoke ends every session of a member at once.
func (b2bLine) revokesAll() bool { return true }

func (l b2bLine) revokeAll(ctx context.Context, a *auth) error {
	return l.c.Revoke(ctx, session.B2BRevokeParams{MemberID: a.member.Session.MemberID})
}

func (b2bLine) factors(r *http.Request) ([]session.AuthenticationFactor, bool) {
	a, ok := stytchguard.MemberFromContext(r.Context())
	if !ok {
		return nil, false
	}
	return a.Session.AuthenticationFactors, true
}
