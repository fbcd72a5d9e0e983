package stytchguard

import (
	"context"
	"strings"
	"time"
)

// MachineAuth is a verified machine-to-machine (M2M) access token as the
// middleware puts it in a request's context: the client it was issued to,
// its scopes and its custom claims. M2M tokens are verified locally only:
// Stytch has no endpoint that authenticates one, and none revokes one before
// its exp (deactivating the client stops new tokens, not issued ones).
type MachineAuth struct {
	// ClientID is the M2M client the token was issued to (its sub claim).
	ClientID string
	// Scopes are the token's scopes, in the order of its scope claim.
	Scopes []string
	// CustomClaims are the token's claims other than the registered ones and
	// scope, from the project's custom claim template. Never nil.
	CustomClaims map[string]any
	// Claims are CustomClaims decoded into the type configured with
	// ClaimsOf, nil when none was configured or they did not decode.
	// Read them with Claims.
	Claims any
	// IssuedAt and ExpiresAt are the token's iat and exp.
	IssuedAt, ExpiresAt time.Time
	// Source is SourceLocal: machine tokens are always verified locally.
	Source Source
}

// HasScopes reports whether the token grants every one of required, by
// Stytch's rule (scopesGrant).
func (a *MachineAuth) HasScopes(required ...string) bool {
	for _, r := range required {
		if !scopesGrant(a.Scopes, r) {
			return false
		}
	}
	return true
}

// HasAnyScope reports whether the token grants at least one of scopes.
func (a *MachineAuth) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		if scopesGrant(a.Scopes, s) {
			return true
		}
	}
	return false
}

// scopesGrant reports whether held scopes grant the required one, by the rule
// of Stytch's SDKs: a scope is "action:resource", or an action alone; a held
// scope grants a required one of the same action whose resource is the same
// or, when the held resource is "*", any ("read:*" grants "read:reports" and
// "read").
func scopesGrant(held []string, required string) bool {
	action, resource := splitScope(required)
	for _, h := range held {
		if ha, hr := splitScope(h); ha == action && (hr == "*" || hr == resource) {
			return true
		}
	}
	return false
}

// splitScope splits "action:resource"; an action alone has the resource "-",
// as in Stytch's SDKs.
func splitScope(s string) (action, resource string) {
	if a, r, ok := strings.Cut(s, ":"); ok {
		return a, r
	}
	return s, "-"
}

// NewMachineContext returns a copy of ctx carrying a.
func NewMachineContext(ctx context.Context, a *MachineAuth) context.Context {
	return with(ctx, func(c *authValue) { c.machine = a })
}

// MachineFromContext returns the machine token in ctx, if the request was
// authenticated by one rather than by a person's session.
func MachineFromContext(ctx context.Context) (*MachineAuth, bool) {
	if c := from(ctx); c != nil && c.machine != nil {
		return c.machine, true
	}
	return nil, false
}
