package middleware

import (
	"context"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
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
			return nil, shedConcurrency
		case <-ctx.Done():
			g.unprobe()
			return nil, shedConcurrency
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
