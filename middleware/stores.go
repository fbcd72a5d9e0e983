package middleware

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/stytchguard/stytchguard/session"
)

// RevocationList remembers the sessions this app ended, until their JWTs
// could no longer verify anyway. The in-memory default
// (NewMemoryRevocationList) covers one process; a store shared by several
// app instances (Redis, say) makes a logout on one refuse the session on all.
// Implementations must be safe for concurrent use. IsRevoked is asked on
// every authenticated request, so it must be fast: a shared store should
// keep a local copy.
type RevocationList interface {
	// Revoke remembers sessionID as ended until until.
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// IsRevoked reports whether sessionID was ended and is still remembered.
	IsRevoked(ctx context.Context, sessionID string) bool
}

// RemoteEntry is one of Stytch's answers kept for reuse: a session, or the
// news that the credential's session is gone.
type RemoteEntry struct {
	// Until is when the entry stops being usable.
	Until time.Time `json:"until"`
	// Gone records that Stytch said the session is gone.
	Gone bool `json:"gone,omitempty"`
	// Consumer or Member holds the session Stytch returned.
	Consumer *session.ConsumerAuth `json:"consumer,omitempty"`
	Member   *session.MemberAuth   `json:"member,omitempty"`
}

// RemoteCache keeps Stytch's recent answers, so that a credential asked about
// a moment ago is not asked about again. Keys are SHA-256 digests of the
// credential, never the credential. The in-memory default is
// NewMemoryRemoteCache; a shared store can replace it. Implementations must
// be safe for concurrent use; Get must not return an entry past its Until.
type RemoteCache interface {
	Get(ctx context.Context, key string) (*RemoteEntry, bool)
	Set(ctx context.Context, key string, e *RemoteEntry)
	Delete(ctx context.Context, key string)
}

// MemoryRevocationList is the in-memory RevocationList. It holds at most
// its size's entries: expired ones are dropped first, then those that expire
// soonest.
type MemoryRevocationList struct {
	now  func() time.Time
	max  int
	mu   sync.RWMutex
	ends map[string]time.Time
}

// NewMemoryRevocationList returns an empty list of at most size entries
// (1,000,000 when size <= 0), judged by the clock now (time.Now when nil).
func NewMemoryRevocationList(size int, now func() time.Time) *MemoryRevocationList {
	if size <= 0 {
		size = 1_000_000
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocationList{now: now, max: size, ends: map[string]time.Time{}}
}

// Revoke implements RevocationList.
func (l *MemoryRevocationList) Revoke(_ context.Context, sessionID string, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.ends[sessionID]; ok && old.After(until) {
		until = old
	}
	l.ends[sessionID] = until
	if len(l.ends) > l.max {
		l.prune()
	}
	return nil
}

// prune drops expired entries, then the soonest to expire, down to the
// limit. The caller holds l.mu.
func (l *MemoryRevocationList) prune() {
	now := l.now()
	for id, end := range l.ends {
		if !end.After(now) {
			delete(l.ends, id)
		}
	}
	for len(l.ends) > l.max {
		var soonest string
		var end time.Time
		for id, e := range l.ends {
			if soonest == "" || e.Before(end) {
				soonest, end = id, e
			}
		}
		delete(l.ends, soonest)
	}
}

// IsRevoked implements RevocationList.
func (l *MemoryRevocationList) IsRevoked(_ context.Context, sessionID string) bool {
	l.mu.RLock()
	end, ok := l.ends[sessionID]
	l.mu.RUnlock()
	return ok && end.After(l.now())
}

// Len returns how many sessions the list holds, expired ones included until
// they are pruned.
func (l *MemoryRevocationList) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.ends)
}

// MemoryRemoteCache is the in-memory RemoteCache: a bounded LRU.
type MemoryRemoteCache struct {
	now func() time.Time
	lru *lru.Cache[string, *RemoteEntry]
}

// NewMemoryRemoteCache returns an empty cache of at most size entries
// (10,000 when size <= 0), judged by the clock now (time.Now when nil).
func NewMemoryRemoteCache(size int, now func() time.Time) *MemoryRemoteCache {
	if size <= 0 {
		size = 10_000
	}
	if now == nil {
		now = time.Now
	}
	c, _ := lru.New[string, *RemoteEntry](size) // size > 0: no error
	return &MemoryRemoteCache{now: now, lru: c}
}

// Get implements RemoteCache.
func (c *MemoryRemoteCache) Get(_ context.Context, key string) (*RemoteEntry, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !e.Until.After(c.now()) {
		c.lru.Remove(key)
		return nil, false
	}
	return e, true
}

// Set implements RemoteCache.
func (c *MemoryRemoteCache) Set(_ context.Context, key string, e *RemoteEntry) { c.lru.Add(key, e) }

// Delete implements RemoteCache.
func (c *MemoryRemoteCache) Delete(_ context.Context, key string) { c.lru.Remove(key) }
