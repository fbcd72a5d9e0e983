package middleware

import (
	"context"
	"net/http"
	"slices"

	"github.com/stytchguard/stytchguard"
)

// EndSessionHandler ends one of the caller's own sessions, the one named by
// the form value session_id (a consumer session_id or a B2B
// member_session_id, as SessionsHandler lists them): "sign out that
// device". It is revoked at Stytch and refused here, and on every instance
// sharing the revocation list, at once. An id that is not one of the
// caller's live sessions is a 404 unknown_session, and nothing is ended.
// Ending the session making the request is a logout: its cookies are
// cleared. It takes POST only and refuses cross-origin requests, as
// LogoutHandler does; success is 204 (or LogoutRedirect for a logout).
func (m *Middleware) EndSessionHandler() http.Handler {
	return m.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.FormValue("session_id")
		if target == "" {
			m.refuse(w, r, badRequest("session_id is required"))
			return
		}
		cred, a, mine, ok := m.callerSessions(w, r)
		if !ok {
			return
		}
		if !slices.Contains(mine, target) {
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusNotFound, Code: stytchguard.CodeUnknownSession, Message: "no session of yours has that id"})
			return
		}
		if e := m.revoke(r.Context(), target, credential{}); e != nil {
			m.refuse(w, r, e)
			return
		}
		if e := m.record(r, target); e != nil {
			m.refuse(w, r, e)
			return
		}
		if target == a.sessionID {
			m.forget(r.Context(), cred)
			m.loggedOut(w, r, m.cfg.Logout.Redirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// SignOutOthersHandler ends every session of the caller's but the one
// making the request: "sign out my other devices". They are revoked at
// Stytch and refused here, and on every instance sharing the revocation
// list, at once; the caller stays signed in and keeps its cookies. A
// partial failure is a 503, and repeating the call completes it. POST
// only, cross-origin refused; success is 204.
func (m *Middleware) SignOutOthersHandler() http.Handler {
	return m.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, a, mine, ok := m.callerSessions(w, r)
		if !ok {
			return
		}
		others := slices.DeleteFunc(mine, func(id string) bool { return id == a.sessionID })
		recorded := m.record(r, others...)
		if e := m.revokeEach(r.Context(), others); e != nil {
			m.refuse(w, r, e)
			return
		}
		if recorded != nil {
			m.refuse(w, r, recorded)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// callerSessions authenticates the request and lists the ids of its
// person's live sessions; on a refusal it has answered and ok is false.
func (m *Middleware) callerSessions(w http.ResponseWriter, r *http.Request) (credential, *auth, []string, bool) {
	cred, a, ok := m.authenticated(w, r)
	if !ok {
		return cred, nil, nil, false
	}
	ids, e := m.sessionsOf(r.Context(), a)
	if e != nil {
		m.refuse(w, r, e)
		return cred, nil, nil, false
	}
	return cred, a, ids, true
}

// sessionsOf lists the ids of the live sessions of a's user or member.
func (m *Middleware) sessionsOf(ctx context.Context, a *auth) ([]string, *stytchguard.Refusal) {
	var ids []string
	e := m.call(ctx, func(ctx context.Context) (err error) {
		ids, _, err = m.line.list(ctx, a)
		return err
	})
	return ids, e
}
