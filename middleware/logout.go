package middleware

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
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

// protect lets only same-origin (or trusted-origin) POSTs through.
func (m *Middleware) protect(h http.Handler) http.Handler {
	guarded := m.cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			m.refuse(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "use POST"})
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

func (m *Middleware) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	m.refuse(w, r, &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "cross-origin request refused"})
}

// revocationUntil is until when a session ended here is remembered: as long
// as any of its JWTs, or a cached answer about it, could still be taken as
// valid, and a minute for clock skew.
func (m *Middleware) revocationUntil() time.Time {
	return m.cfg.Now().Add(jwtLifetime + m.cfg.RemoteTTL + time.Minute)
}

func (m *Middleware) logout(w http.ResponseWriter, r *http.Request) {
	cred, e := m.extract(r)
	if e != nil {
		m.refuse(w, r, e)
		return
	}
	if cred.Empty() {
		m.loggedOut(w, r)
		return
	}
	ctx := r.Context()
	// What is worth asking Stytch about: never a credential that is
	// definitely bad, so that garbage costs no call here either.
	var sessionID string
	var ask Credential
	if cred.JWT != "" {
		v, err := m.verifier.Verify(ctx, cred.JWT)
		switch jwtlocal.OutcomeOf(err) {
		case jwtlocal.Invalid:
		case jwtlocal.KeyUnknown:
			ask.JWT = cred.JWT
		default:
			sessionID = v.SessionID // a good signature, fresh or not
		}
	}
	if cred.Token != "" && plausibleToken(cred.Token) {
		ask.Token = cred.Token
	}
	if sessionID == "" && ask.Token != "" {
		a, e := m.remote(ctx, Credential{Token: ask.Token})
		switch {
		case a != nil:
			sessionID = a.sessionID
		case e.Status == http.StatusUnauthorized:
			m.forget(ctx, cred)
			m.loggedOut(w, r) // already gone
			return
		}
	}
	if sessionID == "" && ask.Empty() {
		m.loggedOut(w, r) // nothing that could be a session: just clear
		return
	}
	if sessionID != "" {
		_ = m.cfg.Revocations.Revoke(ctx, sessionID, m.revocationUntil())
	}
	if err := m.revoke(ctx, sessionID, ask); err != nil {
		m.refuse(w, r, err)
		return
	}
	m.forget(ctx, cred)
	m.loggedOut(w, r)
}

// revoke ends a session at Stytch, by id when known, else by credential. A
// session already gone is not an error.
func (m *Middleware) revoke(ctx context.Context, sessionID string, cred Credential) *Error {
	var err error
	if m.cfg.B2B {
		p := session.B2BRevokeParams{MemberSessionID: sessionID}
		if sessionID == "" {
			p.SessionToken, p.SessionJWT = cred.Token, tokenOr(cred.Token, cred.JWT)
		}
		_, err = m.cfg.Client.B2B.Revoke(ctx, p)
	} else {
		p := session.RevokeParams{SessionID: sessionID}
		if sessionID == "" {
			p.SessionToken, p.SessionJWT = cred.Token, tokenOr(cred.Token, cred.JWT)
		}
		_, err = m.cfg.Client.Consumer.Revoke(ctx, p)
	}
	return m.revokeResult(err)
}

// tokenOr returns jwt when there is no token, "" otherwise: revoke takes one
// identifier only.
func tokenOr(token, jwt string) string {
	if token != "" {
		return ""
	}
	return jwt
}

func (m *Middleware) revokeResult(err error) *Error {
	if err == nil {
		return nil
	}
	switch session.Classify(err) {
	case session.KindSessionGone, session.KindBadRequest:
		return nil // gone already
	}
	retry := session.RetryAfter(err)
	if retry <= 0 {
		retry = m.cfg.UnavailableRetryAfter
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "Stytch is unavailable; the logout can be repeated", RetryAfter: retry, Err: err}
}

// forget drops Stytch's cached answers about a credential.
func (m *Middleware) forget(ctx context.Context, cred Credential) {
	if cred.Token != "" {
		m.cfg.RemoteCache.Delete(ctx, cacheKey(cred.Token, ""))
	}
	if cred.JWT != "" {
		m.cfg.RemoteCache.Delete(ctx, cacheKey("", cred.JWT))
	}
}

func (m *Middleware) loggedOut(w http.ResponseWriter, r *http.Request) {
	m.clearCookies(w)
	if m.cfg.LogoutRedirect != "" {
		http.Redirect(w, r, m.cfg.LogoutRedirect, http.StatusSeeOther)
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
	until := m.revocationUntil()
	var failed *Error
	if m.cfg.B2B {
		s := a.member.Session
		list, err := m.cfg.Client.B2B.List(ctx, s.OrganizationID, s.MemberID)
		if err == nil {
			for _, ms := range list.MemberSessions {
				if ms.MemberSessionID != a.sessionID {
					_ = m.cfg.Revocations.Revoke(ctx, ms.MemberSessionID, until)
				}
			}
			_, err = m.cfg.Client.B2B.Revoke(ctx, session.B2BRevokeParams{MemberID: s.MemberID})
		}
		failed = m.revokeResult(err)
	} else {
		list, err := m.cfg.Client.Consumer.List(ctx, a.consumer.Session.UserID)
		if err != nil {
			failed = m.revokeResult(err)
		} else {
			var others []string
			for _, s := range list.Sessions {
				if s.SessionID != a.sessionID {
					others = append(others, s.SessionID)
				}
			}
			if failed = m.revokeEach(ctx, others, until); failed == nil {
				failed = m.revoke(ctx, a.sessionID, cred)
			}
		}
	}
	if failed != nil {
		m.refuse(w, r, failed)
		return
	}
	_ = m.cfg.Revocations.Revoke(ctx, a.sessionID, until)
	m.forget(ctx, cred)
	m.loggedOut(w, r)
}

// revokeEach remembers and revokes each session, LogoutAllConcurrency at a
// time, and returns the first failure.
func (m *Middleware) revokeEach(ctx context.Context, sessionIDs []string, until time.Time) *Error {
	for _, id := range sessionIDs {
		_ = m.cfg.Revocations.Revoke(ctx, id, until)
	}
	sem := make(chan struct{}, m.cfg.LogoutAllConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first *Error
	for _, id := range sessionIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := m.cfg.Client.Consumer.Revoke(ctx, session.RevokeParams{SessionID: id})
			if e := m.revokeResult(err); e != nil {
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
