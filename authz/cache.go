package authz

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stytchguard/stytchguard/internal/pace"
	"github.com/stytchguard/stytchguard/session"
)

// entry is one cached policy (the project's, or one organization's custom
// roles): the last good copy, compiled, and at most one fetch under way,
// none for a while after one failed (pace).
type entry struct {
	name  string
	attrs []slog.Attr // what the log lines about it name: the organization
	fetch func(context.Context) ([]session.Role, error)
	pace  *pace.Pacer

	// held is the last good copy, read without the lock: every guarded
	// request reads it, on every core. Only a fetch replaces it, under mu.
	held atomic.Pointer[policy]

	mu       sync.Mutex
	inflight chan struct{} // closed when the fetch under way ends
	lastErr  error

	// merged is, for an organization, its roles compiled after the
	// project's, read without the lock by every guarded request in it.
	merged atomic.Pointer[mergedIndex]

	// touched is when (Unix nanoseconds, by Config.Now) the organization's
	// recency in the LRU was last refreshed: at most once a second, so that
	// a guarded request takes the cache's shared lock only.
	touched atomic.Int64
}

// mergedIndex is an organization's roles compiled after the project's, and
// the two slices it was compiled from.
type mergedIndex struct {
	ix           *index
	project, org []session.Role
}

// policy is one fetched copy of a policy, compiled; never changed once held
// but for aged.
type policy struct {
	roles    []session.Role
	ix       *index
	loadedAt time.Time
	// aged is set by a timer one TTL after the load when the Authorizer
	// keeps the default clock: while it is unset, a guarded request knows
	// the policy is fresh from one atomic load, without reading the clock
	// (30 to 60 ns on a virtual machine, on every guarded request). With a
	// Config.Now, the timer is nil and every decision reads that clock.
	aged  atomic.Bool
	timer *time.Timer
}

// fresh reports whether p is inside its TTL, and otherwise its age.
func (a *Authorizer) fresh(p *policy) (time.Duration, bool) {
	if p.timer != nil && !p.aged.Load() {
		return 0, true
	}
	age := a.since(p.loadedAt)
	return age, age < a.cfg.TTL
}

// hold makes p the entry's policy, with the timer that marks it aged when
// the Authorizer keeps the default clock, and stops the timer of the policy
// it replaces. The caller holds e.mu.
func (e *entry) hold(a *Authorizer, p *policy) {
	if a.timed {
		p.timer = time.AfterFunc(a.cfg.TTL, func() { p.aged.Store(true) })
	}
	if old := e.held.Swap(p); old != nil {
		old.stop()
	}
}

// stop stops p's timer, if it has one; a stopped policy reads the clock.
func (p *policy) stop() {
	if p.timer != nil {
		p.timer.Stop()
		p.aged.Store(true)
	}
}

// index returns the entry's compiled policy and roles: fresh ones at once,
// without a lock; past the TTL, the held ones while a background refresh
// runs; past MaxStale or never loaded, after waiting for a fetch. While
// fetches are held back after a failure (pace), nothing waits: the held
// policy within MaxStale, else the last failure, at once.
func (e *entry) index(ctx context.Context, a *Authorizer) (*index, []session.Role, error) {
	p := e.held.Load()
	var age time.Duration
	if p != nil {
		var ok bool
		if age, ok = a.fresh(p); ok {
			return p.ix, p.roles, nil
		}
	}
	e.mu.Lock()
	done, paused := e.startLocked(a)
	e.mu.Unlock()
	if p != nil && age < a.cfg.MaxStale {
		return p.ix, p.roles, nil // stale-while-revalidate
	}
	if paused != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrPolicyUnavailable, e.name, paused)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrPolicyUnavailable, e.name, ctx.Err())
	}
	if p := e.held.Load(); p != nil && a.since(p.loadedAt) < a.cfg.MaxStale {
		return p.ix, p.roles, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return nil, nil, fmt.Errorf("%w: %s: %w", ErrPolicyUnavailable, e.name, e.lastErr)
}

// startLocked starts a fetch unless one is under way, and returns the
// channel closed when it ends; or, starting nothing while fetches are held
// back after a failure, why (a *pace.PausedError). The caller holds e.mu.
func (e *entry) startLocked(a *Authorizer) (chan struct{}, error) {
	if e.inflight != nil {
		return e.inflight, nil
	}
	if err := e.pace.Allow(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	e.inflight = done
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(done)
		roles, err := e.fetch(a.ctx) // bounded by the client's own timeout
		e.mu.Lock()
		defer e.mu.Unlock()
		e.inflight = nil
		if err != nil {
			e.lastErr = err
			if a.ctx.Err() != nil {
				return // closing: not Stytch's failure
			}
			if p := e.held.Load(); p != nil {
				e.pace.Failed(a.ctx, err, slog.LevelWarn, "stytchguard: RBAC policy refresh failed; deciding with the last good one",
					append(e.attrs, slog.Duration("age", a.since(p.loadedAt).Round(time.Second)))...)
			} else {
				e.pace.Failed(a.ctx, err, slog.LevelError, "stytchguard: RBAC policy fetch failed", e.attrs...)
			}
			return
		}
		e.hold(a, &policy{roles: roles, ix: compile(roles), loadedAt: a.cfg.Now()})
		e.lastErr = nil
		e.pace.Succeeded()
	}()
	return done, nil
}

// mergedWith returns the organization's roles compiled after the project's,
// compiling again only when either slice is not the one last compiled: on
// every request but those after a refresh, one atomic load and no lock.
func (e *entry) mergedWith(project, org []session.Role) *index {
	if m := e.merged.Load(); m != nil && sameSlice(m.project, project) && sameSlice(m.org, org) {
		return m.ix
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.merged.Load()
	if m == nil || !sameSlice(m.project, project) || !sameSlice(m.org, org) {
		m = &mergedIndex{ix: compile(project, org), project: project, org: org}
		e.merged.Store(m)
	}
	return m.ix
}

// sameSlice reports whether a and b are the same slice (not equal contents):
// a refresh always brings a new one.
func sameSlice(a, b []session.Role) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
