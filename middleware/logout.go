package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
)

// LogoutHandler ends the caller's session: it remembers the session as
// revoked in this process (and in a shared RevocationList, if configured)
// for as long as its JWTs could still verify, so that it is refused at once
// with no window; revokes it at Stytch; clears both cookies; and answers 204,
// or 303 to LogoutRedirect. Logging out a session that is already gone, or
// with no session at all, still clears the cookies and succeeds. When Stytch
// cannot be reached it answers 503 and keeps the cookies, so that the call
// can be repeated; the session is refused here meanwhile.
//
// It takes POST only, and refuses cross-origin requests (it is
// authenticated by cookies; see TrustedOrigins).
func (m *Middleware) LogoutHandler() http.Handler {
	return m.protect(http.HandlerFunc(m.logout))
}

// LogoutAllHandler ends every session of the caller's user (consumer: lists
// them, then revokes each, a few at a time; B2B: lists them to remember them
// as revoked here, then revokes them all by member id). It requires a valid
// session. When some revocations fail it answers 503, and repeating the call
// is safe. Otherwise it behaves as LogoutHandler.
func (m *Middleware) LogoutAllHandler() http.Handler {
	return m.protect(http.HandlerFunc(m.logoutAll))
}

// protect lets only POSTs through, and of those only same-origin (or
// trusted-origin) ones unless CrossOrigin.AllowAll: the handlers that end
// or switch sessions act on the cookies, whatever credential comes.
func (m *Middleware) protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodPost:
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusMethodNotAllowed, Code: stytchguard.CodeMethodNotAllowed, Message: "use POST"})
		case m.crossOrigin(r):
			m.refuse(w, r, errCrossOrigin(r))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// crossOrigin reports whether r changes state (any method but GET, HEAD and
// OPTIONS) and a browser says it comes from an origin neither this one nor
// trusted (http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
// Host). Requests without those headers (curl, other servers) are not.
// Always false with CrossOrigin.AllowAll.
func (m *Middleware) crossOrigin(r *http.Request) bool {
	return m.cop != nil && m.cop.Check(r) != nil
}

// errCrossOrigin refuses r, a cross-origin request that a session cookie
// would authenticate.
func errCrossOrigin(r *http.Request) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeForbidden,
		Message: "cross-origin request refused: a session cookie does not authenticate another site's request to change state",
		Diagnosis: fmt.Sprintf("%s with a session cookie; Sec-Fetch-Site %q, Origin %q, Host %q; an origin the app trusts goes in Config.CrossOrigin.TrustedOrigins",
			r.Method, r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin"), r.Host)}
}

// record remembers sessions as revoked for as long as any of their JWTs, or
// a cached answer about them, could still be taken as valid here (a JWT's
// life, the clock tolerance and RemoteTTL), and returns the 503 to answer
// when the RevocationList could not record them.
func (m *Middleware) record(r *http.Request, sessionIDs ...string) *stytchguard.Refusal {
	until := m.cfg.Now().Add(m.revocationTTL)
	var failed error
	for _, id := range sessionIDs {
		if err := m.cfg.Stores.Revocations.Revoke(r.Context(), id, until); err != nil && failed == nil {
			failed = err
		}
	}
	if failed == nil {
		if m.cfg.Hooks.Revoked != nil {
			m.cfg.Hooks.Revoked(len(sessionIDs))
		}
		return nil
	}
	if m.cfg.Hooks.RevokeFailed != nil {
		m.cfg.Hooks.RevokeFailed(failed)
	}
	m.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "stytchguard: a logout could not be recorded in the revocation list; answering 503 so that it is repeated",
		slog.Int("sessions", len(sessionIDs)), slog.Any("error", failed))
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "the logout could not be recorded; repeat it", RetryAfter: m.cfg.Upstream.RetryAfter, Err: failed}
}

func (m *Middleware) logout(w http.ResponseWriter, r *http.Request) {
	cred, e := m.extract(r)
	if e != nil {
		m.refuse(w, r, e)
		return
	}
	if cred.Empty() {
		m.loggedOut(w, r, m.cfg.Logout.Redirect)
		return
	}
	if cred.tossed != nil {
		// A session cookie came more than once: end the session the
		// request is signed in with, not whichever value came first.
		if c, a, _ := m.resolveTossed(r, cred); a != nil {
			cred = c
		}
	}
	ctx := r.Context()
	// What is worth asking Stytch about: never a credential that is
	// definitely bad, so that garbage costs no call here either.
	var sessionID string
	j := m.judge(ctx, cred)
	var ask credential
	if plausibleToken(j.ask.Token) {
		ask.Token = j.ask.Token
	}
	switch {
	case j.session():
		sessionID = j.verified.SessionID // the project's signature, fresh or not
	case j.outcome == jwtlocal.ErrKeyUnknown:
		ask.JWT = cred.JWT
	}
	if sessionID == "" && ask.Token != "" {
		a, e := m.askStytch(r, credential{Token: ask.Token}, true)
		switch {
		case a != nil:
			sessionID = a.sessionID
		case e.Status == http.StatusUnauthorized:
			m.forget(ctx, cred)
			m.loggedOut(w, r, m.cfg.Logout.Redirect) // already gone
			return
		default:
			m.refuse(w, r, e)
			return
		}
	}
	if sessionID == "" && ask.Empty() {
		m.loggedOut(w, r, m.cfg.Logout.Redirect) // nothing that could be a session: just clear
		return
	}
	var recorded *stytchguard.Refusal
	if sessionID != "" {
		recorded = m.record(r, sessionID)
	} else if reason := m.gate.spend(r); reason != "" {
		m.refuse(w, r, m.shed(ctx, reason)) // a JWT no key set can check
		return
	}
	if e := m.revoke(ctx, sessionID, ask); e != nil {
		m.refuse(w, r, e)
		return
	}
	if recorded != nil {
		m.refuse(w, r, recorded)
		return
	}
	m.forget(ctx, cred)
	m.loggedOut(w, r, m.cfg.Logout.Redirect)
}

// revoke ends a session at Stytch, by id when known, else by credential. A
// session already gone is not an error.
func (m *Middleware) revoke(ctx context.Context, sessionID string, cred credential) *stytchguard.Refusal {
	return m.call(ctx, func(ctx context.Context) error {
		return m.line.revoke(ctx, sessionID, cred)
	})
}

// call makes one call to Stytch for a handler, gated. A "gone" answer is no
// error: what the handlers ask to end is then ended already.
func (m *Middleware) call(ctx context.Context, f func(context.Context) error) *stytchguard.Refusal {
	err := m.gated(ctx, f)
	var shed shedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &shed):
		return m.shed(ctx, shed)
	}
	if e := m.upstreamError(ctx, err); e.Status != http.StatusUnauthorized {
		return e
	}
	return nil
}

// tokenOr returns jwt when there is no token, "" otherwise: revoke takes one
// identifier only.
func tokenOr(token, jwt string) string {
	if token != "" {
		return ""
	}
	return jwt
}

// forget drops Stytch's cached answers about a credential.
func (m *Middleware) forget(ctx context.Context, cred credential) {
	if cred.Token != "" {
		m.cfg.Stores.RemoteCache.Delete(ctx, cacheKey(cred.Token, ""))
	}
	if cred.JWT != "" {
		m.cfg.Stores.RemoteCache.Delete(ctx, cacheKey("", cred.JWT))
	}
}

func (m *Middleware) loggedOut(w http.ResponseWriter, r *http.Request, redirect string) {
	m.clearCookies(w)
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Middleware) logoutAll(w http.ResponseWriter, r *http.Request) {
	cred, a, ok := m.authenticated(w, r)
	if !ok {
		return
	}
	// The caller's own session is ended last, and only once all the others
	// are, so that after a partial failure it can repeat the call.
	ctx := r.Context()
	var recorded *stytchguard.Refusal
	mine, failed := m.sessionsOf(ctx, a)
	if failed == nil {
		others := slices.DeleteFunc(mine, func(id string) bool { return id == a.sessionID })
		recorded = m.record(r, others...)
		if m.line.revokesAll() {
			failed = m.call(ctx, func(ctx context.Context) error { return m.line.revokeAll(ctx, a) })
		} else if failed = m.revokeEach(ctx, others); failed == nil {
			failed = m.revoke(ctx, a.sessionID, cred)
		}
	}
	if failed == nil {
		if e := m.record(r, a.sessionID); recorded == nil {
			recorded = e
		}
	}
	switch {
	case failed != nil:
		m.refuse(w, r, failed)
	case recorded != nil:
		m.refuse(w, r, recorded)
	default:
		m.forget(ctx, cred)
		to := m.cfg.Logout.AllRedirect
		if to == "" {
			to = m.cfg.Logout.Redirect
		}
		m.loggedOut(w, r, to)
	}
}

// revokeEach revokes each session at Stytch, LogoutAllConcurrency at a
// time, and returns the first failure.
func (m *Middleware) revokeEach(ctx context.Context, sessionIDs []string) *stytchguard.Refusal {
	sem := make(chan struct{}, m.cfg.Logout.AllConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first *stytchguard.Refusal
	for _, id := range sessionIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if e := m.revoke(ctx, id, credential{}); e != nil {
				mu.Lock()
				if first == nil {
					first = e
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
