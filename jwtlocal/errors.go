package jwtlocal

import (
	"errors"
	"fmt"
)

// Outcome is what a verification concluded, the part of it the middleware
// acts on.
type Outcome int

// The outcomes of Verify.
const (
	// Valid: signed by the project, fresh, and not revoked.
	Valid Outcome = iota
	// Invalid: definitely bad — malformed, too long, wrong algorithm, bad
	// signature, wrong issuer or audience, a required claim missing, or a
	// token of the other product line. Asking Stytch would not change it.
	Invalid
	// Stale: signed by the project, but expired, older than MaxTokenAge, or
	// not valid yet by this machine's clock. Worth asking Stytch, which may
	// answer with a fresh JWT.
	Stale
	// KeyUnknown: no current key set is held (none could be fetched since
	// the Verifier started, or none for longer than RefreshInterval), so the
	// signature could not be checked. Inconclusive: only Stytch can tell. A
	// kid missing from a current key set, after the one paced refresh it may
	// trigger, is Invalid instead.
	KeyUnknown
	// IssuerUnknown: signed by the project's key, for the project's
	// audience, but with an issuer that is neither stytch.com/<project> nor
	// one configured (a custom domain's URL, typically). Inconclusive: ask
	// Stytch, and configure the issuer (Config.Issuers) so that the next
	// ones verify locally. The Verified is returned with it.
	IssuerUnknown
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	case Stale:
		return "stale"
	case KeyUnknown:
		return "key_unknown"
	case IssuerUnknown:
		return "issuer_unknown"
	default:
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
}

// Sentinels for errors.Is, one per failing Outcome.
var (
	ErrInvalid       = errors.New("jwtlocal: invalid session JWT")
	ErrStale         = errors.New("jwtlocal: stale session JWT")
	ErrKeyUnknown    = errors.New("jwtlocal: no key set to verify the session JWT with")
	ErrIssuerUnknown = errors.New("jwtlocal: session JWT with an issuer not configured")
)

// Error is a failed verification. Its text names the reason, never the token.
type Error struct {
	// Outcome is Invalid, Stale, KeyUnknown or IssuerUnknown.
	Outcome Outcome
	// Reason says what failed, for logs: "expired", "issuer", "signature"...
	Reason string
	// Err is the underlying cause, if any.
	Err error
	// MachineShaped, for KeyUnknown only, reports that the token's payload
	// (unverified) has an M2M access token's shape: a scope claim and no
	// session claim. Stytch's session endpoints cannot settle such a token,
	// so a caller waits for the key set rather than ask them.
	MachineShaped bool
}

// Error returns "jwtlocal: <outcome>: <reason>".
func (e *Error) Error() string {
	msg := "jwtlocal: " + e.Outcome.String() + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's Outcome.
func (e *Error) Is(target error) bool {
	switch e.Outcome {
	case Invalid:
		return target == ErrInvalid
	case Stale:
		return target == ErrStale
	case KeyUnknown:
		return target == ErrKeyUnknown
	case IssuerUnknown:
		return target == ErrIssuerUnknown
	}
	return false
}

// OutcomeOf returns the Outcome of an error Verify returned: Valid for nil.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Valid // first, and with nothing on the heap: every verified request asks
	}
	if e, ok := err.(*Error); ok {
		return e.Outcome
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Invalid
}

func invalid(reason string, err error) *Error {
	return &Error{Outcome: Invalid, Reason: reason, Err: err}
}
func stale(reason string) *Error { return &Error{Outcome: Stale, Reason: reason} }
