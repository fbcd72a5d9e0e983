package jwtlocal

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is: every error Verify returns matches exactly one.
var (
	// ErrInvalid: definitely bad — malformed, too long, wrong algorithm, bad
	// signature, wrong issuer or audience, a required claim missing, a
	// token of the other product line, or a kid missing from a current key
	// set. Asking Stytch would not change it.
	ErrInvalid = errors.New("jwtlocal: invalid session JWT")
	// ErrStale: signed by the project, but expired, older than MaxTokenAge,
	// or not valid yet by this machine's clock. Worth asking Stytch, which
	// may answer with a fresh JWT. The Verified is returned with it.
	ErrStale = errors.New("jwtlocal: stale session JWT")
	// ErrKeyUnknown: no current key set is held (none could be fetched since
	// the Verifier started, or none for longer than RefreshInterval), so the
	// signature could not be checked. Inconclusive: only Stytch can tell.
	ErrKeyUnknown = errors.New("jwtlocal: no key set to verify the session JWT with")
	// ErrIssuerUnknown: signed by the project's key, for the project's
	// audience, but with an issuer that is neither stytch.com/<project> nor
	// one configured (a custom domain's URL, typically). Inconclusive: ask
	// Stytch, and configure the issuer (Config.Issuers) so that the next
	// ones verify locally. The Verified is returned with it.
	ErrIssuerUnknown = errors.New("jwtlocal: session JWT with an issuer not configured")
)

// kind is what a verification concluded: which sentinel its error matches.
type kind int

const (
	kindValid kind = iota
	kindInvalid
	kindStale
	kindKeyUnknown
	kindIssuerUnknown
)

func (k kind) String() string {
	switch k {
	case kindValid:
		return "valid"
	case kindInvalid:
		return "invalid"
	case kindStale:
		return "stale"
	case kindKeyUnknown:
		return "key_unknown"
	case kindIssuerUnknown:
		return "issuer_unknown"
	default:
		return fmt.Sprintf("kind(%d)", int(k))
	}
}

// Error is a failed verification: errors.Is tells which sentinel it is.
// Its text names the reason, never the token.
type Error struct {
	kind kind
	// Reason says what failed, for logs: "expired", "issuer", "signature"...
	Reason string
	// Err is the underlying cause, if any.
	Err error
	// MachineShaped, with ErrKeyUnknown only, reports that the token's
	// payload (unverified) has an M2M access token's shape: a scope claim
	// and no session claim. Stytch's session endpoints cannot settle such a
	// token, so a caller waits for the key set rather than ask them.
	MachineShaped bool
}

// Error returns "jwtlocal: <what>: <reason>".
func (e *Error) Error() string {
	msg := "jwtlocal: " + e.kind.String() + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	switch e.kind {
	case kindInvalid:
		return target == ErrInvalid
	case kindStale:
		return target == ErrStale
	case kindKeyUnknown:
		return target == ErrKeyUnknown
	case kindIssuerUnknown:
		return target == ErrIssuerUnknown
	}
	return false
}

// kindOf returns the kind of an error Verify returned: kindValid for nil.
func kindOf(err error) kind {
	if err == nil {
		return kindValid // first, and with nothing on the heap: every verified request asks
	}
	if e, ok := err.(*Error); ok {
		return e.kind
	}
	var e *Error
	if errors.As(err, &e) {
		return e.kind
	}
	return kindInvalid
}

func invalid(reason string, err error) *Error {
	return &Error{kind: kindInvalid, Reason: reason, Err: err}
}
func stale(reason string) *Error { return &Error{kind: kindStale, Reason: reason} }
