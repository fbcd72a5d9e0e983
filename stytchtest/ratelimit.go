package stytchtest

import (
	"math"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/stytchguard/stytchguard/session"
)

// RateLimit makes the emulator refuse calls as Stytch's rate limiting does,
// so that a test or a local run shows what an app does when its project is
// throttled. The zero RateLimit limits nothing, which is the default of New
// and NewServer; cmd/stytch-emulator turns it on.
//
// Stytch publishes neither its exact limits nor its failed-token rule; the
// shape here (a per-project rate of about 100 calls a second, 429
// too_many_requests with Retry-After, and 429 too_few_tokens_authenticated
// once too many tokens fail to authenticate) follows its docs and error
// catalogue. Both run on the emulator's clock: with WithFrozenClock a limit
// recovers only as Advance moves time, so tests need not sleep.
type RateLimit struct {
	// PerSecond is the project's sustained rate of API calls, every
	// endpoint counted but the JWKS ones and the admin API. Zero: no limit.
	PerSecond float64
	// Burst is how many calls may come at once above the rate. Zero:
	// PerSecond, rounded up.
	Burst int
	// FailedShare refuses authenticate calls (consumer and B2B) with 429
	// too_few_tokens_authenticated while more than this share of the
	// authenticate calls of the last Window failed as unknown, expired or
	// unparsable. Zero: off.
	FailedShare float64
	// MinCalls is how many authenticate calls Window must hold before
	// FailedShare applies. Zero: 50.
	MinCalls int
	// Window is how far back FailedShare looks, in whole seconds. Zero: 10 s.
	Window time.Duration
}

// WithRateLimit sets the emulator's rate limiting from the start.
func WithRateLimit(l RateLimit) Option { return func(o *options) { o.rateLimit = l } }

// SetRateLimit replaces the emulator's rate limiting; the zero RateLimit
// turns it off. Counts start afresh.
func (e *Emulator) SetRateLimit(l RateLimit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = nil
	if l != (RateLimit{}) {
		e.limits = newLimiter(l, e.clock())
	}
}

// limiter is the state behind a RateLimit. The emulator's mu guards it.
type limiter struct {
	RateLimit
	bucket  *rate.Limiter // nil: no rate limit
	slots   []authSlot    // one per second of Window, a ring
	started time.Time     // the emulator's clock at slot 0
}

// authSlot counts one second's authenticate calls.
type authSlot struct {
	second        int64 // seconds since started; the slot is stale when older than the window
	total, failed int
}

func newLimiter(l RateLimit, now time.Time) *limiter {
	out := &limiter{RateLimit: l, started: now}
	if l.PerSecond > 0 {
		burst := l.Burst
		if burst <= 0 {
			burst = int(math.Ceil(l.PerSecond))
		}
		out.bucket = rate.NewLimiter(rate.Limit(l.PerSecond), burst)
	}
	if out.MinCalls <= 0 {
		out.MinCalls = 50
	}
	if out.Window < time.Second {
		out.Window = 10 * time.Second
	}
	out.slots = make([]authSlot, int(out.Window/time.Second))
	return out
}

// limited reports whether ep is subject to the rate.
func limited(ep Endpoint) bool {
	return ep != JWKS && ep != B2BJWKS && ep != Admin
}

// isAuthenticate reports whether ep is one of the authenticate endpoints the
// failed-token rule watches.
func isAuthenticate(ep Endpoint) bool { return ep == Authenticate || ep == B2BAuthenticate }

// refuse decides whether a call to ep may proceed now, or returns the 429 to
// answer. The caller holds e.mu.
func (l *limiter) refuse(ep Endpoint, now time.Time) *session.APIError {
	if l == nil || !limited(ep) {
		return nil
	}
	if l.FailedShare > 0 && isAuthenticate(ep) {
		total, failed := l.window(now)
		if total >= l.MinCalls && float64(failed) > l.FailedShare*float64(total) {
			err := apiError(http.StatusTooManyRequests, "too_few_tokens_authenticated", "Too many of the recent requests carried tokens that failed to authenticate.")
			err.RetryAfter = time.Second
			return err
		}
	}
	if l.bucket != nil {
		r := l.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			err := apiError(http.StatusTooManyRequests, "too_many_requests", "Too many requests.")
			err.RetryAfter = d
			return err
		}
	}
	return nil
}

// record counts an authenticate call's outcome. The caller holds e.mu.
func (l *limiter) record(ep Endpoint, now time.Time, apiErr *session.APIError) {
	if l == nil || l.FailedShare <= 0 || !isAuthenticate(ep) {
		return
	}
	s := l.slot(now)
	s.total++
	if apiErr != nil && (apiErr.ErrorType == "session_not_found" || apiErr.ErrorType == "unable_to_parse_session_jwt") {
		s.failed++
	}
}

// slot returns the ring slot of now's second, emptied if it held an older
// second.
func (l *limiter) slot(now time.Time) *authSlot {
	sec := l.second(now)
	s := &l.slots[sec%int64(len(l.slots))]
	if s.second != sec {
		*s = authSlot{second: sec}
	}
	return s
}

// window sums the slots within Window of now.
func (l *limiter) window(now time.Time) (total, failed int) {
	sec := l.second(now)
	for _, s := range l.slots {
		if sec-s.second < int64(len(l.slots)) {
			total += s.total
			failed += s.failed
		}
	}
	return total, failed
}

// second numbers now's second since the limiter started; a clock set back
// before the start counts as the start.
func (l *limiter) second(now time.Time) int64 {
	return max(int64(now.Sub(l.started)/time.Second), 0)
}
