package middleware

import (
	"context"
	"errors"
	"net/http"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// consumerLine is a consumer project's line: users' sessions.
type consumerLine struct {
	c      *session.ConsumerClient
	claims func(map[string]any) any
}

func (l consumerLine) authenticate(ctx context.Context, p session.AuthenticateParams) (*auth, error) {
	res, err := l.c.Authenticate(ctx, p)
	if err != nil {
		return nil, err
	}
	// Copies, not &res.User: a pointer into res would keep the whole
	// answer, its session JWT and token too, in every remembered entry.
	user := res.User
	s := res.Session
	s.Roles, s.AuthenticationFactors = shareable(s.Roles, s.AuthenticationFactors)
	return &auth{
		consumer: &stytchguard.ConsumerAuth{Session: s, User: &user, Source: stytchguard.SourceStytch,
			Claims: l.claims(res.Session.CustomClaims)},
		sessionID: res.Session.SessionID, expires: res.Session.ExpiresAt.Time,
		jwt: res.SessionJWT, token: res.SessionToken,
	}, nil
}

func (l consumerLine) list(ctx context.Context, a *auth) ([]string, any, error) {
	res, err := l.c.List(ctx, a.consumer.Session.UserID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(res.Sessions))
	for i, s := range res.Sessions {
		ids[i] = s.SessionID
	}
	return ids, map[string]any{"sessions": res.Sessions}, nil
}

func (l consumerLine) revoke(ctx context.Context, sessionID string, cred credential) error {
	p := session.RevokeParams{SessionID: sessionID}
	if sessionID == "" {
		p.SessionToken, p.SessionJWT = cred.Token, tokenOr(cred.Token, cred.JWT)
	}
	return l.c.Revoke(ctx, p)
}

// revokesAll: Stytch's consumer revoke takes one session at a time.
func (consumerLine) revokesAll() bool { return false }

func (consumerLine) revokeAll(context.Context, *auth) error {
	return errors.New("stytchguard: a consumer project revokes sessions one at a time")
}

func (consumerLine) factors(r *http.Request) ([]session.AuthenticationFactor, bool) {
	a, ok := stytchguard.ConsumerFromContext(r.Context())
	if !ok {
		return nil, false
	}
	return a.Session.AuthenticationFactors, true
}
