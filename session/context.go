package session

import "context"

// Source says how a session in a request's context was verified.
type Source int

const (
	// SourceLocal: a session JWT verified against the project's JWKS, with no
	// call to Stytch.
	SourceLocal Source = iota + 1
	// SourceStytch: Stytch's authenticate endpoint answered for the session.
	SourceStytch
)

// String returns "local" or "stytch" ("" for the zero Source).
func (s Source) String() string {
	switch s {
	case SourceLocal:
		return "local"
	case SourceStytch:
		return "stytch"
	default:
		return ""
	}
}

// ConsumerAuth is an authenticated consumer session as the middleware puts it
// in a request's context.
type ConsumerAuth struct {
	// Session is the verified session.
	Session Session
	// User is the session's user when Stytch answered (SourceStytch), nil
	// when only a JWT was verified.
	User *User
	// Source tells how the session was verified.
	Source Source
	// Claims are Session.CustomClaims decoded into the type configured
	// with ClaimsOf, nil when none was configured or they did not decode.
	// Read them with Claims.
	Claims any
}

// MemberAuth is an authenticated B2B member session as the middleware puts it
// in a request's context.
type MemberAuth struct {
	// Session is the verified member session.
	Session MemberSession
	// Member and Organization are set when Stytch answered (SourceStytch),
	// nil when only a JWT was verified.
	Member       *Member
	Organization *Organization
	// Source tells how the session was verified.
	Source Source
	// Claims are Session.CustomClaims decoded into the type configured
	// with ClaimsOf, nil when none was configured or they did not decode.
	// Read them with Claims.
	Claims any
}

type contextKey int

const (
	consumerKey contextKey = iota
	memberKey
	machineKey
)

// NewConsumerContext returns a copy of ctx carrying a.
func NewConsumerContext(ctx context.Context, a *ConsumerAuth) context.Context {
	return context.WithValue(ctx, consumerKey, a)
}

// ConsumerFromContext returns the consumer session in ctx, if there is one.
func ConsumerFromContext(ctx context.Context) (*ConsumerAuth, bool) {
	a, ok := ctx.Value(consumerKey).(*ConsumerAuth)
	return a, ok && a != nil
}

// NewMemberContext returns a copy of ctx carrying a.
func NewMemberContext(ctx context.Context, a *MemberAuth) context.Context {
	return context.WithValue(ctx, memberKey, a)
}

// MemberFromContext returns the B2B member session in ctx, if there is one.
func MemberFromContext(ctx context.Context) (*MemberAuth, bool) {
	a, ok := ctx.Value(memberKey).(*MemberAuth)
	return a, ok && a != nil
}
