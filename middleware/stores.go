package middleware

import (
	"container/heap"
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

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
	// Revoke remembers sessionID as ended until until. It returns an error
	// when the revocation could not be recorded where the list promises (a
	// shared store that cannot be reached); a list with a local copy records
	// it there first. The logout handlers answer 503 on an error, so that
	// the logout is repeated.
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// IsRevoked reports whether sessionID was ended and is still remembered.
	IsRevoked(ctx context.Context, sessionID string) bool
}

// RevocationExpiry is implemented by a RevocationList that can tell until
// when an entry holds. With it, the list also keeps the marks of users and
// members changed elsewhere (WebhookHandler), under their user or member id
// (never a session id, so the two cannot collide), shared the same way as
// logouts. MemoryRevocationList and redisstore implement it.
type RevocationExpiry interface {
	// RevokedUntil returns the end of the entry for key, if one is held and
	// has not ended.
	RevokedUntil(ctx context.Context, key string) (time.Time, bool)
}

// RemoteEntry is one of Stytch's answers kept for reuse: a session, or the
// news that the credential's session is gone.
type RemoteEntry struct {
	// Until is when the entry stops being usable.
	Until time.Time `json:"until"`
	// At is when Stytch gave the answer: a user or member changed after it
	// (WebhookHandler) makes it unusable.
	At time.Time `json:"at,omitzero"`
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
// be safe for concurrent use; Get must not return an entry past its Until;
// "gone" answers should not be able to evict sessions, so that a storm of
// dead tokens cannot make live ones cost calls again.
type RemoteCache interface {
	// Get returns the entry for key, if one is held and not past its Until.
	Get(ctx context.Context, key string) (*RemoteEntry, bool)
	// Set stores an entry, replacing any for key.
	Set(ctx context.Context, key string, e *RemoteEntry)
	// Delete forgets key.
	Delete(ctx context.Context, key string)
}

// DefaultRevocationListSize is the in-memory RevocationList's default
// bound. An entry lives about seven minutes (a JWT's life, the clock
// tolerance and RemoteTTL), so 100,000 entries hold over 200 logouts a
// second, sustained; BenchmarkRevocationList/memory measures them at 15 MiB
// (157 bytes an entry).
const DefaultRevocationListSize = 100_000

// MemoryRevocationListConfig configures NewMemoryRevocationList. Every zero
// field takes the default its comment names.
type MemoryRevocationListConfig struct {
	// Size bounds the entries held. Zero means DefaultRevocationListSize.
	Size int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger is told, at most once a minute, when the list had to drop
	// revocations that had not expired yet. Nil means none.
	Logger *slog.Logger
}

// MemoryRevocationList is the in-memory RevocationList. It holds at most
// Size entries and drops them in expiry order: expired ones first, and an
// unexpired one only when the list is full of unexpired ones, the one that
// expires soonest, counted (Dropped) and logged. It is split into shards,
// each with its own lock and expiry heap, so that the check every request
// makes does not make cores wait on one another; a Revoke costs O(log n).
type MemoryRevocationList struct {
	now     func() time.Time
	max     int64
	n       atomic.Int64
	dropped atomic.Uint64
	logger  *slog.Logger
	dropLog rate.Sometimes
	seed    maphash.Seed
	evictMu sync.Mutex // one eviction at a time
	shards  [revocationShards]revocationShard
}

const revocationShards = 16

type revocationShard struct {
	mu   sync.RWMutex
	ends map[string]*revocation
	heap revocationHeap
	_    [64]byte // keep shards' locks on separate cache lines
}

type revocation struct {
	sessionID string
	until     time.Time
	index     int // in the shard's heap
}

// revocationHeap orders a shard's revocations by expiry, soonest first.
type revocationHeap []*revocation

func (h revocationHeap) Len() int           { return len(h) }
func (h revocationHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h revocationHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *revocationHeap) Push(x any) {
	r := x.(*revocation)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *revocationHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}

// NewMemoryRevocationList returns an empty list.
func NewMemoryRevocationList(cfg MemoryRevocationListConfig) *MemoryRevocationList {
	if cfg.Size <= 0 {
		cfg.Size = DefaultRevocationListSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &MemoryRevocationList{now: cfg.Now, max: int64(cfg.Size), logger: cfg.Logger, dropLog: rate.Sometimes{Interval: time.Minute}, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].ends = map[string]*revocation{}
	}
	return l
}

func (l *MemoryRevocationList) shard(sessionID string) *revocationShard {
	return &l.shards[maphash.String(l.seed, sessionID)%revocationShards]
}

// Revoke implements RevocationList. It never fails. A revocation already
// held keeps the later of its two ends; one whose end has passed is not
// recorded.
func (l *MemoryRevocationList) Revoke(_ context.Context, sessionID string, until time.Time) error {
	now := l.now()
	if !until.After(now) {
		return nil
	}
	s := l.shard(sessionID)
	s.mu.Lock()
	if r, ok := s.ends[sessionID]; ok {
		if until.After(r.until) {
			r.until = until
			heap.Fix(&s.heap, r.index)
		}
	} else {
		r := &revocation{sessionID: sessionID, until: until}
		heap.Push(&s.heap, r)
		s.ends[sessionID] = r
		l.n.Add(1)
	}
	l.n.Add(-int64(s.dropExpired(now)))
	s.mu.Unlock()
	if l.n.Load() > l.max {
		l.evict()
	}
	return nil
}

// dropExpired removes the shard's expired revocations and returns how many.
// The caller holds s.mu.
func (s *revocationShard) dropExpired(now time.Time) int {
	n := 0
	for len(s.heap) > 0 && !s.heap[0].until.After(now) {
		r := heap.Pop(&s.heap).(*revocation)
		delete(s.ends, r.sessionID)
		n++
	}
	return n
}

// evict brings the list back to its size: expired revocations first, from
// every shard, then those that expire soonest across all shards.
func (l *MemoryRevocationList) evict() {
	l.evictMu.Lock()
	defer l.evictMu.Unlock()
	now := l.now()
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		l.n.Add(-int64(s.dropExpired(now)))
		s.mu.Unlock()
	}
	for l.n.Load() > l.max {
		var soonest *revocationShard
		var end time.Time
		for i := range l.shards {
			s := &l.shards[i]
			s.mu.RLock()
			if len(s.heap) > 0 && (soonest == nil || s.heap[0].until.Before(end)) {
				soonest, end = s, s.heap[0].until
			}
			s.mu.RUnlock()
		}
		if soonest == nil {
			return
		}
		soonest.mu.Lock()
		if len(soonest.heap) > 0 {
			r := heap.Pop(&soonest.heap).(*revocation)
			delete(soonest.ends, r.sessionID)
			l.n.Add(-1)
			l.dropped.Add(1)
		}
		soonest.mu.Unlock()
	}
	l.dropLog.Do(func() {
		l.logger.Warn("stytchguard: the revocation list is full of unexpired logouts; the soonest to expire were dropped, "+
			"and their sessions' JWTs verify again until they expire: raise its Size",
			slog.Int64("size", l.max), slog.Uint64("dropped_total", l.dropped.Load()))
	})
}

// IsRevoked implements RevocationList.
func (l *MemoryRevocationList) IsRevoked(ctx context.Context, sessionID string) bool {
	_, ok := l.RevokedUntil(ctx, sessionID)
	return ok
}

// RevokedUntil implements RevocationExpiry.
func (l *MemoryRevocationList) RevokedUntil(_ context.Context, key string) (time.Time, bool) {
	if l.n.Load() == 0 {
		return time.Time{}, false // the common case of a quiet list: no hash, no lock
	}
	s := l.shard(key)
	s.mu.RLock()
	r, ok := s.ends[key]
	var end time.Time
	if ok {
		end = r.until
	}
	s.mu.RUnlock()
	if !ok || !end.After(l.now()) {
		return time.Time{}, false
	}
	return end, true
}

// Len returns how many sessions the list holds, expired ones included until
// they are dropped.
func (l *MemoryRevocationList) Len() int { return int(l.n.Load()) }

// Dropped returns how many unexpired revocations the list has had to drop
// because it was full.
func (l *MemoryRevocationList) Dropped() uint64 { return l.dropped.Load() }

// MemoryRemoteCache is the in-memory RemoteCache: two bounded LRUs, one for
// sessions and one for "gone" answers, so that a storm of dead tokens
// evicts only other dead tokens.
type MemoryRemoteCache struct {
	now      func() time.Time
	sessions *lru.Cache[string, *RemoteEntry]
	gone     *lru.Cache[string, *RemoteEntry]
}

// NewMemoryRemoteCache returns an empty cache of at most size sessions and
// size "gone" answers (10,000 each when size <= 0), judged by the clock now
// (time.Now when nil).
func NewMemoryRemoteCache(size int, now func() time.Time) *MemoryRemoteCache {
	if size <= 0 {
		size = 10_000
	}
	if now == nil {
		now = time.Now
	}
	sessions, _ := lru.New[string, *RemoteEntry](size) // size > 0: no error
	gone, _ := lru.New[string, *RemoteEntry](size)
	return &MemoryRemoteCache{now: now, sessions: sessions, gone: gone}
}

// Get implements RemoteCache.
func (c *MemoryRemoteCache) Get(_ context.Context, key string) (*RemoteEntry, bool) {
	for _, l := range [...]*lru.Cache[string, *RemoteEntry]{c.sessions, c.gone} {
		e, ok := l.Get(key)
		if !ok {
			continue
		}
		if !e.Until.After(c.now()) {
			l.Remove(key)
			return nil, false
		}
		return e, true
	}
	return nil, false
}

// Set implements RemoteCache.
func (c *MemoryRemoteCache) Set(_ context.Context, key string, e *RemoteEntry) {
	if e.Gone {
		c.sessions.Remove(key)
		c.gone.Add(key, e)
		return
	}
	c.gone.Remove(key)
	c.sessions.Add(key, e)
}

// Delete implements RemoteCache.
func (c *MemoryRemoteCache) Delete(_ context.Context, key string) {
	c.sessions.Remove(key)
	c.gone.Remove(key)
}
