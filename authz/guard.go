package authz

import (
	"context"
	"net/http"
	"slices"

	"github.com/stytchguard/stytchguard/internal/httperr"
	"github.com/stytchguard/stytchguard/session"
)

// GuardOption configures one Require guard.
type GuardOption func(*guard)

type guard struct {
	org    func(*http.Request) string
	refuse ErrorHandler
}

// Refusal is a request a guard refused, as its answer will say it.
type Refusal struct {
	// Status is 401 (no session), 403 (denied) or 503 (no policy).
	Status int
	// ErrorType is Stytch's error type for the refusal
	// (session_authorization_error, session_authorization_tenancy_error,
	// consumer_session_authorization_error, m2m_authorization_error), or
	// unauthenticated or policy_unavailable.
	ErrorType string
	// Message says why, for people. It never holds a token or a secret.
	Message string
}

// ErrorHandler answers a request a guard refused. Headers the answer needs
// (WWW-Authenticate on a 401, Retry-After on a 503) are already set; it must
// write the status and a body.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, rf *Refusal)

// WriteError is the default ErrorHandler: JSON in Stytch's error shape, with
// a request id and an error_url.
func WriteError(w http.ResponseWriter, _ *http.Request, rf *Refusal) {
	httperr.Write(w, rf.Status, rf.ErrorType, rf.Message)
}

// WithErrorHandler makes a guard answer its refusals with h instead of the
// Authorizer's Config.ErrorHandler (or, for RequireOrganization, instead of
// WriteError): an app that serves pages renders them as pages.
func WithErrorHandler(h ErrorHandler) GuardOption {
	return func(g *guard) { g.refuse = h }
}

// newGuard applies opts over the defaults: refusals answered by h.
func newGuard(h ErrorHandler, opts []GuardOption) guard {
	g := guard{refuse: h}
	for _, o := range opts {
		o(&g)
	}
	if g.refuse == nil {
		g.refuse = WriteError
	}
	return g
}

// fail answers a refusal with g's handler, setting the headers it needs.
func (g guard) fail(w http.ResponseWriter, r *http.Request, status int, errorType, message string) {
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="stytchguard"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	g.refuse(w, r, &Refusal{Status: status, ErrorType: errorType, Message: message})
}

// OrganizationFrom names the organization a B2B route acts in, read from the
// request (a route parameter). An empty answer (/orgs//documents) is refused
// with 403 session_authorization_tenancy_error, never read as "the member's
// own organization". Without this option the guard acts in the session's own
// organization.
func OrganizationFrom(f func(*http.Request) string) GuardOption {
	return func(g *guard) { g.org = f }
}

// PathValue reads a route parameter through http.Request.PathValue:
// OrganizationFrom(PathValue("organization_id")) for routes under
// /orgs/{organization_id}, on net/http's ServeMux (Go 1.22 patterns) and on
// chi, which sets path values for its route parameters since v5.0.12. authz
// does not import chi.
func PathValue(name string) func(*http.Request) string {
	return func(r *http.Request) string { return r.PathValue(name) }
}

// URLParam is PathValue, under the name chi users know.
func URLParam(name string) func(*http.Request) string { return PathValue(name) }

// Require returns a middleware that lets a request through only when the
// session in its context may perform action on resource. No session: 401. A
// refusal: 403 with a Stytch-shaped JSON body whose error_type is Stytch's for
// it. No policy to decide with: 503. Allowed: the verdict is put in the
// request's context (VerdictFromContext) for the handler.
//
// The session is the one the stytchguard middleware (or anything else using
// session.NewConsumerContext / session.NewMemberContext) put in the context,
// whichever way it was verified.
func (a *Authorizer) Require(resource, action string, opts ...GuardOption) func(http.Handler) http.Handler {
	return a.RequireAny([]Permission{{ResourceID: resource, Action: action}}, opts...)
}

// Permission is one action on one resource, for RequireAny.
type Permission struct {
	ResourceID, Action string
}

// RequireAny is Require for routes that several permissions open: the
// request goes through when the session holds any of perms (checked in
// order; the verdict is the first that allows). Refused when none does:
// 403 with the first refusal's error type (for B2B, a tenancy refusal comes
// first, as it does not depend on the permission).
func (a *Authorizer) RequireAny(perms []Permission, opts ...GuardOption) func(http.Handler) http.Handler {
	g := newGuard(a.cfg.ErrorHandler, opts)
	perms = slices.Clone(perms)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if mach, ok := session.MachineFromContext(r.Context()); ok {
				a.serveMachine(w, r, next, mach, perms, g)
				return
			}
			var c Check
			if a.cfg.B2B {
				m, ok := session.MemberFromContext(r.Context())
				if !ok {
					g.fail(w, r, http.StatusUnauthorized, "unauthenticated", "A member session is required.")
					return
				}
				c.Roles, c.SessionOrganizationID = m.Session.Roles, m.Session.OrganizationID
				if g.org != nil {
					if c.OrganizationID = g.org(r); c.OrganizationID == "" {
						g.fail(w, r, http.StatusForbidden, session.ErrorTypeSessionAuthorizationTenancy, "The request names no organization.")
						return
					}
				}
			} else {
				u, ok := session.ConsumerFromContext(r.Context())
				if !ok {
					g.fail(w, r, http.StatusUnauthorized, "unauthenticated", "A session is required.")
					return
				}
				c.Roles = u.Session.Roles
			}
			nobody := &Denied{ErrorType: session.ErrorTypeConsumerAuthorization, Message: "The route names no permission."}
			if a.cfg.B2B {
				nobody.ErrorType = session.ErrorTypeSessionAuthorization
			}
			g.answer(w, r, next, perms, nobody, func(p Permission) (*session.Verdict, error) {
				c.ResourceID, c.Action = p.ResourceID, p.Action
				return a.Authorize(r.Context(), c)
			})
		})
	}
}

// serveMachine is RequireAny for an M2M access token: its scopes, through
// the policy's scopes, must grant one of perms. A route bound to an
// organization refuses machine tokens, which belong to none.
func (a *Authorizer) serveMachine(w http.ResponseWriter, r *http.Request, next http.Handler, m *session.MachineAuth, perms []Permission, g guard) {
	if g.org != nil {
		g.fail(w, r, http.StatusForbidden, session.ErrorTypeSessionAuthorizationTenancy, "An M2M access token belongs to no organization.")
		return
	}
	nobody := &Denied{ErrorType: session.ErrorTypeM2MAuthorization, Message: "The route names no permission."}
	g.answer(w, r, next, perms, nobody, func(p Permission) (*session.Verdict, error) {
		return a.AuthorizeMachine(r.Context(), m.Scopes, p.ResourceID, p.Action)
	})
}

// answer decides perms in order and serves next with the first verdict
// that allows; otherwise it answers the first refusal (nobody when perms is
// empty), or 503 when no policy could be had.
func (g guard) answer(w http.ResponseWriter, r *http.Request, next http.Handler, perms []Permission, nobody *Denied, decide func(Permission) (*session.Verdict, error)) {
	var first *Denied
	for _, p := range perms {
		verdict, err := decide(p)
		denied, isDenied := err.(*Denied) // Authorize's own: no errors.As, which would put denied on the heap
		switch {
		case isDenied:
			if first == nil {
				first = denied
			}
			continue
		case err != nil:
			g.fail(w, r, http.StatusServiceUnavailable, "policy_unavailable", "The RBAC policy cannot be loaded from Stytch right now.")
			return
		}
		// The verdict joins the session in the request's one auth value: no
		// request copy, no context value of its own.
		if ctx := session.WithVerdict(r.Context(), verdict); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
		return
	}
	if first == nil { // no permission named: nothing opens the route
		first = nobody
	}
	g.fail(w, r, http.StatusForbidden, first.ErrorType, first.Message)
}

// VerdictFromContext returns the verdict a Require guard put in the context:
// which of the session's roles granted the permission. It is
// session.VerdictFromContext.
func VerdictFromContext(ctx context.Context) (*session.Verdict, bool) {
	return session.VerdictFromContext(ctx)
}

// RequireOrganization returns a middleware that lets a request through only
// when the member session in its context belongs to the organization that
// from reads from the request (a route parameter, say PathValue
// ("organization_id")): the tenancy check of Require, alone, for routes
// under /orgs/{organization_id} that need no permission (the member's own
// profile, sessions, logout). No member session: 401. Another organization,
// or none named (/orgs//me): 403 session_authorization_tenancy_error. It
// needs no policy, so it never answers 503. Of opts, WithErrorHandler
// applies.
func RequireOrganization(from func(*http.Request) string, opts ...GuardOption) func(http.Handler) http.Handler {
	g := newGuard(nil, opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m, ok := session.MemberFromContext(r.Context())
			switch org := from(r); {
			case !ok:
				g.fail(w, r, http.StatusUnauthorized, "unauthenticated", "A member session is required.")
			case org == "":
				g.fail(w, r, http.StatusForbidden, session.ErrorTypeSessionAuthorizationTenancy, "The request names no organization.")
			case org != m.Session.OrganizationID:
				g.fail(w, r, http.StatusForbidden, session.ErrorTypeSessionAuthorizationTenancy, "The session belongs to another organization.")
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
