package middleware

import (
	"context"
	"net/http"

	"github.com/stytchguard/stytchguard/session"
)

// line is what differs between Stytch's product lines, consumer (users) and
// B2B (members of organizations): the endpoints a session is
// authenticated, listed and revoked with, and where its factors are. New
// picks one from the client's product line, so that every branch on it
// lives in consumer.go or b2b.go.
type line interface {
	// authenticate asks Stytch about a session token or JWT.
	authenticate(ctx context.Context, p session.AuthenticateParams) (*auth, error)
	// list returns the live sessions of a's user or member: their ids, and
	// the JSON body SessionsHandler answers with.
	list(ctx context.Context, a *auth) (ids []string, body any, err error)
	// revoke ends one session, by id when known, else by credential.
	revoke(ctx context.Context, sessionID string, cred credential) error
	// revokesAll reports whether revokeAll can end every session of a
	// person in one call (B2B, by member id); otherwise each is revoked.
	revokesAll() bool
	// revokeAll ends every session of a's person at once.
	revokeAll(ctx context.Context, a *auth) error
	// factors returns the authentication factors of the request's session,
	// false when it has none of this line.
	factors(r *http.Request) ([]session.AuthenticationFactor, bool)
}

// lineOf returns the implementation of the client's product line.
func lineOf(c *session.Client, claims func(map[string]any) any) line {
	if c.IsB2B() {
		return b2bLine{c: c.B2B, claims: claims}
	}
	return consumerLine{c: c.Consumer, claims: claims}
}
