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
	"github.com/stytchguard/stytchguard"
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

// Marks remembers the people (user or member ids) changed elsewhere:
// updated or deleted in Stytch, as its webhooks tell (WebhookHandler). A
// mark holds for as long as a JWT or a cached answer from before the change
// could still be taken as valid; meanwhile those are checked with Stytch.
// Marks live apart from logouts, so that no flood of logouts can push one
// out. The in-memory default is NewMemoryMarks; a store shared by several
// app instances (redisstore) makes a webhook delivered to one reach all.
// Implementations must be safe for concurrent use. MarkedUntil is asked on
// every request a JWT proves, so it must be fast: a shared store keeps a
// local copy.
type Marks interface {
	// Mark records that subject changed, until until (the change's time
	// plus how long a logout is remembered). A mark under Everyone holds for
	// every subject. It returns an error when the mark could not be
	// recorded where the store promises; WebhookHandler then answers 503,
	// so that the delivery is repeated.
	Mark(ctx context.Context, subject string, until time.Time) error
	// MarkedUntil returns the latest end among subject's mark and the mark
	// under Everyone, if either holds.
	MarkedUntil(ctx context.Context, subject string) (time.Time, bool)
}

// Everyone is the subject of a mark that holds for every person: what a
// store records, rather than drop a mark, when it is full.
const Everyone = "*"

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
	Consumer *stytchguard.ConsumerAuth `json:"consumer,omitempty"`
	Member   *stytchguard.MemberAuth   `json:"member,omitempty"`
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

// DefaultMarksSize is the in-memory Marks' default bound. A mark lives as
// long as a logout (about seven minutes), so 100,000 marks hold over 200
// people changed a second, sustained.
const DefaultMarksSize = 100_000

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
	// full, when set, is told the end of each unexpired entry dropped for
	// room, and replaces the warning (MemoryMarks).
	full func(until time.Time)
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
			if l.full != nil {
				l.full(r.until)
			}
		}
		soonest.mu.Unlock()
	}
	if l.full != nil {
		return
	}
	l.dropLog.Do(func() {
		l.logger.Warn("stytchguard: the revocation list is full of unexpired logouts; the soonest to expire were dropped, "+
			"and their sessions' JWTs verify again until they expire: raise its Size",
			slog.Int64("size", l.max), slog.Uint64("dropped_total", l.dropped.Load()))
	})
}

// IsRevoked implements RevocationList.
func (l *MemoryRevocationList) IsRevoked(_ context.Context, sessionID string) bool {
	_, ok := l.until(sessionID)
	return ok
}

// until returns the end of the entry for key, if one is held and has not
// ended.
func (l *MemoryRevocationList) until(key string) (time.Time, bool) {
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

// MemoryMarks is the in-memory Marks: at most Size people, apart from any
// logout. Expired marks are dropped first; when it is full of unexpired
// ones it drops the one that ends soonest, and marks Everyone until that
// end instead, so that nothing a dropped mark covered is trusted locally
// again (every JWT issued before that change is checked with Stytch). That
// is counted (Dropped) and logged.
type MemoryMarks struct {
	list     *MemoryRevocationList
	now      func() time.Time
	everyone atomic.Int64 // Unix nanoseconds: the end of the mark under Everyone; 0 when none
	logger   *slog.Logger
	fullLog  rate.Sometimes
}

// NewMemoryMarks returns an empty Marks. The config's Size defaults to
// DefaultMarksSize.
func NewMemoryMarks(cfg MemoryRevocationListConfig) *MemoryMarks {
	if cfg.Size <= 0 {
		cfg.Size = DefaultMarksSize
	}
	l := NewMemoryRevocationList(cfg)
	m := &MemoryMarks{list: l, now: l.now, logger: l.logger, fullLog: rate.Sometimes{Interval: time.Minute}}
	l.full = m.dropped
	return m
}

// dropped marks Everyone until the end of a mark dropped for room.
func (m *MemoryMarks) dropped(until time.Time) {
	m.markEveryone(until)
	m.fullLog.Do(func() {
		m.logger.Warn("stytchguard: the marks of people changed elsewhere are full; everyone is marked instead, "+
			"so every JWT issued before the dropped change is checked with Stytch: raise the marks' Size",
			slog.Int64("size", m.list.max), slog.Uint64("dropped_total", m.list.Dropped()))
	})
}

func (m *MemoryMarks) markEveryone(until time.Time) {
	n := until.UnixNano()
	for {
		cur := m.everyone.Load()
		if cur >= n || m.everyone.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Mark implements Marks. It never fails.
func (m *MemoryMarks) Mark(ctx context.Context, subject string, until time.Time) error {
	if subject == Everyone {
		if until.After(m.now()) {
			m.markEveryone(until)
		}
		return nil
	}
	return m.list.Revoke(ctx, subject, until)
}

// MarkedUntil implements Marks: when no mark is held, one atomic load and
// no lock.
func (m *MemoryMarks) MarkedUntil(_ context.Context, subject string) (time.Time, bool) {
	end, ok := m.list.until(subject)
	if n := m.everyone.Load(); n != 0 {
		if all := time.Unix(0, n); all.After(m.now()) && (!ok || all.After(end)) {
			return all, true
		}
	}
	return end, ok
}

// Len returns how many people's marks are held, expired ones included
// until they are dropped, the mark under Everyone not counted.
func (m *MemoryMarks) Len() int { return m.list.Len() }

// Dropped returns how many unexpired marks were dropped for room (and
// covered by a mark under Everyone).
func (m *MemoryMarks) Dropped() uint64 { return m.list.Dropped() }

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
