package middleware

import (
	"cmp"
	"context"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Defaults for the zero fields of Upstream.
const (
	DefaultUpstreamRate        = 20
	DefaultUpstreamBurst       = 50
	DefaultClientRate          = 2
	DefaultClientBurst         = 10
	DefaultMaxClients          = 10_000
	DefaultMaxInFlight         = 32
	DefaultSlotWait            = 100 * time.Millisecond
	DefaultBreakerFailures     = 5
	DefaultBreakerCooldown     = 2 * time.Second
	defaultShedRetryAfter      = time.Second
	defaultShedLogEvery        = 10 * time.Second
	defaultCredentialsLogEvery = time.Minute
)

// Why a request was answered 503 without asking Stytch, as Hooks.Shed is
// told.
const (
	// ShedBudget: the process's budget for credentials that cannot be tied
	// to the project is spent.
	ShedBudget = "budget"
	// ShedClientBudget: this client's share of that budget is spent
	// (Upstream.ClientKey).
	ShedClientBudget = "client_budget"
	// ShedConcurrency: Upstream.MaxInFlight calls to Stytch are in flight
	// and none ended within Upstream.SlotWait.
	ShedConcurrency = "concurrency"
	// ShedCircuitOpen: Stytch kept failing; calls pause for
	// Upstream.BreakerCooldown.
	ShedCircuitOpen = "circuit_open"
)

// Upstream bounds what the middleware asks of Stytch's authenticate, so that
// neither a flood of plausible garbage nor a hung Stytch can turn into a
// flood of calls or a pile of waiting goroutines. Every zero field takes the
// default its comment names.
//
// The budget (Rate, Burst, and per client ClientRate, ClientBurst) is spent
// only by credentials that cannot be tied to the project cryptographically:
// an opaque token with no cached answer, a JWT while no key set is held, a
// JWT with an issuer not configured. A JWT signed by the project's key,
// stale or not, never spends it. The concurrency bound and the circuit
// breaker apply to every call.
type Upstream struct {
	// Rate is the budget's refill, in calls per second. Zero means
	// DefaultUpstreamRate (20); negative means no budget at all.
	Rate float64
	// Burst is how many calls the budget allows at once. Zero means
	// DefaultUpstreamBurst (50).
	Burst int
	// ClientKey, when set, names the client of a request (an address the
	// app trusts, say, from its proxy's header), so that one client cannot
	// spend everyone's budget: each gets ClientRate and ClientBurst of its
	// own as well. An empty key is not limited per client. Nil means no
	// per-client budget.
	ClientKey func(r *http.Request) string
	// ClientRate and ClientBurst are each client's share. Zero means
	// DefaultClientRate (2/s) and DefaultClientBurst (10).
	ClientRate  float64
	ClientBurst int
	// MaxClients bounds how many clients' budgets are remembered (least
	// recently seen dropped first). Zero means DefaultMaxClients (10,000).
	MaxClients int

	// MaxInFlight bounds the calls to Stytch's authenticate in flight at
	// once in this process. Zero means DefaultMaxInFlight (32).
	MaxInFlight int
	// SlotWait is how long a call waits for a free slot before its request
	// is answered 503. Zero means DefaultSlotWait (100 ms).
	SlotWait time.Duration

	// BreakerFailures is how many calls in a row must fail (Stytch
	// unreachable, 5xx, 429, timeouts) before calls pause. Zero means
	// DefaultBreakerFailures (5); negative means never.
	BreakerFailures int
	// BreakerCooldown is how long calls pause: requests that need Stytch
	// are answered 503 at once, then one call tries again. Zero means
	// DefaultBreakerCooldown (2 s).
	BreakerCooldown time.Duration
}

// withDefaults returns u with its zero fields set.
func (u Upstream) withDefaults() Upstream {
	u.Rate = cmp.Or(u.Rate, DefaultUpstreamRate)
	u.Burst = cmp.Or(u.Burst, DefaultUpstreamBurst)
	u.ClientRate = cmp.Or(u.ClientRate, DefaultClientRate)
	u.ClientBurst = cmp.Or(u.ClientBurst, DefaultClientBurst)
	u.MaxClients = cmp.Or(u.MaxClients, DefaultMaxClients)
	u.MaxInFlight = cmp.Or(u.MaxInFlight, DefaultMaxInFlight)
	u.SlotWait = cmp.Or(u.SlotWait, DefaultSlotWait)
	u.BreakerFailures = cmp.Or(u.BreakerFailures, DefaultBreakerFailures)
	u.BreakerCooldown = cmp.Or(u.BreakerCooldown, DefaultBreakerCooldown)
	return u
}

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
				return ShedClientBudget
			}
		}
	}
	if !g.budget.AllowN(now, 1) {
		return ShedBudget
	}
	return ""
}

// acquire takes a slot for one call to Stytch, waiting at most SlotWait. It
// returns the release function, which the caller must call with whether
// Stytch failed; or the reason there is no slot.
func (g *gate) acquire(ctx context.Context) (release func(failed bool), shed shedError) {
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
			return nil, ShedConcurrency
		case <-ctx.Done():
			g.unprobe()
			return nil, ShedConcurrency
		}
	}
	return func(failed bool) {
		<-g.slots
		g.record(failed)
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
		return ShedCircuitOpen
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

// record counts a call's result: enough failures in a row open the breaker;
// a success closes it.
func (g *gate) record(failed bool) {
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
}

// open reports whether the breaker is pausing calls, and until when.
func (g *gate) open() (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.openUntil.IsZero() && g.now().Before(g.openUntil), g.openUntil
}
