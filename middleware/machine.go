package middleware

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
)

// machine admits an M2M access token that verified (Valid) as a Bearer
// credential. Stytch has no endpoint to ask about one, so a token that is
// stale (expired, or not valid yet by this clock) or from an issuer not
// configured is refused here, never sent upstream.
func (m *Middleware) machine(cred credential, v *jwtlocal.Verified, err error) (*auth, *stytchguard.Refusal) {
	refuse := func(msg string) *stytchguard.Refusal {
		return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: msg, TokenPresented: true, Err: err}
	}
	switch verdictOf(err) {
	case nil:
		if cred.From != fromHeader {
			return nil, refuse("an M2M access token is taken only as a Bearer credential")
		}
		if m.cfg.Hooks.Local != nil {
			m.cfg.Hooks.Local()
		}
		return &auth{machine: v.Machine, expires: v.Machine.ExpiresAt}, nil
	case jwtlocal.ErrIssuerUnknown:
		return nil, refuse("the access token's issuer is not configured")
	default:
		return nil, refuse("the access token is expired or not valid yet")
	}
}

// RequireMachine returns a guard for routes that serve other services: the
// request must carry, as "Authorization: Bearer", a Stytch M2M access token
// of the project (verified locally with the session key set, never asked
// of Stytch) that grants every one of scopes (stytchguard.MachineAuth.HasScopes: "read:*"
// grants "read:reports"). The token is put in the context
// (stytchguard.MachineFromContext). No credential: 401; an invalid or expired
// token: 401 invalid_token; a person's session, or a token without the
// scopes: 403 insufficient_scope, whose challenge names the scopes (RFC 6750
// scope=) as does the JSON (scopes). With no scopes, any valid M2M token
// will do. It never asks Stytch: an opaque token here is refused as a
// person's session would be, without spending the upstream budget.
func (m *Middleware) RequireMachine(scopes ...string) func(http.Handler) http.Handler {
	return m.machineGuard(scopes, true, false)
}

// RequireMachineAny is RequireMachine for routes that any one of scopes
// opens.
func (m *Middleware) RequireMachineAny(scopes ...string) func(http.Handler) http.Handler {
	return m.machineGuard(scopes, false, false)
}

// RequireSessionOrMachine returns a guard for routes that people and
// services share: a person's session, as Require takes it, or an M2M access
// token granting every one of scopes, as RequireMachine takes it. The
// handler tells them apart with stytchguard.MachineFromContext; refusals are
// those of Require and RequireMachine.
func (m *Middleware) RequireSessionOrMachine(scopes ...string) func(http.Handler) http.Handler {
	return m.machineGuard(scopes, true, true)
}

// machineGuard admits machine tokens holding scopes (all of them, or any
// when all is false), and people's sessions when people is set.
func (m *Middleware) machineGuard(scopes []string, all, people bool) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	refusal := &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeInsufficientScope, Scopes: scopes}
	switch {
	case len(scopes) == 0:
		refusal.Message = "an M2M access token is required"
	case all:
		refusal.Message = "an M2M access token with scope " + strings.Join(scopes, " and ") + " is required"
	default:
		refusal.Message = "an M2M access token with scope " + strings.Join(scopes, " or ") + " is required"
	}
	admit := func(a *auth) *stytchguard.Refusal {
		machine := a.machine
		switch {
		case a.access != nil:
			return diagnosed(refusal, "a Connected App's access token came (client "+a.access.ClientID+"), where an M2M access token is required")
		case machine == nil && people:
			return nil
		case machine == nil:
			return diagnosed(refusal, "a person's session came, where an M2M access token is required")
		case len(scopes) == 0, all && machine.HasScopes(scopes...), !all && machine.HasAnyScope(scopes...):
			return nil
		}
		return diagnosed(refusal, "the token of client "+machine.ClientID+" grants "+strings.Join(machine.Scopes, " "))
	}
	if people {
		return func(next http.Handler) http.Handler { return m.handler(next, true, admit, nil) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.preflight(w, r, next) {
				return
			}
			a, e := m.resolveMachine(r, refusal)
			if e == nil {
				e = admit(a)
			}
			if m.cfg.Hooks.Decided != nil {
				m.decided(r.Context(), time.Time{}, a, e) // never asks Stytch
			}
			if e != nil {
				m.refuse(w, r, e)
				return
			}
			next.ServeHTTP(w, r.WithContext(m.context(r.Context(), a)))
		})
	}
}

// diagnosed returns a copy of the shared refusal e with a diagnosis.
func diagnosed(e *stytchguard.Refusal, why string) *stytchguard.Refusal {
	c := *e
	c.Diagnosis = why
	return &c
}

// resolveMachine is resolve for routes only machines may use, and never
// asks Stytch: whatever is not an M2M access token is refused, a person's
// session (an opaque token, a session JWT, the cookies) with refusal, at no
// cost to the upstream budget; a JWT that is definitely bad with 401.
func (m *Middleware) resolveMachine(r *http.Request, refusal *stytchguard.Refusal) (*auth, *stytchguard.Refusal) {
	cred, e := m.extract(r)
	switch {
	case e != nil:
		return nil, e
	case cred.Empty():
		return nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeUnauthenticated, Message: "an M2M access token is required"}
	case cred.JWT == "":
		return nil, diagnosed(refusal, "an opaque token came: a person's session token, or nothing; never an M2M access token")
	}
	j := m.judge(r.Context(), cred)
	switch {
	case j.machine():
		return m.machine(cred, j.verified, j.err)
	case j.outcome == jwtlocal.ErrInvalid:
		return nil, errInvalidJWT(j.err)
	case machineShaped(j.err):
		return nil, m.errNoKeys(j.err)
	case j.accessToken():
		return nil, diagnosed(refusal, "a Connected App's access token came, where an M2M access token is required")
	}
	return nil, diagnosed(refusal, "a person's session JWT came, where an M2M access token is required")
}

// errNoKeys answers an M2M token while no key set is held: only the key
// set can settle it, and Stytch cannot be asked.
func (m *Middleware) errNoKeys(err error) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable,
		Message: "the access token cannot be verified yet; try again shortly", RetryAfter: m.cfg.Upstream.RetryAfter, Err: err}
}

func errInvalidJWT(err error) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the JWT is not valid", TokenPresented: true, Err: err}
}
