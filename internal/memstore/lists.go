package memstore

import (
	"container/heap"
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Everyone is the subject of a mark that holds for every person: the
// middleware's Everyone.
const Everyone = "*"

// DefaultMarksSize is the in-memory middleware.Marks' default bound. A mark lives as
// long as a logout (about seven minutes), so 100,000 marks hold over 200
// people changed a second, sustained.
const DefaultMarksSize = 100_000

// DefaultListSize is the in-memory middleware.RevocationList's default
// bound. An entry lives about seven minutes (a JWT's life, the clock
// tolerance and RemoteTTL), so 100,000 entries hold over 200 logouts a
// second, sustained; BenchmarkRevocationList/memory measures them at 15 MiB
// (157 bytes an entry).
const DefaultListSize = 100_000

// Config configures NewList. Every zero
// field takes the default its comment names.
type Config struct {
	// Size bounds the entries held. Zero means DefaultListSize.
	Size int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger is told, at most once a minute, when the list had to drop
	// revocations that had not expired yet. Nil means none.
	Logger *slog.Logger
}

// List is the in-memory middleware.RevocationList. It holds at most
// Size entries and drops them in expiry order: expired ones first, and an
// unexpired one only when the list is full of unexpired ones, the one that
// expires soonest, counted (Dropped) and logged. It is split into shards,
// each with its own lock and expiry heap, so that the check every request
// makes does not make cores wait on one another; a Revoke costs O(log n).
type List struct {
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
	// room, and replaces the warning (Marks).
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

// NewList returns an empty list.
func NewList(cfg Config) *List {
	if cfg.Size <= 0 {
		cfg.Size = DefaultListSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &List{now: cfg.Now, max: int64(cfg.Size), logger: cfg.Logger, dropLog: rate.Sometimes{Interval: time.Minute}, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].ends = map[string]*revocation{}
	}
	return l
}

func (l *List) shard(sessionID string) *revocationShard {
	return &l.shards[maphash.String(l.seed, sessionID)%revocationShards]
}

// Revoke implements middleware.RevocationList. It never fails. A revocation already
// held keeps the later of its two ends; one whose end has passed is not
// recorded.
func (l *List) Revoke(_ context.Context, sessionID string, until time.Time) error {
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
func (l *List) evict() {
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

// IsRevoked implements middleware.RevocationList.
func (l *List) IsRevoked(_ context.Context, sessionID string) bool {
	_, ok := l.until(sessionID)
	return ok
}

// until returns the end of the entry for key, if one is held and has not
// ended.
func (l *List) until(key string) (time.Time, bool) {
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
func (l *List) Len() int { return int(l.n.Load()) }

// Dropped returns how many unexpired revocations the list has had to drop
// because it was full.
func (l *List) Dropped() uint64 { return l.dropped.Load() }

// Marks is the in-memory middleware.Marks: at most Size people, apart from any
// logout. Expired marks are dropped first; when it is full of unexpired
// ones it drops the one that ends soonest, and marks Everyone until that
// end instead, so that nothing a dropped mark covered is trusted locally
// again (every JWT issued before that change is checked with Stytch). That
// is counted (Dropped) and logged.
type Marks struct {
	list     *List
	now      func() time.Time
	everyone atomic.Int64 // Unix nanoseconds: the end of the mark under Everyone; 0 when none
	logger   *slog.Logger
	fullLog  rate.Sometimes
}

// NewMarks returns an empty Marks. The config's Size defaults to
// DefaultMarksSize.
func NewMarks(cfg Config) *Marks {
	if cfg.Size <= 0 {
		cfg.Size = DefaultMarksSize
	}
	l := NewList(cfg)
	m := &Marks{list: l, now: l.now, logger: l.logger, fullLog: rate.Sometimes{Interval: time.Minute}}
	l.full = m.dropped
	return m
}

// dropped marks Everyone until the end of a mark dropped for room.
func (m *Marks) dropped(until time.Time) {
	m.markEveryone(until)
	m.fullLog.Do(func() {
		m.logger.Warn("stytchguard: the marks of people changed elsewhere are full; everyone is marked instead, "+
			"so every JWT issued before the dropped change is checked with Stytch: raise the marks' Size",
			slog.Int64("size", m.list.max), slog.Uint64("dropped_total", m.list.Dropped()))
	})
}

func (m *Marks) markEveryone(until time.Time) {
	n := until.UnixNano()
	for {
		cur := m.everyone.Load()
		if cur >= n || m.everyone.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Mark implements middleware.Marks. It never fails.
func (m *Marks) Mark(ctx context.Context, subject string, until time.Time) error {
	if subject == Everyone {
		if until.After(m.now()) {
			m.markEveryone(until)
		}
		return nil
	}
	return m.list.Revoke(ctx, subject, until)
}

// MarkedUntil implements middleware.Marks: when no mark is held, one atomic load and
// no lock.
func (m *Marks) MarkedUntil(_ context.Context, subject string) (time.Time, bool) {
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
func (m *Marks) Len() int { return m.list.Len() }

// Dropped returns how many unexpired marks were dropped for room (and
// covered by a mark under Everyone).
func (m *Marks) Dropped() uint64 { return m.list.Dropped() }
