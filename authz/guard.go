package authz

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/preflight"
	"github.com/stytchguard/stytchguard/session"
)

// refuse answers a refusal through the ErrorHandler the middleware recorded
// in the request (stytchguard.Refuse): one handler for the whole app.
func refuse(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	stytchguard.Refuse(w, r, &stytchguard.Refusal{Status: status, Code: code, Message: message})
}

// PathValue reads a route parameter through http.Request.PathValue, on
// net/http's ServeMux (Go 1.22 patterns) and on chi, which sets path values
// for its route parameters since v5.0.12. authz does not import chi.
func PathValue(name string) func(*http.Request) string {
	return func(r *http.Request) string { return r.PathValue(name) }
}

// Permission is one action on one resource.
type Permission struct {
	ResourceID, Action string
}

// Require returns a middleware that lets a request through only when the
// session (or M2M access token) in its context may perform action on
// resource, in the session's own organization for B2B. Allowed: the verdict
// is put in the request's context (stytchguard.VerdictFromContext) for the
// handler. No session: 401. Refused: 403 with Stytch's error type as the
// code. No policy to decide with: 503. Refusals are answered by the
// middleware's ErrorHandler (stytchguard.Refuse).
//
// The session is the one the stytchguard middleware (or anything else using
// stytchguard.NewConsumerContext / NewMemberContext) put in the context,
// whichever way it was verified.
func (a *Authorizer) Require(resource, action string) func(http.Handler) http.Handler {
	return a.RequireIn(nil, Permission{ResourceID: resource, Action: action})
}

// RequireAny is Require for routes that several permissions open: the
// request goes through when the session holds any of perms, checked in
// order (the verdict is the first that allows). Refused by all: 403 with
// the first refusal's code.
func (a *Authorizer) RequireAny(perms ...Permission) func(http.Handler) http.Handler {
	return a.RequireIn(nil, perms...)
}

// RequireIn is RequireAny on a B2B route that acts in the organization from
// reads from the request: RequireIn(authz.PathValue("organization_id"),
// ...) for routes under /orgs/{organization_id}. The organization is
// checked first (a tenancy refusal does not depend on the permission). An
// empty answer (/orgs//documents) is refused with 403
// session_authorization_tenancy_error, never read as "the member's own
// organization"; an M2M access token, which belongs to no organization,
// too. A nil from means the session's own organization.
func (a *Authorizer) RequireIn(from func(*http.Request) string, perms ...Permission) func(http.Handler) http.Handler {
	g := guard{org: from}
	perms = slices.Clone(perms)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if preflight.Serve(w, r, next) {
				return
			}
			if mach, ok := stytchguard.MachineFromContext(r.Context()); ok {
				a.serveMachine(w, r, next, mach, perms, g)
				return
			}
			if at, ok := stytchguard.AccessTokenFromContext(r.Context()); ok {
				a.serveAccessToken(w, r, next, at, perms, g)
				return
			}
			var c Check
			nobody := stytchguard.CodeConsumerDenied
			if a.b2b {
				nobody = stytchguard.CodeMemberDenied
				m, ok := stytchguard.MemberFromContext(r.Context())
				if !ok {
					refuse(w, r, http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "a member session is required")
					return
				}
				c.Roles, c.SessionOrganizationID = m.Session.Roles, m.Session.OrganizationID
				if g.org != nil {
					if c.OrganizationID = g.org(r); c.OrganizationID == "" {
						refuse(w, r, http.StatusForbidden, stytchguard.CodeWrongOrganization, "the request names no organization")
						return
					}
				}
			} else {
				u, ok := stytchguard.ConsumerFromContext(r.Context())
				if !ok {
					refuse(w, r, http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "a session is required")
					return
				}
				c.Roles = u.Session.Roles
			}
			answer(w, r, next, perms, nobody, func(p Permission) (*session.Verdict, error) {
				c.ResourceID, c.Action = p.ResourceID, p.Action
				return a.Authorize(r.Context(), c)
			})
		})
	}
}

// guard is one route's binding: the organization it acts in.
type guard struct {
	org func(*http.Request) string
}

// serveMachine is RequireIn for an M2M access token: its scopes, through the
// policy's scopes, must grant one of perms. A route bound to an
// organization refuses machine tokens, which belong to none.
func (a *Authorizer) serveMachine(w http.ResponseWriter, r *http.Request, next http.Handler, m *stytchguard.MachineAuth, perms []Permission, g guard) {
	if g.org != nil {
		refuse(w, r, http.StatusForbidden, stytchguard.CodeWrongOrganization, "an M2M access token belongs to no organization")
		return
	}
	answer(w, r, next, perms, stytchguard.CodeMachineDenied, func(p Permission) (*session.Verdict, error) {
		return a.AuthorizeMachine(r.Context(), m.Scopes, p.ResourceID, p.Action)
	})
}

// serveAccessToken is RequireIn for a Connected Apps access token, acting
// for a person: its scopes, through the policy's scopes, must grant one of
// perms, as Stytch's authorization check on introspection decides. (Stytch
// let the person grant only scopes their roles held; roles are not in the
// token, and not checked again here.) A route bound to an organization
// takes only a token of a member of it.
func (a *Authorizer) serveAccessToken(w http.ResponseWriter, r *http.Request, next http.Handler, at *stytchguard.AccessTokenAuth, perms []Permission, g guard) {
	nobody := stytchguard.CodeConsumerDenied
	if a.b2b {
		nobody = stytchguard.CodeMemberDenied
	}
	if g.org != nil {
		if org := g.org(r); org == "" || org != at.OrganizationID {
			refuse(w, r, http.StatusForbidden, stytchguard.CodeWrongOrganization, "the access token acts in another organization, or in none")
			return
		}
	}
	answer(w, r, next, perms, nobody, func(p Permission) (*session.Verdict, error) {
		return a.authorizeScopes(r.Context(), at.Scopes, p.ResourceID, p.Action, nobody, "the access token's scopes do not grant the requested action on that resource")
	})
}

// answer decides perms in order and serves next with the first verdict
// that allows; otherwise it answers the first refusal (one of code nobody
// when perms is empty), or 503 when no policy could be had. Nothing is
// allocated for a request let through.
func answer(w http.ResponseWriter, r *http.Request, next http.Handler, perms []Permission, nobody string, decide func(Permission) (*session.Verdict, error)) {
	var first *stytchguard.Refusal
	for _, p := range perms {
		verdict, err := decide(p)
		denied, isDenied := err.(*stytchguard.Refusal) // Authorize's own: no errors.As, which would put denied on the heap
		switch {
		case isDenied:
			if first == nil {
				first = denied
			}
			continue
		case err != nil:
			refuse(w, r, http.StatusServiceUnavailable, stytchguard.CodePolicyUnavailable, "the RBAC policy cannot be loaded from Stytch right now")
			return
		}
		// The verdict joins the session in the request's one auth value: no
		// request copy, no context value of its own.
		if ctx := stytchguard.WithVerdict(r.Context(), verdict); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
		return
	}
	if first == nil { // no permission named: nothing opens the route
		first = denied(nobody, "the route names no permission")
	}
	stytchguard.Refuse(w, r, first)
}

// RequireOrganization returns a middleware that lets a request through only
// when the member session in its context belongs to the organization that
// from reads from the request (a route parameter, say PathValue
// ("organization_id")): the tenancy check of RequireIn, alone, for routes
// under /orgs/{organization_id} that need no permission (the member's own
// profile, sessions, logout). No member session: 401. Another organization,
// or none named (/orgs//me): 403 session_authorization_tenancy_error. It
// needs no policy, so it never answers 503.
func RequireOrganization(from func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if preflight.Serve(w, r, next) {
				return
			}
			m, ok := stytchguard.MemberFromContext(r.Context())
			switch org := from(r); {
			case !ok:
				refuse(w, r, http.StatusUnauthorized, stytchguard.CodeUnauthenticated, "a member session is required")
			case org == "":
				refuse(w, r, http.StatusForbidden, stytchguard.CodeWrongOrganization, "the request names no organization")
			case org != m.Session.OrganizationID:
				stytchguard.Refuse(w, r, &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeWrongOrganization,
					Message:   "the session belongs to another organization",
					Diagnosis: "the session's organization " + strconv.Quote(m.Session.OrganizationID) + ", the request's " + strconv.Quote(org)})
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
