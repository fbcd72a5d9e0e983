package middleware

import (
	"context"
	"hash/maphash"
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
// soonest. It is split into shards, each with its own lock, so that the check
// every request makes does not make cores wait on one another.
type MemoryRevocationList struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [revocationShards]revocationShard
}

const revocationShards = 16

type revocationShard struct {
	mu   sync.RWMutex
	max  int
	ends map[string]time.Time
	_    [64]byte // keep shards' locks on separate cache lines
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
	l := &MemoryRevocationList{now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].max = max(1, size/revocationShards)
		l.shards[i].ends = map[string]time.Time{}
	}
	return l
}

func (l *MemoryRevocationList) shard(sessionID string) *revocationShard {
	return &l.shards[maphash.String(l.seed, sessionID)%revocationShards]
}

// Revoke implements RevocationList.
func (l *MemoryRevocationList) Revoke(_ context.Context, sessionID string, until time.Time) error {
	s := l.shard(sessionID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.ends[sessionID]; ok && old.After(until) {
		until = old
	}
	s.ends[sessionID] = until
	if len(s.ends) > s.max {
		s.prune(l.now())
	}
	return nil
}

// prune drops expired entries, then the soonest to expire, down to the
// limit. The caller holds s.mu.
func (s *revocationShard) prune(now time.Time) {
	for id, end := range s.ends {
		if !end.After(now) {
			delete(s.ends, id)
		}
	}
	for len(s.ends) > s.max {
		var soonest string
		var end time.Time
		for id, e := range s.ends {
			if soonest == "" || e.Before(end) {
				soonest, end = id, e
			}
		}
		delete(s.ends, soonest)
	}
}

// IsRevoked implements RevocationList.
func (l *MemoryRevocationList) IsRevoked(_ context.Context, sessionID string) bool {
	s := l.shard(sessionID)
	s.mu.RLock()
	end, ok := s.ends[sessionID]
	s.mu.RUnlock()
	return ok && end.After(l.now())
}

// Len returns how many sessions the list holds, expired ones included until
// they are pruned.
func (l *MemoryRevocationList) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.RLock()
		n += len(s.ends)
		s.mu.RUnlock()
	}
	return n
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
