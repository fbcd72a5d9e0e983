package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/session"
)

// auth is an authenticated session, however it was verified, or a machine
// token: exactly one of consumer, member and machine is set.
type auth struct {
	consumer  *stytchguard.ConsumerAuth
	member    *stytchguard.MemberAuth
	machine   *stytchguard.MachineAuth
	sessionID string
	expires   time.Time
	// jwt and token are fresh credentials from Stytch, to write back.
	jwt, token string
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
// (stytchguard.Refuse) to answer with.
func (m *Middleware) context(ctx context.Context, a *auth) context.Context {
	if a != nil {
		ctx = a.context(ctx)
	}
	if m.appHandler != nil {
		ctx = stytchguard.WithErrorHandler(ctx, m.appHandler)
	}
	return ctx
}

func (a *auth) context(ctx context.Context) context.Context {
	switch {
	case a.member != nil:
		return stytchguard.NewMemberContext(ctx, a.member)
	case a.machine != nil:
		return stytchguard.NewMachineContext(ctx, a.machine)
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
// (RequireMachine, RequireSessionOrMachine).
//
// A session cookie that comes more than once (one planted by a sibling
// subdomain, say) is tried value by value, JWTs first, at most four of each
// name; the first that proves a session wins, unless another JWT among them
// verifies as someone else's session: then the request is refused (401),
// as an attacker's planted session must not stand in for the person's. No
// cookie is cleared then: the one that failed may be the planted one.
func (m *Middleware) Authenticate(next http.Handler) http.Handler {
	return m.handler(next, false, nil)
}

// Require is Authenticate, but a request without a valid session is refused
// with 401, and one with a machine token instead of a person's session with
// 403 session_required. A CORS preflight goes through to next unless
// RefusePreflights.
func (m *Middleware) Require(next http.Handler) http.Handler {
	return m.handler(next, true, personOnly)
}

// handler serves next with the request's session in its context, after
// admit, when set, accepted it.
func (m *Middleware) handler(next http.Handler, required bool, admit func(*stytchguard.MachineAuth) *stytchguard.Refusal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if required && !m.cfg.CrossOrigin.RefusePreflights && isPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		// A session the JWT alone proves is written here, on this stack:
		// the request's one context value is its only copy on the heap.
		var local auth
		_, a, ok := m.serve(w, r, required, &local)
		if !ok {
			return
		}
		if a != nil {
			if admit != nil {
				if e := admit(a.machine); e != nil {
					m.refuse(w, r, e)
					return
				}
			}
		}
		if a != nil || m.appHandler != nil {
			r = r.WithContext(m.context(r.Context(), a))
		}
		next.ServeHTTP(w, r)
	})
}

// personOnly refuses a machine token where a person's session is needed.
func personOnly(machine *stytchguard.MachineAuth) *stytchguard.Refusal {
	if machine != nil {
		return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeSessionRequired, Message: "a person's session is required; an M2M access token is not one"}
	}
	return nil
}

// isPreflight reports whether r is a CORS preflight: browsers send those
// without credentials, before the request that carries them.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// serve resolves a request's session and answers the request itself when it
// must be refused: a dead session cookie is cleared (and, when no session is
// required, the request goes on anonymous); any other failure is answered
// with its status. It reports whether the request goes on, with its session
// (nil: anonymous), after writing back any cookie Stytch refreshed. A
// session the JWT alone proves is written to local, and returned.
func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, required bool, local *auth) (credential, *auth, bool) {
	cred, a, e := m.resolve(r, local)
	if e != nil && e.Status == http.StatusUnauthorized && cred.From == fromCookie {
		if cred.tossed == nil { // else the value that failed may be a planted one
			m.clearCookies(w)
		}
		if !required {
			e = nil // a dead cookie does not break pages that work anonymously
		}
	}
	if e == nil && a == nil && required {
		e = &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeUnauthenticated, Message: "a session is required", TokenPresented: !cred.Empty()}
	}
	if e != nil {
		m.refuse(w, r, e)
		return cred, nil, false
	}
	if a != nil {
		m.writeBack(w, cred, a)
	}
	return cred, a, true
}

// authenticated is serve for handlers that need a person's session.
func (m *Middleware) authenticated(w http.ResponseWriter, r *http.Request) (credential, *auth, bool) {
	cred, a, ok := m.serve(w, r, true, new(auth))
	if ok {
		if e := personOnly(a.machine); e != nil {
			m.refuse(w, r, e)
			return cred, nil, false
		}
	}
	return cred, a, ok
}

func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, e *stytchguard.Refusal) {
	if m.cfg.Hooks.Refused != nil {
		m.cfg.Hooks.Refused(e.Code)
	}
	if e.Status == http.StatusUnauthorized && m.cfg.SignInURL != "" && stytchguard.Navigation(r) {
		http.Redirect(w, r, signInTarget(m.cfg.SignInURL, r), http.StatusSeeOther)
		return
	}
	m.cfg.ErrorHandler(w, r, e)
}

// resolve runs the pipeline, steps numbered as in the package doc. It
// returns the credential, and either the session, an *stytchguard.Refusal, or neither
// (anonymous). A session the JWT alone proves is written to dst.
func (m *Middleware) resolve(r *http.Request, dst *auth) (credential, *auth, *stytchguard.Refusal) {
	// 1. Extract.
	cred, e := m.extract(r)
	if e != nil || cred.Empty() {
		return cred, nil, e
	}
	// A cookie goes with whatever page made the request: another site's
	// must not act with it (Config.CrossOrigin).
	if cred.From == fromCookie && m.crossOrigin(r) {
		return cred, nil, errCrossOrigin()
	}
	if cred.tossed != nil {
		return m.resolveTossed(r, cred)
	}
	a, e := m.decide(r, cred, dst)
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
	var worst *stytchguard.Refusal
	for i, c := range cred.tossed.candidates() {
		a, e := m.decide(r, c, new(auth))
		if e == nil && a != nil {
			if i < len(cred.tossed.jwts) && m.anotherPerson(r.Context(), a, cred.tossed.jwts[i+1:]) {
				m.tossLog.Do(func() {
					m.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "stytchguard: a request sent session cookies of two people; refused: "+
						"a planted cookie (cookie tossing) is likely: name the cookies with the __Host- prefix")
				})
				return cred, nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the request holds the session cookies of more than one person", TokenPresented: true}
			}
			return c, a, nil
		}
		if e != nil && (worst == nil || e.Status == http.StatusServiceUnavailable) {
			worst = e
		}
	}
	return cred, nil, worst
}

// anotherPerson reports whether one of jwts verifies locally, not revoked, as
// a session of someone other than a's subject.
func (m *Middleware) anotherPerson(ctx context.Context, a *auth, jwts []string) bool {
	for _, jwt := range jwts {
		v, err := m.verifier.Verify(ctx, jwt)
		if err == nil && v.Machine == nil && v.Subject != a.subject() && !m.cfg.Stores.Revocations.IsRevoked(ctx, v.SessionID) {
			return true
		}
	}
	return false
}

// decide runs steps 2 to 4 of the pipeline for one credential: it returns
// the session, an *stytchguard.Refusal, or neither (anonymous).
func (m *Middleware) decide(r *http.Request, cred credential, dst *auth) (*auth, *stytchguard.Refusal) {
	ctx := r.Context()

	// 2. Verify the JWT locally, and decide what, if anything, to ask Stytch.
	ask := cred     // the credentials worth asking Stytch about
	spends := true  // asking spends the budget: nothing ties ask to the project
	var local *auth // a session the JWT alone proves
	var checked string
	if cred.JWT != "" {
		v, err := m.verifier.Verify(ctx, cred.JWT)
		if v != nil && v.Machine != nil {
			return m.machine(cred, v, err)
		}
		if v != nil {
			// 3. Revoked here, or on an instance sharing the list?
			if checked = v.SessionID; m.cfg.Stores.Revocations.IsRevoked(ctx, checked) {
				return nil, errSessionEnded()
			}
		}
		switch verdictOf(err) {
		case nil:
			if m.changedSince(ctx, v.Subject, v.IssuedAt) {
				// The person changed after this JWT was issued (deleted,
				// deactivated, new roles): ask, and do not fall back on
				// the JWT's old claims if Stytch cannot answer.
				spends = false
				break
			}
			local = localAuth(v, dst)
			if !m.dueForRefresh(v) {
				if m.cfg.Hooks.Local != nil {
					m.cfg.Hooks.Local()
				}
				return local, nil
			}
			spends = false
		case jwtlocal.ErrStale:
			spends = false // the project's signature: Stytch's word, only old
		case jwtlocal.ErrKeyUnknown:
			if machineShaped(err) {
				// Only the key set can settle an M2M token: wait for it.
				return nil, m.errNoKeys(err)
			}
			// Inconclusive, and not tied to the project by a checked key:
			// ask, within the budget.
		case jwtlocal.ErrIssuerUnknown:
			// Inconclusive, and not tied to the project by a checked
			// issuer: ask, within the budget.
		case jwtlocal.ErrInvalid:
			if cred.Token == "" {
				return nil, errInvalidJWT(err)
			}
			ask.JWT = "" // the token alone may still be good
		}
	}

	// 4. Ask Stytch (or its recent answer).
	a, e := m.remote(r, ask, spends)
	switch {
	case e != nil && local != nil && e.Status != http.StatusUnauthorized:
		return local, nil // a refresh that could not be done: the local session stands
	case e != nil:
		return nil, e
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

// remote asks Stytch about a credential: the opaque token when there is one,
// else the JWT. A recent answer is reused (RemoteCache); otherwise, when
// spends, the call is paid from the budget first. Identical concurrent asks
// share one call, and one unit of the budget.
func (m *Middleware) remote(r *http.Request, cred credential, spends bool) (*auth, *stytchguard.Refusal) {
	ctx := r.Context()
	params := session.AuthenticateParams{SessionToken: cred.Token, SessionDurationMinutes: m.cfg.Sessions.DurationMinutes}
	if cred.Token == "" {
		params.SessionJWT = cred.JWT
	} else if !plausibleToken(cred.Token) {
		return nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the session token is not valid", TokenPresented: true}
	}
	key := cacheKey(params.SessionToken, params.SessionJWT)
	if e, ok := m.cfg.Stores.RemoteCache.Get(ctx, key); ok {
		if e.Gone {
			return nil, errGone("")
		}
		if a := m.reuse(e); a != nil && !m.changedSince(ctx, a.subject(), e.At) {
			if m.cfg.Hooks.Reused != nil {
				m.cfg.Hooks.Reused()
			}
			return a, nil
		}
	}
	ch := m.group.DoChan(key, func() (any, error) {
		if spends { // once for all the requests that share the call
			if reason := m.gate.spend(r); reason != "" {
				return nil, reason
			}
		}
		// Detached from this request: the others sharing the call must not
		// fail because it went away. The client's Timeout bounds it.
		return m.ask(context.WithoutCancel(ctx), key, params)
	})
	select {
	case res := <-ch:
		var shed shedError
		switch {
		case errors.As(res.Err, &shed):
			return nil, m.shed(ctx, shed) // each request that shared the call
		case res.Err != nil:
			return nil, res.Err.(*stytchguard.Refusal)
		}
		return res.Val.(*auth), nil
	case <-ctx.Done():
		return nil, &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "the request ended before Stytch answered", RetryAfter: m.cfg.Upstream.RetryAfter, Err: ctx.Err()}
	}
}

// shedError is a call not made to Stytch, and why: one of the Shed reasons.
type shedError string

func (s shedError) Error() string { return "stytchguard: not sent to Stytch: " + string(s) }

// shed answers a request that was not sent to Stytch: 503, counted and
// logged (at most every few seconds).
func (m *Middleware) shed(ctx context.Context, reason shedError) *stytchguard.Refusal {
	if m.cfg.Hooks.Shed != nil {
		m.cfg.Hooks.Shed(string(reason))
	}
	m.shedLog.Do(func() {
		m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "stytchguard: requests answered 503 without asking Stytch",
			slog.String("reason", string(reason)))
	})
	retry := defaultShedRetryAfter
	if open, until := m.gate.open(); open {
		retry = max(retry, until.Sub(m.cfg.Now()))
	}
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "authentication is busy; try again shortly", RetryAfter: retry}
}

// gated makes one call to Stytch within the slots and the breaker: f runs
// only with a slot, and its failure counts towards the breaker. No slot is a
// shedError.
func (m *Middleware) gated(ctx context.Context, f func(context.Context) error) error {
	release, reason := m.gate.acquire(ctx)
	if reason != "" {
		return shedError(reason)
	}
	err := f(ctx)
	release(errors.Is(err, session.ErrUnavailable))
	return err
}

// reuse returns the session of a cached answer, nil when it is past the
// session's end.
func (m *Middleware) reuse(e *RemoteEntry) *auth {
	var a *auth
	switch {
	case e.Member != nil:
		a = &auth{member: e.Member, sessionID: e.Member.Session.MemberSessionID, expires: e.Member.Session.ExpiresAt.Time}
	case e.Consumer != nil:
		a = &auth{consumer: e.Consumer, sessionID: e.Consumer.Session.SessionID, expires: e.Consumer.Session.ExpiresAt.Time}
	default:
		return nil
	}
	if !m.cfg.Now().Before(a.expires) {
		return nil
	}
	return a
}

func errGone(requestID string) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the session is expired or revoked", TokenPresented: true, RequestID: requestID}
}

// ask makes one call to Stytch's authenticate, within the concurrency bound
// and the breaker, and records the answer.
func (m *Middleware) ask(ctx context.Context, key string, p session.AuthenticateParams) (*auth, error) {
	asked := m.cfg.Now() // an answer is as old as its question
	var a *auth
	err := m.gated(ctx, func(ctx context.Context) (err error) {
		a, err = m.authenticate(ctx, p)
		return err
	})
	var shed shedError
	if errors.As(err, &shed) {
		return nil, err // Stytch was not called
	}
	if m.cfg.Hooks.Remote != nil {
		m.cfg.Hooks.Remote(err)
	}
	if err != nil {
		e := m.upstreamError(ctx, err)
		if e.Status == http.StatusUnauthorized {
			m.cfg.Stores.RemoteCache.Set(ctx, key, &RemoteEntry{Until: m.cfg.Now().Add(m.cfg.Upstream.GoneTTL), Gone: true})
		}
		return nil, e
	}
	until := m.cfg.Now().Add(m.cfg.Upstream.RemoteTTL)
	if a.expires.Before(until) {
		until = a.expires
	}
	m.cfg.Stores.RemoteCache.Set(ctx, key, &RemoteEntry{Until: until, At: asked, Consumer: a.consumer, Member: a.member})
	return a, nil
}

// upstreamError is the one place where a failed call to Stytch becomes an
// answer. The session is gone (or the credential was never one): 401.
// Stytch refused the app's own credentials: 503, and an error log that names
// the misconfiguration. Anything else: 503, with Stytch's Retry-After or
// UnavailableRetryAfter.
func (m *Middleware) upstreamError(ctx context.Context, err error) *stytchguard.Refusal {
	var api *session.APIError
	requestID := ""
	if errors.As(err, &api) {
		requestID = api.RequestID
	}
	switch {
	case errors.Is(err, session.ErrSessionGone), errors.Is(err, session.ErrBadRequest), errors.Is(err, session.ErrForbidden):
		return errGone(requestID)
	case errors.Is(err, session.ErrInvalidAnswer):
		m.answerLog.Do(func() {
			m.cfg.Logger.LogAttrs(ctx, slog.LevelError, "stytchguard: a success answer Stytch would not give; answering 503, never as signed in: "+
				"is something else answering for Stytch (a proxy, a captive portal, a DNS entry)? check STYTCH_BASE_URL and the network path",
				slog.String("base_url", m.cfg.Client.BaseURL()), slog.String("stytch_request_id", requestID), slog.Any("error", err))
		})
	case errors.Is(err, session.ErrCredentials):
		m.credentialsLog.Do(func() {
			m.cfg.Logger.LogAttrs(ctx, slog.LevelError, "stytchguard: Stytch refused this app's project credentials; "+
				"every request that needs Stytch answers 503 until they are fixed: check STYTCH_PROJECT_ID and STYTCH_SECRET "+
				"(the same environment, a secret not rotated away)",
				slog.String("project_id", m.cfg.Client.ProjectID()), slog.String("stytch_request_id", requestID))
		})
	default:
		// Logged here, where a failed call becomes an answer: once per call
		// to Stytch, however many requests shared it.
		m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "stytchguard: Stytch unavailable; answering 503, cookies kept: "+
			"if it lasts, check that base_url (STYTCH_BASE_URL) is Stytch's, or the emulator's, and reachable from here",
			slog.String("base_url", m.cfg.Client.BaseURL()), slog.String("stytch_request_id", requestID), slog.Any("error", err))
	}
	retry := session.RetryAfter(err)
	if retry <= 0 {
		retry = m.cfg.Upstream.RetryAfter
	}
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "Stytch is unavailable; try again later", RetryAfter: retry, RequestID: requestID, Err: err}
}

// authenticate calls the product line's authenticate endpoint. An answer
// whose session has already ended by this clock (past ClockTolerance) is
// not one Stytch gives: an unavailable Stytch, never a sign-in.
func (m *Middleware) authenticate(ctx context.Context, p session.AuthenticateParams) (*auth, error) {
	a, err := m.authenticateLine(ctx, p)
	if err == nil && !m.live(a.expires) {
		return nil, invalidAnswer("POST sessions/authenticate", "the session's expires_at has passed")
	}
	return a, err
}

// live reports whether a session that ends at end is still live by this
// clock, within the clock tolerance.
func (m *Middleware) live(end time.Time) bool {
	return m.cfg.Now().Before(end.Add(m.verifier.ClockTolerance()))
}

// invalidAnswer is the error of a 2xx answer to op that Stytch would not
// give, for the reason problem: unavailable, never a session.
func invalidAnswer(op, problem string) error {
	return fmt.Errorf("stytch: %s: %w (%w: %s)", op, session.ErrUnavailable, session.ErrInvalidAnswer, problem)
}

// authenticateLine calls the product line's authenticate endpoint.
func (m *Middleware) authenticateLine(ctx context.Context, p session.AuthenticateParams) (*auth, error) {
	if m.b2b {
		res, err := m.cfg.Client.B2B.Authenticate(ctx, session.B2BAuthenticateParams{
			SessionToken: p.SessionToken, SessionJWT: p.SessionJWT, SessionDurationMinutes: p.SessionDurationMinutes,
		})
		if err != nil {
			return nil, err
		}
		// Copies, not &res.Member: a pointer into res would keep the whole
		// answer, its session JWT and token too, in every remembered entry.
		member, org := res.Member, res.Organization
		ms := res.MemberSession
		ms.Roles, ms.AuthenticationFactors = shareable(ms.Roles, ms.AuthenticationFactors)
		return &auth{
			member: &stytchguard.MemberAuth{Session: ms, Member: &member, Organization: &org, Source: stytchguard.SourceStytch,
				Claims: m.cfg.Claims.Decode(res.MemberSession.CustomClaims)},
			sessionID: res.MemberSession.MemberSessionID, expires: res.MemberSession.ExpiresAt.Time,
			jwt: res.SessionJWT, token: res.SessionToken,
		}, nil
	}
	res, err := m.cfg.Client.Consumer.Authenticate(ctx, p)
	if err != nil {
		return nil, err
	}
	user := res.User // a copy: see above
	s := res.Session
	s.Roles, s.AuthenticationFactors = shareable(s.Roles, s.AuthenticationFactors)
	return &auth{
		consumer: &stytchguard.ConsumerAuth{Session: s, User: &user, Source: stytchguard.SourceStytch,
			Claims: m.cfg.Claims.Decode(res.Session.CustomClaims)},
		sessionID: res.Session.SessionID, expires: res.Session.ExpiresAt.Time,
		jwt: res.SessionJWT, token: res.SessionToken,
	}, nil
}

// shareable clips a session's roles and factors, the slices a handler is
// likely to append to: an answer is remembered and handed to many requests,
// and encoding/json leaves room beyond their length that two appends would
// share (see stytchguard.ConsumerAuth).
func shareable(roles []string, factors []session.AuthenticationFactor) ([]string, []session.AuthenticationFactor) {
	return slices.Clip(roles), slices.Clip(factors)
}

// cacheKey is the RemoteCache key of a credential: a digest, so that no
// store ever holds the credential itself.
func cacheKey(token, jwt string) string {
	h := sha256.New()
	if token != "" {
		h.Write([]byte("token\x00" + token))
	} else {
		h.Write([]byte("jwt\x00" + jwt))
	}
	return hex.EncodeToString(h.Sum(nil))
}
