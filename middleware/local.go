package middleware

import (
	"context"
	"errors"

	"github.com/stytchguard/stytchguard/jwtlocal"
)

// judgment is what a credential's local check concluded: the one place a
// credential is judged before anything is asked of Stytch. Authenticate and
// Require, the machine routes and the logout handlers each read it by their
// own policy: take the session, take the machine, ask Stytch, or refuse.
type judgment struct {
	// verified is the JWT's claims when the project's key signed it: valid
	// (outcome nil), stale or from an issuer not configured. Nil otherwise.
	verified *jwtlocal.Verified
	// outcome is the jwtlocal sentinel the JWT's check matched, nil when
	// it verified (or there was no JWT).
	outcome error
	// err is the check's error, for logs and refusals.
	err error
	// ask is what is worth asking Stytch about: never a JWT that is
	// definitely bad (a token that cannot be one is refused on the way to
	// Stytch: see remote).
	ask credential
	// spends reports whether asking spends the upstream budget: nothing
	// ties ask to the project (no JWT the project's key signed).
	spends bool
}

// machine reports whether the JWT is an M2M access token the project's key
// signed.
func (j *judgment) machine() bool { return j.verified != nil && j.verified.Machine != nil }

// accessToken reports whether the JWT is a Connected Apps access token the
// project's key signed.
func (j *judgment) accessToken() bool { return j.verified != nil && j.verified.AccessToken != nil }

// session reports whether the JWT is a person's session JWT the project's
// key signed, fresh or not.
func (j *judgment) session() bool {
	return j.verified != nil && j.verified.Machine == nil && j.verified.AccessToken == nil
}

// judge verifies cred's JWT locally (step 2 of the pipeline) and says what,
// if anything, to ask Stytch, and whether asking spends the budget.
func (m *Middleware) judge(ctx context.Context, cred credential) judgment {
	j := judgment{ask: cred, spends: true}
	if cred.JWT == "" {
		return j
	}
	j.verified, j.err = m.verifier.Verify(ctx, cred.JWT)
	j.outcome = verdictOf(j.err)
	switch j.outcome {
	case nil, jwtlocal.ErrStale:
		j.spends = false // the project's signature: Stytch's word, only old
	case jwtlocal.ErrInvalid:
		j.ask.JWT = "" // the token alone may still be good
	}
	return j
}

// machineShaped reports whether err is ErrKeyUnknown for a token shaped as
// an M2M access token: only the key set can settle it.
func machineShaped(err error) bool {
	var je *jwtlocal.Error
	return errors.As(err, &je) && errors.Is(je, jwtlocal.ErrKeyUnknown) && je.MachineShaped
}

// verdictOf returns the jwtlocal sentinel err matches, nil for nil: what a
// local verification concluded. errors.Is on a *jwtlocal.Error compares
// without allocating, so a flood of garbage costs no garbage.
func verdictOf(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range [...]error{jwtlocal.ErrStale, jwtlocal.ErrKeyUnknown, jwtlocal.ErrIssuerUnknown} {
		if errors.Is(err, s) {
			return s
		}
	}
	return jwtlocal.ErrInvalid
}
