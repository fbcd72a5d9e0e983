package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/preflight"
	"github.com/stytchguard/stytchguard/jwtlocal"
)

// auth is an authenticated session, however it was verified, a machine
// token, or a Connected Apps access token: exactly one of consumer, member,
// machine and access is set.
type auth struct {
	consumer  *stytchguard.ConsumerAuth
	member    *stytchguard.MemberAuth
	machine   *stytchguard.MachineAuth
	access    *stytchguard.AccessTokenAuth
	sessionID string
	expires   time.Time
	// jwt and token are fresh credentials from Stytch, to write back.
	jwt, token string
	// reused: Stytch's recent answer (RemoteCache), not one asked now.
	reused bool
	// asked is when the request began asking Stytch (or its recent
	// answer), for Hooks.Decided; zero when it did not, or no hook is set.
	asked time.Time
}

// subject is the session's user id (B2B: member id).
func (a *auth) subject() string {
	if a.member != nil {
		return a.member.Session.MemberID
	}
	return a.consumer.Session.UserID
}

// changedSince reports whether the user or member subject was marked
// changed (WebhookHandler) at or after t: what was known of them at t may no
// longer hold.
func (m *Middleware) changedSince(ctx context.Context, subject string, t time.Time) bool {
	until, ok := m.cfg.Stores.Marks.MarkedUntil(ctx, subject)
	return ok && !t.After(until.Add(-m.revocationTTL))
}

// context returns ctx carrying a (nil: anonymous) and, when the app set
// its own ErrorHandler, that handler, for the guards behind the middleware
// (stytchguard.Refuse) to answer with, unless an outer layer recorded one
// already (an adapter's, which takes precedence).
func (m *Middleware) context(ctx context.Context, a *auth) context.Context {
	if m.appHandler != nil && !hasHandler(ctx) {
		ctx = stytchguard.WithErrorHandler(ctx, m.appHandler)
	}
	if a != nil {
		ctx = a.context(ctx)
	}
	return ctx
}

func (a *auth) context(ctx context.Context) context.Context {
	switch {
	case a.member != nil:
		return stytchguard.NewMemberContext(ctx, a.member)
	case a.machine != nil:
		return stytchguard.NewMachineContext(ctx, a.machine)
	case a.access != nil:
		return stytchguard.NewAccessTokenContext(ctx, a.access)
	}
	return stytchguard.NewConsumerContext(ctx, a.consumer)
}

// Authenticate puts the request's session, if it has one, in its context
// (stytchguard.ConsumerFromContext or stytchguard.MemberFromContext) and calls next.
// A request without a credential goes on anonymous. A cookie whose session
// is gone or invalid is cleared and the request goes on anonymous; a Bearer
// credential that is not valid is refused with 401. An outage at Stytch is a
// 503, whatever the credential. A valid M2M access token (Bearer) goes on
// too, in stytchguard.MachineFromContext, for the guards that take one
// (RequireMachine, RequireSessionOrMachine). A Connected Apps access token
// is refused with 401 invalid_token: only the resource it was issued for
// may take it, on routes behind Resource.Require or Resource.Authenticate.
//
// A session cookie that comes more than once (one planted by a sibling
// subdomain, say) is tried value by value, JWTs first, at most four of each
// name; the first that proves a session wins, unless another JWT among them
// verifies as someone else's session: then the request is refused (401),
// as an attacker's planted session must not stand in for the person's. No
// cookie is cleared then: the one that failed may be the planted one.
func (m *Middleware) Authenticate(next http.Handler) http.Handler {
	return m.handler(next, false, nil, nil)
}

// Require is Authenticate, but a request without a valid session is refused
// with 401 (a Connected Apps access token too), and one with a machine token
// instead of a person's session with 403 session_required: next runs only
// with a person's session in the context. A CORS preflight is answered 204 without running next, unless
// CrossOrigin.PassPreflights.
func (m *Middleware) Require(next http.Handler) http.Handler {
	return m.handler(next, true, personOnly, nil)
}

// handler serves next with the request's session in its context, after
// admit, when set, accepted it. When required, next runs only with one.
// Authenticate (not required) passes preflights on anonymous; marked, with
// CrossOrigin.PassPreflights, for the guards after it. A Connected Apps
// access token is refused, unless res decides it (Resource.Authenticate).
func (m *Middleware) handler(next http.Handler, required bool, admit func(*auth) *stytchguard.Refusal, res *Resource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (required || m.cfg.CrossOrigin.PassPreflights) && m.preflight(w, r, next) {
			return
		}
		// A session the JWT alone proves is written here, on this stack:
		// the request's one context value is its only copy on the heap.
		var local auth
		_, a, e := m.serve(w, r, required, &local, res)
		if e == nil && a != nil && admit != nil {
			if e = admit(a); e != nil {
				m.refuse(w, r, e)
			}
		}
		if m.cfg.Hooks.Decided != nil {
			m.decided(r.Context(), local.asked, a, e)
		}
		if e != nil {
			return
		}
		if a != nil || m.appHandler != nil {
			r = r.WithContext(m.context(r.Context(), a))
		}
		next.ServeHTTP(w, r)
	})
}

// personOnly refuses a machine token, or a client's access token, where a
// person's session is needed.
func personOnly(a *auth) *stytchguard.Refusal {
	switch {
	case a.machine != nil:
		return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeSessionRequired, Message: "a person's session is required; an M2M access token is not one"}
	case a.access != nil:
		return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeSessionRequired, Message: "a person's session is required; a Connected App's access token is not one"}
	}
	return nil
}

// preflight answers a CORS preflight for a guard, and reports whether r
// was one: 204 without running next, as a preflight carries no credential;
// or, with CrossOrigin.PassPreflights (or when a guard before passed it
// on), next, with the request marked so that the guards after pass it on
// too.
func (m *Middleware) preflight(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if !preflight.Is(r) {
		return false
	}
	if m.cfg.CrossOrigin.PassPreflights || preflight.Passed(r.Context()) {
		next.ServeHTTP(w, r.WithContext(preflight.Pass(r.Context())))
		return true
	}
	preflight.Answer(w)
	return true
}

// serve resolves a request's session and answers the request itself when it
// must be refused: a dead session cookie is cleared (and, when no session is
// required, the request goes on anonymous); any other failure is answered
// with its status, and returned. Otherwise the request goes on, with its
// session (nil: anonymous), after writing back any cookie Stytch refreshed.
// A session the JWT alone proves is written to local, and returned. res,
// when set, decides Connected Apps access tokens (see decide).
func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, required bool, local *auth, res *Resource) (credential, *auth, *stytchguard.Refusal) {
	cred, a, e := m.resolve(r, local, res)
	if e != nil && e.Status == http.StatusUnauthorized && cred.From == fromCookie {
		if cred.tossed == nil && e.Err != errTwoPeople { // else the value that failed may be a planted one
			m.clearCookies(w)
		}
		if !required {
			e = nil // a dead cookie does not break pages that work anonymously
		}
	}
	if e == nil && a == nil && required {
		e = &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeUnauthenticated, Message: "a session is required", TokenPresented: !cred.Empty()}
		if cred.Empty() {
			e.Diagnosis = "no credential: no Authorization: Bearer header, and no " + m.cfg.Cookies.JWT + " or " + m.cfg.Cookies.Token + " cookie"
		} else {
			e.Diagnosis = "a credential came, but proved no session"
		}
	}
	if e != nil {
		m.refuse(w, r, e)
		return cred, nil, e
	}
	if a != nil {
		m.writeBack(w, cred, a)
	}
	return cred, a, nil
}

// authenticated is serve for handlers that need a person's session.
func (m *Middleware) authenticated(w http.ResponseWriter, r *http.Request) (credential, *auth, bool) {
	cred, a, e := m.serve(w, r, true, new(auth), nil)
	if e == nil {
		if e = personOnly(a); e != nil {
			m.refuse(w, r, e)
		}
	}
	return cred, a, e == nil
}

// decided tells Hooks.Decided how a request was decided: a (nil:
// anonymous), or refused with e. asked is when it began asking Stytch (or
// its recent answer), zero when it decided here: the clock is read only
// for a request that asks, as a decision made here takes well under a
// microsecond, and on some virtual machines one reading of the clock costs
// a fifth of that.
func (m *Middleware) decided(ctx context.Context, asked time.Time, a *auth, e *stytchguard.Refusal) {
	d := Decision{Start: asked}
	if !asked.IsZero() {
		d.Duration = time.Since(asked)
	}
	switch {
	case e != nil:
		d.Outcome, d.Code = "refused", e.Code
		if shed, ok := e.Err.(shedError); ok {
			d.Outcome, d.Code = "shed", string(shed)
		}
	case a == nil:
		d.Outcome = "anonymous"
	case a.machine != nil:
		d.Outcome, d.Source, d.Subject, d.Machine = "authenticated", "local", a.machine.ClientID, true
	case a.access != nil:
		d.Outcome, d.Source, d.Subject = "authenticated", "local", a.access.Subject
		if a.access.Source == stytchguard.SourceStytch {
			d.Source = "remote" // introspected while no key set was held
		}
	default:
		d.Outcome, d.Source, d.Subject = "authenticated", "remote", a.subject()
		switch {
		case a.reused:
			d.Source = "cached"
		case a.member != nil && a.member.Source == stytchguard.SourceLocal, a.consumer != nil && a.consumer.Source == stytchguard.SourceLocal:
			d.Source = "local"
		}
	}
	m.cfg.Hooks.Decided(ctx, d)
}

func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, e *stytchguard.Refusal) {
	if m.cfg.Hooks.Refused != nil {
		m.cfg.Hooks.Refused(e.Code)
	}
	// Which check refused, for a developer who turns debug logging on,
	// as WriteRefusalExplained says it: the diagnosis names no credential.
	if m.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		why := e.Diagnosis
		if why == "" {
			why = e.Message
			if e.Err != nil {
				why += ": " + e.Err.Error()
			}
		}
		m.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "stytchguard: refused",
			slog.Int("status", e.Status), slog.String("error_type", e.Code), slog.String("path", r.URL.Path), slog.String("diagnosis", why))
	}
	if e.Status == http.StatusUnauthorized && m.cfg.SignInURL != "" && stytchguard.Navigation(r) {
		http.Redirect(w, r, signInTarget(m.cfg.SignInURL, r), http.StatusSeeOther)
		return
	}
	if h, ok := stytchguard.ErrorHandlerFromContext(r.Context()); ok {
		h(w, r, e) // an adapter's (gRPC's), or the app's recorded by another middleware
		return
	}
	m.cfg.ErrorHandler(w, r, e)
}

func hasHandler(ctx context.Context) bool {
	_, ok := stytchguard.ErrorHandlerFromContext(ctx)
	return ok
}

// resolve runs the pipeline, steps numbered as in the package doc. It
// returns the credential, and either the session, an *stytchguard.Refusal, or neither
// (anonymous). A session the JWT alone proves is written to dst. res, when
// set, decides Connected Apps access tokens (see decide).
func (m *Middleware) resolve(r *http.Request, dst *auth, res *Resource) (credential, *auth, *stytchguard.Refusal) {
	// 1. Extract.
	cred, e := m.extract(r)
	if e != nil || cred.Empty() {
		return cred, nil, e
	}
	// A cookie goes with whatever page made the request: another site's
	// must not act with it (Config.CrossOrigin).
	if cred.From == fromCookie && m.crossOrigin(r) {
		return cred, nil, errCrossOrigin(r)
	}
	if cred.tossed != nil {
		return m.resolveTossed(r, cred)
	}
	a, e := m.decide(r, cred, dst, res)
	return cred, a, e
}

// resolveTossed settles a request that sent a session cookie more than once.
// A sibling subdomain, or a plain-http page of the same host, can plant
// ("toss") a cookie of the same name with a longer Path, which the browser
// sends first. Each value is tried alone, JWTs first, until one proves a
// session; the credential returned is that one. A later JWT that verifies
// locally as another person's session makes the request ambiguous: it is
// refused, so that a planted session of the attacker's own cannot stand in
// for the victim's. Failing, the returned credential keeps its tossed
// values, and serve clears no cookie: the value that failed may be the
// planted one, which this site's Set-Cookie cannot reach, and clearing would
// drop only the good one. An outage among the failures is the answer (503),
// never a sign-out.
func (m *Middleware) resolveTossed(r *http.Request, cred credential) (credential, *auth, *stytchguard.Refusal) {
	if cred.tossed.capped {
		m.capLog.Do(func() {
			m.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "stytchguard: a request sent more than 4 values of one session cookie; "+
				"those past the fourth were not tried, so a person whose cookie came later is refused: "+
				"planted cookies (cookie tossing) are likely: name the cookies with the __Host- prefix (Config.Cookies), "+
				"which a sibling subdomain cannot set",
				slog.String("jwt_cookie", m.cfg.Cookies.JWT), slog.String("token_cookie", m.cfg.Cookies.Token))
		})
	}
	var worst *stytchguard.Refusal
	for i, c := range cred.tossed.candidates() {
		a, e := m.decide(r, c, new(auth), nil) // cookies: never an access token
		if e == nil && a != nil {
			if i < len(cred.tossed.jwts) && m.anotherPerson(r.Context(), a, cred.tossed.jwts[i+1:]) {
				m.tossLog.Do(func() {
					m.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "stytchguard: a request sent session cookies of two people; refused: "+
						"a planted cookie (cookie tossing) is likely: name the cookies with the __Host- prefix")
				})
				return cred, nil, errTwoSessions()
			}
			return c, a, nil
		}
		if e != nil && (worst == nil || e.Status == http.StatusServiceUnavailable) {
			worst = e
		}
	}
	return cred, nil, worst
}

// anotherPerson reports whether one of jwts is the project's, fresh or
// stale (a person idle past a JWT's five minutes holds a stale one), not
// revoked, and a session of someone other than a's subject.
func (m *Middleware) anotherPerson(ctx context.Context, a *auth, jwts []string) bool {
	for _, jwt := range jwts {
		v, err := m.verifier.Verify(ctx, jwt)
		if v != nil && (err == nil || errors.Is(err, jwtlocal.ErrStale)) && v.Machine == nil && v.AccessToken == nil &&
			v.Subject != a.subject() && !m.cfg.Stores.Revocations.IsRevoked(ctx, v.SessionID) {
			return true
		}
	}
	return false
}

// errTwoPeople is the Err of a refusal of a request whose credentials are
// two people's: serve clears no cookie for it, as the one that is not the
// person's may be a planted one this site's Set-Cookie cannot reach.
var errTwoPeople = errors.New("the request's credentials are two people's")

func errTwoSessions() *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken,
		Message: "the request holds the session cookies of more than one person", TokenPresented: true, Err: errTwoPeople}
}

// decide runs steps 2 to 4 of the pipeline for one credential: it returns
// the session, an *stytchguard.Refusal, or neither (anonymous). A Connected
// Apps access token is refused (401), unless res is set: then res decides
// it as its guard does (Resource.token), without scopes.
func (m *Middleware) decide(r *http.Request, cred credential, dst *auth, res *Resource) (*auth, *stytchguard.Refusal) {
	ctx := r.Context()

	// 2. Verify the JWT locally, and decide what, if anything, to ask Stytch.
	j := m.judge(ctx, cred)
	var local *auth // a session the JWT alone proves
	var checked string
	switch {
	case j.machine():
		return m.machine(cred, j.verified, j.err)
	case j.accessToken():
		return m.accessToken(r, cred, &j, res, dst)
	case j.session():
		// 3. Revoked here, or on an instance sharing the list?
		if checked = j.verified.SessionID; m.cfg.Stores.Revocations.IsRevoked(ctx, checked) {
			return nil, errSessionEnded()
		}
	}
	switch j.outcome {
	case nil:
		if j.verified == nil {
			break // an opaque token alone
		}
		if m.changedSince(ctx, j.verified.Subject, j.verified.IssuedAt) {
			// The person changed after this JWT was issued (deleted,
			// deactivated, new roles): ask, and do not fall back on the
			// JWT's old claims if Stytch cannot answer.
			break
		}
		local = localAuth(j.verified, dst)
		if !m.dueForRefresh(j.verified) {
			if m.cfg.Hooks.Local != nil {
				m.cfg.Hooks.Local()
			}
			return local, nil
		}
	case jwtlocal.ErrKeyUnknown:
		if machineShaped(j.err) {
			// Only the key set can settle an M2M token: wait for it.
			return nil, m.errNoKeys(j.err)
		}
		// Inconclusive, and not tied to the project by a checked key: ask,
		// within the budget. So is an issuer not configured.
	case jwtlocal.ErrInvalid:
		if cred.Token == "" {
			return nil, errInvalidJWT(j.err)
		}
	}

	// 4. Ask Stytch (or its recent answer).
	if m.cfg.Hooks.Decided != nil {
		dst.asked = time.Now() // the clock is read only for a request that asks
	}
	a, e := m.askStytch(r, j.ask, j.spends)
	switch {
	case e != nil && local != nil && e.Status != http.StatusUnauthorized:
		return local, nil // a refresh that could not be done: the local session stands
	case e != nil && j.err != nil:
		// Say what the JWT's local check found, which sent it to Stytch.
		// A copy: e may be shared by every request that shared the call.
		c := *e
		c.Diagnosis = e.Message + " (Stytch's answer); checked here first: " + j.err.Error()
		return nil, &c
	case e != nil:
		return nil, e
	case j.session() && cred.Token != "" && a.subject() != j.verified.Subject:
		// The JWT the project signed is one person's, the token Stytch
		// answered for another's: one of them was planted.
		m.tossLog.Do(func() {
			m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "stytchguard: a request's session JWT and session token are two people's; refused: "+
				"a planted cookie (cookie tossing) is likely: name the cookies with the __Host- prefix")
		})
		return nil, errTwoSessions()
	case a.sessionID != checked && m.cfg.Stores.Revocations.IsRevoked(ctx, a.sessionID):
		return nil, errSessionEnded()
	}
	return a, nil
}

// dueForRefresh reports whether a valid JWT is old enough (RefreshAfter) to
// be sent to Stytch, to extend the session and refresh the cookie.
func (m *Middleware) dueForRefresh(v *jwtlocal.Verified) bool {
	return m.cfg.Sessions.RefreshAfter > 0 && !m.cfg.Now().Before(v.IssuedAt.Add(m.cfg.Sessions.RefreshAfter))
}

func errSessionEnded() *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the session has ended", TokenPresented: true}
}

// localAuth writes to dst the session a verified JWT proves, and returns dst.
func localAuth(v *jwtlocal.Verified, dst *auth) *auth {
	if v.MemberAuth != nil {
		*dst = auth{member: v.MemberAuth, sessionID: v.SessionID, expires: v.Member.ExpiresAt.Time}
	} else {
		*dst = auth{consumer: v.ConsumerAuth, sessionID: v.SessionID, expires: v.Consumer.ExpiresAt.Time}
	}
	return dst
}
