package stytchguard

import (
	"context"

	"github.com/stytchguard/stytchguard/session"
)

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
// in a request's context. What it points to may be shared with other
// requests (a cached session): read it, do not change it. Session.Roles and
// Session.AuthenticationFactors have no room beyond their length, so that
// an append to them makes a copy of its own.
type ConsumerAuth struct {
	// Session is the verified session.
	Session session.Session
	// User is the session's user when Stytch answered (SourceStytch), nil
	// when only a JWT was verified.
	User *session.User
	// Source tells how the session was verified.
	Source Source
	// Claims are Session.CustomClaims decoded into the type configured
	// with ClaimsOf, nil when none was configured or they did not decode.
	// Read them with Claims.
	Claims any
}

// MemberAuth is an authenticated B2B member session as the middleware puts it
// in a request's context. Like a ConsumerAuth, it may be shared with other
// requests: read it, do not change it (its session's roles and factors, as
// a ConsumerAuth's, take an append without writing into shared storage).
type MemberAuth struct {
	// Session is the verified member session.
	Session session.MemberSession
	// Member and Organization are set when Stytch answered (SourceStytch),
	// nil when only a JWT was verified.
	Member       *session.Member
	Organization *session.Organization
	// Source tells how the session was verified.
	Source Source
	// Claims are Session.CustomClaims decoded into the type configured
	// with ClaimsOf, nil when none was configured or they did not decode.
	// Read them with Claims.
	Claims any
}

// requestKey is the context key of a request's authValue.
type requestKey struct{}

// authValue is what a request's context says of its caller: the session
// (consumer or member) or machine token the middleware verified, and the
// verdict of the guard that let it through. It is the context itself, so
// that a request carries all of it in one allocation and one Value lookup.
type authValue struct {
	context.Context
	consumer *ConsumerAuth
	member   *MemberAuth
	machine  *MachineAuth
	access   *AccessTokenAuth
	verdict  *session.Verdict
}

// Value answers this request's authValue for requestKey, the parent's
// values for any other key.
func (c *authValue) Value(key any) any {
	if key == (requestKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// with returns a copy of ctx whose authValue is set by f, starting from the
// one ctx already carries (a consumer and a machine token may both be set).
func with(ctx context.Context, f func(*authValue)) context.Context {
	c := &authValue{Context: ctx}
	if p := from(ctx); p != nil {
		c.consumer, c.member, c.machine, c.access, c.verdict = p.consumer, p.member, p.machine, p.access, p.verdict
	}
	f(c)
	return c
}

func from(ctx context.Context) *authValue {
	c, _ := ctx.Value(requestKey{}).(*authValue)
	return c
}

// NewConsumerContext returns a copy of ctx carrying a.
func NewConsumerContext(ctx context.Context, a *ConsumerAuth) context.Context {
	return with(ctx, func(c *authValue) { c.consumer = a })
}

// ConsumerFromContext returns the consumer session in ctx, if there is one.
func ConsumerFromContext(ctx context.Context) (*ConsumerAuth, bool) {
	if c := from(ctx); c != nil && c.consumer != nil {
		return c.consumer, true
	}
	return nil, false
}

// NewMemberContext returns a copy of ctx carrying a.
func NewMemberContext(ctx context.Context, a *MemberAuth) context.Context {
	return with(ctx, func(c *authValue) { c.member = a })
}

// MemberFromContext returns the B2B member session in ctx, if there is one.
func MemberFromContext(ctx context.Context) (*MemberAuth, bool) {
	if c := from(ctx); c != nil && c.member != nil {
		return c.member, true
	}
	return nil, false
}

// WithVerdict records v, the verdict of the guard that let the request
// through, for VerdictFromContext. When ctx carries a session or machine
// token (NewConsumerContext, NewMemberContext, NewMachineContext), v is
// kept beside it, in place, and ctx is returned as is: a guard then costs
// the request no copy. Otherwise the result is a copy of ctx carrying v.
// Guards call it before they call the next handler, on the request's own
// goroutine.
func WithVerdict(ctx context.Context, v *session.Verdict) context.Context {
	if c := from(ctx); c != nil {
		c.verdict = v
		return ctx
	}
	return with(ctx, func(c *authValue) { c.verdict = v })
}

// VerdictFromContext returns the verdict WithVerdict recorded in ctx.
func VerdictFromContext(ctx context.Context) (*session.Verdict, bool) {
	if c := from(ctx); c != nil && c.verdict != nil {
		return c.verdict, true
	}
	return nil, false
}
