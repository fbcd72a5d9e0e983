package stytchguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ClaimsDecoder decodes custom claims into an app's own type. Build one with
// ClaimsOf; the middleware (and jwtlocal) run it once per verified token or
// answer from Stytch, and keep the result beside it.
type ClaimsDecoder func(custom map[string]any) (any, error)

// ClaimsOf returns a ClaimsDecoder into T, a struct whose fields carry json
// tags, through encoding/json: T is what Claims[T] then returns without
// decoding again.
func ClaimsOf[T any]() ClaimsDecoder {
	return func(custom map[string]any) (any, error) { return decodeClaims[T](custom) }
}

// Decode runs d on custom and returns what it decoded, or nil when d is nil
// or the claims do not fit (Claims then decodes again and reports why): the
// value to keep in ConsumerAuth.Claims, MemberAuth.Claims or
// MachineAuth.Claims.
func (d ClaimsDecoder) Decode(custom map[string]any) any {
	if d == nil {
		return nil
	}
	v, err := d(custom)
	if err != nil {
		return nil
	}
	return v
}

// ErrNoClaims is returned by Claims when the context holds no session and no
// machine token.
var ErrNoClaims = errors.New("stytchguard: no session or machine token in the context")

// Claims returns the custom claims of the session or machine token in ctx
// as a T. When the middleware was configured with ClaimsOf[T], this is a
// type assertion on the value decoded once with the verified token;
// otherwise the claims are decoded now, on every call. An error says the
// claims do not fit T (the decoding error) or that ctx holds no identity
// (ErrNoClaims).
func Claims[T any](ctx context.Context) (T, error) {
	var decoded any
	var custom map[string]any
	if a, ok := ConsumerFromContext(ctx); ok {
		decoded, custom = a.Claims, a.Session.CustomClaims
	} else if a, ok := MemberFromContext(ctx); ok {
		decoded, custom = a.Claims, a.Session.CustomClaims
	} else if a, ok := MachineFromContext(ctx); ok {
		decoded, custom = a.Claims, a.CustomClaims
	} else {
		var zero T
		return zero, ErrNoClaims
	}
	if v, ok := decoded.(T); ok {
		return v, nil
	}
	return decodeClaims[T](custom)
}

func decodeClaims[T any](custom map[string]any) (T, error) {
	var out T
	b, err := json.Marshal(custom)
	if err != nil {
		return out, fmt.Errorf("stytchguard: encoding custom claims: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("stytchguard: decoding custom claims into %T: %w", out, err)
	}
	return out, nil
}
