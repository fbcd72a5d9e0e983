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
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
	"golang.org/x/time/rate"
)

const (
	defaultShedRetryAfter      = time.Second
	defaultShedLogEvery        = 10 * time.Second
	defaultCredentialsLogEvery = time.Minute
)

// Why a request was answered 503 without asking Stytch, as Hooks.Shed is
// told (its comment says what each means).
const (
	// shedBudget: the process's budget for credentials that cannot be tied
	// to the project is spent.
	shedBudget = "budget"
	// shedClientBudget: this client's share of that budget is spent
	// (Upstream.ClientKey).
	shedClientBudget = "client_budget"
	// shedConcurrency: Upstream.MaxInFlight calls to Stytch are in flight
	// and none ended within Upstream.SlotWait.
	shedConcurrency = "concurrency"
	// shedCircuitOpen: Stytch kept failing; calls pause for
	// Upstream.BreakerCooldown.
	shedCircuitOpen = "circuit_open"
)

// gate applies Upstream's bounds: the budget, the slots and the breaker.
type gate struct {
	cfg     Upstream
	now     func() time.Time
	budget  *rate.Limiter // nil: no budget
	clients *lru.Cache[string, *rate.Limiter]
	slots   chan struct{}

	mu        sync.Mutex
	failures  int       // calls failed in a row
	openUntil time.Time // the breaker pauses calls until then
	probing   bool      // after the pause, one call is trying
}

func newGate(cfg Upstream, now func() time.Time) *gate {
	g := &gate{cfg: cfg, now: now, slots: make(chan struct{}, cfg.MaxInFlight)}
	if cfg.Rate > 0 {
		g.budget = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	if cfg.ClientKey != nil && g.budget != nil {
		g.clients, _ = lru.New[string, *rate.Limiter](cfg.MaxClients) // MaxClients > 0: no error
	}
	return g
}

// spend takes one call from the budget for a credential that cannot be tied
// to the project. It returns the reason it could not, or "".
func (g *gate) spend(r *http.Request) shedError {
	if g.budget == nil {
		return ""
	}
	now := g.now()
	if g.clients != nil {
		if key := g.cfg.ClientKey(r); key != "" {
			l, ok := g.clients.Get(key)
			if !ok {
				l = rate.NewLimiter(rate.Limit(g.cfg.ClientRate), g.cfg.ClientBurst)
				g.clients.Add(key, l)
			}
			if !l.AllowN(now, 1) {
				return shedClientBudget
			}
		}
	}
	if !g.budget.AllowN(now, 1) {
		return shedBudget
	}
	return ""
}

// acquire takes a slot for one call to Stytch, waiting at most SlotWait. It
// returns the release function, which the caller must call with whether
// Stytch failed and the Retry-After it asked for; or the reason there is no
// slot.
func (g *gate) acquire(ctx context.Context) (release func(failed bool, retryAfter time.Duration), shed shedError) {
	if reason := g.admit(); reason != "" {
		return nil, reason
	}
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.cfg.SlotWait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			g.unprobe()
			return nil, shedConcurrency
		case <-ctx.Done():
			g.unprobe()
			return nil, shedConcurrency
		}
	}
	return func(failed bool, retryAfter time.Duration) {
		<-g.slots
		g.record(failed, retryAfter)
	}, ""
}

// admit lets a call through unless the breaker is open; once the pause is
// over it lets one call through to try Stytch again.
func (g *gate) admit() shedError {
	if g.cfg.BreakerFailures < 0 {
		return ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.openUntil.IsZero() {
		return ""
	}
	if g.now().Before(g.openUntil) || g.probing {
		return shedCircuitOpen
	}
	g.probing = true
	return ""
}

// unprobe gives up the trial call when it got no slot.
func (g *gate) unprobe() {
	g.mu.Lock()
	g.probing = false
	g.mu.Unlock()
}

// maxBreakerRetryAfter bounds how long a Retry-After opens the breaker: an
// answer claiming to be Stytch's must not stop every call for a day.
const maxBreakerRetryAfter = 5 * time.Minute

// record counts a call's result: enough failures in a row open the breaker,
// and so does one that asked to wait (Retry-After, at most 5 min), until
// then; a success closes it.
func (g *gate) record(failed bool, retryAfter time.Duration) {
	if g.cfg.BreakerFailures < 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.probing = false
	if !failed {
		g.failures, g.openUntil = 0, time.Time{}
		return
	}
	g.failures++
	if g.failures >= g.cfg.BreakerFailures || !g.openUntil.IsZero() {
		g.openUntil = g.now().Add(g.cfg.BreakerCooldown)
	}
	if retryAfter > 0 {
		if until := g.now().Add(min(retryAfter, maxBreakerRetryAfter)); until.After(g.openUntil) {
			g.openUntil = until
		}
	}
}

// open reports whether the breaker is pausing calls, and until when.
func (g *gate) open() (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.openUntil.IsZero() && g.now().Before(g.openUntil), g.openUntil
}

// askStytch asks Stytch about a credential: the opaque token when there is one,
// else the JWT. A recent answer is reused (RemoteCache); otherwise, when
// spends, the call is paid from the budget first. Identical concurrent asks
// share one call, and one unit of the budget.
func (m *Middleware) askStytch(r *http.Request, cred credential, spends bool) (*auth, *stytchguard.Refusal) {
	ctx := r.Context()
	params := session.AuthenticateParams{SessionToken: cred.Token, SessionDurationMinutes: m.cfg.Sessions.DurationMinutes}
	if cred.Token != "" && !plausibleToken(cred.Token) {
		if cred.JWT == "" {
			return nil, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the session token is not valid", TokenPresented: true}
		}
		// A token that cannot be one beside a JWT: the JWT is asked about,
		// and settles the request.
		params.SessionToken = ""
	}
	if params.SessionToken == "" {
		params.SessionJWT = cred.JWT
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
		return m.callStytch(context.WithoutCancel(ctx), key, params)
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
	return &stytchguard.Refusal{Status: http.StatusServiceUnavailable, Code: stytchguard.CodeUnavailable, Message: "authentication is busy; try again shortly", RetryAfter: retry, Err: reason}
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
	release(errors.Is(err, session.ErrUnavailable), session.RetryAfter(err))
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
	a.reused = true
	return a
}

func errGone(requestID string) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeInvalidToken, Message: "the session is expired or revoked", TokenPresented: true, RequestID: requestID}
}

// callStytch makes one call to Stytch's authenticate, within the concurrency bound
// and the breaker, and records the answer.
func (m *Middleware) callStytch(ctx context.Context, key string, p session.AuthenticateParams) (*auth, error) {
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

// goneTypes are the error types with which Stytch says the credential is
// no session: unknown, expired or revoked, or a JWT it cannot parse.
var goneTypes = [...]string{"session_not_found", "unable_to_parse_session_jwt"}

// upstreamError is the one place where a failed call to Stytch becomes an
// answer. Stytch says the session is gone (or the credential was never
// one), by one of goneTypes: 401. Any other refusal (a 404 route_not_found
// from a base URL with a path, a 400 about a setting) is about the request,
// not the session: 503 and an error log that names it, as is Stytch
// refusing the app's own credentials. Anything else: 503, with Stytch's
// Retry-After or Upstream.RetryAfter.
func (m *Middleware) upstreamError(ctx context.Context, err error) *stytchguard.Refusal {
	var api *session.APIError
	requestID, errorType, status := "", "", 0
	if errors.As(err, &api) {
		requestID, errorType, status = api.RequestID, api.ErrorType, api.StatusCode
	}
	switch {
	case slices.Contains(goneTypes[:], errorType):
		return errGone(requestID)
	case errors.Is(err, session.ErrSessionGone), errors.Is(err, session.ErrBadRequest), errors.Is(err, session.ErrForbidden):
		m.refusedLog.Do(func() {
			m.cfg.Logger.LogAttrs(ctx, slog.LevelError, "stytchguard: Stytch refused a request for a reason that is not the session's; "+
				"answering 503, never as signed out: check that base_url (STYTCH_BASE_URL) has no path, and Sessions.DurationMinutes",
				slog.String("base_url", m.cfg.Client.BaseURL()), slog.String("error_type", errorType),
				slog.Int("status", status), slog.String("stytch_request_id", requestID))
		})
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
	a, err := m.line.authenticate(ctx, p)
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
